// metarec: accuracy against the number of shots: the same test tasks adapted from their first
// 1, 2, 5, ... support interactions.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../config.hpp"

namespace metarec::eval {

/// One point of an accuracy-against-shots curve.
/// @tparam Result what the evaluation of one set of tasks returns (e.g. meta::evaluation)
template <class Result>
struct shots_point {
    index shots = 0;  //!< support interactions every task was adapted from
    index tasks = 0;  //!< tasks evaluated (the same at every point of a curve)
    Result result{};  //!< the evaluation of those tasks
};

/// The tasks with at least `largest` support interactions, each with its support cut to its
/// first `shots` (in the split's order: random, or by time the earliest), query untouched.
/// @tparam Task a task with a `support` vector (data::task_split)
/// @param tasks  the test tasks
/// @param shots  support interactions to keep, 1 <= shots <= largest
/// @param largest the largest number of shots of the curve: the tasks kept are those that have
///                as many, so that every point of the curve is over the same tasks
template <class Task>
std::vector<Task> first_shots(std::span<const Task> tasks, index shots, index largest) {
    if (shots < 1 || shots > largest)
        throw std::invalid_argument("metarec: first_shots: need 1 <= shots (" + std::to_string(shots) +
                                    ") <= largest (" + std::to_string(largest) + ")");
    std::vector<Task> out;
    for (const auto& t : tasks) {
        if (index(t.support.size()) < largest) continue;
        Task cut = t;
        cut.support.resize(std::size_t(shots));
        out.push_back(std::move(cut));
    }
    return out;
}

//! first_shots() over a vector of tasks
template <class Task>
std::vector<Task> first_shots(const std::vector<Task>& tasks, index shots, index largest) {
    return first_shots(std::span<const Task>(tasks), shots, largest);
}

/// Accuracy against the number of shots: for each s of `shots`, `evaluate` on the tasks
/// that have at least max(shots) support interactions, each adapted from its first s
/// (first_shots()). Every point is over the same tasks, so the curves of several methods
/// (and the points of one curve) compare the same users; training is not repeated.
/// @code
/// const std::vector<index> shots{1, 2, 5, 10};
/// auto curve = eval::by_shots(split.test, shots, [&](const std::vector<data::task_split>& tasks) {
///     return learner.evaluate(meta::views(encoder.tasks<float>(tasks)), {}, eval::mae{});
/// });
/// for (const auto& point : curve) std::printf("%td shots: MAE %.4f\n", point.shots, point.result.metrics[0]);
/// @endcode
/// @tparam Task     a task with a `support` vector (data::task_split)
/// @tparam Evaluate callable on `const std::vector<Task>&`, returning the evaluation of those tasks
/// @param tasks    the test tasks (the split's support sizes; with a fixed support size s, the
///                 point at s is the single-size evaluation)
/// @param shots    the numbers of shots, each at least 1, in the order the points are wanted
/// @param evaluate the evaluation of one set of tasks (a model's evaluate(), a baseline's)
/// @return one point per element of `shots`
/// @throws std::invalid_argument when `shots` is empty, holds a number below 1, or no task has
///         max(shots) support interactions
template <class Task, class Evaluate>
auto by_shots(std::span<const Task> tasks, std::span<const index> shots, Evaluate&& evaluate)
    -> std::vector<shots_point<std::decay_t<std::invoke_result_t<Evaluate&, const std::vector<Task>&>>>> {
    using result_type = std::decay_t<std::invoke_result_t<Evaluate&, const std::vector<Task>&>>;
    if (shots.empty()) throw std::invalid_argument("metarec: by_shots: no number of shots given");
    for (index s : shots)
        if (s < 1) throw std::invalid_argument("metarec: by_shots: shots must be at least 1, not " + std::to_string(s));
    const index largest = *std::max_element(shots.begin(), shots.end());
    std::vector<shots_point<result_type>> curve;
    for (index s : shots) {
        const auto cut = first_shots(tasks, s, largest);
        if (cut.empty())
            throw std::invalid_argument("metarec: by_shots: no task has " + std::to_string(largest) +
                                        " support interactions (the largest number of shots)");
        curve.push_back({s, index(cut.size()), std::invoke(evaluate, cut)});
    }
    return curve;
}

//! by_shots() over vectors of tasks and shots
template <class Task, class Evaluate>
auto by_shots(const std::vector<Task>& tasks, const std::vector<index>& shots, Evaluate&& evaluate) {
    return by_shots(std::span<const Task>(tasks), std::span<const index>(shots), std::forward<Evaluate>(evaluate));
}

}  // namespace metarec::eval
