// metarec: 2-D float matrices from NumPy .npy files (dense feature vectors), read with xtensor.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor/xnpy.hpp>

#include "../config.hpp"
#include "error.hpp"

namespace metarec::data {

/// A row-major `rows x cols` float matrix.
struct matrix {
    /// @{
    /// @brief the matrix dimensions
    index rows = 0, cols = 0;
    /// @}
    std::vector<float> values;  //!< `rows * cols` entries, row after row
};

namespace detail {

// the little-endian unsigned integer of `n` bytes at `p`
inline std::uint32_t npy_le(const unsigned char* p, int n) noexcept {
    std::uint32_t value = 0;
    for (int i = n - 1; i >= 0; --i) value = (value << 8) | p[i];
    return value;
}

// checks what xtensor's header parser takes for granted (it indexes empty strings otherwise):
// a `{...}` dictionary ending with a newline whose 'shape' is a parenthesized tuple
inline bool npy_header_well_formed(std::string header) {
    if (header.empty() || header.back() != '\n') return false;
    header.erase(std::remove_if(header.begin(), header.end(), [](char c) { return c == ' ' || c == '\n'; }), header.end());
    if (header.size() < 2 || header.front() != '{' || header.back() != '}') return false;
    const auto shape = header.find("'shape':");
    return shape != std::string::npos && header.compare(shape + 8, 1, "(") == 0 && header.find(')', shape) != std::string::npos;
}

// what follows `key` and its ':' in a header dictionary, blanks skipped; empty when absent
inline std::string_view npy_value_of(std::string_view header, std::string_view key) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    const auto at = header.find(key);
    if (at == std::string_view::npos) return {};
    auto rest = header.substr(at + key.size());
    while (!rest.empty() && blank(rest.front())) rest.remove_prefix(1);
    if (rest.empty() || rest.front() != ':') return {};
    rest.remove_prefix(1);
    while (!rest.empty() && blank(rest.front())) rest.remove_prefix(1);
    return rest;
}

// the header's dtype as written: a quoted typestring without its quotes ('<f4'), or a
// structured dtype's list as it stands ([('a', '<f4'), ...]); empty when there is no 'descr'
// (xtensor names that)
inline std::string npy_descr(std::string_view header) {
    auto value = npy_value_of(header, "'descr'");
    if (value.empty()) return {};
    if (value.front() == '\'' || value.front() == '"') {
        const auto close = value.find(value.front(), 1);
        return std::string(value.substr(1, close == std::string_view::npos ? value.size() - 1 : close - 1));
    }
    std::size_t end = 0;
    for (int depth = 0; end < value.size(); ++end) {
        const char c = value[end];
        if (c == '[' || c == '(') ++depth;
        if (c == ']' || c == ')') --depth;
        if (depth <= 0 && (c == ',' || c == '}' || c == ']')) {
            if (c == ']') ++end;
            break;
        }
    }
    return std::string(value.substr(0, end));
}

// checks every dimension of the header's shape tuple, which xtensor reads with operator>>
// (it takes "2.5" as 2, "x" as 0, "-3" as 2^64 - 3 and an overflow as 2^64 - 1): each must be
// a decimal integer (Python 2's "3L" included) that fits in 64 bits; "" when all are, else
// the reason. An empty entry is left to xtensor ("invalid shape").
inline std::string npy_shape_problem(std::string_view header) {
    auto value = npy_value_of(header, "'shape'");
    if (value.empty() || value.front() != '(') return {};  // npy_header_well_formed refused it already
    value = value.substr(1, value.find(')') == std::string_view::npos ? value.size() - 1 : value.find(')') - 1);
    while (!value.empty()) {
        const auto comma = value.find(',');
        auto dim = value.substr(0, comma);
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        while (!dim.empty() && (dim.front() == ' ' || dim.front() == '\t' || dim.front() == '\n')) dim.remove_prefix(1);
        while (!dim.empty() && (dim.back() == ' ' || dim.back() == '\t' || dim.back() == '\n')) dim.remove_suffix(1);
        if (dim.empty()) continue;
        auto digits = dim.ends_with('L') ? dim.substr(0, dim.size() - 1) : dim;
        const bool negative = digits.starts_with('-');
        if (negative) digits.remove_prefix(1);
        if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
            return "the shape in the header has a dimension '" + std::string(dim) + "' that is not an integer";
        if (negative) return "the shape in the header has a negative dimension";
        std::uint64_t n = 0;
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (error != std::errc{} || end != digits.data() + digits.size())
            return "the shape in the header has a dimension '" + std::string(dim) + "' that does not fit in 64 bits";
    }
    return {};
}

}  // namespace detail

