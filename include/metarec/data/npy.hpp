// metarec: 2-D float matrices from NumPy .npy files (dense feature vectors), read with xtensor.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
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

/// Loads a 2-D array (or a 1-D array of n values as n x 1) of little-endian float32 or
/// float64 in C order from a `.npy` file (format 1.0 or 2.0), as float. xtensor parses the
/// header; the payload size is checked against the header's shape before anything is
/// allocated, so a truncated file or a header announcing more data than the file holds is
/// an error, not a huge allocation. Every failure, including NaN or infinite values, is a
/// data_error naming the file (and the row, for a bad value).
inline matrix load_npy(const std::filesystem::path& file) {
    const std::string name = file.string();
    std::ifstream in(file, std::ios::binary);
    if (!in) throw data_error(name, 0, 0, "cannot open file");
    std::error_code ec;
    const auto file_size = std::filesystem::file_size(file, ec);
    if (ec) throw data_error(name, 0, 0, "cannot read the file size");
    std::string typestring;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
    try {
        unsigned char major = 0, minor = 0;
        xt::detail::read_magic(in, &major, &minor);
        std::string header;
        if (major == 1 && minor == 0)
            header = xt::detail::read_header_1_0(in);
        else if (major == 2 && minor == 0)
            header = xt::detail::read_header_2_0(in);
        else
            throw data_error(name, 0, 0, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
        xt::detail::parse_header(header, typestring, &fortran_order, shape);
    } catch (const data_error&) {
        throw;
    } catch (const std::exception& e) {
        throw data_error(name, 0, 0, std::string("not a valid .npy file: ") + e.what());
    }
    if (!in) throw data_error(name, 0, 0, "not a valid .npy file: truncated header");
    if (typestring != "<f4" && typestring != "<f8")
        throw data_error(name, 0, 0, "dtype '" + typestring + "' is not supported (expected float32 '<f4' or float64 '<f8')");
    if (fortran_order) throw data_error(name, 0, 0, "Fortran-ordered arrays are not supported (save with C order)");
    if (shape.empty() || shape.size() > 2)
        throw data_error(name, 0, 0, "expected a 2-D array, found " + std::to_string(shape.size()) + " dimensions");
    const std::size_t rows = shape[0], cols = shape.size() == 2 ? shape[1] : 1, word = typestring == "<f4" ? 4 : 8;
    const auto header_end = static_cast<std::uintmax_t>(in.tellg());
    if (cols != 0 && rows > (file_size / word) / cols + 1)
        throw data_error(name, 0, 0, "the header announces " + std::to_string(rows) + " x " + std::to_string(cols) +
                                         " values, more than the file holds");
    const std::uintmax_t payload = std::uintmax_t(rows) * cols * word;
    if (header_end + payload != file_size)
        throw data_error(name, 0, 0, "the payload has " + std::to_string(file_size - header_end) + " bytes, the header's shape " +
                                         std::to_string(rows) + " x " + std::to_string(cols) + " needs " + std::to_string(payload) +
                                         (header_end + payload > file_size ? " (truncated file)" : ""));
    std::vector<char> bytes(static_cast<std::size_t>(payload));
    in.read(bytes.data(), std::streamsize(payload));
    if (!in) throw data_error(name, 0, 0, "read error in the payload");
    matrix out{index(rows), index(cols), std::vector<float>(rows * cols)};
    for (std::size_t k = 0; k < rows * cols; ++k) {
        double value;
        if (word == 4) {
            float f;
            std::memcpy(&f, bytes.data() + 4 * k, 4);
            value = f;
        } else {
            std::memcpy(&value, bytes.data() + 8 * k, 8);
        }
        if (!std::isfinite(value))
            throw data_error(name, 0, 0, "row " + std::to_string(k / cols) + ", column " + std::to_string(k % cols) +
                                             " is not finite");
        out.values[k] = float(value);
    }
    return out;
}

}  // namespace metarec::data
