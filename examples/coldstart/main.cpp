// metarec-coldstart: meta-train a recommender on warm users, adapt it to new users (or new
// items) from a few interactions, and report whether meta-learning beat the simple
// alternatives: global mean, the user's support mean, item means, the meta-learned model
// without adaptation, and a pre-trained model fine-tuned on the support set.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <metarec/data/new_values.hpp>
#include <metarec/meta/algorithm.hpp>

#include "coldstart.hpp"
#include "data_source.hpp"

namespace {

using namespace coldstart;

// the simple baselines, evaluated on the same test tasks as the models
std::vector<result> baselines(const mr::data::dataset& data, const mr::data::split& split) {
    const mr::recsys::global_mean global(data, split.training_interactions);
    const mr::recsys::support_mean support(data);
    const mr::recsys::item_mean item(data, split.training_interactions);
    std::vector<result> rows;
    const auto score = [&](const std::string& name, const auto& predictor) {
        metrics average;
        for (const auto& task : split.test) {
            const auto pred = predictor.predict(task);
            std::vector<double> target;
            for (auto k : task.query) target.push_back(data.interactions[std::size_t(k)].rating);
            average.add(pred.data(), target.data(), 1, mr::index(target.size()));
        }
        rows.push_back(make_result(name, average, 0.0));
    };
    score("global-mean", global);
    score("support-mean", support);
    score("item-mean", item);
    return rows;
}

std::string cell(double value) {
    if (std::isnan(value)) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", value);
    return text;
}

}  // namespace

