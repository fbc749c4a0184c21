// metarec: the error every loader throws for bad input: file, line, column and reason.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace metarec {

/// Bad input data: a malformed row, an unknown schema kind, a missing file, an interaction
/// whose user or item has no feature row. `what()` reads `file:line:column: reason` (line
/// and column are 1-based; 0 when they do not apply and then left out), the one line the
/// command-line tools print before exiting with code 2. It is always one line of valid UTF-8:
/// control characters in the file name or the reason (a quoted field may hold a line feed)
/// are written as `\n`, `\r`, `\t` or `\xNN`, and so is every byte that is not part of a
/// valid UTF-8 sequence (Latin-1 text, binary data); file() and reason() hold the same text.
class data_error : public std::runtime_error {
public:
    /// @param file   the file, or the schema string's name (e.g. "--user-schema")
    /// @param line   1-based line, 0 if not about a line
    /// @param column 1-based column (field number for delimited files), 0 if not about a column
    /// @param reason what is wrong
    data_error(const std::string& file, std::int64_t line, std::int64_t column, const std::string& reason)
        : std::runtime_error(format(printable(file), line, column, printable(reason))),
          file_(printable(file)), line_(line), column_(column), reason_(printable(reason)) {}

    //! the file (or the schema string's name, e.g. "--user-schema")
    const std::string& file() const noexcept { return file_; }
    //! 1-based line, 0 if not about a line
    std::int64_t line() const noexcept { return line_; }
    //! 1-based column (field number for delimited files), 0 if not about a column
    std::int64_t column() const noexcept { return column_; }
    //! what is wrong
    const std::string& reason() const noexcept { return reason_; }

    /// `text` as one line of valid UTF-8: control characters as `\n`, `\r`, `\t` or `\xNN`,
    /// bytes outside a valid UTF-8 sequence as `\xNN`; printable ASCII and valid UTF-8 kept.
    static std::string printable(std::string_view text) {
        static constexpr char hex[] = "0123456789abcdef";
        std::string out;
        out.reserve(text.size());
        for (std::size_t i = 0; i < text.size();) {
            const auto c = static_cast<unsigned char>(text[i]);
            if (c >= 0x20 && c < 0x7f) {
                out += char(c);
                ++i;
                continue;
            }
            // the length of a valid UTF-8 sequence starting here (0: none), RFC 3629
            std::size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
            if (n > 0 && i + n <= text.size()) {
                const auto second = static_cast<unsigned char>(text[i + 1]);
                const unsigned char low = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;  // no overlong forms
                const unsigned char high = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;  // no surrogates, <= U+10FFFF
                bool valid = second >= low && second <= high;
                for (std::size_t k = 2; k < n && valid; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
                if (valid) {
                    out.append(text.data() + i, n);
                    i += n;
                    continue;
                }
            }
            if (c == '\n') {
                out += "\\n";
            } else if (c == '\r') {
                out += "\\r";
            } else if (c == '\t') {
                out += "\\t";
            } else {
                out += "\\x";
                out += hex[c >> 4];
                out += hex[c & 15];
            }
            ++i;
        }
        return out;
    }

private:
    static std::string format(const std::string& file, std::int64_t line, std::int64_t column, const std::string& reason) {
        std::string out = file;
        if (line > 0) out += ":" + std::to_string(line);
        if (line > 0 && column > 0) out += ":" + std::to_string(column);
        return out + ": " + reason;
    }

    std::string file_;
    std::int64_t line_, column_;
    std::string reason_;
};

}  // namespace metarec
