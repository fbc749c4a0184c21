// metarec: Reptile, first-order meta-learning by moving towards adapted parameters.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "../optim/sgd.hpp"
#include "adaptation.hpp"
#include "algorithm.hpp"
#include "inner_loop.hpp"
#include "stacked_tasks.hpp"

namespace metarec::meta {

/// Options of reptile.
/// @tparam InnerOptimizer the optimizer of the inner loop
template <class InnerOptimizer>
struct reptile_options {
    InnerOptimizer inner{};    //!< inner optimizer (fresh state for every task)
    int inner_steps = 5;       //!< K: inner steps during meta-training (and by default at adapt())
    index meta_batch = 32;     //!< tasks per meta-step
    int threads = 1;           //!< threads over the tasks of a meta-batch
    std::uint64_t seed = 0;    //!< seed of the task sampler
    task_batching batching = task_batching::automatic;  //!< task-batched meta-steps (see reptile)
};

/// Reptile (Nichol et al. 2018), batched over the meta-batch.
///
/// For each task, K steps of the inner optimizer on the support loss move the adapted slice
/// from theta to phi_task. The outer update moves theta towards their mean:
///
///     theta <- theta + epsilon (mean_task phi_task - theta)
///
/// implemented as an outer-optimizer step on the pseudo-gradient `theta - mean phi`: with
/// `optim::sgd{.lr = epsilon}` (the default) it is exactly the rule above; Adam on the same
/// pseudo-gradient is a common variant. The logged loss is the query loss at phi_task.
///
/// Task-batched meta-steps (`reptile_options::batching`, as MAML's): every task's inner
/// loop runs at once, through the learner's task-batched passes, the inner optimizer stepping
/// all the tasks' adapted slices laid end to end with one state per task laid likewise. That
/// needs an nn::model with task-batched passes and mse or bce_with_logits, the adapted slice
/// trailing (adapt_all, adapt_last, adapt_dense_head; what lies below it is kept once), and
/// an inner optimizer whose step splits over the tasks (optim::elementwise: the built-in
/// ones without clip_norm, whose norm would span every task).
///
/// The rule of meta::algorithm (rule.hpp) for meta::reptile; the outer learning rate defaults to 0.1.
/// @tparam Learner        a learner (gradients suffice)
/// @tparam Loss           the loss
/// @tparam InnerOptimizer the inner optimizer (default optim::sgd)
/// @tparam Adaptation     which slice adapts (default adapt_all)
template <class Learner, class Loss, class InnerOptimizer = optim::sgd, class Adaptation = adapt_all>
class reptile_rule : public optimizer_adaptation<Learner, Loss, reptile_options<InnerOptimizer>, false> {
    using base = optimizer_adaptation<Learner, Loss, reptile_options<InnerOptimizer>, false>;

public:
    //! the algorithm's name in checkpoints
    static constexpr std::string_view name = "reptile";
    //! the outer optimizer's default learning rate: Reptile's epsilon
    static constexpr double outer_lr = 0.1;
    using adaptation = Adaptation;                    //!< which slice adapts
    using typename base::context_type;                //!< what the rule sees of the algorithm
    using typename base::device_type;                 //!< the learner's device policy
    using typename base::scalar_type;                 //!< the learner's scalar
    using typename base::task_type;                   //!< a task
    using typename base::vector_type;                 //!< a device buffer
    using typename base::workspace;                   //!< scratch memory of one thread
    //! whether batch_gradient() exists (the learner has task-batched passes)
    static constexpr bool batchable = context_type::task_batchable;

    //! checks that task_batching::batched applies when asked for
    reptile_rule(const reptile_options<InnerOptimizer>& options, const context_type& ctx) : base(options) {
        if (options.batching == task_batching::batched && !batching_applies(ctx))
            throw std::invalid_argument(
                "metarec: reptile: task_batching::batched needs a learner and a loss with task-batched passes (an "
                "nn::model of dense layers, activations, embeddings; mse or bce_with_logits), an adapted slice that "
                "ends the parameters, and an inner optimizer that steps element-wise (optim::elementwise: no "
                "clip_norm)");
    }

    //! out = theta - phi on the adapted slice, the only part an inner loop moves (and all the meta-step reads)
    task_result task_gradient(const context_type& ctx, const task_type& task, workspace& ws, scalar_type* out) const {
        const auto [a, m] = ctx.adapted();
        const scalar_type* theta = ctx.learner().parameters();
        ctx.begin_task(ws);
        this->adapt(ctx, task.support, task.support_target, ctx.inner_steps(), ws, ws.fast.data());
        const double loss = ctx.objective().value(ws.fast.data(), task.query, task.query_target, ws.passes);
        device_type::copy(m, theta + a, out + a);
        device_type::axpy(m, scalar_type(-1), ws.fast.data() + a, out + a);
        ws.touched.assign(1, {a, m});
        return {.loss = loss, .weight = 1.0, .written = ws.touched};
    }

