// metarec-coldstart --shots 1,2,5,10,20: every method and baseline evaluated on the same test
// users, each adapted from the first s of their support interactions, for every s (training is
// done once). The curves' computation, table and JSON (eval::by_shots does the selection).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <metarec/eval/by_shots.hpp>
#include <metarec/meta/task.hpp>
#include <metarec/recsys/features.hpp>

#include "coldstart.hpp"

namespace coldstart {

//! the metrics (on the rating `scale`) of a baseline's predictions on `tasks`, averaged per task
template <class Predictor>
metrics average_over(const mr::data::dataset& data, const Predictor& predictor,
                     const std::vector<mr::data::task_split>& tasks, const mr::eval::rating_scale& scale) {
    auto average = make_metrics(scale);
    for (const auto& task : tasks) {
        const auto pred = predictor.predict(task);
        std::vector<double> target;
        for (auto k : task.query) target.push_back(data.interactions[std::size_t(k)].rating);
        average.add(pred.data(), target.data(), 1, mr::index(target.size()));
    }
    return average;
}

/// The test tasks of one number of shots: the cut splits and their encoding.
/// @tparam S the model's scalar
template <class S>
struct shot_tasks {
    std::vector<mr::data::task_split> splits;
    std::vector<mr::meta::task_data<S>> data;
};

/// The test tasks of every --shots size, encoded once for all the methods of a model.
template <class S>
using encoded_shots = std::vector<mr::eval::shots_point<shot_tasks<S>>>;

/// The test tasks cut to each number of shots, encoded by `encode` (the model's encoder, or
/// the residual tasks of --residual on); empty without --shots.
template <class S, class Encode>
encoded_shots<S> encode_shots(const std::vector<mr::data::task_split>& test, const std::vector<mr::index>& shots,
                              const Encode& encode) {
    if (shots.empty()) return {};
    return mr::eval::by_shots(test, shots, [&](const std::vector<mr::data::task_split>& tasks) {
        return shot_tasks<S>{tasks, encode(tasks)};
    });
}

/// A model's curve: `evaluate(views, splits)` (a report row) on the tasks of every number of shots.
template <class S, class Evaluate>
std::vector<shot_values> model_shots(const encoded_shots<S>& encoded, Evaluate&& evaluate) {
    std::vector<shot_values> curve;
    for (const auto& point : encoded) {
        const result r = evaluate(mr::meta::views(point.result.data), point.result.splits);
        curve.push_back({point.shots, point.tasks, r.values, r.diverged});
    }
    return curve;
}

//! a baseline's curve on the test tasks, the same users as the models'
template <class Predictor>
std::vector<shot_values> baseline_shots(const mr::data::dataset& data, const Predictor& predictor,
                                        const std::vector<mr::data::task_split>& test,
                                        const std::vector<mr::index>& shots, const mr::eval::rating_scale& scale) {
    std::vector<shot_values> curve;
    if (shots.empty()) return curve;
    for (const auto& point : mr::eval::by_shots(test, shots, [&](const std::vector<mr::data::task_split>& tasks) {
             return average_over(data, predictor, tasks, scale);
         }))
        curve.push_back({point.shots, point.tasks, point.result.means(), point.result.diverged()});
    return curve;
}

/// Checks --shots against the split before anything trains: sorted, and the largest number of
/// shots is reached by some test task; returns the number of test tasks of the curves.
inline mr::index check_shots(std::vector<mr::index>& shots, const mr::data::split_options& options,
                             const std::vector<mr::data::task_split>& test) {
    std::sort(shots.begin(), shots.end());
    shots.erase(std::unique(shots.begin(), shots.end()), shots.end());
    if (shots.empty()) return 0;
    const mr::index largest = shots.back();
    if (options.support > 0 && largest > options.support)
        throw std::invalid_argument("--shots " + std::to_string(largest) + " exceeds --support " +
                                    std::to_string(options.support) +
                                    ": the shots are the first of the support interactions");
    const auto tasks =
        std::count_if(test.begin(), test.end(), [&](const auto& t) { return mr::index(t.support.size()) >= largest; });
    if (tasks == 0)
        throw std::invalid_argument("--shots " + std::to_string(largest) + ": no test task has " +
                                    std::to_string(largest) +
                                    " support interactions (raise --min-user-interactions "
                                    "or lower the largest number of shots)");
    return mr::index(tasks);
}

/// The table of one metric (by its index in metrics' order) against the number of shots.
inline void print_shots(const std::vector<result>& rows, std::size_t metric, const std::string& name) {
    if (rows.empty() || rows.front().by_shots.empty()) return;
    const auto& first = rows.front().by_shots;
    std::printf("\n%s against the number of shots (%td test tasks with at least %td support interactions)\n\n",
                name.c_str(), first.front().tasks, first.back().shots);
    std::printf("| %-13s |", "method");
    for (const auto& point : first) std::printf(" %7td |", point.shots);
    std::printf("\n|---------------|");
    for (std::size_t k = 0; k < first.size(); ++k) std::printf("---------|");
    std::printf("\n");
    for (const auto& r : rows) {
        std::printf("| %-13s |", r.name.c_str());
        for (const auto& point : r.by_shots)
            if (std::isnan(point.values[metric]))
                std::printf(" %7s |", "-");
            else
                std::printf(" %7.4f |", point.values[metric]);
        std::printf("\n");
    }
}

//! a row's curve in the JSON report: [{"shots", "tasks", <metric>..., "diverged"}, ...]
inline nlohmann::json shots_json(const result& row) {
    const auto names = metrics().names();
    auto out = nlohmann::json::array();
    for (const auto& point : row.by_shots) {
        nlohmann::json entry{{"shots", point.shots}, {"tasks", point.tasks}};
        for (std::size_t m = 0; m < names.size(); ++m)
            entry[names[m]] = std::isnan(point.values[m]) ? nlohmann::json(nullptr) : nlohmann::json(point.values[m]);
        entry["diverged"] = point.diverged;
        out.push_back(entry);
    }
    return out;
}

}  // namespace coldstart
