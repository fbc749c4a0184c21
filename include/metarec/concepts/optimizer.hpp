// metarec: the optimizer concept (docs/concepts/optimizer.md).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <concepts>

#include "../config.hpp"
#include "../device/fwd.hpp"
#include "../optim/state.hpp"
#include "device_policy.hpp"

namespace metarec {

/// An optimizer: a value holding hyper-parameters only, whose state lives outside it in an
/// `optim::state<S, Device>` (a flat device buffer and a step count), so one optimizer can
/// drive many parameter vectors. It provides
///
///  - `index state_size(index n) const`: the number of state scalars for n parameters;
///  - `void step(optim::state<S, Device>& st, S* theta, const S* grad, index n) const`
///    (usually a template over S and Device): updates the n parameters at `theta` in place
///    from `grad` (both device memory; grad is not modified) and increments `st.steps`;
///  - optionally `double initial_state_value() const` (what optim::make_state fills the
///    buffer with, 0 by default) and `void validate() const` (called by make_state).
/// See docs/concepts/optimizer.md for a skeleton.
/// @tparam O       the optimizer type
/// @tparam S       scalar type of the parameters; default float
/// @tparam Device  device policy; default device::cpu
template <class O, class S = float, class Device = device::cpu>
concept optimizer = requires(const O& o, optim::state<S, Device>& st, S* theta, const S* grad, index n) {
    { o.state_size(n) } -> std::convertible_to<index>;
    o.step(st, theta, grad, n);
};

/// Fails with a sentence naming what an optimizer type lacks; use at the entry points that
/// take an optimizer: `static_assert(check_optimizer<O, S, Device>());`.
/// @tparam O       the optimizer type
/// @tparam S       scalar type of the parameters
/// @tparam Device  device policy
template <class O, class S, class Device>
constexpr bool check_optimizer() {
    static_assert(check_device_policy<Device>());
    static_assert(requires(const O& o, index n) { { o.state_size(n) } -> std::convertible_to<index>; },
                  "metarec: an optimizer lacks a const member state_size(index n) returning how many state "
                  "scalars it keeps for n parameters (see docs/concepts/optimizer.md)");
    static_assert(requires(const O& o, optim::state<S, Device>& st, S* theta, const S* grad, index n) {
                      o.step(st, theta, grad, n);
                  },
                  "metarec: an optimizer lacks a const member step(optim::state<S, Device>& st, S* theta, "
                  "const S* grad, index n) that updates theta in place (see docs/concepts/optimizer.md)");
    return optimizer<O, S, Device>;
}

}  // namespace metarec
