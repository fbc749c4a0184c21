// metarec: the options, results and errors of the meta-algorithms (fit, adapt, evaluate).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"

namespace metarec::meta {

/// Whether fit() runs the tasks of a meta-batch task-batched (MAML and its variants,
/// Reptile): all of them through the learner's task-batched passes at once (every layer once
/// per meta-batch, as batched device operations), rather than one task after another. Tasks
/// of different sizes are padded to the largest (meta::stacked_tasks): the padding costs
/// computation, it changes no result.
enum class task_batching {
    /// batched where it pays and applies: on a device whose memory the host cannot read (a
    /// GPU), with a learner and loss that have task-batched passes
    automatic,
    per_task,   //!< never: one task after another (on the algorithm's threads)
    batched     //!< always (std::invalid_argument when it does not apply: see the algorithm)
};

/// What fit() does when a task's loss or meta-gradient is NaN or infinite.
enum class non_finite {
    stop,       //!< throw non_finite_error naming the step, the task and the quantity (default)
    skip_task,  //!< leave the task out of the meta-step and count it (fit_end_info::skipped_tasks)
};

/// Options of fit().
struct fit_options {
    int epochs = 1;               //!< passes over the training tasks
    std::int64_t max_steps = -1;  //!< stop after this many meta-steps (-1: no limit)
    non_finite on_non_finite = non_finite::stop;  //!< a NaN or infinite task loss or meta-gradient
};

/// Options of update(): learning while serving, from tasks that complete one after another.
/// Each update() over `n` new tasks takes `ceil(passes * n / k)` meta-steps of the outer
/// optimizer (the state fit() left); a meta-batch of B = meta_batch tasks holds
/// `k = B - floor(replay_share * B)` new tasks (cycling through them in arrival order) and
/// up to `floor(replay_share * B)` tasks replayed from the buffer: a uniform sample of every
/// task streamed before (a reservoir, Vitter's algorithm R), so that the model follows the
/// drift without forgetting the past.
struct stream_options {
    index replay_capacity = 256;  //!< tasks the replay buffer keeps (0: no replay); fixed by the first update()
    double replay_share = 0.5;    //!< share of a meta-batch replayed from the buffer, in [0, 1)
    double passes = 1;            //!< times each new task is seen, on average (> 0)
    non_finite on_non_finite = non_finite::stop;  //!< a NaN or infinite task loss or meta-gradient
};

/// What update() returns.
struct stream_result {
    std::int64_t steps = 0;          //!< meta-steps taken by this update()
    index new_tasks = 0;             //!< tasks streamed by this update()
    index replayed = 0;              //!< replayed tasks over its meta-batches (a task replayed twice counts twice)
    double loss = 0;                 //!< mean meta-loss over its steps (NaN when none)
    bool stopped_early = false;      //!< a callback asked to stop
    std::int64_t skipped_tasks = 0;  //!< tasks left out for a NaN or infinite loss or gradient
    double seconds = 0;              //!< wall time of update()
};

/// A NaN or infinite number in meta-training, detected in the meta-step where it appears:
/// a task's loss or meta-gradient (non_finite::stop), or the meta-parameters after the
/// outer update (always).
class non_finite_error : public std::runtime_error {
public:
    /// @param step     the 1-based meta-step
    /// @param task_key the key of the first offending task (-1: none)
    /// @param quantity "loss", "meta-gradient" or "meta-parameters"
    /// @param message  the what() text
    non_finite_error(std::int64_t step, std::int64_t task_key, std::string quantity, const std::string& message)
        : std::runtime_error(message), step_(step), task_key_(task_key), quantity_(std::move(quantity)) {}
    //! the 1-based meta-step
    std::int64_t step() const noexcept { return step_; }
    //! the key of the first offending task (-1: none, or on another MPI rank)
    std::int64_t task_key() const noexcept { return task_key_; }
    //! "loss", "meta-gradient" or "meta-parameters"
    const std::string& quantity() const noexcept { return quantity_; }

private:
    std::int64_t step_, task_key_;
    std::string quantity_;
};

/// Options of adapt() and evaluate().
struct adapt_options {
    int steps = -1;  //!< inner steps at adaptation time (-1: the algorithm's inner_steps)
};

/// Result of evaluate(): means over tasks of the post-adaptation query loss and metrics.
struct evaluation {
    double loss = 0;              //!< mean query loss after adaptation
    std::vector<double> metrics;  //!< one mean per metric passed to evaluate()
    std::vector<index> metric_tasks;  //!< tasks in each metric's mean (a metric may be undefined for some)
    index tasks = 0;              //!< tasks evaluated
    index diverged = 0;           //!< tasks whose query loss is NaN or infinite (they make `loss` NaN/inf)

    /// The means over tasks of `values[i]` = {task i's loss, its metrics}: a metric's NaN is
    /// "undefined for this task" (left out of its mean), unless the task diverged.
    template <std::size_t N>
    static evaluation of(const std::vector<std::array<double, N>>& values) {
        constexpr std::size_t metric_count = N - 1;
        evaluation result;
        result.tasks = index(values.size());
        result.metrics.assign(metric_count, 0.0);
        result.metric_tasks.assign(metric_count, 0);
        for (const auto& v : values) {
            result.loss += v[0];
            const bool diverged = !std::isfinite(v[0]);
            result.diverged += diverged;
            for (std::size_t m = 0; m < metric_count; ++m)
                if (diverged || !std::isnan(v[m + 1])) {
                    result.metrics[m] += v[m + 1];
                    ++result.metric_tasks[m];
                }
        }
        result.loss /= double(values.size());
        for (std::size_t m = 0; m < metric_count; ++m)
            result.metrics[m] = result.metric_tasks[m] ? result.metrics[m] / double(result.metric_tasks[m])
                                                       : std::numeric_limits<double>::quiet_NaN();
        return result;
    }
};

}  // namespace metarec::meta
