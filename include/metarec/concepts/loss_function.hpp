// metarec: the loss_function and loss_with_hessian concepts (docs/concepts/loss_function.md).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <concepts>

#include "../config.hpp"
#include "../device/fwd.hpp"
#include "device_policy.hpp"

namespace metarec {

/// A loss: a value (usually a stateless aggregate, possibly holding hyper-parameters) that
/// maps predictions (`rows x n` column-major, n samples, device memory) and targets to a
/// scalar and gives its derivative with respect to the predictions:
///
///  - `S value<Device>(pred, target, rows, n) const`: the loss, a mean over the batch;
///  - `void gradient<Device>(pred, target, rows, n, dpred) const`: `dpred = dL/dpred`
///    (overwritten, `rows x n`).
///
/// Both are member templates whose first template parameter is the device policy (the
/// scalar is deduced), called as `loss.template value<Device>(...)`. Built-in losses also
/// declare `name` and `target_rows(rows)` (see loss_target_rows). See
/// docs/concepts/loss_function.md for a skeleton.
/// @tparam L       the loss type
/// @tparam S       scalar type of predictions and targets; default double
/// @tparam Device  device policy; default device::cpu
template <class L, class S = double, class Device = device::cpu>
concept loss_function = requires(const L& l, const S* pred, const S* target, S* out, index rows, index n) {
    { l.template value<Device>(pred, target, rows, n) } -> std::convertible_to<S>;
    l.template gradient<Device>(pred, target, rows, n, out);
};

/// A loss that also gives the product of its Hessian with respect to the predictions with a
/// direction, `void hessian_product<Device>(pred, target, rows, n, rpred, rdpred) const`:
/// `rdpred = (d2L/dpred2) rpred` (overwritten, `rows x n`). This is what exact
/// Hessian-vector products of a whole network (Pearlmutter's R-operator) need; a loss
/// without it still works with every algorithm, through a finite-difference product (see
/// objective).
/// @tparam L       the loss type
/// @tparam S       scalar type; default double
/// @tparam Device  device policy; default device::cpu
template <class L, class S = double, class Device = device::cpu>
concept loss_with_hessian =
    loss_function<L, S, Device> &&
    requires(const L& l, const S* pred, const S* target, const S* r, S* out, index rows, index n) {
        l.template hessian_product<Device>(pred, target, rows, n, r, out);
    };

/// The number of target values per sample that loss L expects for predictions with `rows`
/// outputs: `L::target_rows(rows)` when L declares it, else `rows` (one target per
/// prediction, as mse). softmax_cross_entropy needs 1 (a class index), bpr 0 (no target).
/// @tparam L the loss type
/// @param rows outputs per sample
template <class L>
constexpr index loss_target_rows(index rows) {
    if constexpr (requires { { L::target_rows(rows) } -> std::convertible_to<index>; })
        return L::target_rows(rows);
    else
        return rows;
}

/// Fails with a sentence naming what a loss type lacks; use at the entry points that take
/// a loss: `static_assert(check_loss_function<L, S, Device>());`. Does not require
/// hessian_product (see loss_with_hessian).
/// @tparam L       the loss type
/// @tparam S       scalar type of predictions and targets
/// @tparam Device  device policy
template <class L, class S, class Device>
constexpr bool check_loss_function() {
    static_assert(check_device_policy<Device>());
    static_assert(requires(const L& l, const S* pred, const S* target, index rows, index n) {
                      { l.template value<Device>(pred, target, rows, n) } -> std::convertible_to<S>;
                  },
                  "metarec: a loss function lacks a const member template value<Device>(const S* pred, "
                  "const S* target, index rows, index n) returning the loss as S "
                  "(see docs/concepts/loss_function.md)");
    static_assert(requires(const L& l, const S* pred, const S* target, S* dpred, index rows, index n) {
                      l.template gradient<Device>(pred, target, rows, n, dpred);
                  },
                  "metarec: a loss function lacks a const member template gradient<Device>(const S* pred, "
                  "const S* target, index rows, index n, S* dpred) writing dL/dpred "
                  "(see docs/concepts/loss_function.md)");
    return loss_function<L, S, Device>;
}

}  // namespace metarec
