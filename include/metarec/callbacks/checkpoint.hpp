// metarec: a callback that saves a resumable checkpoint of fit() every n meta-steps.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "callbacks.hpp"

namespace metarec::callbacks {

/// Saves `algorithm.save_checkpoint(path)` every `every_n_steps` meta-steps and when fit()
/// ends, each time atomically replacing the previous file (io/archive.hpp: a crash, even
/// SIGKILL, leaves the last complete checkpoint). To continue a killed run:
///
/// ```cpp
/// metarec::callbacks::checkpoint save{"run.ckpt", 100};
/// if (std::filesystem::exists("run.ckpt")) algo.resume("run.ckpt");
/// algo.fit(train, {.epochs = 50}, stop, save);   // the same tasks, options and callbacks
/// ```
///
/// The resumed run ends with the meta-parameters of an uninterrupted one, bit for bit
/// (fit() sums the meta-batch in task order, whatever the thread count). The checkpoint
/// holds the callbacks' states (early_stopping's best epoch and snapshot), taken after the
/// callbacks before this one in fit()'s list have seen the step: pass it last.
class checkpoint {
public:
    /// @param path           the checkpoint file (its directory must exist)
    /// @param every_n_steps  meta-steps between two checkpoints (>= 1)
    checkpoint(std::filesystem::path path, std::int64_t every_n_steps) : path_(std::move(path)), every_(every_n_steps) {
        if (every_n_steps < 1) throw std::invalid_argument("metarec: checkpoint: every_n_steps must be >= 1");
        if (path_.empty()) throw std::invalid_argument("metarec: checkpoint: empty path");
    }

    //! the checkpoint file
    const std::filesystem::path& path() const noexcept { return path_; }
    //! checkpoints written so far
    std::int64_t saved() const noexcept { return saved_; }

    //! saves every n-th meta-step
    template <class Algorithm>
    void on_step_end(const step_info& info, Algorithm& algorithm) {
        if (info.step % every_ == 0) save(algorithm);
    }
    //! saves the finished run
    template <class Algorithm>
    void on_fit_end(const fit_end_info&, Algorithm& algorithm) {
        save(algorithm);
    }

private:
    template <class Algorithm>
    void save(Algorithm& algorithm) {
        algorithm.save_checkpoint(path_);
        ++saved_;
    }

    std::filesystem::path path_;
    std::int64_t every_;
    std::int64_t saved_ = 0;
};

}  // namespace metarec::callbacks