/// Loads a 2-D array (or a 1-D array of n values as n x 1) of little-endian float32 or
/// float64 in C order from a `.npy` file (format 1.0, 2.0 or 3.0), as float. The header
/// dictionary is parsed by xtensor (`xt::detail::parse_header`); the magic string, the
/// header length and the payload size are checked here first, against the file's size, so
/// that a truncated file, a header announcing more data than the file holds or a corrupt
/// header length is an error, never a huge allocation or a read of garbage; so are the dtype
/// (any other, object and structured ones included, is named) and every dimension of the
/// shape (a decimal integer that fits in 64 bits). Every failure,
/// including NaN or infinite values (the error names the 0-based row and column, as numpy
/// indexes them), is a data_error naming the file.
inline matrix load_npy(const std::filesystem::path& file) {
    const std::string name = file.string();
    const auto fail = [&](const std::string& reason) { return data_error(name, 0, 0, reason); };
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) throw fail("cannot open file (it is a directory)");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw fail("cannot open file");
    const std::uintmax_t file_size = std::filesystem::file_size(file, ec);
    if (ec) throw fail("cannot read the file size");

    // magic "\x93NUMPY", version, header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0)
    unsigned char prefix[12] = {};
    in.read(reinterpret_cast<char*>(prefix), 10);
    if (std::memcmp(prefix, "\x93NUMPY", 6) != 0) throw fail("not a valid .npy file (no \\x93NUMPY magic string)");
    if (in.gcount() != 10) throw fail("not a valid .npy file: truncated header");
    const int major = prefix[6], minor = prefix[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        throw fail("unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
    std::uintmax_t header_start = 10, header_length = detail::npy_le(prefix + 8, 2);
    if (major >= 2) {
        in.read(reinterpret_cast<char*>(prefix + 10), 2);
        if (in.gcount() != 2) throw fail("not a valid .npy file: truncated header");
        header_start = 12;
        header_length = detail::npy_le(prefix + 8, 4);
    }
    if (header_start + header_length > file_size)
        throw fail("not a valid .npy file: the header length " + std::to_string(header_length) + " exceeds the file");
    std::string header(static_cast<std::size_t>(header_length), '\0');
    in.read(header.data(), std::streamsize(header_length));
    if (in.gcount() != std::streamsize(header_length)) throw fail("not a valid .npy file: truncated header");
    if (!detail::npy_header_well_formed(header))
        throw fail("not a valid .npy file: the header is not a {'descr': ..., 'fortran_order': ..., 'shape': (...)} dictionary");

    // the dtype and the shape first: xtensor calls an unknown dtype "invalid typestring" and
    // misreads a dimension that is not a plain integer
    if (const auto descr = detail::npy_descr(header); !descr.empty() && descr != "<f4" && descr != "<f8")
        throw fail("dtype '" + descr + "' is not supported (expected float32 '<f4' or float64 '<f8')");
    if (const auto problem = detail::npy_shape_problem(header); !problem.empty()) throw fail(problem);

    std::string typestring;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
    try {
        xt::detail::parse_header(header, typestring, &fortran_order, shape);
    } catch (const std::exception& e) {
        throw fail(std::string("not a valid .npy file: ") + e.what());
    }
    if (typestring != "<f4" && typestring != "<f8")
        throw fail("dtype '" + typestring + "' is not supported (expected float32 '<f4' or float64 '<f8')");
    if (fortran_order) throw fail("Fortran-ordered arrays are not supported (save with C order)");
    if (shape.empty() || shape.size() > 2)
        throw fail("expected a 2-D array, found " + std::to_string(shape.size()) + " dimensions");
    const std::uintmax_t rows = shape[0], cols = shape.size() == 2 ? shape[1] : 1, word = typestring == "<f4" ? 4 : 8;
    const std::uintmax_t payload_size = file_size - (header_start + header_length);
    // rows * cols * word must equal the payload size (a shape too large for 64 bits cannot)
    constexpr auto top = std::numeric_limits<std::uintmax_t>::max();
    const bool representable = (cols == 0 || rows <= top / cols) && rows * cols <= top / word;
    const std::uintmax_t needed = representable ? rows * cols * word : 0;
    if (!representable || needed != payload_size)
        throw fail("the payload has " + std::to_string(payload_size) + " bytes, the header's shape " + std::to_string(rows) +
                   " x " + std::to_string(cols) + " needs " +
                   (representable ? std::to_string(needed) : std::string("more than 2^64")) +
                   (!representable || needed > payload_size ? " (truncated file)" : ""));

    const std::size_t count = static_cast<std::size_t>(rows * cols);
    std::vector<char> bytes(static_cast<std::size_t>(payload_size));
    in.read(bytes.data(), std::streamsize(payload_size));
    if (in.gcount() != std::streamsize(payload_size)) throw fail("read error in the payload");
    matrix out{index(rows), index(cols), std::vector<float>(count)};
    for (std::size_t k = 0; k < count; ++k) {
        double value;
        if (word == 4) {
            float f;
            std::memcpy(&f, bytes.data() + 4 * k, 4);
            value = f;
        } else {
            std::memcpy(&value, bytes.data() + 8 * k, 8);
        }
        if (!std::isfinite(value) || std::abs(value) > double(std::numeric_limits<float>::max()))
            throw fail("the value at row " + std::to_string(k / cols) + ", column " + std::to_string(k % cols) + " (0-based) is " +
                       (std::isnan(value) ? "NaN" : std::isinf(value) ? "infinite" : "too large for float"));
        out.values[k] = float(value);
    }
    return out;
}

}  // namespace metarec::data
