// metarec: the learner and twice_differentiable_learner concepts (docs/concepts/learner.md).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <concepts>

#include "../config.hpp"
#include "device_policy.hpp"

namespace metarec {

/// A model with one flat parameter vector that predicts and back-propagates. Every pass
/// takes the parameters explicitly and scratch memory in a workspace (one per thread):
///
///  - types `scalar_type`, `device_type` (a device_policy), `input_type` (with `size()`,
///    the number of samples), `workspace_type`;
///  - `parameter_count()`, `output_rows()` (predictions per sample), `parameters()` (the
///    learner's own parameters, device memory), `make_workspace(max_samples)`;
///  - `forward(theta, x, ws, pred)`: pred (`output_rows() x x.size()`) at theta;
///  - `backward(theta, x, ws, dpred, grad)`: `grad += J^T dpred` for the batch of the last
///    forward with `ws`.
///
/// Optionally, `touched_parameters(x, std::vector<parameter_range>& out)`: overwrites `out`
/// with the parameters whose gradient on `x` can be nonzero, as disjoint ranges sorted by
/// offset (nn::model: the embedding columns of the batch's ids and every other layer).
/// Meta-algorithms then zero, copy and sum only those (sparse embedding gradients).
/// See docs/concepts/learner.md for a skeleton.
template <class L>
concept learner = requires(const L& cl, L& l, const typename L::scalar_type* theta, typename L::scalar_type* out,
                           const typename L::input_type& x, typename L::workspace_type& ws, index n) {
    typename L::scalar_type;
    requires device_policy<typename L::device_type>;
    { x.size() } -> std::convertible_to<index>;
    { cl.parameter_count() } -> std::convertible_to<index>;
    { cl.output_rows() } -> std::convertible_to<index>;
    { l.parameters() } -> std::convertible_to<typename L::scalar_type*>;
    { cl.parameters() } -> std::convertible_to<const typename L::scalar_type*>;
    { cl.make_workspace(n) } -> std::same_as<typename L::workspace_type>;
    cl.forward(theta, x, ws, out);
    cl.backward(theta, x, ws, theta, out);
};

/// A learner that also gives exact Hessian-vector products through Pearlmutter's
/// R-operator: `r_forward(theta, v, x, ws, rpred)` (rpred = J v, after forward) and
/// `r_backward(theta, v, x, ws, dpred, rdpred, hv, grad)` (hv += R_v{J^T dpred}, grad +=
/// J^T dpred when not null, after r_forward). Learners without them still work with
/// second-order algorithms through a finite-difference product (see objective).
template <class L>
concept twice_differentiable_learner =
    learner<L> && requires(const L& cl, const typename L::scalar_type* theta, typename L::scalar_type* out,
                           const typename L::input_type& x, typename L::workspace_type& ws) {
        cl.r_forward(theta, theta, x, ws, out);
        cl.r_backward(theta, theta, x, ws, theta, theta, out, out);
    };

/// Fails with a sentence naming what a learner type lacks.
template <class L>
constexpr bool check_learner() {
    static_assert(requires { typename L::scalar_type; typename L::device_type; typename L::input_type;
                             typename L::workspace_type; },
                  "metarec: a learner must declare scalar_type, device_type, input_type and workspace_type "
                  "(see docs/concepts/learner.md)");
    if constexpr (requires { typename L::scalar_type; typename L::device_type; typename L::input_type;
                             typename L::workspace_type; }) {
        using S = typename L::scalar_type;
        static_assert(requires(const L& l, index n) { { l.parameter_count() } -> std::convertible_to<index>;
                                                       { l.output_rows() } -> std::convertible_to<index>; },
                      "metarec: a learner needs parameter_count() and output_rows() (see docs/concepts/learner.md)");
        static_assert(requires(L& l) { { l.parameters() } -> std::convertible_to<S*>; },
                      "metarec: a learner needs parameters() returning its flat parameter vector "
                      "(see docs/concepts/learner.md)");
        static_assert(requires(const L& l, index n) { { l.make_workspace(n) } -> std::same_as<typename L::workspace_type>; },
                      "metarec: a learner needs make_workspace(max_samples) returning its workspace_type "
                      "(see docs/concepts/learner.md)");
        static_assert(requires(const L& l, const S* t, S* o, const typename L::input_type& x,
                               typename L::workspace_type& ws) { l.forward(t, x, ws, o); },
                      "metarec: a learner needs forward(theta, x, workspace, pred) (see docs/concepts/learner.md)");
        static_assert(requires(const L& l, const S* t, S* o, const typename L::input_type& x,
                               typename L::workspace_type& ws) { l.backward(t, x, ws, t, o); },
                      "metarec: a learner needs backward(theta, x, workspace, dpred, grad) "
                      "(see docs/concepts/learner.md)");
        static_assert(learner<L>, "metarec: the type is not a learner (see docs/concepts/learner.md)");
    }
    return true;
}

}  // namespace metarec
