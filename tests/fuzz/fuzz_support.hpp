// metarec fuzz targets: what they share. Each target defines LLVMFuzzerTestOneInput; built
// with clang's -fsanitize=fuzzer it is a libFuzzer binary, built with replay_main.cpp it
// replays files (the seed corpus, the bad-input corpus) in the normal test suite.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <metarec/data/error.hpp>

namespace metarec::fuzz {

/// A directory of this process under the system's temporary directory ($TMPDIR or /tmp),
/// created at the first call and removed at exit: the loaders read files, so every input is
/// written there first.
inline const std::filesystem::path& scratch() {
    struct directory {
        std::filesystem::path path =
            std::filesystem::temp_directory_path() / ("metarec-fuzz-" + std::to_string(::getpid()));
        directory() { std::filesystem::create_directories(path); }
        ~directory() {
            std::error_code ignored;
            std::filesystem::remove_all(path, ignored);
        }
    };
    static const directory dir;
    return dir.path;
}

/// writes `bytes` to scratch()/name and returns the path (a failed write aborts: the run
/// would test nothing)
inline std::filesystem::path write(const std::string& name, std::string_view bytes) {
    const auto path = scratch() / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) {
        std::fprintf(stderr, "metarec fuzz: cannot write %s (disk full?)\n", path.string().c_str());
        std::abort();
    }
    return path;
}

/// the input cut at the byte 0x1E (ASCII record separator) into at most `parts` pieces
inline std::vector<std::string_view> split(const std::uint8_t* data, std::size_t size, std::size_t parts) {
    std::vector<std::string_view> out;
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    while (out.size() + 1 < parts) {
        const auto at = rest.find('\x1e');
        if (at == std::string_view::npos) break;
        out.push_back(rest.substr(0, at));
        rest.remove_prefix(at + 1);
    }
    out.push_back(rest);
    return out;
}

/// Runs `load`: a data_error is the expected answer to bad input; any other exception is a
/// finding, reported and aborted on so that libFuzzer keeps the input.
template <class F>
void expect_data_error_only(F&& load) {
    try {
        load();
    } catch (const data_error& e) {
        if (std::string_view(e.what()).empty()) {
            std::fprintf(stderr, "metarec fuzz: a data_error without a message\n");
            std::abort();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "metarec fuzz: unexpected exception: %s\n", e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "metarec fuzz: unexpected non-standard exception\n");
        std::abort();
    }
}

}  // namespace metarec::fuzz
