// metarec: Reptile, first-order meta-learning by moving towards adapted parameters.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "../optim/sgd.hpp"
#include "algorithm.hpp"
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
/// @tparam Learner        a learner (gradients suffice)
/// @tparam Loss           the loss
/// @tparam Optimizer      the outer optimizer (default optim::sgd, lr = epsilon)
/// @tparam InnerOptimizer the inner optimizer (default optim::sgd)
/// @tparam Adaptation     which slice adapts (default adapt_all)
/// @tparam Distribution dist::none (one process, default) or dist::mpi (data-parallel, dist/mpi.hpp)
template <class Learner, class Loss, class Optimizer = optim::sgd, class InnerOptimizer = optim::sgd,
          class Adaptation = adapt_all, class Distribution = dist::none>
class reptile : public algorithm<reptile<Learner, Loss, Optimizer, InnerOptimizer, Adaptation, Distribution>, Learner, Loss,
                                 Optimizer, Distribution> {
    using base = algorithm<reptile, Learner, Loss, Optimizer, Distribution>;
    friend base;

public:
    //! the algorithm's name in checkpoints
    static constexpr std::string_view name = "reptile";
    using typename base::device_type;                      //!< the learner's device policy
    using typename base::input_type;                       //!< what the learner reads (a batch)
    using typename base::scalar_type;                      //!< the learner's scalar
    using typename base::task_type;                        //!< a task: support and query sets with targets
    using typename base::thread_workspace;                 //!< scratch memory of one thread (meta::workspace)
    using typename base::vector_type;                      //!< a device buffer
    using options_type = reptile_options<InnerOptimizer>;  //!< options of the constructor
    static_assert(check_optimizer<InnerOptimizer, scalar_type, device_type>());

    /// @param learner the learner; its parameters are the initialization theta
    /// @param options inner optimizer and steps, meta-batch, threads, seed
    /// @param outer   the outer optimizer: its learning rate is Reptile's epsilon
    /// @param loss    the loss
    explicit reptile(Learner learner, options_type options = {}, Optimizer outer = {.lr = 0.1}, Loss loss = {})
        : base(std::move(learner), &Adaptation::template select<Learner>, outer, loss, options.meta_batch,
               options.threads, options.seed, options.inner_steps),
          options_(options) {
        if (options.batching == task_batching::batched && !batching_applies())
            throw std::invalid_argument(
                "metarec: reptile: task_batching::batched needs a learner and a loss with task-batched passes (an "
                "nn::model of dense layers, activations, embeddings; mse or bce_with_logits), an adapted slice that "
                "ends the parameters, and an inner optimizer that steps element-wise (optim::elementwise: no "
                "clip_norm)");
    }

    //! the options
    const options_type& options() const noexcept { return options_; }

private:
    index extra_count() const noexcept { return 0; }
    scalar_type* extras() noexcept { return nullptr; }
    const scalar_type* extras() const noexcept { return nullptr; }

    thread_workspace make_thread_workspace() const { return this->optimizer_workspace(options_.inner, false); }

    void adapt_into(const input_type& support, const scalar_type* target, int steps, thread_workspace& ws,
                    scalar_type* fast) const {
        this->optimizer_adapt(options_.inner, support, target, steps, ws, fast);
    }

    // out = theta - phi on the adapted slice, the only part an inner loop moves (the meta-step
    // reads and sums only that: ws.touched, ws.sparse_task)
    std::pair<double, double> task_gradient(const task_type& task, thread_workspace& ws, scalar_type* out) {
        const auto [a, m] = this->adapted_range();
        const scalar_type* theta = this->learner().parameters();
        this->begin_task(ws);
        adapt_into(task.support, task.support_target, this->inner_steps(), ws, ws.fast.data());
        const double loss = this->objective_().value(ws.fast.data(), task.query, task.query_target, ws.objective);
        device_type::copy(m, theta + a, out + a);
        device_type::axpy(m, scalar_type(-1), ws.fast.data() + a, out + a);
        ws.touched.assign(1, {a, m});
        ws.sparse_task = true;
        return {loss, 1.0};
    }

    // ---- the task-batched meta-step ------------------------------------------------------

    static constexpr bool batchable = base::task_batchable;  // whether batch_gradient() exists

    // whether the tasks' inner loops can run at once: batched passes, the adapted slices of
    // the tasks end to end (the slice ends the parameters: all below it is shared), and an
    // inner optimizer whose one step on them is the step of each
    bool batching_applies() const {
        const auto [a, m] = this->adapted_range();
        return batchable && a + m == this->learner().parameter_count() && optim::elementwise(options_.inner);
    }

    // whether fit() computes the meta-step of `tasks` with batch_gradient()
    bool batched_step() const {
        return batching_applies() && (options_.batching == task_batching::batched ||
                                      (options_.batching == task_batching::automatic && !device_type::host_memory));
    }

    // task_gradient() for every task at once, into `out`: zero on the s = batch_shared()
    // shared parameters, then task t's `theta - phi_t` on its m adapted ones at s + t m; task
    // t's query loss at phi_t into losses[t]. Every vector is task_layout{m, s}: the shared
    // parameters once, then the tasks' adapted slices end to end, which the inner optimizer
    // steps as one vector with one state of m T numbers' worth.
    void batch_gradient(const task_selection<task_type>& tasks, scalar_type* out, double* losses)
        requires batchable
    {
        using D = device_type;
        using S = scalar_type;
        const auto objective = this->objective_();
        const index T = index(tasks.chosen.size()), p = this->learner().parameter_count(), s = this->batch_shared();
        const index m = p - s, size = s + m * T;
        auto& b = batched_;
        b.stacked.stack(tasks, loss_target_rows<Loss>(this->learner().output_rows()));
        for (auto* v : {&b.fast, &b.gradient}) detail::grow(*v, size);
        detail::grow(b.losses, T);
        if (b.state_tasks != T) {  // one state per task, end to end, from the optimizer's initial state
            b.state = optim::make_state<S, D>(options_.inner, m * T);
            b.initial = optim::make_state<S, D>(options_.inner, m * T);
            b.state_tasks = T;
        }
        D::copy(index(b.state.buffer.size()), b.initial.buffer.data(), b.state.buffer.data());
        b.state.steps = 0;
        const S* theta = this->learner().parameters();
        S* fast = b.fast.data();
        S* g = b.gradient.data();
        this->batch_start(T, fast);
        for (int k = 0; k < this->inner_steps(); ++k) {
            objective.gradient_batched(fast, b.stacked.support(), b.stacked.support_target(), T, b.objective, g,
                                       b.losses.data(), b.stacked.support_counts(), s);
            options_.inner.step(b.state, fast + s, g + s, m * T);
        }
        objective.value_batched(fast, b.stacked.query(), b.stacked.query_target(), T, b.objective, b.losses.data(),
                                b.stacked.query_counts(), s);
        this->batch_losses(T, b.losses.data(), losses);
        D::fill(s, S(0), out);
        D::copy_block(m, T, theta + s, 0, out + s, m);
        D::axpy(m * T, S(-1), fast + s, out + s);
    }

    // the buffers of the task-batched meta-step
    struct batch_workspace {
        typename objective<Learner, Loss>::workspace objective;
        stacked_tasks<scalar_type, device_type> stacked;
        vector_type fast, gradient, losses;
        optim::state<scalar_type, device_type> state, initial;  // the inner optimizer's, every task's
        index state_tasks = -1;                                 // the tasks they are for
    };

    options_type options_;
    batch_workspace batched_;
};

}  // namespace metarec::meta
