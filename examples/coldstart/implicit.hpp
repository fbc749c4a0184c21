// metarec-coldstart: the implicit-feedback path (clicks, carts, purchases): tasks with sampled
// negatives, BCE or BPR as the meta-objective, each held-out positive ranked against sampled
// negatives or the full catalogue, and the e-commerce baselines.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
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

/// Appends --history's user field to `data.users`: "history", a bag over the item keys, user
/// u's bag `bags[u]` (the items of its support set: what it did before the query), empty for
/// the users past `bags`. A model reads it as a bag of item embeddings: the same information
/// item-kNN ranks with.
inline void add_history(mr::data::dataset& data, const std::vector<std::vector<mr::id_type>>& bags) {
    mr::data::multi_field field{"history", data.items.keys, {0}, {}};
    for (mr::index u = 0; u < data.users.rows(); ++u) {
        if (std::size_t(u) < bags.size()) field.ids.insert(field.ids.end(), bags[std::size_t(u)].begin(), bags[std::size_t(u)].end());
        field.offsets.push_back(mr::id_type(field.ids.size()));
    }
    data.users.multi.push_back(std::move(field));
}

/// --save on implicit feedback: what serve_new_user needs beside describe_model() to adapt the
/// model to a new user's purchases as training adapted it: the objective, the sampled
/// negatives of a support set, the history field, and the baseline inputs
/// (`coldstart.baseline_inputs`: the item-kNN inputs as WEIGHTING/HALF_LIFE, comma-separated,
/// or off; knn_inputs_of() reads them back).
inline void describe_implicit(mr::io::configuration& description, const implicit_config& ic,
                              const mr::recsys::baseline_inputs* inputs) {
    description.set("coldstart.feedback", "implicit");
    description.set("coldstart.objective", ic.objective);
    description.set("coldstart.negatives", std::to_string(ic.negatives));
    description.set("coldstart.negative_sampling", ic.negative_sampling);
    description.set("coldstart.history", ic.history ? "on" : "off");
    std::string knn;
    for (const auto& k : inputs ? inputs->knn() : std::vector<mr::recsys::knn_input>{}) {
        char half_life[32];
        std::snprintf(half_life, sizeof half_life, "%.17g", k.half_life);
        knn += (knn.empty() ? "" : ",") + std::string(k.weighting == mr::recsys::user_weighting::inverse ? "inverse" : "none") +
               "/" + half_life;
    }
    description.set("coldstart.baseline_inputs", inputs ? knn : "off");
}

/// The item-kNN inputs of `coldstart.baseline_inputs` as describe_implicit() wrote them (none: off).
inline std::vector<mr::recsys::knn_input> knn_inputs_of(const std::string& text) {
    std::vector<mr::recsys::knn_input> out;
    if (text == "off") return out;
    for (std::size_t at = 0; at <= text.size();) {
        const std::size_t end = std::min(text.find(',', at), text.size());
        const std::string input = text.substr(at, end - at);
        at = end + 1;
        const std::size_t slash = input.find('/');
        const std::string weighting = input.substr(0, slash);
        double half_life = -1;
        if ((weighting != "inverse" && weighting != "none") || slash == std::string::npos ||
            !flags::parse(input.substr(slash + 1), half_life).empty() || !(half_life >= 0))
            throw std::invalid_argument("coldstart.baseline_inputs: '" + input + "' is not WEIGHTING/HALF_LIFE (inverse or none, half-life >= 0)");
        out.push_back({weighting == "inverse" ? mr::recsys::user_weighting::inverse : mr::recsys::user_weighting::none,
                       half_life});
    }
    return out;
}

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
