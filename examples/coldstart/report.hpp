// metarec-coldstart: the report: each seed's rows and the rows pooled over seeds, every metric
// with its 95 % interval over users, and the paired differences that say win, loss or tie.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "coldstart.hpp"
#include "shots.hpp"

namespace coldstart {

/// The rows of one seed's run.
struct seed_run {
    std::uint64_t seed = 1;
    std::vector<result> rows;
    std::size_t test_tasks = 0;
    mr::index test_interactions = 0;
    mr::recsys::bias_shrinkage bias{};  //!< the bias model's strengths, chosen on the validation users
};

/// One paired comparison: `learned - baseline` on one metric over the pooled test users.
struct comparison {
    std::string metric, learned, baseline;
    mr::eval::interval difference;
    bool lower_is_better = true;
    //! "better", "worse" or "tie" (the interval contains 0), from the learned model's side
    std::string verdict() const {
        const int s = difference.sign();
        if (s == 0 || std::isnan(difference.mean)) return "tie";
        return (s < 0) == lower_is_better ? "better" : "worse";
    }
};

/// The --shots curve of the row `name` over several seeds: each point's metrics averaged over
/// the tasks of every seed (each seed's point weighted by its number of tasks).
inline std::vector<shot_values> pool_shots(const std::vector<seed_run>& runs, const std::string& name) {
    std::vector<shot_values> out;
    for (const auto& run : runs)
        for (const auto& row : run.rows) {
            if (row.name != name) continue;
            if (out.empty())
                for (const auto& point : row.by_shots)
                    out.push_back({point.shots, 0, std::vector<double>(point.values.size(), 0.0), 0});
            for (std::size_t k = 0; k < out.size() && k < row.by_shots.size(); ++k) {
                const auto& point = row.by_shots[k];
                out[k].tasks += point.tasks;
                out[k].diverged += point.diverged;
                for (std::size_t m = 0; m < point.values.size(); ++m)
                    out[k].values[m] += point.values[m] * double(point.tasks);
            }
        }
    for (auto& point : out)
        for (auto& v : point.values) v /= double(std::max<mr::index>(point.tasks, 1));
    return out;
}

/// The rows of several seeds pooled: per row name, each metric's per-user values of every
/// seed one after the other (users of different seeds are different draws), the means of
/// each seed kept for display. Rows come in the first seed's order.
inline std::vector<result> pool(const std::vector<seed_run>& runs) {
    std::vector<result> out;
    for (const auto& first : runs.front().rows) {
        result pooled{first.name, {}, {}, 0, 0, first.role, {}, first.config};
        pooled.per_task.resize(first.per_task.size());
        for (const auto& run : runs)
            for (const auto& row : run.rows)
                if (row.name == first.name) {
                    for (std::size_t m = 0; m < row.per_task.size(); ++m)
                        pooled.per_task[m].insert(pooled.per_task[m].end(), row.per_task[m].begin(),
                                                  row.per_task[m].end());
                    pooled.diverged += row.diverged;
                    pooled.train_seconds += row.train_seconds / double(runs.size());
                }
        for (const auto& values : pooled.per_task) {
            const auto i = mr::eval::mean_interval(values);
            pooled.values.push_back(i.mean);
            pooled.counts.push_back(i.n);
        }
        pooled.by_shots = pool_shots(runs, first.name);
        pooled.training_loss = first.training_loss;  // the figures show the first seed's training
        pooled.validation_loss = first.validation_loss;
        out.push_back(std::move(pooled));
    }
    return out;
}

/// The paired comparisons on MAE (metric 0) and nDCG@3 (metric 3): the best meta-learner (or,
/// without one, the fine-tuned model) against the best simple baseline and against the
/// fine-tuned model; "best" by the pooled mean. Bootstrap seeded with `seed`.
inline std::vector<comparison> compare(const std::vector<result>& rows, std::uint64_t seed) {
    std::vector<comparison> out;
    const auto best = [&](std::size_t m, bool lower, auto&& keep) -> const result* {
        const result* b = nullptr;
        for (const auto& r : rows)
            if (keep(r) && !std::isnan(r.values[m]) &&
                (!b || (lower ? r.values[m] < b->values[m] : r.values[m] > b->values[m])))
                b = &r;
        return b;
    };
    const auto find = [&](const std::string& name) -> const result* {
        for (const auto& r : rows)
            if (r.name == name) return &r;
        return nullptr;
    };
    using metric = std::tuple<std::size_t, const char*, bool>;  // index, name, lower is better
    for (const auto& [m, name, lower] : {metric{0, "mae", true}, metric{3, "ndcg@3", false}}) {
        const result* learned = best(m, lower, [](const result& r) { return r.role == role::meta; });
        const result* tuned = find("fine-tune");
        if (!learned) learned = tuned;
        if (!learned) continue;
        const auto add = [&](const result* other) {
            if (!other || other == learned) return;
            for (const auto& c : out)  // once each
                if (c.metric == name && c.learned == learned->name && c.baseline == other->name) return;
            out.push_back({name, learned->name, other->name,
                           mr::eval::paired_bootstrap(learned->per_task[m], other->per_task[m], seed), lower});
        };
        add(best(m, lower, [](const result& r) { return r.role == role::baseline; }));
        add(tuned);
        // --id-warmup: the best warm-up row against the content-only model's best and fine-tuning,
        // the item row fine-tuned from zero, and the best baseline; then each generated row
        // against the same from the zero row (what the generator adds), and each MWUF row against
        // its cold row's (what scaling and shifting add)
        const result* warm = best(m, lower, [](const result& r) { return r.role == role::warmup; });
        if (!warm) continue;
        learned = warm;
        for (const result* other : {best(m, lower, [](const result& r) { return r.role == role::baseline; }), tuned,
                                    find("id-fine-tune"), best(m, lower, [](const result& r) { return r.role == role::meta; })})
            add(other);
        using pair = std::pair<const char*, const char*>;
        for (const auto& [generated, zero] : {pair{"metaemb", "id-fine-tune"}, pair{"metaemb-cold", "id-no-adapt"},
                                              pair{"metaemb-head", "id-head"}, pair{"mwuf", "metaemb"},
                                              pair{"mwuf-cold", "metaemb-cold"}, pair{"mwuf-zero", "id-fine-tune"},
                                              pair{"mwuf-zero-cold", "id-no-adapt"}})
            if ((learned = find(generated))) add(find(zero));
    }
    return out;
}

namespace detail {

inline std::string with_interval(const std::vector<double>& values) {
    const auto i = mr::eval::mean_interval(values);
    if (std::isnan(i.mean)) return "-";
    char text[48];
    std::snprintf(text, sizeof text, "%.4f ±%.4f", i.mean, (i.high - i.low) / 2);
    return text;
}

//! `text` left-aligned in `width` characters (the ± sign is two bytes, one character)
inline std::string pad(std::string text, std::size_t width) {
    std::size_t shown = 0;
    for (unsigned char ch : text) shown += (ch & 0xC0) != 0x80;
    if (shown < width) text.append(width - shown, ' ');
    return text;
}

inline nlohmann::json number(double v) {
    return std::isnan(v) || std::isinf(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

}  // namespace detail

/// Prints the table of `rows` (metrics' order: mae rmse ndcg@1 @3 @5 @10 hr@3 recall@3 auc):
/// MAE, RMSE, nDCG@3, nDCG@10 and AUC, each mean ± the half-width of its 95 % interval over
/// users; with `by_seed`, each seed's MAE too.
inline void print_table(const std::vector<result>& rows, const std::vector<seed_run>* by_seed = nullptr) {
    std::printf("| %-13s | %-15s | %-15s | %-15s | %-15s | %-15s | %8s |", "method", "MAE", "RMSE", "nDCG@3", "nDCG@10",
                "AUC", "train s");
    if (by_seed) std::printf(" MAE by seed");
    std::printf("\n|---------------|-----------------|-----------------|-----------------|-----------------|"
                "-----------------|----------|%s\n", by_seed ? "-------------|" : "");
    for (const auto& r : rows) {
        std::printf("| %-13s |", r.name.c_str());
        for (int m : {0, 1, 3, 5, 8})
            std::printf(" %s |", detail::pad(detail::with_interval(r.per_task[std::size_t(m)]), 15).c_str());
        std::printf(" %8.1f |", r.train_seconds);
        if (by_seed)
            for (const auto& run : *by_seed)
                for (const auto& row : run.rows)
                    if (row.name == r.name) std::printf(" %.4f", row.values[0]);
        if (r.diverged > 0) std::printf("  diverged on %td tasks", r.diverged);
        std::printf("\n");
    }
}

//! prints the paired comparisons, one line each
inline void print_comparisons(const std::vector<comparison>& comparisons, std::size_t users) {
    if (comparisons.empty()) return;
    std::printf("\npaired differences over %zu test users (learned - baseline, 95 %% bootstrap interval):\n", users);
    for (const auto& c : comparisons)
        std::printf("  %-7s %-10s - %-12s %+.4f [%+.4f, %+.4f]  %s\n", c.metric.c_str(), c.learned.c_str(),
                    c.baseline.c_str(), c.difference.mean, c.difference.low, c.difference.high, c.verdict().c_str());
}

/// --stream: per learned row and period, the MAE of the period's new users under the model
/// frozen after training and under the streamed one (each ± its 95 % interval), their paired
/// difference (streamed - frozen, 95 % bootstrap interval: negative is better), and the
/// update() that followed.
inline void print_stream(const std::vector<result>& rows) {
    for (const auto& r : rows) {
        if (r.stream.empty()) continue;
        std::printf(
            "\nlearning while serving, %s: each period's new users (in order of arrival), adapted on their "
            "support sets, before the streamed model learns from them\n\n",
            r.name.c_str());
        std::printf(
            "| period | users | MAE frozen | MAE streamed | streamed - frozen [95 %% interval] | update |\n"
            "|---|---|---|---|---|---|\n");
        for (std::size_t k = 0; k < r.stream.size(); ++k) {
            const auto& s = r.stream[k];
            const auto& d = s.difference;
            std::printf("| %zu | %td | %s | %s | %+.4f [%+.4f, %+.4f] | %lld steps, %.2f s |\n", k + 1, s.tasks,
                        detail::with_interval(s.frozen).c_str(), detail::with_interval(s.streamed).c_str(), d.mean,
                        d.low, d.high, static_cast<long long>(s.update_steps), s.update_seconds);
        }
    }
}

//! a row as JSON: each metric's mean, its interval (`ci95`), and with `per_user` each user's value
inline nlohmann::json to_json(const result& r, bool per_user) {
    const auto names = metrics().names();
    nlohmann::json row{{"name", r.name},
                       {"role", r.role == role::meta       ? "meta"
                                : r.role == role::transfer ? "transfer"
                                : r.role == role::warmup   ? "warmup"
                                                           : "baseline"}};
    nlohmann::json ci = nlohmann::json::object(), users = nlohmann::json::object();
    for (std::size_t m = 0; m < names.size(); ++m) {
        row[names[m]] = detail::number(r.values[m]);
        const auto i = mr::eval::mean_interval(r.per_task[m]);
        ci[names[m]] = {detail::number(i.low), detail::number(i.high)};
        if (per_user) {
            auto& list = users[names[m]] = nlohmann::json::array();
            for (double v : r.per_task[m]) list.push_back(detail::number(v));
        }
    }
    row["ci95"] = ci;
    if (per_user) row["per_user"] = users;
    row["diverged"] = r.diverged;
    row["train_seconds"] = r.train_seconds;
    if (!r.config.empty()) row["config"] = r.config;
    if (!r.by_shots.empty()) row["by_shots"] = shots_json(r);
    for (const auto& s : r.stream) {  // --stream: the periods
        const auto frozen = mr::eval::mean_interval(s.frozen), streamed = mr::eval::mean_interval(s.streamed);
        const auto& d = s.difference;
        row["stream"].push_back({{"tasks", s.tasks},
                                 {"mae_frozen", detail::number(frozen.mean)},
                                 {"mae_frozen_ci95", {detail::number(frozen.low), detail::number(frozen.high)}},
                                 {"mae_streamed", detail::number(streamed.mean)},
                                 {"mae_streamed_ci95", {detail::number(streamed.low), detail::number(streamed.high)}},
                                 {"difference", detail::number(d.mean)},
                                 {"difference_ci95", {detail::number(d.low), detail::number(d.high)}},
                                 {"update_steps", s.update_steps},
                                 {"update_seconds", s.update_seconds}});
    }
    return row;
}

//! a comparison as JSON
inline nlohmann::json to_json(const comparison& c) {
    return {{"metric", c.metric},
            {"learned", c.learned},
            {"baseline", c.baseline},
            {"difference", detail::number(c.difference.mean)},
            {"ci95", {detail::number(c.difference.low), detail::number(c.difference.high)}},
            {"users", c.difference.n},
            {"verdict", c.verdict()}};
}

}  // namespace coldstart
