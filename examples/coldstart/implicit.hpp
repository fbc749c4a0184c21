// metarec-coldstart: the implicit-feedback path (clicks, carts, purchases): tasks with sampled
// negatives, BCE or BPR as the meta-objective, each held-out positive ranked against sampled
// negatives or the full catalogue, and the e-commerce baselines.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <metarec/data/negatives.hpp>
#include <metarec/eval/ranking.hpp>
#include <metarec/recsys/implicit_tasks.hpp>

#include "coldstart.hpp"

namespace coldstart {

/// The implicit-feedback flags.
struct implicit_config {
    std::string objective = "bce";      //!< --objective: bce (pointwise) or bpr (pairwise)
    mr::index negatives = 4;            //!< --negatives: training negatives per positive (support and query)
    std::string negative_sampling = "uniform";  //!< --negative-sampling: uniform, popularity or scenario:FIELD (hard negatives)
    std::string eval = "sampled:99";    //!< --eval: sampled:N (N negatives per positive) or full, or both (comma-separated)
    std::string scenario_field;         //!< --scenario-field: the user field of scenario-popularity ("": the first)
    bool history = true;  //!< --history: the items of the user's support set as a multi-valued user feature
    bool baseline_inputs = true;  //!< --baseline-inputs: item-kNN's and popularity's scores as inputs (recsys::baseline_inputs)
};

/// One new user of the evaluation: the query positives and what each is ranked against.
struct eval_user {
    std::size_t task = 0;                               //!< index into split.test
    mr::id_type user = 0;                               //!< the user's row
    std::vector<mr::id_type> positives;                 //!< distinct query items
    std::vector<std::vector<mr::id_type>> competitors;  //!< per positive (sampled) or one shared list (full)
};

/// A row of the implicit report: per-user ranking metrics of one method.
struct implicit_result {
    std::string name;
    mr::eval::user_average users;
    double train_seconds = 0;
    mr::index diverged = 0;  //!< users whose scores were not all finite
};

/// What the implicit model runners receive.
struct implicit_problem {
    const config& options;
    const implicit_config& implicit;
    const mr::data::dataset& data;
    const mr::data::split& split;
    const mr::data::negative_sampler& sampler;             //!< the training negatives' sampler (seeded)
    const mr::data::scenario_pools* scenario;              //!< hard negatives' pools (--negative-sampling scenario:FIELD), or none
    const std::vector<std::vector<mr::id_type>>& excluded;  //!< each user's items
    /// the candidates of each evaluation (--eval's modes, in order), shared by every method
    const std::vector<std::vector<eval_user>>& evaluations;
    std::function<void(const std::string&)> announce;
};

/// The per-user metrics of a scorer: `score(user, items)` returns one score per item.
inline implicit_result evaluate_ranking(
    std::string name, const std::vector<eval_user>& users,
    const std::function<std::vector<double>(const eval_user&, std::span<const mr::id_type>)>& score, double seconds = 0) {
    implicit_result out{std::move(name), {}, seconds, 0};
    std::vector<mr::id_type> items;
    for (const auto& u : users) {
        items.assign(u.positives.begin(), u.positives.end());
        for (const auto& c : u.competitors) items.insert(items.end(), c.begin(), c.end());
        auto scores = score(u, items);
        bool finite = true;
        for (auto& s : scores)
            if (!std::isfinite(s)) {
                finite = false;
                s = -std::numeric_limits<double>::infinity();  // a diverged score ranks last
            }
        out.diverged += !finite;
        const std::span<const double> positives(scores.data(), u.positives.size());
        std::vector<std::vector<double>> competitors;
        std::size_t at = u.positives.size();
        for (const auto& c : u.competitors) {
            competitors.emplace_back(scores.begin() + std::ptrdiff_t(at), scores.begin() + std::ptrdiff_t(at + c.size()));
            at += c.size();
        }
        out.users.add(mr::eval::ranking_metrics::of_user(positives, competitors));
    }
    return out;
}

/// The rows of the chosen algorithms, no-adapt and fine-tune for MeLU on implicit feedback,
/// one list per evaluation (p.evaluations' order).
std::vector<std::vector<implicit_result>> run_implicit_melu(const implicit_problem&);
/// The same for the two-tower model (the user tower adapts).
std::vector<std::vector<implicit_result>> run_implicit_two_tower(const implicit_problem&);

/// Runs the implicit path after loading and splitting: prints the report (and writes the JSON
/// to `json_path` when not empty). Returns the exit code.
int run_implicit(const config& c, const implicit_config& ic, const mr::data::dataset& data, const mr::data::split& split,
                 const std::string& json_path, bool root);

}  // namespace coldstart
