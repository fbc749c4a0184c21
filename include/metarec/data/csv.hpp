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
/// file is binary: an error. Every problem is a data_error naming file, line and column.
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
        std::ifstream in(file, std::ios::binary);
        if (!in) throw data_error(name_, 0, 0, "cannot open file");
        text_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (in.bad()) throw data_error(name_, 0, 0, "read error");
        if (const void* nul = std::memchr(text_.data(), '\0', text_.size()))
            throw data_error(name_, line_at(std::size_t(static_cast<const char*>(nul) - text_.data())), 0,
                             "binary data (a NUL byte) in a text file");
        if (text_.starts_with("\xEF\xBB\xBF")) position_ = 3;
    }

    /// Moves to the next non-blank row; false at the end of the file.
    bool next() {
        fields_.clear();
        scratch_.clear();
        // skip blank lines
        while (position_ < text_.size() && (text_[position_] == '\n' || text_[position_] == '\r')) {
            if (text_[position_] == '\n') ++line_;
            ++position_;
        }
        if (position_ >= text_.size()) return false;
        row_line_ = line_;
        for (;;) {
            std::size_t end = position_;
            if (quotes_ && end < text_.size() && text_[end] == '"') {
                read_quoted();
            } else {
                while (end < text_.size() && text_[end] != '\n' && text_[end] != '\r' &&
                       text_.compare(end, delimiter_.size(), delimiter_) != 0)
                    ++end;
                fields_.emplace_back(text_.data() + position_, end - position_);
                position_ = end;
            }
            if (position_ < text_.size() && text_.compare(position_, delimiter_.size(), delimiter_) == 0) {
                position_ += delimiter_.size();
                continue;
            }
            if (position_ < text_.size() && text_[position_] == '\r') ++position_;
            if (position_ < text_.size() && text_[position_] == '\n') {
                ++position_;
                ++line_;
            } else if (position_ < text_.size()) {
                fail(index(fields_.size()), "unexpected character after a quoted field");
            }
            return true;
        }
    }

    //! the fields of the current row
    std::span<const std::string_view> fields() const noexcept { return fields_; }
    //! number of fields of the current row
    index size() const noexcept { return index(fields_.size()); }
    //! field `column` (0-based) of the current row
    std::string_view field(index column) const {
        if (column >= size())
            fail(size(), "expected at least " + std::to_string(column + 1) + " fields, found " + std::to_string(size()));
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

    //! field `column` as a finite number (`what` names it in the error)
    double number(index column, std::string_view what) const {
        const auto text = trim(field(column));
        double value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || error != std::errc{} || end != text.data() + text.size())
            fail(column + 1, std::string(what) + " '" + std::string(text) + "' is not a number");
        if (!std::isfinite(value)) fail(column + 1, std::string(what) + " '" + std::string(text) + "' is not finite");
        return value;
    }
    //! field `column` as an integer
    std::int64_t integer(index column, std::string_view what) const {
        const auto text = trim(field(column));
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
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
    // a quoted field starting at position_: copied without its quotes, "" -> "
    void read_quoted() {
        std::string& out = scratch_.emplace_back();
        const std::int64_t start_line = line_;
        for (std::size_t p = position_ + 1;; ++p) {
            if (p >= text_.size()) throw data_error(name_, start_line, index(fields_.size()) + 1, "unterminated quoted field");
            const char c = text_[p];
            if (c == '"') {
                if (p + 1 < text_.size() && text_[p + 1] == '"') {
                    out += '"';
                    ++p;
                    continue;
                }
                position_ = p + 1;
                break;
            }
            if (c == '\n') ++line_;
            out += c;
        }
        fields_.emplace_back(out);
    }
    std::int64_t line_at(std::size_t offset) const {
        return 1 + std::int64_t(std::count(text_.begin(), text_.begin() + std::ptrdiff_t(offset), '\n'));
    }

    std::string name_, delimiter_;
    bool quotes_;
    std::string text_;
    std::size_t position_ = 0;
    std::int64_t line_ = 1, row_line_ = 0;
    std::vector<std::string_view> fields_;
    std::deque<std::string> scratch_;  // unescaped quoted fields (stable addresses)
};

namespace detail {

/// Runs `read_row()` for every row: in strict mode an error propagates; in lenient mode the
/// row is skipped and counted in `report` (its first reasons kept).
template <class F>
void for_each_row(delimited_reader& in, const load_options& options, load_report& report, F&& read_row) {
    while (in.next()) {
        if (!options.lenient) {
            read_row();
            continue;
        }
        try {
            read_row();
        } catch (const data_error& e) {
            ++report.skipped_rows;
            if (report.first_problems.size() < 10) report.first_problems.push_back(e.what());
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
