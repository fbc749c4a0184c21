// metarec: a one-line progress bar for fit(): epoch, step, meta-loss, throughput, ETA.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>
#include <ostream>
#include <string>

#include "callbacks.hpp"

#if __has_include(<unistd.h>)
#include <unistd.h>
#define METAREC_DETAIL_HAS_ISATTY 1
#elif __has_include(<io.h>)
#include <io.h>
#define METAREC_DETAIL_HAS_ISATTY 2
#endif

namespace metarec::callbacks {

namespace detail {

//! whether the process's standard error is a terminal (false where that cannot be known)
inline bool stderr_is_terminal() noexcept {
#if defined(METAREC_DETAIL_HAS_ISATTY) && METAREC_DETAIL_HAS_ISATTY == 1
    return ::isatty(::fileno(stderr)) != 0;
#elif defined(METAREC_DETAIL_HAS_ISATTY) && METAREC_DETAIL_HAS_ISATTY == 2
    return ::_isatty(::_fileno(stderr)) != 0;
#else
    return false;
#endif
}

//! appends `seconds` as `m:ss` or `h:mm:ss` ("--:--" when not finite)
inline void append_duration(std::string& line, double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) {
        line += "--:--";
        return;
    }
    const auto total = static_cast<std::int64_t>(seconds + 0.5);
    char buffer[48];
    if (total >= 3600)
        std::snprintf(buffer, sizeof buffer, "%lld:%02d:%02d", static_cast<long long>(total / 3600),
                      int(total / 60 % 60), int(total % 60));
    else
        std::snprintf(buffer, sizeof buffer, "%d:%02d", int(total / 60), int(total % 60));
    line += buffer;
}

//! what a progress_bar keeps between hooks
struct progress_bar_state {
    std::ostream* stream = nullptr;  //!< where this fit() draws, null when off
    int epochs = 0;                  //!< epochs requested
    int epoch = 0;                   //!< current epoch, 0-based
    std::int64_t total_steps = 0;    //!< steps expected
    std::int64_t steps = 0;          //!< steps taken in this fit()
    std::int64_t tasks = 0;          //!< tasks processed in this fit()
    double ema = 0;                  //!< moving average of the step losses
    double epoch_loss = 0;           //!< mean loss of the last completed epoch
    double seconds = 0;              //!< wall time since fit() started
    double last_draw = 0;            //!< seconds at the last redraw
    std::size_t drawn = 0;           //!< length of the last line drawn (to blank leftovers)
    std::string line{};              //!< the line being formatted (reused)
};

}  // namespace detail

#undef METAREC_DETAIL_HAS_ISATTY

/// A progress bar on one line, redrawn in place with `\r`:
///
///     epoch 3/10 step 25/80 [#######.............]  loss 0.4172 (epoch 0.4310)  812.4 tasks/s  0:03<0:07
///
/// `loss` is an exponential moving average of the step losses,
/// `ema <- (1 - smoothing) ema + smoothing loss` (the first step sets it), and the value in
/// parentheses is the mean meta-loss of the last completed epoch. The ETA extrapolates the
/// mean time per step. Epochs and steps are shown 1-based and counted within this fit().
///
/// Where it writes: to `*out` when `out` is set (whatever the terminal; for tests and log
/// files), else to `std::cerr`, but only when standard error is a terminal or `force` is
/// true, so that batch jobs and CI logs stay clean. It redraws at most every
/// `min_interval` seconds, and always at the end of fit(), which also ends the line.
/// Formatting reuses one string buffer: after the first line, no allocation per step.
///
/// ```cpp
/// algo.fit(tasks, {.epochs = 20}, metarec::callbacks::progress_bar{});
/// algo.fit(tasks, {.epochs = 20}, metarec::callbacks::progress_bar{.force = true, .min_interval = 1.0});
/// ```
///
/// An aggregate: set the options with designated initializers; `state_` is the bar's
/// running state, not an option.
struct progress_bar {
    std::ostream* out = nullptr;  //!< where to draw; null: std::cerr if a terminal (or force)
    bool force = false;           //!< draw on std::cerr even when it is not a terminal
    double min_interval = 0.1;    //!< seconds between redraws (the end of fit() always redraws)
    int width = 24;               //!< characters of the bar itself
    double smoothing = 0.1;       //!< weight of the newest step loss in the moving average
    bool quiet = false;           //!< never draw (e.g. a program's --quiet), whatever the rest says

