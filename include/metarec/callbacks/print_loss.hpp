// metarec: a callback printing the meta-loss every few steps and after every epoch.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <ostream>

#include "callbacks.hpp"

namespace metarec::callbacks {

/// Prints the meta-loss as plain lines, one every `every` meta-steps and one per epoch:
///
///     step 40 epoch 2 loss 0.412345
///     epoch 2 loss 0.418877 (3.21 s)
///
/// `step` is step_info::step (the algorithm's meta-step count), a step line is printed when
/// it is a multiple of `every` (`every <= 0`: epoch lines only); epochs are printed 1-based;
/// the epoch line's loss is the epoch's mean meta-loss and the time is the wall time since
/// fit() started. Losses use 6 significant digits.
///
/// ```cpp
/// algo.fit(tasks, {.epochs = 5}, metarec::callbacks::print_loss{.every = 100});
/// std::ofstream log("train.log");
/// algo.fit(tasks, {.epochs = 5}, metarec::callbacks::print_loss{.every = 10, .out = &log});
/// ```
struct print_loss {
    std::int64_t every = 1;         //!< a step line every this many steps (<= 0: none)
    std::ostream* out = &std::cout; //!< where to print (must outlive fit())

    //! one line every `every` steps
    void on_step_end(const step_info& info) const {
        if (every <= 0 || out == nullptr || info.step % every != 0) return;
        char line[128];
        std::snprintf(line, sizeof line, "step %lld epoch %d loss %.6g\n", static_cast<long long>(info.step),
                      info.epoch + 1, info.loss);
        *out << line;
    }

    //! one line per epoch, flushed
    void on_epoch_end(const epoch_info& info) const {
        if (out == nullptr) return;
        char line[128];
        std::snprintf(line, sizeof line, "epoch %d loss %.6g (%.2f s)\n", info.epoch + 1, info.loss, info.seconds);
        *out << line << std::flush;
    }
};

}  // namespace metarec::callbacks
