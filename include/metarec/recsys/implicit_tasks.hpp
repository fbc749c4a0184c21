// metarec: tasks with sampled negatives for implicit feedback, laid out for BCE (pointwise)
// or BPR (pairwise) as the inner and outer loss of every meta-algorithm.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../data/negatives.hpp"
#include "../data/split.hpp"
#include "../meta/task.hpp"
#include "features.hpp"
#include "implicit_baselines.hpp"

namespace metarec::recsys {

/// The training signal of implicit feedback.
enum class implicit_objective {
    pointwise,  //!< loss::bce_with_logits: positives labelled 1, their negatives 0
    pairwise,   //!< loss::bpr: (positive, negative) score pairs, no target
};

/// Options of implicit_tasks().
struct implicit_task_options {
    implicit_objective objective = implicit_objective::pointwise;  //!< the sample layout
    index negatives = 4;  //!< negatives per positive, in the support and the query set (>= 1)
    std::uint64_t role = 0;  //!< mixed into every negative's stream: different lists get different negatives
    const data::scenario_pools* scenario = nullptr;  //!< hard negatives from the positive's scenario (none: the catalogue)
};

/// The (user, item) samples and targets of one side (support or query) of an implicit task:
/// every positive interaction `k` is followed by `negatives` items the user never
/// interacted with (`excluded[user]`), drawn by `sampler` on the stream of (role, task,
/// position), among the positive's scenario first when options.scenario is set. Pointwise:
/// samples `pos, neg_1..neg_r, pos, ...`, targets 1, 0..0, 1, ...
/// Pairwise: samples `pos, neg_1, pos, neg_2, ...` (loss::bpr's layout), targets 1, 0, 1, 0...
/// (BPR reads none; the labels serve the metrics of evaluate(), and the meta-algorithms
/// want a target buffer on every task).
struct implicit_side {
    std::vector<id_type> users;  //!< the user of each sample
    std::vector<id_type> items;  //!< the item of each sample
    std::vector<float> targets;         //!< 1 for a positive, 0 for a negative
};

//! one side of task `ordinal` (see implicit_side)
inline implicit_side implicit_samples(const data::dataset& data, std::span<const index> positives,
                                      const data::negative_sampler& sampler,
                                      const std::vector<std::vector<id_type>>& excluded,
                                      const implicit_task_options& options, std::uint64_t ordinal, std::uint64_t side) {
    if (options.negatives < 1) throw std::invalid_argument("metarec: implicit tasks need >= 1 negative per positive");
    implicit_side out;
    std::vector<id_type> negatives;
    for (std::size_t p = 0; p < positives.size(); ++p) {
        const auto& r = data.interactions[std::size_t(positives[p])];
        negatives.clear();
        sampler.draw(data::negative_sampler::stream_of(options.role * 2 + side, ordinal, p), options.negatives,
                     excluded[std::size_t(r.user)], negatives,
                     options.scenario ? options.scenario->pool(r.user, r.item) : std::span<const id_type>());
        for (const id_type n : negatives) {
            if (options.objective == implicit_objective::pairwise || n == negatives.front()) {
                out.users.push_back(r.user);
                out.items.push_back(r.item);
                out.targets.push_back(1.0f);
            }
            out.users.push_back(r.user);
            out.items.push_back(n);
            out.targets.push_back(0.0f);
        }
    }
    return out;
}

/// The tasks of a split's list as meta::task_data with sampled negatives (see
/// implicit_side): task `t` of `split` draws from the streams of (options.role, t), so the
/// same list with the same sampler seed gives the same negatives for every method. When the
/// encoder has pair inputs (encoder_options::pair_inputs), `inputs` gives them: every row of
/// both sides gets its candidate's baseline_inputs given the task's support set.
/// @tparam S      scalar type
/// @tparam Device where the data lives
template <class S, class Device = device::cpu>
std::vector<meta::task_data<S, Device>> implicit_tasks(const feature_encoder& encoder,
                                                       const std::vector<data::task_split>& split,
                                                       const data::negative_sampler& sampler,
                                                       const std::vector<std::vector<id_type>>& excluded,
                                                       const implicit_task_options& options,
                                                       const baseline_inputs* inputs = nullptr) {
    if (encoder.pair_inputs() != (inputs ? inputs->width() : 0))
        throw std::invalid_argument("metarec: implicit_tasks: the encoder has " + std::to_string(encoder.pair_inputs()) +
                                    " pair inputs, the baseline inputs give " + std::to_string(inputs ? inputs->width() : 0));
    std::vector<meta::task_data<S, Device>> out;
    out.reserve(split.size());
    const auto targets = [](const std::vector<float>& t) { return std::vector<S>(t.begin(), t.end()); };
    for (std::size_t t = 0; t < split.size(); ++t) {
        const auto support = implicit_samples(encoder.dataset(), split[t].support, sampler, excluded, options, t, 0);
        const auto query = implicit_samples(encoder.dataset(), split[t].query, sampler, excluded, options, t, 1);
        const auto encode = [&](const implicit_side& side) {
            if (!inputs) return encoder.encode_pairs<S, Device>(side.users, side.items);
            std::vector<float> values;
            if (!side.users.empty()) inputs->append(side.users.front(), split[t].support, side.items, values);
            return encoder.encode_pairs<S, Device>(side.users, side.items, values);
        };
        out.emplace_back(encode(support), targets(support.targets), encode(query), targets(query.targets), split[t].key);
    }
    return out;
}

}  // namespace metarec::recsys
