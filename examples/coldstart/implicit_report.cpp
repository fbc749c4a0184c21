// metarec-coldstart: the implicit-feedback report: the evaluation's candidates, the e-commerce
// baselines, the models, the table with 95 % intervals over users and paired differences, JSON.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <metarec/io/svg.hpp>
#include <metarec/recsys/implicit_baselines.hpp>

#include "implicit.hpp"

namespace coldstart {

namespace {

using metric_names = mr::eval::ranking_metrics;
constexpr mr::index hr5 = 0, hr10 = 1, hr20 = 2, ndcg10 = 4, mrr = 6, recall20 = 7, auc = 8;

// the users of the evaluation: each query positive with its sampled negatives (sampled:N) or
// the catalogue minus the user's own items (full); the same for every method
std::vector<eval_user> evaluation_users(const mr::data::dataset& data, const mr::data::split& split,
                                        const std::vector<std::vector<mr::id_type>>& excluded, mr::index sampled,
                                        std::uint64_t seed) {
    // uniform negatives on a stream of their own: independent of the training negatives' settings
    const mr::data::negative_sampler sampler(data, split.training_interactions, mr::data::negative_distribution::uniform,
                                             seed ^ 0x6576616c75617465ULL);
    std::vector<eval_user> out;
    for (std::size_t t = 0; t < split.test.size(); ++t) {
        const auto& task = split.test[t];
        eval_user u;
        u.task = t;
        u.user = data.interactions[std::size_t(task.support.front())].user;
        for (const auto k : task.query) {
            const auto item = data.interactions[std::size_t(k)].item;
            if (std::find(u.positives.begin(), u.positives.end(), item) == u.positives.end()) u.positives.push_back(item);
        }
        const auto& own = excluded[std::size_t(u.user)];
        if (sampled > 0) {
            for (std::size_t p = 0; p < u.positives.size(); ++p)
                u.competitors.push_back(sampler.draw(mr::data::negative_sampler::stream_of(7, t, p), sampled, own));
        } else {
            auto& all = u.competitors.emplace_back();
            for (const auto i : sampler.catalogue())
                if (!std::binary_search(own.begin(), own.end(), i)) all.push_back(i);
            if (all.empty()) throw std::invalid_argument("a new user interacted with every item: nothing to rank");
        }
        out.push_back(std::move(u));
    }
    return out;
}

// `data` with --history's field (add_history): each user's items of the support set of its
// first task; empty for users without a task
mr::data::dataset with_history(const mr::data::dataset& data, const mr::data::split& split) {
    mr::data::dataset out = data;
    std::vector<std::vector<mr::id_type>> bags(std::size_t(data.users.rows()));
    std::vector<char> done(bags.size(), 0);
    for (const auto* tasks : {&split.train, &split.validation, &split.test})
        for (const auto& t : *tasks) {
            const auto user = std::size_t(data.interactions[std::size_t(t.support.front())].user);
            if (done[user]) continue;
            done[user] = 1;
            for (const auto k : t.support) bags[user].push_back(data.interactions[std::size_t(k)].item);
        }
    add_history(out, bags);
    return out;
}

std::string cell(double value) {
    if (std::isnan(value)) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", value);
    return text;
}

bool is_baseline(const std::string& name) {
    for (const char* b : {"popularity", "scenario-popularity", "recent-popularity", "item-knn", "recent-item-knn", "no-adapt",
                          "fine-tune"})
        if (name == b) return true;
    return false;
}

}  // namespace

int run_implicit(const config& c, const implicit_config& ic, const mr::data::dataset& data, const mr::data::split& split,
                 const std::string& json_path, bool root) {
    if (c.split.group != mr::data::task_group::user)
        throw std::invalid_argument("implicit feedback ranks items for users: --task-group user");
    if (c.split.scenario != mr::data::scenario::new_users)
        throw std::invalid_argument("implicit feedback is evaluated on new users: --scenario new-users");
    if (c.model != "melu" && c.model != "two-tower")
        throw std::invalid_argument("implicit feedback runs --model melu or two-tower");
    if (ic.baseline_inputs && c.model != "melu")
        throw std::invalid_argument("--baseline-inputs on feeds MeLU's head: --model melu (or --baseline-inputs off)");
    if (ic.objective != "bce" && ic.objective != "bpr")
        throw std::invalid_argument("--objective must be bce or bpr, not '" + ic.objective + "'");
    // --negative-sampling scenario:FIELD: hard negatives among the items of the positive's scenario
    const std::string hard_field = ic.negative_sampling.rfind("scenario:", 0) == 0 ? ic.negative_sampling.substr(9) : "";
    if (ic.negative_sampling != "uniform" && ic.negative_sampling != "popularity" && hard_field.empty())
        throw std::invalid_argument("--negative-sampling must be uniform, popularity or scenario:FIELD, not '" +
                                    ic.negative_sampling + "'");
    // --eval: sampled:N and/or full, comma-separated; 0 negatives stands for full
    std::vector<std::string> modes;
    std::vector<mr::index> sampled;
    for (std::size_t start = 0; start <= ic.eval.size();) {
        auto end = ic.eval.find(',', start);
        if (end == std::string::npos) end = ic.eval.size();
        const auto mode = ic.eval.substr(start, end - start);
        start = end + 1;
        if (mode.rfind("sampled:", 0) == 0) {
            const auto n = mode.substr(8);
            if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos || std::stol(n) < 1)
                throw std::invalid_argument("--eval sampled:N needs N >= 1 negatives per positive, not '" + mode + "'");
            sampled.push_back(std::stol(n));
        } else if (mode == "full") {
            sampled.push_back(0);
        } else {
            throw std::invalid_argument("--eval must be sampled:N (e.g. sampled:99), full, or both comma-separated, not '" +
                                        ic.eval + "'");
        }
        modes.push_back(mode);
    }

