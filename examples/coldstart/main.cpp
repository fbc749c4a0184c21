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
#include <optional>
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
#include "flags.hpp"
#include "implicit.hpp"
#include "plot.hpp"
#include "report.hpp"
#include "shots.hpp"

namespace {

using namespace coldstart;

// the simple baselines, evaluated on the same test tasks as the models
std::vector<result> baselines(const mr::data::dataset& data, const mr::data::split& split,
                              const mr::eval::rating_scale& scale, const mr::recsys::bias_model& bias,
                              const std::vector<mr::index>& shots) {
    const mr::recsys::global_mean global(data, split.training_interactions);
    const mr::recsys::support_mean support(data);
    const mr::recsys::item_mean item(data, split.training_interactions);
    std::vector<result> rows;
    const auto score = [&](const std::string& name, const auto& predictor) {
        rows.push_back(make_result(name, average_over(data, predictor, split.test, scale), 0.0, role::baseline));
        rows.back().by_shots = baseline_shots(data, predictor, split.test, shots, scale);
    };
    score("global-mean", global);
    score("support-mean", support);
    score("item-mean", item);
    score("bias", bias);
    return rows;
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
    std::string model_flag = c.model;
    app.add_option("--model", model_flag,
                   "auto (mf where the feedback is ratings and the items are warm, melu elsewhere), melu, two-tower "
                   "or mf (matrix factorization)")
        ->capture_default_str();
    app.add_option("--item-id", item_id, "the item's id as one more item feature: on, off, or auto (on unless items "
                                         "are new)")->capture_default_str();
    std::string residual = "auto";
    app.add_option("--residual", residual,
                   "on: every model learns what the bias model leaves over (mu + b_item + b_user + b_task + f(x)); "
                   "off: the ratings themselves; auto: on with --model mf (unless --save), off otherwise")
        ->capture_default_str();
    app.add_option("--id-warmup", c.id_warmup,
                   "metaemb: also the MeLU model with the item id as a feature, a new item's row generated from its "
                   "features (MetaEmb) and warmed up on its support ratings, against the zero row (new items, "
                   "--task-group item); mwuf: the same, and the generated and zero rows scaled and shifted by the "
                   "item's support (MWUF); none: not")
        ->capture_default_str();
    app.add_flag("!--no-warm-start", c.warm_start, "meta-learn from scratch instead of from the pre-trained model");
    app.add_option("--algo", c.algorithms, "maml, fomaml, reptile, meta-sgd, anil, fine-tune or all (comma-separated)")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--support", c.split.support, "support interactions per task (-1: all but the query)")
        ->check(flags::support_size())
        ->capture_default_str();
    app.add_option("--query", c.split.query, "query interactions per task")
        ->check(flags::at_least<mr::index>(1))->capture_default_str();
    app.add_option("--min-user-interactions", c.split.min_interactions, "smallest task")
        ->check(flags::at_least<mr::index>(2))->capture_default_str();
    app.add_option("--max-user-interactions", c.split.max_interactions, "largest task")
        ->check(flags::at_least<mr::index>(2))->capture_default_str();
    app.add_option("--train-draws", c.split.train_draws, "training tasks per warm user: random support/query draws")
        ->check(flags::at_least<mr::index>(1))->capture_default_str();
    std::string mf_init = "als";
    app.add_option("--mf-init", mf_init,
                   "--model mf: als starts the item table from the item factors of what the bias model leaves over "
                   "(alternating least squares on the training ratings, ridge strength chosen on the validation users); "
                   "random: seeded random rows")
        ->capture_default_str();
    std::string history = "auto";
    app.add_option("--train-history", history,
                   "whole: training users' whole histories are cut into tasks (all the warm data trains); "
                   "task: one task per training user of min..max interactions, as the test users (MeLU's protocol); "
                   "auto: whole for ratings, task for implicit feedback")
        ->capture_default_str();
    app.add_option("--test-fraction", c.split.test_fraction, "share of new users/items")
        ->check(flags::between(0.0, 1.0, false))->capture_default_str();
    app.add_option("--validation-fraction", c.split.validation_fraction, "share of training tasks for early stopping")
        ->check(flags::between(0.0, 1.0, true))
        ->capture_default_str();
    app.add_option("--inner-steps", c.inner_steps, "adaptation steps K")
        ->check(flags::at_least(0))->capture_default_str();
    const double melu_inner_lr = c.inner_lr;
    app.add_option("--inner-lr", c.inner_lr, "adaptation learning rate (default 0.01; --model mf and MeLU on implicit "
                                             "feedback: 0.1)")
        ->check(flags::at_least(0.0));
    app.add_option("--outer-lr", c.outer_lr, "meta-learning rate (Adam)")
        ->check(flags::at_least(0.0, true))->capture_default_str();
    app.add_option("--epochs", c.epochs, "largest number of epochs")->check(flags::at_least(1))->capture_default_str();
    app.add_option("--patience", c.patience, "early stopping: epochs without improvement")
        ->check(flags::at_least(1))->capture_default_str();
    app.add_option("--meta-batch", c.meta_batch, "tasks per meta-step")
        ->check(flags::at_least<mr::index>(1))->capture_default_str();
    app.add_option("--threads", c.threads, "threads over the tasks of a meta-batch")
        ->check(flags::at_least(1))->capture_default_str();
    app.add_option("--seed", c.seed, "seed of the split, initialization and sampling")
        ->check(flags::at_least<std::uint64_t>(0))->capture_default_str();
    std::vector<std::uint64_t> seeds;
    app.add_option("--seeds", seeds, "run once per seed (e.g. 1,2,3): each seed's table, then the users of every seed "
                                     "pooled")
        ->delimiter(',')
        ->check(flags::at_least<std::uint64_t>(0));
    app.add_option("--tune", c.tune,
                   "try N configurations per method (the flags' and N-1 seeded draws of inner lr, inner steps and "
                   "outer lr), keep the best on the validation users; fine-tuning gets the same N")
        ->check(flags::at_least(0))->capture_default_str();
    app.add_option("--shots", c.shots, "also evaluate every method on the test users with at least the largest of "
                                        "these support sizes, adapted from their first s, for each s (e.g. 1,2,5,10)")
        ->delimiter(',')
        ->check(flags::at_least<mr::index>(1));
    app.add_option("--plot", c.plot_dir, "also write the report's figures as SVG files into this directory: every "
                                         "metric against --shots, each training run's curves");
    app.add_option("--stream", c.stream,
                   "with --split time: learning while serving, simulated: the test users in K "
                   "periods of arrival; each period's users are served by the model frozen after "
                   "training and by the streamed one, which then learns from them (update())")
        ->check(flags::at_least(1));
    app.add_option("--stream-passes", c.stream_passes, "--stream: times update() goes over each new task")
        ->check(flags::at_least(0.0, true))
        ->capture_default_str();
    app.add_option("--replay", c.replay,
                   "--stream: tasks in update()'s replay buffer (a uniform sample of those streamed)")
        ->check(flags::at_least<mr::index>(0))
        ->capture_default_str();
    app.add_option("--json", json_path, "also write the report as JSON to this file");
    app.add_option("--save", c.save, "write the meta-learned model of the one --algo to this file (for metarec-serve)");
    app.add_option("--checkpoint", c.checkpoint_dir, "write a checkpoint of every training run into this directory");
    app.add_option("--checkpoint-every", c.checkpoint_every, "meta-steps between checkpoints")
        ->check(flags::at_least<std::int64_t>(1))->capture_default_str();
    app.add_flag("--resume", c.resume, "continue the runs from their checkpoints in --checkpoint (same flags)");
    app.add_flag("--quiet", c.quiet, "print only the table");
    implicit_config implicit;
    std::string query_order = "auto";
    app.add_option("--objective", implicit.objective, "implicit: bce (pointwise, positives vs sampled negatives) or bpr "
                                                      "(pairwise)")->capture_default_str();
    app.add_option("--negatives", implicit.negatives, "implicit: training negatives per positive")
        ->check(flags::at_least<decltype(implicit.negatives)>(1))->capture_default_str();
    app.add_option("--negative-sampling", implicit.negative_sampling, "implicit: uniform, popularity, or scenario:FIELD "
                                                                      "(hard negatives among the items of the positive's "
                                                                      "category or the user's market; training negatives)")->capture_default_str();
    app.add_option("--eval", implicit.eval, "implicit: rank each held-out positive against sampled:N negatives or the "
                                            "full catalogue")->capture_default_str();
    app.add_option("--scenario-field", implicit.scenario_field, "implicit: the user field of scenario-popularity "
                                                                "(default: the first categorical user field)");
    app.add_option("--history", implicit.history, "implicit: the items of the user's support set as a multi-valued user "
                                                  "feature (true/false)")->capture_default_str();
    std::string baseline_inputs = "auto";
    app.add_option("--baseline-inputs", baseline_inputs, "implicit: each row's item-kNN scores given the support set "
                                                         "(undamped, and the latest baskets weighted more) and the item's "
                                                         "log-popularity as inputs of the model: on, off, or auto (on with "
                                                         "--model melu)")
        ->capture_default_str();
    app.add_option("--query-order", query_order, "the query set: time (the latest: leave-last-N), random, or auto (time "
                                                 "for implicit feedback with timestamps)")->capture_default_str();
    std::string distributed = "none";
    app.add_option("--distributed", distributed, "none, or mpi: spread meta-batches over the ranks of mpirun")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "metarec-coldstart: %s\n", flags::message(e).c_str());
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
        if (baseline_inputs != "auto" && baseline_inputs != "on" && baseline_inputs != "off")
            throw std::invalid_argument("--baseline-inputs must be auto, on or off, not '" + baseline_inputs + "'");
        if (item_id != "auto" && item_id != "on" && item_id != "off")
            throw std::invalid_argument("--item-id must be auto, on or off, not '" + item_id + "'");
        c.item_id = item_id == "on" || (item_id == "auto" && c.split.scenario != mr::data::scenario::new_items &&
                                        c.split.scenario != mr::data::scenario::new_users_new_items);
        if (history != "auto" && history != "whole" && history != "task")
            throw std::invalid_argument("--train-history must be auto, whole or task, not '" + history + "'");
        if (mf_init != "als" && mf_init != "random")
            throw std::invalid_argument("--mf-init must be als or random, not '" + mf_init + "'");
        c.item_factors = mf_init == "als";
        if (residual != "auto" && residual != "on" && residual != "off")
            throw std::invalid_argument("--residual must be auto, on or off, not '" + residual + "'");
        c.residual = residual == "on";  // auto: settle_model
        if (c.residual && !c.save.empty())
            throw std::invalid_argument("--save writes the model alone, which metarec-serve reads without the bias "
                                        "model: pass --residual off");
        if (c.id_warmup != "none" && c.id_warmup != "metaemb" && c.id_warmup != "mwuf")
            throw std::invalid_argument("--id-warmup must be none, metaemb or mwuf, not '" + c.id_warmup + "'");
        if (c.id_warmup == "mwuf" && !c.save.empty())
            throw std::invalid_argument("--save serves a new item MetaEmb's generated row, not MWUF's (its nets are "
                                        "not saved): pass --id-warmup metaemb");
        if (model_flag != "auto" && model_flag != "melu" && model_flag != "two-tower" && model_flag != "mf")
            throw std::invalid_argument("unknown --model '" + model_flag + "' (expected auto, melu, two-tower or mf)");
        // the model (--model auto: choose_model, once the data and the split are known) and what
        // depends on it; with a named model, at once, so that a wrong flag fails before the data loads
        bool model_announced = false;
        const auto settle_model = [&](bool implicit_feedback) {
            c.model = choose_model(model_flag, c, implicit_feedback);
            // a step of the squared error moves MF's user vector by about 2 lr times the mean
            // residual: 0.01 barely moves it (docs/results.md measures 0.01 to 1); BCE's mean
            // gradient over a support set padded with negatives is small too: MeLU on implicit
            // feedback measured best at 0.1 of 0.01, 0.03, 0.1, 0.3 (docs/results.md)
            if (app.count("--inner-lr") == 0)
                c.inner_lr = c.model == "mf" || (implicit_feedback && c.model == "melu") ? 0.1 : melu_inner_lr;
            implicit.baseline_inputs = baseline_inputs == "on" || (baseline_inputs == "auto" && c.model == "melu");
            // residual to the bias model: measured better or level for MF on both rating sets
            // (docs/results.md); MeLU on new items measured better without
            if (residual == "auto") c.residual = c.model == "mf" && c.save.empty();
            if (c.id_warmup != "none" && (c.model != "melu" || c.split.group != mr::data::task_group::item ||
                                          c.split.scenario != mr::data::scenario::new_items))
                throw std::invalid_argument("--id-warmup warms up a new item's row: it needs --model melu, --scenario "
                                            "new-items and --task-group item (a task per new item)");
            for (const auto& name : c.algorithms)
                if (name != "all" && name != "fine-tune" && name != "anil") {
                    const auto known = all_algorithms(c.model);
                    if (std::find(known.begin(), known.end(), name) == known.end())
                        throw std::invalid_argument("unknown --algo '" + name +
                                                    "' (expected maml, fomaml, reptile, meta-sgd, anil, fine-tune or all)");
                } else if (name == "anil" && c.model != "melu") {
                    throw std::invalid_argument(
                        "--algo anil adapts the last layer of a decision head: only with --model melu");
                }
            if (model_flag == "auto" && !c.quiet && !model_announced)
                std::fprintf(stderr, "model: %s (--model auto: %s)\n", c.model.c_str(),
                             c.model == "mf" ? "ratings, every item warm" : "MeLU where matrix factorization does not apply");
            model_announced = model_flag == "auto";
        };
        if (model_flag != "auto") settle_model(false);

