// metarec: a callback writing one CSV row per meta-step (step, epoch, meta-loss, time).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "callbacks.hpp"

namespace metarec::callbacks {

/// Writes the training curve to a CSV file, one row per meta-step:
///
///     step,epoch,meta_loss,seconds
///     1,1,0.83712041203,0.0021
///
/// `step` is step_info::step (the algorithm's meta-step count), `epoch` is 1-based,
/// `meta_loss` the mean training loss of the step's tasks, `seconds` the wall time since
/// fit() started. Numbers are written with `std::to_chars`, the shortest text that reads
/// back to the same double (full precision).
///
/// The file is opened (truncated) when fit() begins and closed when it ends; each row is
/// flushed, so a crash keeps every row written before it. A file that cannot be opened or
/// written is a `std::runtime_error` naming the path and the system's reason.
///
/// ```cpp
/// metarec::callbacks::log_csv csv{"runs/maml.csv"};
/// algo.fit(tasks, {.epochs = 20}, csv, metarec::callbacks::progress_bar{});
/// ```
class log_csv {
public:
    /// @param path the CSV file; created or truncated at the beginning of each fit()
    explicit log_csv(std::filesystem::path path) : path_(std::move(path)) {}

    //! the file written
    const std::filesystem::path& path() const noexcept { return path_; }
    //! rows written by the current (or last) fit(), the header excluded
    std::int64_t rows() const noexcept { return rows_; }

    //! opens (truncates) the file and writes the header
    void on_fit_begin(const fit_begin_info&) {
        file_.reset(std::fopen(path_.string().c_str(), "w"));
        if (!file_) fail("cannot open");
        rows_ = 0;
        write("step,epoch,meta_loss,seconds\n");
    }

    //! writes and flushes one row
    void on_step_end(const step_info& info) {
        if (!file_) return;
        char row[160];
        char* p = row;
        char* const end = row + sizeof row - 1;
        p = std::to_chars(p, end, static_cast<long long>(info.step)).ptr;
        *p++ = ',';
        p = std::to_chars(p, end, info.epoch + 1).ptr;
        *p++ = ',';
        p = std::to_chars(p, end, info.loss).ptr;
        *p++ = ',';
        p = std::to_chars(p, end, info.seconds).ptr;
        *p++ = '\n';
        *p = '\0';
        write(row);
        ++rows_;
    }

    //! closes the file
    void on_fit_end(const fit_end_info&) {
        if (file_ && std::fclose(file_.release()) != 0) fail("cannot close");
    }

private:
    struct closer {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };

    void write(const char* text) {
        if (std::fputs(text, file_.get()) < 0 || std::fflush(file_.get()) != 0) fail("cannot write to");
    }

    [[noreturn]] void fail(const char* what) {
        const int error = errno;
        file_.reset();
        throw std::runtime_error(std::string("metarec: log_csv: ") + what + " '" + path_.string() +
                                 "': " + std::strerror(error));
    }

    std::filesystem::path path_;
    std::unique_ptr<std::FILE, closer> file_;
    std::int64_t rows_ = 0;
};

}  // namespace metarec::callbacks