    const auto excluded = mr::data::items_of_users(data);
    const mr::data::negative_sampler sampler(data, split.training_interactions,
                                             ic.negative_sampling == "popularity"
                                                 ? mr::data::negative_distribution::popularity
                                                 : mr::data::negative_distribution::uniform,
                                             c.seed);
    std::optional<mr::data::scenario_pools> scenario;
    if (!hard_field.empty()) scenario.emplace(data, split.training_interactions, hard_field);
    std::vector<std::vector<eval_user>> evaluations;
    for (const auto n : sampled) evaluations.push_back(evaluation_users(data, split, excluded, n, c.seed));
    mr::index positives = 0;
    for (const auto& u : evaluations.front()) positives += mr::index(u.positives.size());

    // the baselines, in every evaluation
    std::vector<std::vector<implicit_result>> baselines(modes.size());
    const auto score = [&](const std::string& name, auto&& baseline) {
        for (std::size_t e = 0; e < modes.size(); ++e)
            baselines[e].push_back(
                evaluate_ranking(name, evaluations[e], [&](const eval_user& u, std::span<const mr::id_type> items) {
                    return baseline.scores(split.test[u.task], items);
                }));
    };
    score("popularity", mr::recsys::popularity(data, split.training_interactions));
    std::string field = ic.scenario_field;
    if (field.empty() && !data.users.categorical.empty()) field = data.users.categorical.front().name;
    if (!field.empty()) score("scenario-popularity", mr::recsys::scenario_popularity(data, split.training_interactions, field));
    if (data.has_timestamps) score("recent-popularity", mr::recsys::recent_popularity(data, split.training_interactions));
    score("item-knn", mr::recsys::item_knn(data, split.training_interactions));
    if (data.has_timestamps) {
        const auto recent = mr::recsys::item_knn::tuned(data, split);
        if (!c.quiet)
            std::fprintf(stderr, "recent-item-knn: half-life %g baskets (chosen on the validation users)\n",
                         recent.half_life());
        score("recent-item-knn", recent);
    }

    const auto model_data = ic.history ? with_history(data, split) : data;
    const implicit_problem p{c,        ic,        model_data, split, sampler, scenario ? &*scenario : nullptr,
                             excluded, evaluations, [&](const std::string& name) {
                                 if (!c.quiet) std::fprintf(stderr, "training %s (%s, %s)\n", name.c_str(),
                                                            c.model.c_str(), ic.objective.c_str());
                             }};
    auto tables = c.model == "melu" ? run_implicit_melu(p) : run_implicit_two_tower(p);
    for (std::size_t e = 0; e < modes.size(); ++e)
        for (auto& b : baselines[e]) tables[e].push_back(std::move(b));
    if (!root) return 0;

    for (std::size_t e = 0; e < modes.size(); ++e) {
        const auto& rows = tables[e];
        std::printf("\n%s, implicit feedback, %s, %zu new users, %td query positives (the last %td %s), ranked against %s, "
                    "%s with %td negatives per positive, seed %llu\n\n",
                    data.name.c_str(), mr::data::to_string(c.split.scenario), evaluations[e].size(), positives,
                    c.split.query, c.split.query_by_time || c.split.by_time ? "by time" : "at random",
                    sampled[e] > 0 ? (std::to_string(sampled[e]) + " sampled negatives").c_str() : "the full catalogue",
                    ic.objective.c_str(), ic.negatives, static_cast<unsigned long long>(c.seed));
        std::printf("| %-19s | %7s | %6s | %7s | %6s | %7s | %7s | %7s | %9s | %7s | %8s |\n", "method", "HR@10", "+-95%",
                    "nDCG@10", "+-95%", "HR@5", "HR@20", "MRR", "Recall@20", "AUC", "train s");
        std::printf("|---------------------|---------|--------|---------|--------|---------|---------|---------|-----------|"
                    "---------|----------|\n");
        for (const auto& r : rows) {
            std::printf("| %-19s | %7s | %6s | %7s | %6s | %7s | %7s | %7s | %9s | %7s | %8.1f |", r.name.c_str(),
                        cell(r.users.mean(hr10)).c_str(), cell(r.users.half_width(hr10)).c_str(),
                        cell(r.users.mean(ndcg10)).c_str(), cell(r.users.half_width(ndcg10)).c_str(),
                        cell(r.users.mean(hr5)).c_str(), cell(r.users.mean(hr20)).c_str(),
                        cell(r.users.mean(mrr)).c_str(), cell(r.users.mean(recall20)).c_str(),
                        cell(r.users.mean(auc)).c_str(), r.train_seconds);
            if (r.diverged > 0) std::printf("  diverged for %td users", r.diverged);
            std::printf("\n");
        }
        // the best meta-learned model against every baseline, user by user
        const implicit_result* best = nullptr;
        for (const auto& r : rows)
            if (!is_baseline(r.name) && (!best || r.users.mean(hr10) > best->users.mean(hr10))) best = &r;
        if (!best) continue;
        std::printf("\npaired differences over users, %s minus each baseline (mean +- 95 %% interval; a win when the "
                    "interval excludes 0):\n",
                    best->name.c_str());
        for (const auto& r : rows) {
            if (!is_baseline(r.name)) continue;
            const auto h = mr::eval::user_average::paired_difference(best->users, r.users, hr10);
            const auto n = mr::eval::user_average::paired_difference(best->users, r.users, ndcg10);
            std::printf("  vs %-19s HR@10 %+.4f +- %.4f   nDCG@10 %+.4f +- %.4f\n", r.name.c_str(), h[0], h[1], n[0],
                        n[1]);
        }
    }