    //! whether this bar will draw anything: not quiet, and an explicit stream, `force`, or a terminal on stderr
    bool enabled() const noexcept { return !quiet && (out != nullptr || force || detail::stderr_is_terminal()); }

    //! resets the state and decides whether to draw
    void on_fit_begin(const fit_begin_info& info) {
        state_.stream = !enabled() ? nullptr : out ? out : &std::cerr;
        state_.epochs = info.epochs;
        state_.total_steps = info.total_steps;
        state_.steps = 0;
        state_.tasks = 0;
        state_.epoch = 0;
        state_.ema = state_.epoch_loss = std::numeric_limits<double>::quiet_NaN();
        state_.seconds = 0;
        state_.last_draw = -std::numeric_limits<double>::infinity();
        state_.drawn = 0;
    }

    //! updates the moving average; redraws if `min_interval` has passed
    void on_step_end(const step_info& info) {
        ++state_.steps;
        state_.tasks += std::int64_t(info.tasks);
        state_.epoch = info.epoch;
        state_.seconds = info.seconds;
        state_.ema = std::isnan(state_.ema) ? info.loss : (1 - smoothing) * state_.ema + smoothing * info.loss;
        if (state_.stream && info.seconds - state_.last_draw >= min_interval) draw(false);
    }

    //! records the epoch's mean loss
    void on_epoch_end(const epoch_info& info) {
        state_.epoch_loss = info.loss;
        state_.epoch = info.epoch;
        state_.seconds = info.seconds;
        if (state_.stream && info.seconds - state_.last_draw >= min_interval) draw(false);
    }

    //! draws the final state and ends the line
    void on_fit_end(const fit_end_info& info) {
        if (!state_.stream) return;
        state_.seconds = info.seconds;
        draw(true);
        *state_.stream << '\n' << std::flush;
        state_.stream = nullptr;
    }

    //! the running state (public only so that the options above can be designated initializers)
    detail::progress_bar_state state_{};

private:
    // formats the line into state_.line and writes it; the final line has no ETA
    void draw(bool last) {
        auto& st = state_;
        st.last_draw = st.seconds;
        st.line.clear();
        st.line += '\r';
        char buffer[160];
        std::snprintf(buffer, sizeof buffer, "epoch %d/%d step %lld/%lld [", st.epoch + 1, st.epochs,
                      static_cast<long long>(st.steps), static_cast<long long>(st.total_steps));
        st.line += buffer;
        const int bar = width > 0 ? width : 0;
        const double fraction = st.total_steps > 0 ? std::min(1.0, double(st.steps) / double(st.total_steps)) : 1.0;
        const int filled = int(fraction * bar);
        st.line.append(std::size_t(filled), '#');
        st.line.append(std::size_t(bar - filled), '.');
        std::snprintf(buffer, sizeof buffer, "]  loss %.4g", st.ema);
        st.line += buffer;
        if (!std::isnan(st.epoch_loss)) {
            std::snprintf(buffer, sizeof buffer, " (epoch %.4g)", st.epoch_loss);
            st.line += buffer;
        }
        std::snprintf(buffer, sizeof buffer, "  %.1f tasks/s  ", st.seconds > 0 ? double(st.tasks) / st.seconds : 0.0);
        st.line += buffer;
        detail::append_duration(st.line, st.seconds);
        if (!last) {
            const auto left = double(std::max<std::int64_t>(0, st.total_steps - st.steps));
            st.line += '<';
            detail::append_duration(st.line, st.steps > 0 ? st.seconds / double(st.steps) * left : -1.0);
        }
        // blank what is left of a longer previous line
        const std::size_t length = st.line.size() - 1;
        if (length < st.drawn) st.line.append(st.drawn - length, ' ');
        st.drawn = length;
        *st.stream << st.line << std::flush;
    }
};

}  // namespace metarec::callbacks
