// metarec: learning-rate schedules (constant, step decay, cosine annealing, linear warm-up).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <stdexcept>
#include <string>

namespace metarec::optim {

namespace detail {
//! A number as "%g" prints it (1e-08, 0.9, 1.5), for error messages.
inline std::string format_number(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", x);
    return text;
}
}  // namespace detail

/// A learning-rate schedule: a multiplicative factor of an optimizer's base `lr`, as a
/// function of the number of steps already taken. A plain runtime value (copyable,
/// comparable, a few numbers), so it sits in an optimizer aggregate and in a checkpoint.
///
/// With `t` the 0-based count of steps already taken (the step about to be taken is the
/// `t+1`-th), the factors are
///
///     constant():                   f(t) = 1
///     step_decay(every, gamma):     f(t) = gamma^floor(t / every)
///     cosine(T, min_factor = 0):    f(t) = m + (1 - m) (1 + cos(pi t / T)) / 2   for t < T
///                                   f(t) = m                                      for t >= T
///
/// `with_warmup(W)` prepends a linear warm-up of W steps: the first W steps use the factors
/// 1/W, 2/W, ..., W/W = 1, then the schedule above runs with its own step count starting
/// at 0 (so `cosine(T).with_warmup(W)` reaches its minimum after W + T steps):
///
///     f_w(t) = (t + 1) / W    for t < W,        f_w(t) = f(t - W)    otherwise.
///
/// @code
/// metarec::optim::adam opt{.lr = 1e-3, .lr_schedule = metarec::optim::schedule::cosine(10'000).with_warmup(500)};
/// @endcode
/// The factories validate their arguments and throw std::invalid_argument.
class schedule {
public:
    //! The shape of the schedule (warm-up aside).
    enum class kind : std::uint8_t { constant, step_decay, cosine };

    //! The constant schedule, f(t) = 1.
    constexpr schedule() noexcept = default;

    //! f(t) = 1.
    static constexpr schedule constant() noexcept { return schedule{}; }

    /// Multiplies the factor by `gamma` every `every` steps: f(t) = gamma^floor(t / every).
    /// @param every  period in steps, > 0
    /// @param gamma  decay per period, > 0 (usually < 1)
    static schedule step_decay(std::int64_t every, double gamma) {
        if (every <= 0)
            throw std::invalid_argument("metarec::optim::schedule::step_decay: every must be > 0, got " +
                                        std::to_string(every));
        if (!(gamma > 0) || !std::isfinite(gamma))
            throw std::invalid_argument("metarec::optim::schedule::step_decay: gamma must be finite and > 0, got " +
                                        detail::format_number(gamma));
        schedule s;
        s.kind_ = kind::step_decay;
        s.every_ = every;
        s.gamma_ = gamma;
        return s;
    }

    /// Cosine annealing from 1 to `min_factor` over `total_steps` steps, then `min_factor`:
    /// f(t) = m + (1 - m) (1 + cos(pi t / T)) / 2 for t < T, m afterwards.
    /// @param total_steps  T, length of the annealing, > 0
    /// @param min_factor   m, final factor, in [0, 1]; default 0
    static schedule cosine(std::int64_t total_steps, double min_factor = 0) {
        if (total_steps <= 0)
            throw std::invalid_argument("metarec::optim::schedule::cosine: total_steps must be > 0, got " +
                                        std::to_string(total_steps));
        if (!(min_factor >= 0 && min_factor <= 1))
            throw std::invalid_argument("metarec::optim::schedule::cosine: min_factor must be in [0, 1], got " +
                                        detail::format_number(min_factor));
        schedule s;
        s.kind_ = kind::cosine;
        s.total_ = total_steps;
        s.min_factor_ = min_factor;
        return s;
    }

    /// This schedule preceded by a linear warm-up of `steps` steps (factors 1/W, ..., 1);
    /// 0 removes the warm-up.
    /// @param steps  W >= 0
    schedule with_warmup(std::int64_t steps) const {
        if (steps < 0)
            throw std::invalid_argument("metarec::optim::schedule::with_warmup: steps must be >= 0, got " +
                                        std::to_string(steps));
        schedule s = *this;
        s.warmup_ = steps;
        return s;
    }

    /// The factor of the learning rate for the step taken after `step` steps (0-based).
    /// @param step  number of steps already taken, >= 0
    double factor(std::int64_t step) const {
        if (step < 0)
            throw std::invalid_argument("metarec::optim::schedule::factor: step must be >= 0, got " +
                                        std::to_string(step));
        if (step < warmup_) return double(step + 1) / double(warmup_);
        const std::int64_t t = step - warmup_;
        switch (kind_) {
        case kind::step_decay:
            return std::pow(gamma_, double(t / every_));
        case kind::cosine:
            if (t >= total_) return min_factor_;
            return min_factor_ + (1 - min_factor_) * 0.5 * (1 + std::cos(std::numbers::pi * double(t) / double(total_)));
        case kind::constant:
            break;
        }
        return 1.0;
    }

    //! shape of the schedule
    constexpr kind type() const noexcept { return kind_; }
    //! step_decay period (0 otherwise)
    constexpr std::int64_t every() const noexcept { return every_; }
    //! step_decay factor per period (1 otherwise)
    constexpr double gamma() const noexcept { return gamma_; }
    //! cosine length T (0 otherwise)
    constexpr std::int64_t total_steps() const noexcept { return total_; }
    //! cosine final factor (0 otherwise)
    constexpr double min_factor() const noexcept { return min_factor_; }
    //! warm-up length W (0 when none)
    constexpr std::int64_t warmup() const noexcept { return warmup_; }

    //! equal when the kind and every parameter are equal
    friend constexpr bool operator==(const schedule&, const schedule&) noexcept = default;

private:
    kind kind_ = kind::constant;
    std::int64_t every_ = 0;
    double gamma_ = 1;
    std::int64_t total_ = 0;
    double min_factor_ = 0;
    std::int64_t warmup_ = 0;
};

}  // namespace metarec::optim