    // --plot DIR: HR@k against k (5, 10, 20) per evaluation, one line per method, baselines dashed
    if (!c.plot_dir.empty())
        for (std::size_t e = 0; e < modes.size(); ++e) {
            mr::io::line_chart chart{.title = "HR@k against k, " + data.name + ", " +
                                              (sampled[e] > 0 ? std::to_string(sampled[e]) + " sampled negatives"
                                                              : std::string("full catalogue")),
                                     .x_label = "k: the length of the list",
                                     .y_label = "HR@k of the query positives",
                                     .log_x = true};
            for (const auto& r : tables[e]) {
                mr::io::chart_series line{.name = r.name, .dashed = is_baseline(r.name)};
                for (const auto& [k, m] : {std::pair{5, hr5}, std::pair{10, hr10}, std::pair{20, hr20}}) {
                    line.x.push_back(double(k));
                    line.y.push_back(r.users.mean(m));
                }
                chart.series.push_back(std::move(line));
            }
            auto file = "hr-at-k-" + modes[e] + ".svg";
            std::replace(file.begin(), file.end(), ':', '-');
            const auto path = std::filesystem::path(c.plot_dir) / file;
            mr::io::write_svg(path, chart);
            if (!c.quiet) std::fprintf(stderr, "wrote %s\n", path.string().c_str());
        }

    if (!json_path.empty()) {
        const auto names = metric_names::names();
        const auto results_of = [&](const std::vector<implicit_result>& rows) {
            auto list = nlohmann::json::array();
            for (const auto& r : rows) {
                nlohmann::json row{{"name", r.name}}, ci, per_user;
                for (std::size_t m = 0; m < names.size(); ++m) {
                    const double v = r.users.mean(mr::index(m)), h = r.users.half_width(mr::index(m));
                    row[names[m]] = std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
                    ci[names[m]] = std::isnan(h) ? nlohmann::json(nullptr) : nlohmann::json(h);
                }
                for (const mr::index m : {hr10, ndcg10}) {
                    auto& values = per_user[names[std::size_t(m)]] = nlohmann::json::array();
                    for (mr::index u = 0; u < r.users.users(); ++u) values.push_back(r.users.value(u, m));
                }
                row["ci95"] = ci;
                row["baseline"] = is_baseline(r.name);
                row["users"] = r.users.users();
                row["per_user"] = per_user;
                row["diverged"] = r.diverged;
                row["train_seconds"] = r.train_seconds;
                list.push_back(row);
            }
            return list;
        };
        // "results" and "eval": the first evaluation; "evaluations": every one
        nlohmann::json out{{"dataset", data.name},
                           {"feedback", "implicit"},
                           {"scenario", mr::data::to_string(c.split.scenario)},
                           {"model", c.model},
                           {"objective", ic.objective},
                           {"negatives", ic.negatives},
                           {"negative_sampling", ic.negative_sampling},
                           {"eval", modes.front()},
                           {"seed", c.seed},
                           {"query", c.split.query},
                           {"inner_steps", c.inner_steps},
                           {"test_users", evaluations.front().size()},
                           {"test_positives", positives},
                           {"skipped_rows", data.report.skipped_rows},
                           {"results", results_of(tables.front())},
                           {"evaluations", nlohmann::json::array()}};
        for (std::size_t e = 0; e < modes.size(); ++e)
            out["evaluations"].push_back({{"eval", modes[e]}, {"results", results_of(tables[e])}});
        std::ofstream file(json_path);
        if (!(file << out.dump(2) << '\n')) throw std::invalid_argument("cannot write " + json_path);
    }
    return 0;
}

}  // namespace coldstart
