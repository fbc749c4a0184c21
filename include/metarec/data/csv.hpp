// metarec: a delimited-text reader for real, messy files (quotes, CRLF, blank lines, Latin-1).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dataset.hpp"
#include "error.hpp"

namespace metarec::data {

/// Options of every loader.
struct load_options {
    /// false (default): the first malformed row throws data_error; true: malformed rows are
    /// skipped and counted in `dataset::report` (missing files, bad headers and bad schemas
    /// still throw)
    bool lenient = false;
};

/// Reads a delimited text file row by row: the whole file is read once, fields are views
/// into it. Handles a UTF-8 byte-order mark, CRLF and LF line ends, blank lines (skipped;
/// line numbers stay the file's), RFC 4180 quotes (`"a,b"`, `""` for a quote, a quoted field
/// may span lines) and any bytes in fields (Latin-1 is kept as is). A NUL byte means the
/// file is binary, and a CR not followed by LF outside quotes (on a blank line too) is not a
/// line end: both are errors. Every problem is a data_error naming file, line and column.
/// @code
/// data::delimited_reader in{"ratings.dat", "::", /*quotes=*/false};
/// while (in.next()) { auto user = in.field(0); auto rating = in.number(2, "rating"); }
/// @endcode
class delimited_reader {
public:
    /// @param file      the file to read
    /// @param delimiter the field separator (one or more characters, e.g. `,`, `\t`, `::`)
    /// @param quotes    whether `"` quotes fields (MovieLens' files do not quote)
    delimited_reader(const std::filesystem::path& file, std::string delimiter, bool quotes = true)
        : name_(file.string()), delimiter_(std::move(delimiter)), quotes_(quotes) {
        if (delimiter_.empty()) throw std::invalid_argument("metarec: delimited_reader: empty delimiter");
        if (delimiter_.find_first_of("\r\n\"") != std::string::npos)
            throw std::invalid_argument("metarec: delimited_reader: a delimiter cannot hold a line end or a quote");
        read_file(file);
        if (const void* nul = std::memchr(text_.data(), '\0', text_.size()))
            throw data_error(name_, line_at(std::size_t(static_cast<const char*>(nul) - text_.data())), 0,
                             "a NUL byte: binary data, or UTF-16/UTF-32 text (save the file as UTF-8)");
        if (text_.starts_with("\xEF\xBB\xBF")) position_ = 3;
    }
    // the fields are views into the reader's own buffer: a copy would point into this one
    delimited_reader(const delimited_reader&) = delete;
    delimited_reader& operator=(const delimited_reader&) = delete;

    /// Moves to the next non-blank row; false at the end of the file.
    bool next() {
        fields_.clear();
        scratch_.clear();
        const char* const text = text_.data();
        const std::size_t size = text_.size();
        // skip blank lines (LF or CRLF; a CR followed by anything else is an error, as within a row)
        while (position_ < size && (text[position_] == '\n' || text[position_] == '\r')) {
            if (text[position_] == '\r' && position_ + 1 < size && text[position_ + 1] != '\n') {
                row_line_ = line_;
                // skip the rest of the line, so that a lenient reader goes on with the next one
                const void* end = std::memchr(text + position_, '\n', size - position_);
                position_ = end ? std::size_t(static_cast<const char*>(end) - text) + 1 : size;
                if (end) ++line_;
                fail(1, "a carriage return not followed by a line feed");
            }
            if (text[position_] == '\n') ++line_;
            ++position_;
        }
        if (position_ >= size) return false;
        row_line_ = line_;
        const char first = delimiter_[0];
        const std::size_t width = delimiter_.size();
        const auto at_delimiter = [&](std::size_t p) {
            return text[p] == first && (width == 1 || (size - p >= width && std::memcmp(text + p, delimiter_.data(), width) == 0));
        };
        for (;;) {
            if (quotes_ && position_ < size && text[position_] == '"') {
                read_quoted();
            } else {
                std::size_t end = position_;
                while (end < size) {
                    const char c = text[end];
                    if (c == '\n' || c == '\r' || at_delimiter(end)) break;
                    ++end;
                }
                fields_.emplace_back(text + position_, end - position_);
                position_ = end;
            }
            if (position_ >= size) return true;
            if (at_delimiter(position_)) {
                position_ += width;
                continue;
            }
            if (text[position_] == '\r') ++position_;
            if (position_ < size && text[position_] == '\n') {
                ++position_;
                ++line_;
            } else if (position_ < size) {
                const bool carriage_return = text[position_ - 1] == '\r';
                // skip the rest of the line, so that a lenient reader goes on with the next one
                const void* end = std::memchr(text + position_, '\n', size - position_);
                position_ = end ? std::size_t(static_cast<const char*>(end) - text) + 1 : size;
                if (end) ++line_;
                fail(index(fields_.size()), carriage_return ? "a carriage return not followed by a line feed"
                                                            : "unexpected character after a closing quote");
            }
            return true;
        }
    }

