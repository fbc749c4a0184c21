// metarec: the error every loader throws for bad input: file, line, column and reason.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace metarec {

/// Bad input data: a malformed row, an unknown schema kind, a missing file, an interaction
/// whose user or item has no feature row. `what()` reads `file:line:column: reason` (line
/// and column are 1-based; 0 when they do not apply and then left out), the one line the
/// command-line tools print before exiting with code 2.
class data_error : public std::runtime_error {
public:
    data_error(std::string file, std::int64_t line, std::int64_t column, std::string reason)
        : std::runtime_error(format(file, line, column, reason)),
          file_(std::move(file)), line_(line), column_(column), reason_(std::move(reason)) {}

    //! the file (or the schema string's name, e.g. "--user-schema")
    const std::string& file() const noexcept { return file_; }
    //! 1-based line, 0 if not about a line
    std::int64_t line() const noexcept { return line_; }
    //! 1-based column (field number for delimited files), 0 if not about a column
    std::int64_t column() const noexcept { return column_; }
    //! what is wrong
    const std::string& reason() const noexcept { return reason_; }

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