static int coldstart_main(int argc, char** argv) {
    config c;
    std::string scenario = "new-users", split_by = "random", task_group = "user", item_id = "auto", json_path;
    CLI::App app{"metarec-coldstart: meta-learning for cold-start recommendation, compared with the simple "
                 "alternatives. With no --data, runs on a built-in synthetic shop."};
    c.data.add_options(app);
    app.add_option("--scenario", scenario,
                   "new-users, new-items, new-users-new-items, warm, or new-values:FIELD (whole "
                   "values of a categorical field held out of training)")
        ->capture_default_str();
    app.add_option("--split", split_by, "random (--test-fraction at random) or time (latest arrivals are new)")
        ->capture_default_str();
    app.add_option("--task-group", task_group, "tasks per user, per item, or per value of a categorical field: "
                                               "user, item or feature:NAME")->capture_default_str();
    app.add_option("--model", c.model, "melu, two-tower or mf (matrix factorization)")->capture_default_str();
    app.add_option("--item-id", item_id, "the item's id as one more item feature: on, off, or auto (on unless items "
                                         "are new)")->capture_default_str();
    app.add_flag("!--no-warm-start", c.warm_start, "meta-learn from scratch instead of from the pre-trained model");
    app.add_option("--algo", c.algorithms, "maml, fomaml, reptile, meta-sgd, anil, fine-tune or all (comma-separated)")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--support", c.split.support, "support interactions per task (-1: all but the query)")
        ->capture_default_str();
    app.add_option("--query", c.split.query, "query interactions per task")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--min-user-interactions", c.split.min_interactions, "smallest task")->capture_default_str();
    app.add_option("--max-user-interactions", c.split.max_interactions, "largest task")->capture_default_str();
    app.add_option("--train-draws", c.split.train_draws, "training tasks per warm user: random support/query draws")
        ->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--test-fraction", c.split.test_fraction, "share of new users/items")->capture_default_str();
    app.add_option("--validation-fraction", c.split.validation_fraction, "share of training tasks for early stopping")
        ->capture_default_str();
    app.add_option("--inner-steps", c.inner_steps, "adaptation steps K")->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--inner-lr", c.inner_lr, "adaptation learning rate")->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--outer-lr", c.outer_lr, "meta-learning rate (Adam)")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--epochs", c.epochs, "largest number of epochs")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--patience", c.patience, "early stopping: epochs without improvement")
        ->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--meta-batch", c.meta_batch, "tasks per meta-step")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--threads", c.threads, "threads over the tasks of a meta-batch")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--seed", c.seed, "seed of the split, initialization and sampling")->capture_default_str();
    app.add_option("--json", json_path, "also write the report as JSON to this file");
    app.add_option("--save", c.save, "write the meta-learned model of the one --algo to this file (for metarec-serve)");
    app.add_option("--checkpoint", c.checkpoint_dir, "write a checkpoint of every training run into this directory");
    app.add_option("--checkpoint-every", c.checkpoint_every, "meta-steps between checkpoints")
        ->check(CLI::PositiveNumber)->capture_default_str();
    app.add_flag("--resume", c.resume, "continue the runs from their checkpoints in --checkpoint (same flags)");
    app.add_flag("--quiet", c.quiet, "print only the table");
    std::string distributed = "none";
    app.add_option("--distributed", distributed, "none, or mpi: spread meta-batches over the ranks of mpirun")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "metarec-coldstart: %s\n", e.what());
        return 2;
    }

    try {
        // --scenario new-values:FIELD: the users (items) of held-out values of FIELD are new
        const std::string new_values = scenario.rfind("new-values:", 0) == 0 ? scenario.substr(11) : "";
        if (scenario.rfind("new-values:", 0) == 0 && new_values.empty())
            throw std::invalid_argument("--scenario new-values needs a field: new-values:FIELD");
        c.split.scenario = new_values.empty() ? mr::data::parse_scenario(scenario) : mr::data::scenario::new_users;
        if (split_by != "random" && split_by != "time")
            throw std::invalid_argument("--split must be random or time, not '" + split_by + "'");
        c.split.by_time = split_by == "time";
        if (task_group == "user") {
            c.split.group = mr::data::task_group::user;
        } else if (task_group == "item") {
            c.split.group = mr::data::task_group::item;
        } else if (task_group.rfind("feature:", 0) == 0 && task_group.size() > 8) {
            c.split.group = mr::data::task_group::feature;
            c.split.feature = task_group.substr(8);
        } else {
            throw std::invalid_argument("--task-group must be user, item or feature:NAME, not '" + task_group + "'");
        }
        c.split.seed = c.seed;
        if (distributed != "none" && distributed != "mpi")
            throw std::invalid_argument("--distributed must be none or mpi, not '" + distributed + "'");
        c.distributed = distributed == "mpi";
#ifndef METAREC_COLDSTART_MPI
        if (c.distributed) throw std::invalid_argument("--distributed mpi: this build has no MPI (install libopenmpi-dev)");
#endif
        // distributed: rank 0 alone prints and writes
        const bool root = make_distribution(c).rank() == 0;
        if (!root) c.quiet = true;
        if (item_id != "auto" && item_id != "on" && item_id != "off")
            throw std::invalid_argument("--item-id must be auto, on or off, not '" + item_id + "'");
        c.item_id = item_id == "on" || (item_id == "auto" && c.split.scenario != mr::data::scenario::new_items &&
                                        c.split.scenario != mr::data::scenario::new_users_new_items);
        if (c.model != "melu" && c.model != "two-tower" && c.model != "mf")
            throw std::invalid_argument("unknown --model '" + c.model + "' (expected melu, two-tower or mf)");
        for (const auto& name : c.algorithms)
            if (name != "all" && name != "fine-tune" && name != "anil") {
                const auto known = all_algorithms(c.model);
                if (std::find(known.begin(), known.end(), name) == known.end())
                    throw std::invalid_argument("unknown --algo '" + name +
                                                "' (expected maml, fomaml, reptile, meta-sgd, anil, fine-tune or all)");
            } else if (name == "anil" && c.model != "melu") {
                throw std::invalid_argument("--algo anil adapts the last layer of a decision head: only with --model melu");
            }

        if (c.resume && c.checkpoint_dir.empty()) throw std::invalid_argument("--resume needs --checkpoint DIR");
        if (!c.save.empty() && (c.algorithms.size() != 1 || c.algorithms[0] == "all"))
            throw std::invalid_argument("--save writes one model: pass one --algo (maml, fomaml, reptile, meta-sgd, "
                                        "anil or fine-tune)");
        if (!c.checkpoint_dir.empty()) std::filesystem::create_directories(c.checkpoint_dir);

        const auto data = c.data.load(c.seed);
        const auto split = new_values.empty() ? mr::data::make_split(data, c.split)
                                              : mr::data::make_new_values_split(data, new_values, c.split);
        if (!new_values.empty()) {  // an item field: its items are new, and no item id (as new-items)
            if (std::find(split.new_item.begin(), split.new_item.end(), 1) != split.new_item.end())
                c.split.scenario = mr::data::scenario::new_items;
            c.item_id = item_id == "on" || (item_id == "auto" && c.split.scenario == mr::data::scenario::new_users);
        }
        const std::string scenario_name = new_values.empty() ? mr::data::to_string(c.split.scenario) : scenario;
        if (split.train.empty() || split.test.empty())
            throw std::invalid_argument("the split has " + std::to_string(split.train.size()) + " training and " +
                                        std::to_string(split.test.size()) +
                                        " test tasks: loosen --min/max-user-interactions, --support or --query");
        mr::index test_interactions = 0;
        for (const auto& t : split.test) test_interactions += mr::index(t.query.size());
        if (!c.quiet) {
            std::fprintf(stderr, "%s: %td users, %td items, %zu interactions", data.name.c_str(), data.users.rows(),
                         data.items.rows(), data.interactions.size());
            if (data.report.skipped_rows > 0) std::fprintf(stderr, " (%lld malformed rows skipped)", (long long)data.report.skipped_rows);
            std::fprintf(stderr, "\n%s: %zu training, %zu validation, %zu test tasks\n", scenario_name.c_str(),
                         split.train.size(), split.validation.size(), split.test.size());
            if (!new_values.empty()) {
                const auto& table = std::find(split.new_item.begin(), split.new_item.end(), 1) != split.new_item.end()
                                        ? data.items
                                        : data.users;
                for (const auto& f : table.categorical)
                    if (f.name == new_values) {
                        std::string held;
                        for (const auto v : split.held_values)
                            held += (held.empty() ? "" : ", ") + f.vocabulary[std::size_t(v)];
                        std::fprintf(stderr, "held out %zu of %zu values of %s: %s\n", split.held_values.size(),
                                     f.vocabulary.size(), new_values.c_str(), held.c_str());
                        break;
                    }
            }
        }

        const problem p{c, data, split, [&](const std::string& name) {
                            if (!c.quiet) std::fprintf(stderr, "training %s (%s)\n", name.c_str(), c.model.c_str());
                        }};
        std::vector<result> rows;
        if (c.model == "melu")
            rows = run_melu(p);
        else if (c.model == "two-tower")
            rows = run_two_tower(p);
        else
            rows = run_matrix_factorization(p);
        for (auto& row : baselines(data, split)) rows.push_back(std::move(row));
        if (!root) return 0;

        // the table: MAE, RMSE, nDCG@3, nDCG@10, AUC (metrics' order: mae rmse ndcg@1 @3 @5 @10 hr@3 recall@3 auc)
        std::printf("\n%s, %s, %zu test tasks, %td query interactions, support %s, seed %llu\n\n", data.name.c_str(),
                    scenario_name.c_str(), split.test.size(), test_interactions,
                    c.split.support > 0 ? std::to_string(c.split.support).c_str() : "rest",
                    static_cast<unsigned long long>(c.seed));
        std::printf("| %-13s | %7s | %7s | %7s | %7s | %7s | %8s |\n", "method", "MAE", "RMSE", "nDCG@3", "nDCG@10",
                    "AUC", "train s");
        std::printf("|---------------|---------|---------|---------|---------|---------|----------|\n");
        for (const auto& r : rows) {
            std::printf("| %-13s | %7s | %7s | %7s | %7s | %7s | %8.1f |", r.name.c_str(), cell(r.values[0]).c_str(),
                        cell(r.values[1]).c_str(), cell(r.values[3]).c_str(), cell(r.values[5]).c_str(),
                        cell(r.values[8]).c_str(), r.train_seconds);
            if (r.diverged > 0) std::printf("  diverged on %td tasks", r.diverged);
            std::printf("\n");
        }

        if (!json_path.empty()) {
            const auto names = metrics().names();
            nlohmann::json out{{"dataset", data.name},
                               {"scenario", scenario_name},
                               {"model", c.model},
                               {"seed", c.seed},
                               {"support", c.split.support},
                               {"query", c.split.query},
                               {"inner_steps", c.inner_steps},
                               {"test_users", split.test.size()},
                               {"test_interactions", test_interactions},
                               {"skipped_rows", data.report.skipped_rows},
                               {"results", nlohmann::json::array()}};
            for (const auto& r : rows) {
                nlohmann::json row{{"name", r.name}};
                for (std::size_t m = 0; m < names.size(); ++m)
                    row[names[m]] = std::isnan(r.values[m]) ? nlohmann::json(nullptr) : nlohmann::json(r.values[m]);
                row["diverged"] = r.diverged;
                row["train_seconds"] = r.train_seconds;
                out["results"].push_back(row);
            }
            std::ofstream file(json_path);
            if (!(file << out.dump(2) << '\n')) throw std::invalid_argument("cannot write " + json_path);
        }
    } catch (const mr::data_error& e) {
        std::fprintf(stderr, "metarec-coldstart: %s\n", e.what());
        return 2;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "metarec-coldstart: %s\n", e.what());
        return 2;
    } catch (const mr::meta::non_finite_error& e) {
        std::fprintf(stderr, "metarec-coldstart: %s\n", e.what());
        return 1;
    } catch (const std::system_error& e) {  // a checkpoint or model that cannot be written (filesystem_error too)
        std::fprintf(stderr, "metarec-coldstart: %s\n", e.what());
        return 1;
    }
    return 0;
}

int main(int argc, char** argv) {
#ifdef METAREC_COLDSTART_MPI
    int code = 0;
    const int aborted = metarec::dist::run(argc, argv, [&] { code = coldstart_main(argc, argv); });
    return aborted ? aborted : code;
#else
    return coldstart_main(argc, argv);
#endif
}