    // ---- the task-batched meta-step ------------------------------------------------------

    //! whether this meta-step runs task-batched (batch_gradient())
    bool batched(const context_type& ctx) const {
        return batching_applies(ctx) && (this->options_.batching == task_batching::batched ||
                                         (this->options_.batching == task_batching::automatic &&
                                          !device_type::host_memory));
    }

    /// task_gradient() for every task at once, into `out`: zero on the s = ctx.batch_shared()
    /// shared parameters, then task t's `theta - phi_t` on its m adapted ones at s + t m.
    /// Returns the tasks' query losses at phi_t (device memory). Every vector is
    /// task_layout{m, s}: the shared parameters once, then the tasks' adapted slices end to
    /// end, which the inner optimizer steps as one vector with one state of m T numbers' worth.
    const scalar_type* batch_gradient(const context_type& ctx, const task_selection<task_type>& tasks,
                                      scalar_type* out)
        requires batchable
    {
        using D = device_type;
        using S = scalar_type;
        const auto& obj = ctx.objective();
        const auto& inner = this->options_.inner;
        const index T = index(tasks.chosen.size()), p = ctx.parameter_count(), s = ctx.batch_shared();
        const index m = p - s, size = s + m * T;
        auto& b = batched_;
        b.stacked.stack(tasks, loss_target_rows<Loss>(ctx.learner().output_rows()));
        for (auto* v : {&b.fast, &b.gradient}) detail::grow(*v, size);
        detail::grow(b.losses, T);
        if (b.state_tasks != T) {  // one state per task, end to end, from the optimizer's initial state
            b.state = optim::make_state<S, D>(inner, m * T);
            b.initial = optim::make_state<S, D>(inner, m * T);
            b.state_tasks = T;
        }
        D::copy(index(b.state.buffer.size()), b.initial.buffer.data(), b.state.buffer.data());
        b.state.steps = 0;
        const S* theta = ctx.learner().parameters();
        S* fast = b.fast.data();
        S* g = b.gradient.data();
        ctx.batch_start(T, fast);
        for (int k = 0; k < ctx.inner_steps(); ++k) {
            obj.gradient_batched(fast, b.stacked.support(), b.stacked.support_target(), T, b.passes, g,
                                 b.losses.data(), b.stacked.support_counts(), s);
            inner.step(b.state, fast + s, g + s, m * T);
        }
        obj.value_batched(fast, b.stacked.query(), b.stacked.query_target(), T, b.passes, b.losses.data(),
                          b.stacked.query_counts(), s);
        D::fill(s, S(0), out);
        D::copy_block(m, T, theta + s, 0, out + s, m);
        D::axpy(m * T, S(-1), fast + s, out + s);
        return b.losses.data();
    }

private:
    // whether the tasks' inner loops can run at once: batched passes, the adapted slices of
    // the tasks end to end (the slice ends the parameters: all below it is shared), and an
    // inner optimizer whose one step on them is the step of each
    bool batching_applies(const context_type& ctx) const {
        const auto [a, m] = ctx.adapted();
        return context_type::task_batchable && a + m == ctx.parameter_count() &&
               optim::elementwise(this->options_.inner);
    }

    // the buffers of the task-batched meta-step
    struct batch_workspace {
        typename objective<Learner, Loss>::workspace passes;
        stacked_tasks<scalar_type, device_type> stacked;
        vector_type fast, gradient, losses;
        optim::state<scalar_type, device_type> state, initial;  // the inner optimizer's, every task's
        index state_tasks = -1;                                 // the tasks they are for
    };

    batch_workspace batched_;
};

/// Reptile: meta::algorithm with the reptile_rule.
/// @tparam Learner        a learner (gradients suffice)
/// @tparam Loss           the loss
/// @tparam Optimizer      the outer optimizer (default optim::sgd, lr = epsilon = 0.1 by default)
/// @tparam InnerOptimizer the inner optimizer (default optim::sgd)
/// @tparam Adaptation     which slice adapts (default adapt_all)
/// @tparam Distribution   dist::none (one process, default) or dist::mpi (data-parallel, dist/mpi.hpp)
template <class Learner, class Loss, class Optimizer = optim::sgd, class InnerOptimizer = optim::sgd,
          class Adaptation = adapt_all, class Distribution = dist::none>
using reptile = algorithm<Learner, Loss, Optimizer, reptile_rule<Learner, Loss, InnerOptimizer, Adaptation>,
                          Distribution>;

}  // namespace metarec::meta