    //! false once an error left the rest of the file unreadable (an unterminated quoted field)
    bool readable() const noexcept { return readable_; }

    //! the fields of the current row
    std::span<const std::string_view> fields() const noexcept { return fields_; }
    //! number of fields of the current row
    index size() const noexcept { return index(fields_.size()); }
    //! field `column` (0-based) of the current row
    std::string_view field(index column) const {
        if (column >= size())
            fail(0, "expected at least " + std::to_string(column + 1) + " fields, found " + std::to_string(size()));
        return fields_[std::size_t(column)];
    }
    //! 1-based line of the current row
    std::int64_t line() const noexcept { return row_line_; }
    //! the file name
    const std::string& file() const noexcept { return name_; }

    //! requires exactly `count` fields in the current row
    void expect_fields(index count) const {
        if (size() != count)
            fail(0, "expected " + std::to_string(count) + " fields, found " + std::to_string(size()));
    }

    //! field `column` as a finite number (`what` names it in the error; NaN, infinities and
    //! values beyond double's range are errors)
    double number(index column, std::string_view what) const {
        const auto text = trim(field(column));
        double value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (!text.empty() && error == std::errc::result_out_of_range && end == text.data() + text.size())
            fail(column + 1, std::string(what) + " '" + std::string(text) + "' is out of range");
        if (text.empty() || error != std::errc{} || end != text.data() + text.size())
            fail(column + 1, std::string(what) + " '" + std::string(text) + "' is not a number");
        if (!std::isfinite(value)) fail(column + 1, std::string(what) + " '" + std::string(text) + "' is not finite");
        return value;
    }
    //! field `column` as a 64-bit integer (one that does not fit is an error)
    std::int64_t integer(index column, std::string_view what) const {
        const auto text = trim(field(column));
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (!text.empty() && error == std::errc::result_out_of_range && end == text.data() + text.size())
            fail(column + 1, std::string(what) + " '" + std::string(text) + "' does not fit in 64 bits");
        if (text.empty() || error != std::errc{} || end != text.data() + text.size())
            fail(column + 1, std::string(what) + " '" + std::string(text) + "' is not an integer");
        return value;
    }

    //! throws data_error at the current row (column: 1-based, 0 for the whole row)
    [[noreturn]] void fail(index column, const std::string& reason) const { throw data_error(name_, row_line_, column, reason); }

