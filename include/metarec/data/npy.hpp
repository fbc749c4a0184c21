// metarec: 2-D float matrices from NumPy .npy files (dense feature vectors), read with xtensor.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xnpy.hpp>

#include "../config.hpp"
#include "error.hpp"

namespace metarec::data {

/// A row-major `rows x cols` float matrix.
struct matrix {
    index rows = 0, cols = 0;
    std::vector<float> values;
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

}  // namespace detail

/// Loads a 2-D array (or a 1-D array of n values as n x 1) of little-endian float32 or
/// float64 in C order from a `.npy` file (format 1.0, 2.0 or 3.0), as float. The header
/// dictionary is parsed by xtensor (`xt::detail::parse_header`); the magic string, the
/// header length and the payload size are checked here first, against the file's size, so
/// that a truncated file, a header announcing more data than the file holds or a corrupt
/// header length is an error, never a huge allocation or a read of garbage. Every failure,
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
    // xtensor reads a negative dimension as a huge unsigned one: refuse it by its sign
    if (const auto at = header.find("'shape'"); header.find('-', at) < header.find(')', at))
        throw fail("the shape in the header has a negative dimension");
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