        if (c.resume && c.checkpoint_dir.empty()) throw std::invalid_argument("--resume needs --checkpoint DIR");
        if (!c.save.empty() && (c.algorithms.size() != 1 || c.algorithms[0] == "all"))
            throw std::invalid_argument("--save writes one model: pass one --algo (maml, fomaml, reptile, meta-sgd, "
                                        "anil or fine-tune)");
        if (seeds.empty()) seeds.push_back(c.seed);
        if (c.stream > 0 && (!c.split.by_time || seeds.size() > 1))
            throw std::invalid_argument("--stream simulates the days after training: pass --split time and one seed");
        if (query_order != "auto" && query_order != "time" && query_order != "random")
            throw std::invalid_argument("--query-order must be auto, time or random, not '" + query_order + "'");
        if (seeds.size() > 1 && (!c.save.empty() || !c.checkpoint_dir.empty()))
            throw std::invalid_argument("--save and --checkpoint keep one run: pass one seed (--seed), not --seeds");
        if (!c.checkpoint_dir.empty()) std::filesystem::create_directories(c.checkpoint_dir);
        if (!c.plot_dir.empty()) std::filesystem::create_directories(c.plot_dir);  // before training: fail early

        std::vector<seed_run> runs;
        std::string scenario_name;  // the scenario as the report names it (new-values:FIELD as given)
        mr::index shot_tasks = 0;  // --shots: the test tasks of the curves, over every seed
        std::string dataset_name;
        mr::eval::rating_scale scale;
        std::int64_t skipped_rows = 0;
        for (const auto seed : seeds) {
            c.seed = seed;
            c.split.seed = seed;
            const auto data = c.data.load(c.seed);
            const bool implicit_feedback = c.data.implicit(data);
            // auto: all the warm data for ratings; MeLU's protocol for implicit feedback, where
            // heavy customers' histories cut into tasks made the model and item-kNN worse on both
            // development sets (docs/results.md, "Implicit feedback")
            c.split.whole_history = history == "whole" || (history == "auto" && !implicit_feedback);
            c.split.query_by_time =
                query_order == "time" || (query_order == "auto" && implicit_feedback && data.has_timestamps);
            if (implicit_feedback) {
                if (!c.checkpoint_dir.empty() || c.distributed || residual == "on" || c.tune > 1 || !c.shots.empty() ||
                    c.stream > 0)
                    throw std::invalid_argument(
                        "implicit feedback: --checkpoint, --distributed, --residual, --tune, --shots and --stream "
                        "are for ratings");
                if (seeds.size() > 1)
                    throw std::invalid_argument("implicit feedback: one seed per run (--seed); "
                                                "scripts/pool_implicit.py pools the JSON of several runs");
            }
            const auto split = new_values.empty() ? mr::data::make_split(data, c.split)
                                                  : mr::data::make_new_values_split(data, new_values, c.split);
            if (!new_values.empty()) {  // an item field: its items are new, and no item id (as new-items)
                if (std::find(split.new_item.begin(), split.new_item.end(), 1) != split.new_item.end())
                    c.split.scenario = mr::data::scenario::new_items;
                c.item_id = item_id == "on" || (item_id == "auto" && c.split.scenario == mr::data::scenario::new_users);
            }
            scenario_name = new_values.empty() ? mr::data::to_string(c.split.scenario) : scenario;
            settle_model(implicit_feedback);
            if (c.stream > mr::index(split.test.size()))
                throw std::invalid_argument("--stream " + std::to_string(c.stream) + ": more periods than the " +
                                            std::to_string(split.test.size()) + " test tasks");
            if (split.train.empty() || split.test.empty())
                throw std::invalid_argument("the split has " + std::to_string(split.train.size()) + " training and " +
                                            std::to_string(split.test.size()) +
                                            " test tasks: loosen --min/max-user-interactions, --support or --query");
            if (implicit_feedback) {
                if (!c.quiet)
                    std::fprintf(stderr, "%s: %td users, %td items, %zu interactions\n%s: %zu training, %zu validation, "
                                 "%zu test tasks\n", data.name.c_str(), data.users.rows(), data.items.rows(),
                                 data.interactions.size(), mr::data::to_string(c.split.scenario), split.train.size(),
                                 split.validation.size(), split.test.size());
                return run_implicit(c, implicit, data, split, json_path, root);
            }
            shot_tasks += check_shots(c.shots, c.split, split.test);
            std::vector<double> ratings;
            for (auto k : split.training_interactions) ratings.push_back(data.interactions[std::size_t(k)].rating);
            scale = mr::eval::rating_scale::of(ratings);
            seed_run run{seed, {}, split.test.size(), 0, {}};
            for (const auto& t : split.test) run.test_interactions += mr::index(t.query.size());
            dataset_name = data.name;
            skipped_rows = data.report.skipped_rows;
            if (!c.quiet) {
                std::fprintf(stderr, "%s: %td users, %td items, %zu interactions", data.name.c_str(), data.users.rows(),
                             data.items.rows(), data.interactions.size());
                if (data.report.skipped_rows > 0)
                    std::fprintf(stderr, " (%lld malformed rows skipped)", (long long)data.report.skipped_rows);
                std::fprintf(stderr, "\n%s, seed %llu: %zu training, %zu validation, %zu test tasks\n",
                             scenario_name.c_str(), static_cast<unsigned long long>(seed),
                             split.train.size(), split.validation.size(), split.test.size());
                std::fprintf(stderr, "rating scale %g..%g (training ratings): nDCG gains %g..%g (rating - lowest + 1), "
                                     "relevant (HR, recall, AUC): rating >= %g\n",
                             scale.lowest, scale.highest, 1.0, scale.highest - scale.lowest + 1, scale.threshold());
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
            const auto bias = mr::recsys::bias_model::tuned(data, split, c.split.scenario);
            run.bias = bias.shrinkage();
            if (!c.quiet)
                std::fprintf(stderr,
                             "bias model: shrinkage item %g, user %g, task %g (chosen on the validation users)\n",
                             run.bias.item, run.bias.user, run.bias.task);

            const auto cold_bias = bias.for_scenario(c.split.scenario);
            const auto announce = [&](const std::string& name) {
                if (!c.quiet) std::fprintf(stderr, "training %s (%s)\n", name.c_str(), c.model.c_str());
            };
            problem p{c, data, split, scale, c.residual ? &cold_bias : nullptr, &bias, announce};
            // models that read the warm interactions (the residual's biases, MF's item factors)
            // are selected on a fit without the validation users (items), then trained on all
            mr::data::split selection_split;
            std::optional<mr::recsys::bias_model> selection_bias, selection_cold_bias;
            std::optional<problem> selection;
            if ((c.residual || (c.model == "mf" && c.item_factors)) && !split.validation.empty()) {
                selection_split = split;
                selection_split.training_interactions = mr::data::training_without_validation(data, split, c.split.scenario);
                if (selection_split.training_interactions.empty()) {
                    if (!c.quiet)
                        std::fprintf(stderr, "without the validation tasks' users and items no training rating is "
                                             "left: each method is selected and trained on all at once\n");
                } else {
                    selection_bias.emplace(data, selection_split.training_interactions, bias.shrinkage());
                    selection_cold_bias.emplace(selection_bias->for_scenario(c.split.scenario));
                    selection.emplace(problem{c, data, selection_split, scale,
                                              c.residual ? &*selection_cold_bias : nullptr, &*selection_bias, announce});
                    p.selection = &*selection;
                }
            }
            if (c.model == "melu")
                run.rows = run_melu(p);
            else if (c.model == "two-tower")
                run.rows = run_two_tower(p);
            else
                run.rows = run_matrix_factorization(p);
            for (auto& row : baselines(data, split, scale, bias, c.shots)) run.rows.push_back(std::move(row));
            runs.push_back(std::move(run));
        }
        if (!root) return 0;

        // each seed's table with 95 % intervals over its users, then (several seeds) the users pooled
        std::size_t users = 0;
        for (const auto& run : runs) {
            users += run.test_tasks;
            std::printf("\n%s, %s, %zu test tasks, %td query interactions, support %s, seed %llu\n\n",
                        dataset_name.c_str(), scenario_name.c_str(), run.test_tasks,
                        run.test_interactions, c.split.support > 0 ? std::to_string(c.split.support).c_str() : "rest",
                        static_cast<unsigned long long>(run.seed));
            print_table(run.rows);
        }
        const auto pooled = runs.size() > 1 ? pool(runs) : runs.front().rows;
        if (runs.size() > 1) {
            std::printf("\n%s, %s, seeds", dataset_name.c_str(), scenario_name.c_str());
            for (const auto& run : runs) std::printf(" %llu", static_cast<unsigned long long>(run.seed));
            std::printf(" pooled: %zu test users\n\n", users);
            print_table(pooled, &runs);
        }
        const auto comparisons = compare(pooled, seeds.front());
        print_comparisons(comparisons, users);
        print_shots(pooled, 0, "MAE");
        print_stream(pooled);
        if (!c.plot_dir.empty()) {
            auto learners = c.algorithms;
            if (learners.size() == 1 && learners[0] == "all") learners = all_algorithms(c.model);
            learners.erase(std::remove(learners.begin(), learners.end(), "fine-tune"), learners.end());
            const auto title = dataset_name + ", " + scenario_name + ", " + c.model;
            for (const auto& path : write_plots(c.plot_dir, pooled, learners, title))
                if (!c.quiet) std::fprintf(stderr, "wrote %s\n", path.string().c_str());
        }

        if (!json_path.empty()) {
            nlohmann::json out{{"dataset", dataset_name},
                               {"scenario", scenario_name},
                               {"model", c.model},
                               {"seed", seeds.front()},
                               {"seeds", seeds},
                               {"support", c.split.support},
                               {"query", c.split.query},
                               {"inner_steps", c.inner_steps},
                               {"test_users", users},
                               {"skipped_rows", skipped_rows},
                               {"shots", c.shots},
                               {"shot_tasks", shot_tasks},
                               {"rating_scale", {{"lowest", scale.lowest},
                                                 {"highest", scale.highest},
                                                 {"ndcg_gain", "rating - lowest + 1"},
                                                 {"relevant_from", scale.threshold()}}},
                               {"results", nlohmann::json::array()},
                               {"comparisons", nlohmann::json::array()},
                               {"per_seed", nlohmann::json::array()}};
            mr::index test_interactions = 0;
            for (const auto& run : runs) {
                test_interactions += run.test_interactions;
                nlohmann::json one{{"seed", run.seed},
                                   {"test_users", run.test_tasks},
                                   {"test_interactions", run.test_interactions},
                                   {"bias_shrinkage",
                                    {{"item", run.bias.item}, {"user", run.bias.user}, {"task", run.bias.task}}},
                                   {"results", nlohmann::json::array()}};
                for (const auto& r : run.rows) one["results"].push_back(to_json(r, false));
                out["per_seed"].push_back(one);
            }
            out["test_interactions"] = test_interactions;
            for (const auto& r : pooled) out["results"].push_back(to_json(r, true));
            for (const auto& cmp : comparisons) out["comparisons"].push_back(to_json(cmp));
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
    } catch (const std::runtime_error& e) {  // a figure that cannot be written (io::write_svg)
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