    //! `text` without leading and trailing spaces and tabs
    static std::string_view trim(std::string_view text) noexcept {
        while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
        while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
        return text;
    }

private:
    // a quoted field starting at position_: a view between the quotes, or, when it holds an
    // escaped quote `""`, an unescaped copy in scratch storage
    void read_quoted() {
        const char* const text = text_.data();
        const std::size_t size = text_.size(), begin = position_ + 1;
        const std::int64_t start_line = line_;
        std::string* copy = nullptr;  // set at the first escaped quote
        std::size_t copied = begin;   // text[begin, copied) is in *copy
        for (std::size_t p = begin;; ++p) {
            const void* quote = p < size ? std::memchr(text + p, '"', size - p) : nullptr;
            const std::size_t q = quote ? std::size_t(static_cast<const char*>(quote) - text) : size;
            line_ += std::count(text + p, text + q, '\n');
            if (q >= size) {
                readable_ = false;
                position_ = size;
                throw data_error(name_, start_line, index(fields_.size()) + 1, "unterminated quoted field");
            }
            if (q + 1 < size && text[q + 1] == '"') {  // "" is one quote
                if (!copy) copy = &scratch_.emplace_back();
                copy->append(text + copied, q + 1 - copied);
                copied = q + 2;
                p = q + 1;
                continue;
            }
            position_ = q + 1;
            if (copy) {
                copy->append(text + copied, q - copied);
                fields_.emplace_back(*copy);
            } else {
                fields_.emplace_back(text + begin, q - begin);
            }
            return;
        }
    }
    // the whole file, in one read when its size is known
    void read_file(const std::filesystem::path& file) {
        std::error_code ec;
        if (std::filesystem::is_directory(file, ec)) throw data_error(name_, 0, 0, "cannot open file (it is a directory)");
        std::ifstream in(file, std::ios::binary);
        if (!in) throw data_error(name_, 0, 0, "cannot open file");
        const std::streamoff size = in.seekg(0, std::ios::end) ? std::streamoff(in.tellg()) : -1;
        if (size >= 0) {
            text_.resize(std::size_t(size));
            in.seekg(0);
            in.read(text_.data(), std::streamsize(size));
            if (in.gcount() != std::streamsize(size)) throw data_error(name_, 0, 0, "read error");
        } else {  // a pipe or a device: read until the end
            in.clear();
            text_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
            if (in.bad()) throw data_error(name_, 0, 0, "read error");
        }
    }
    std::int64_t line_at(std::size_t offset) const {
        return 1 + std::int64_t(std::count(text_.begin(), text_.begin() + std::ptrdiff_t(offset), '\n'));
    }

    std::string name_, delimiter_;
    bool quotes_, readable_ = true;
    std::string text_;
    std::size_t position_ = 0;
    std::int64_t line_ = 1, row_line_ = 0;
    std::vector<std::string_view> fields_;
    std::deque<std::string> scratch_;  // unescaped quoted fields (stable addresses)
};

namespace detail {

/// Runs `read_row()` for every row: in strict mode an error propagates; in lenient mode the
/// row is skipped and counted in `report` (its first reasons kept). A row the reader cannot
/// split (a stray quote) is skipped too, but an unterminated quoted field, which swallows the
/// rest of the file, always throws.
template <class F>
void for_each_row(delimited_reader& in, const load_options& options, load_report& report, F&& read_row) {
    const auto note = [&](const data_error& e) {
        ++report.skipped_rows;
        if (report.first_problems.size() < 10) report.first_problems.push_back(e.what());
    };
    for (;;) {
        if (!options.lenient) {
            if (!in.next()) return;
            read_row();
            continue;
        }
        try {
            if (!in.next()) return;
        } catch (const data_error& e) {
            if (!in.readable()) throw;
            note(e);
            continue;
        }
        try {
            read_row();
        } catch (const data_error& e) {
            note(e);
        }
    }
}

/// The id of `value` in a categorical vocabulary, added if new.
inline id_type intern(std::vector<std::string>& vocabulary, std::unordered_map<std::string, id_type>& ids,
                      std::string_view value) {
    const auto [it, added] = ids.try_emplace(std::string(value), id_type(vocabulary.size()));
    if (added) vocabulary.emplace_back(value);
    return it->second;
}

}  // namespace detail
}  // namespace metarec::data
