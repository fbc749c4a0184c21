// metarec: transfer learning: pre-train on all tasks pooled, then fine-tune per task.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "../optim/adam.hpp"
#include "../optim/sgd.hpp"
#include "adaptation.hpp"
#include "algorithm.hpp"
#include "inner_loop.hpp"

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
///
/// The rule of meta::algorithm (rule.hpp) for meta::fine_tune.
/// @tparam Learner        a learner (gradients suffice)
/// @tparam Loss           the loss
/// @tparam InnerOptimizer the fine-tuning optimizer (default optim::sgd)
/// @tparam Adaptation     which slice is fine-tuned (default adapt_all)
template <class Learner, class Loss, class InnerOptimizer = optim::sgd, class Adaptation = adapt_all>
class fine_tune_rule : public optimizer_adaptation<Learner, Loss, fine_tune_options<InnerOptimizer>, true> {
    using base = optimizer_adaptation<Learner, Loss, fine_tune_options<InnerOptimizer>, true>;

public:
    //! the algorithm's name in checkpoints
    static constexpr std::string_view name = "fine-tune";
    using adaptation = Adaptation;      //!< which slice is fine-tuned
    using typename base::context_type;  //!< what the rule sees of the algorithm
    using typename base::device_type;   //!< the learner's device policy
    using typename base::scalar_type;   //!< the learner's scalar
    using typename base::task_type;     //!< a task
    using typename base::workspace;     //!< scratch memory of one thread
    using base::base;

    //! out = n_s grad L_s + n_q grad L_q at theta, of weight n_s + n_q (the meta-step divides the sum by theirs)
    task_result task_gradient(const context_type& ctx, const task_type& task, workspace& ws, scalar_type* out) const {
        const auto& obj = ctx.objective();
        const index p = ctx.parameter_count();
        const scalar_type* theta = ctx.learner().parameters();
        const auto ns = double(task.support.size()), nq = double(task.query.size());
        const double support_loss = obj.gradient(theta, task.support, task.support_target, ws.passes, out);
        const double query_loss =
            obj.gradient(theta, task.query, task.query_target, ws.passes, ws.second_gradient.data());
        device_type::scal(p, scalar_type(ns), out);
        device_type::axpy(p, scalar_type(nq), ws.second_gradient.data(), out);
        return {.loss = (ns * support_loss + nq * query_loss) / (ns + nq), .weight = ns + nq};
    }
};

/// Transfer learning: meta::algorithm with the fine_tune_rule.
/// @tparam Learner        a learner (gradients suffice)
/// @tparam Loss           the loss
/// @tparam Optimizer      the pre-training optimizer (default optim::adam)
/// @tparam InnerOptimizer the fine-tuning optimizer (default optim::sgd)
/// @tparam Adaptation     which slice is fine-tuned (default adapt_all)
/// @tparam Distribution   dist::none (one process, default) or dist::mpi (data-parallel, dist/mpi.hpp)
template <class Learner, class Loss, class Optimizer = optim::adam, class InnerOptimizer = optim::sgd,
          class Adaptation = adapt_all, class Distribution = dist::none>
using fine_tune = algorithm<Learner, Loss, Optimizer, fine_tune_rule<Learner, Loss, InnerOptimizer, Adaptation>,
                           Distribution>;

}  // namespace metarec::meta
