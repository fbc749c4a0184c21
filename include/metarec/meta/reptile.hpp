// metarec: Reptile, first-order meta-learning by moving towards adapted parameters.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "../optim/sgd.hpp"
#include "algorithm.hpp"

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
          options_(options) {}

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

    std::pair<double, double> task_gradient(const task_type& task, thread_workspace& ws, scalar_type* out) {
        const index p = this->learner().parameter_count();
        const scalar_type* theta = this->learner().parameters();
        device_type::copy(p, theta, ws.fast.data());
        adapt_into(task.support, task.support_target, this->inner_steps(), ws, ws.fast.data());
        const double loss = this->objective_().value(ws.fast.data(), task.query, task.query_target, ws.objective);
        // out = theta - phi (zero outside the adapted slice)
        device_type::copy(p, theta, out);
        device_type::axpy(p, scalar_type(-1), ws.fast.data(), out);
        return {loss, 1.0};
    }

    options_type options_;
};

}  // namespace metarec::meta
