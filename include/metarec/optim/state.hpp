// metarec: the flat, checkpointable state of an optimizer, and helpers shared by the optimizers.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../config.hpp"
#include "../device/fwd.hpp"
#include "clip.hpp"
#include "schedule.hpp"

namespace metarec::optim {

/// The state of an optimizer for one parameter vector: a flat device buffer of
/// `opt.state_size(n)` scalars (moments, accumulators, ...) and the number of steps taken.
///
/// Optimizers are values holding hyper-parameters only; their state lives here, so one
/// optimizer can drive many parameter vectors (one state per task) and a state can be
/// checkpointed by copying `buffer` and `steps`. The layout of `buffer` is documented by
/// each optimizer (e.g. adam: first moments m[0..n), then second moments v[0..n)).
/// @tparam S       scalar type of the parameters
/// @tparam Device  device policy the buffer lives on; default device::cpu
template <class S, class Device = device::cpu>
struct state {
    using scalar_type = S;       //!< scalar type of the buffer
    using device_type = Device;  //!< device the buffer lives on

    typename Device::template vector<S> buffer;  //!< opt.state_size(n) scalars, device memory
    std::int64_t steps = 0;                      //!< steps taken (drives bias correction and schedules)
};

/// Whether one step of `opt` on several vectors laid end to end is the step of each with a
/// state of its own (the state laid end to end likewise, the step counts equal): what
/// Reptile's task-batched inner loop needs to step every task's fast weights at once. True
/// for an optimizer that declares `static constexpr bool elementwise = true` (every
/// parameter's update reads its own gradient and state and the step count only: the
/// built-in ones) and does not clip (`clip_norm` 0: the norm spans the whole vector).
template <class Optimizer>
bool elementwise(const Optimizer& opt) noexcept {
    if constexpr (requires { Optimizer::elementwise; }) {
        if constexpr (requires { opt.clip_norm; })
            return Optimizer::elementwise && opt.clip_norm == 0;
        else
            return Optimizer::elementwise;
    } else {
        return false;
    }
}

/// A step's element-wise update in parts: `parts(n, update)` calls `update(offset, size)` on
/// disjoint parts covering [0, n), possibly on several threads at once (meta-algorithms pass
/// their threads to the optimizers that take a `parts` argument: optim::adam, optim::adamw).
/// `parts(n, update, work)`, with `work[b]` the work of the first b blocks of
/// part_granularity values (b = 0, ..., ceil(n / part_granularity), non-decreasing), makes
/// parts of about equal work rather than equal size. This one runs the whole vector as one
/// part on the calling thread.
struct one_part {
    //! update(0, n)
    template <class Update>
    void operator()(index n, const Update& update, std::span<const index> = {}) const {
        update(index(0), n);
    }
};

/// Every part but the last starts and ends at a multiple of this many parameters: the blocks
/// of the CPU kernels, so that a step cut into parts computes every parameter exactly as the
/// whole step does (bit for bit).
inline constexpr index part_granularity = 256;

namespace detail {

//! Throws std::invalid_argument("metarec::optim::<who>: <what>").
[[noreturn]] inline void invalid(std::string_view who, std::string_view what) {
    throw std::invalid_argument("metarec::optim::" + std::string(who) + ": " + std::string(what));
}

//! x >= 0 and finite
inline void require_non_negative(std::string_view who, const char* field, double x) {
    if (!(x >= 0) || !std::isfinite(x))
        invalid(who, std::string(field) + " must be finite and >= 0, got " + format_number(x));
}

//! x > 0 and finite
inline void require_positive(std::string_view who, const char* field, double x) {
    if (!(x > 0) || !std::isfinite(x)) invalid(who, std::string(field) + " must be finite and > 0, got " + format_number(x));
}

//! 0 <= x < 1
inline void require_unit(std::string_view who, const char* field, double x) {
    if (!(x >= 0 && x < 1)) invalid(who, std::string(field) + " must be in [0, 1), got " + format_number(x));
}

//! The checks common to every built-in optimizer: lr, weight_decay, clip_norm.
template <class Optimizer>
void require_common(const Optimizer& opt) {
    require_non_negative(Optimizer::name, "lr", opt.lr);
    require_non_negative(Optimizer::name, "weight_decay", opt.weight_decay);
    require_clip_norm(Optimizer::name, "clip_norm", opt.clip_norm);
}

//! The learning rate and gradient scale of one step of a built-in optimizer.
template <class S>
struct step_scalars {
    S lr;     //!< lr * lr_schedule.factor(steps)
    S scale;  //!< gradient clipping factor (1 when clipping is off)
};

/// Validates the hyper-parameters and the state of a step, then returns the scheduled
/// learning rate and the clipping factor of the gradient.
template <class Optimizer, class S, class Device>
step_scalars<S> begin_step(const Optimizer& opt, const state<S, Device>& st, const S* grad, index n) {
    opt.validate();
    if (n < 0) invalid(Optimizer::name, "the number of parameters n must be >= 0, got " + std::to_string(n));
    const index expected = opt.state_size(n);
    if (index(st.buffer.size()) != expected)
        invalid(Optimizer::name, "the state buffer holds " + std::to_string(index(st.buffer.size())) +
                                     " scalars but state_size(" + std::to_string(n) + ") = " + std::to_string(expected) +
                                     "; create the state with make_state<S, Device>(opt, n)");
    if (st.steps < 0) invalid(Optimizer::name, "the state's step count is negative (" + std::to_string(st.steps) + ")");
    return {S(opt.lr * opt.lr_schedule.factor(st.steps)), clip_factor<Device>(grad, n, opt.clip_norm)};
}

}  // namespace detail

/// A fresh state for `n` parameters: a buffer of `opt.state_size(n)` scalars filled with
/// `opt.initial_state_value()` when the optimizer has that member (adagrad: its
/// `initial_accumulator`), with zeros otherwise, and a step count of 0. Validates the
/// optimizer's hyper-parameters first when it has a `validate()` member.
/// @tparam S          scalar type of the parameters
/// @tparam Device     device policy; default device::cpu
/// @tparam Optimizer  any type modelling the optimizer concept (deduced)
/// @param opt  the optimizer that will step this state
/// @param n    number of parameters, >= 0
template <class S, class Device = device::cpu, class Optimizer>
state<S, Device> make_state(const Optimizer& opt, index n) {
    if constexpr (requires { opt.validate(); }) opt.validate();
    if (n < 0)
        throw std::invalid_argument("metarec::optim::make_state: the number of parameters n must be >= 0, got " +
                                    std::to_string(n));
    const index size = opt.state_size(n);
    if (size < 0)
        throw std::invalid_argument("metarec::optim::make_state: the optimizer's state_size(" + std::to_string(n) +
                                    ") is negative (" + std::to_string(size) + ")");
    state<S, Device> st{typename Device::template vector<S>(size), 0};
    S value = S(0);
    if constexpr (requires { opt.initial_state_value(); }) value = S(opt.initial_state_value());
    if (size > 0) Device::fill(size, value, st.buffer.data());
    return st;
}

}  // namespace metarec::optim
