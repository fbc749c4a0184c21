// metarec: models residual to the bias model: tasks whose targets are what the biases leave over.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <vector>

#include "../data/split.hpp"
#include "../device/cpu.hpp"
#include "../meta/task.hpp"
#include "baselines.hpp"
#include "features.hpp"

namespace metarec::recsys {

/// A rating model residual to the bias model (recsys::bias_model):
///
///     y(u, i) = clip(mu + b_i + b_u + b_task + f(x_ui))
///
/// where `mu + b_i + b_u` come from training (the sides the scenario leaves new have no
/// bias: bias_model::for_scenario), `b_task` is the shrunk mean residual of the task's own
/// support set (a new user's bias, in closed form: the minimizer of the shrunk squared loss
/// that a few inner steps on a scalar bias would approach), and `f` is any rating model
/// (MeLU, two-tower, MF) meta-trained and adapted on the residuals `r - (mu + b_i + b_u +
/// b_task)`. A model whose `f` is 0 is the bias model; meta-learning has to earn the rest.
///
/// residual_tasks() builds the tasks (features as feature_encoder::tasks(), residual targets);
/// add residual_base() back to the adapted model's predictions and clip (bias_model::clip).
/// @code
/// const auto bias = mr::recsys::bias_model::tuned(data, split).for_scenario(options.scenario);
/// auto train = mr::recsys::residual_tasks<float>(encoder, bias, split.train);
/// // ... fit an algorithm on views(train), adapt it on a test task's support residuals ...
/// const auto base = mr::recsys::residual_base(bias, test_split_task);
/// // prediction of query k: bias.clip(base[k] + f[k])
/// @endcode
/// @tparam S      scalar type of the tasks
/// @tparam Device where the task data lives
/// @param encoder the features
/// @param bias    the bias model (for_scenario() of the tuned one)
/// @param tasks   the tasks of a split
template <class S, class Device = device::cpu>
std::vector<meta::task_data<S, Device>> residual_tasks(const feature_encoder& encoder, const bias_model& bias,
                                                       const std::vector<data::task_split>& tasks) {
    const auto& data = encoder.dataset();
    const auto residuals = [&](const data::task_split& t, std::span<const index> interactions) {
        const auto base = bias.unclipped(t, interactions);
        std::vector<S> out;
        out.reserve(interactions.size());
        for (std::size_t k = 0; k < interactions.size(); ++k)
            out.push_back(S(data.interactions[std::size_t(interactions[k])].rating - base[k]));
        return out;
    };
    std::vector<meta::task_data<S, Device>> out;
    out.reserve(tasks.size());
    for (const auto& t : tasks)
        out.emplace_back(encoder.encode<S, Device>(t.support), residuals(t, t.support),
                         encoder.encode<S, Device>(t.query), residuals(t, t.query), t.key);
    return out;
}

//! `mu + b_i + b_u + b_task` for each query interaction of `task`: what a residual model's
//! predictions are added to
inline std::vector<double> residual_base(const bias_model& bias, const data::task_split& task) {
    return bias.unclipped(task, task.query);
}

}  // namespace metarec::recsys
