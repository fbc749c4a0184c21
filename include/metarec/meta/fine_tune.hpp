// metarec: transfer learning: pre-train on all tasks pooled, then fine-tune per task.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "../optim/adam.hpp"
#include "../optim/sgd.hpp"
#include "algorithm.hpp"

namespace metarec::meta {

/// Options of fine_tune.
/// @tparam InnerOptimizer the optimizer of the per-task fine-tuning
template <class InnerOptimizer>
struct fine_tune_options {
    InnerOptimizer inner{};    //!< fine-tuning optimizer (fresh state for every task)
    int inner_steps = 5;       //!< K: fine-tuning steps at adapt() by default
    index meta_batch = 32;     //!< tasks per pre-training step (their samples form one mini-batch)
    int threads = 1;           //!< threads over the tasks of a mini-batch
    std::uint64_t seed = 0;    //!< seed of the task sampler
};

/// Transfer learning, the baseline every meta-learning result must beat, and an algorithm
/// in its own right.
///
/// fit() pre-trains the learner by ordinary mini-batch training on the pooled samples
/// (support and query) of the training tasks: a mini-batch is the union of the samples of
/// `meta_batch` tasks, and its gradient is the sample-weighted mean
/// `sum_t (n_s grad L_s + n_q grad L_q) / sum_t (n_s + n_q)`. adapt() fine-tunes the
/// chosen slice with K steps of the inner optimizer on the support set.
/// @tparam Learner        a learner (gradients suffice)
/// @tparam Loss           the loss
/// @tparam Optimizer      the pre-training optimizer (default optim::adam)
/// @tparam InnerOptimizer the fine-tuning optimizer (default optim::sgd)
/// @tparam Adaptation     which slice is fine-tuned (default adapt_all)
/// @tparam Distribution dist::none (one process, default) or dist::mpi (data-parallel, dist/mpi.hpp)
template <class Learner, class Loss, class Optimizer = optim::adam, class InnerOptimizer = optim::sgd,
          class Adaptation = adapt_all, class Distribution = dist::none>
class fine_tune
    : public algorithm<fine_tune<Learner, Loss, Optimizer, InnerOptimizer, Adaptation, Distribution>, Learner, Loss,
                       Optimizer, Distribution> {
    using base = algorithm<fine_tune, Learner, Loss, Optimizer, Distribution>;
    friend base;

public:
    //! the algorithm's name in checkpoints
    static constexpr std::string_view name = "fine-tune";
    using typename base::device_type;                        //!< the learner's device policy
    using typename base::input_type;                         //!< what the learner reads (a batch)
    using typename base::scalar_type;                        //!< the learner's scalar
    using typename base::task_type;                          //!< a task: support and query sets with targets
    using typename base::thread_workspace;                   //!< scratch memory of one thread (meta::workspace)
    using typename base::vector_type;                        //!< a device buffer
    using options_type = fine_tune_options<InnerOptimizer>;  //!< options of the constructor
    static_assert(check_optimizer<InnerOptimizer, scalar_type, device_type>());

    /// @param learner the learner to pre-train
    /// @param options fine-tuning optimizer and steps, mini-batch (in tasks), threads, seed
    /// @param outer   the pre-training optimizer
    /// @param loss    the loss
    explicit fine_tune(Learner learner, options_type options = {}, Optimizer outer = {}, Loss loss = {})
        : base(std::move(learner), &Adaptation::template select<Learner>, outer, loss, options.meta_batch,
               options.threads, options.seed, options.inner_steps),
          options_(options) {}

    //! the options
    const options_type& options() const noexcept { return options_; }

private:
    index extra_count() const noexcept { return 0; }
    scalar_type* extras() noexcept { return nullptr; }
    const scalar_type* extras() const noexcept { return nullptr; }

    thread_workspace make_thread_workspace() const { return this->optimizer_workspace(options_.inner, true); }

    void adapt_into(const input_type& support, const scalar_type* target, int steps, thread_workspace& ws,
                    scalar_type* fast) const {
        this->optimizer_adapt(options_.inner, support, target, steps, ws, fast);
    }

    std::pair<double, double> task_gradient(const task_type& task, thread_workspace& ws, scalar_type* out) {
        const auto objective = this->objective_();
        const index p = this->learner().parameter_count();
        const scalar_type* theta = this->learner().parameters();
        const auto ns = double(task.support.size()), nq = double(task.query.size());
        const double support_loss = objective.gradient(theta, task.support, task.support_target, ws.objective, out);
        const double query_loss =
            objective.gradient(theta, task.query, task.query_target, ws.objective, ws.auxiliary.data());
        // out = n_s grad L_s + n_q grad L_q; the base divides the sum by sum (n_s + n_q)
        device_type::scal(p, scalar_type(ns), out);
        device_type::axpy(p, scalar_type(nq), ws.auxiliary.data(), out);
        return {(ns * support_loss + nq * query_loss) / (ns + nq), ns + nq};
    }

    options_type options_;
};

}  // namespace metarec::meta
