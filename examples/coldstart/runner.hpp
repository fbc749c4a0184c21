// metarec-coldstart: meta-train one model type with the chosen algorithms and evaluate each.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <metarec/callbacks/standard.hpp>
#include <metarec/detail/random.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/optim/optim.hpp>
#include <metarec/loss/loss.hpp>
#include <metarec/recsys/residual.hpp>

#include "coldstart.hpp"
#include "plot.hpp"
#include "shots.hpp"

namespace coldstart {

/// Model-specific choices: the learner type, what adapts, which features it reads.
/// @tparam Model      an nn::model of the recommender
/// @tparam Adaptation the adaptation policy (what the fast weights are)
template <class Model, class Adaptation>
struct model_traits {
    using model_type = Model;
    using adaptation = Adaptation;
    mr::recsys::encoder_options features{};
    bool supports_anil = false;  //!< ANIL (adapt the last layer) is meaningful for this model
    //! fills a freshly seeded model from the training data before any training (or is empty)
    std::function<void(Model&, const mr::recsys::feature_encoder&)> initialize{};
};

/// One configuration of a method's training (--tune draws them).
struct hyper {
    double inner_lr;
    int inner_steps;
    double outer_lr;
    //! e.g. "inner_lr=0.01 inner_steps=5 outer_lr=0.001"
    std::string text() const {
        char out[96];
        std::snprintf(out, sizeof out, "inner_lr=%.3g inner_steps=%d outer_lr=%.3g", inner_lr, inner_steps, outer_lr);
        return out;
    }
};

/// What model selection chose for one method: its configuration (--tune) and how many epochs
/// it trains (early stopping's best), with the selection run's training curves (--plot).
struct chosen_training {
    hyper configuration;
    int epochs = 0;
    double seconds = 0;  //!< the selection run's training time, counted in the final run's
    std::vector<double> training_loss, validation_loss;
};
/// The choices of a selection run, by method name (run_selected).
using selection = std::map<std::string, chosen_training>;

/// The tasks of `splits` for a model reading `encoder`'s features: the ratings as targets, or
/// (--residual on) what the bias model leaves over.
template <class S>
std::vector<mr::meta::task_data<S>> encode_tasks(const problem& p, const mr::recsys::feature_encoder& encoder,
                                                 const std::vector<mr::data::task_split>& splits) {
    return p.residual ? mr::recsys::residual_tasks<S>(encoder, *p.residual, splits) : encoder.tasks<S>(splits);
}

/// What a saved model's file records (describe_model), with the hyper-parameters `h`.
inline mr::io::configuration describe_run(const problem& p, const mr::recsys::feature_encoder& encoder,
                                          const std::string& algorithm, bool item_id, const hyper& h) {
    return describe_model(p.options, p.data.name, encoder, algorithm, item_id, h.inner_lr, h.inner_steps);
}

/// Where adaptation starts by default: the meta-learned parameters.
struct meta_learned {
    //! `algorithm`'s learner's parameters, whatever the task
    template <class Algorithm, class Task>
    auto operator()(const Algorithm& algorithm, const Task&) const {
        return algorithm.learner().parameters();
    }
};

/// Adapts `algorithm` to each test task's support set (`steps` inner steps, -1: the algorithm's)
/// from `initial(algorithm, task)` (default: the meta-learned parameters) and scores its query
/// set: the report's metrics, each task's values kept for the intervals.
template <class Algorithm, class Tasks, class Initial = meta_learned>
result evaluate_tasks(std::string name, const Algorithm& algorithm, const Tasks& tasks,
                      const std::vector<mr::data::task_split>& splits, const problem& p, int steps, double seconds,
                      role r, const Initial& initial = {}) {
    auto average = make_metrics(p.scale);
    std::optional<mr::meta::adapted<typename Algorithm::learner_type>> personal;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        const auto& task = tasks[i];
        const auto* start = initial(algorithm, task);
        if (!personal)
            personal.emplace(algorithm.adapt(start, task.support, task.support_target, {.steps = steps}));
        else
            algorithm.adapt(start, task.support, task.support_target, *personal, {.steps = steps});
        const auto scores = personal->predict(task.query);
        std::vector<double> pred(scores.begin(), scores.end()), target;
        if (p.residual) {  // the model predicts what the bias model leaves over
            const auto base = mr::recsys::residual_base(*p.residual, splits[i]);
            for (std::size_t k = 0; k < pred.size(); ++k) pred[k] = p.residual->clip(base[k] + pred[k]);
        }
        for (auto k : splits[i].query) target.push_back(p.data.interactions[std::size_t(k)].rating);
        average.add(pred.data(), target.data(), 1, mr::index(target.size()));
    }
    return make_result(std::move(name), average, seconds, r);
}


/// The configurations --tune N tries for every method: the flags' first, then N - 1 seeded
/// random draws around them (inner lr log-uniform in [lr / 5, 5 lr], inner steps from
/// {1, 2, 3, 5, 10}, outer lr log-uniform in [lr / 3.33, 3 lr]: [0.002, 0.05] and
/// [3e-4, 3e-3] at the default rates); without --tune, the flags' alone.
inline std::vector<hyper> tuning_candidates(const config& c) {
    std::vector<hyper> out{{c.inner_lr, c.inner_steps, c.outer_lr}};
    mr::detail::rng g(c.seed ^ 0x7475'6e65ull);
    const auto log_uniform = [&](double lo, double hi) { return lo * std::pow(hi / lo, g.uniform()); };
    constexpr int steps[] = {1, 2, 3, 5, 10};
    for (int k = 1; k < c.tune; ++k) {
        const double inner_lr = log_uniform(c.inner_lr / 5, 5 * c.inner_lr);
        const int inner_steps = steps[g.below(5)];
        out.push_back({inner_lr, inner_steps, log_uniform(c.outer_lr / (10.0 / 3.0), 3 * c.outer_lr)});
    }
    return out;
}

/// Runs `p.options.algorithms` for one model type; see coldstart.hpp. Two uses (run_selected):
/// with `choosing`, model selection alone: each method's configuration and epochs chosen on the
/// validation tasks are recorded there and no row is returned; with `chosen`, each method is
/// trained with what selection chose, for that many epochs, without early stopping. With
/// neither, each method is selected and trained in one run.
template <class Model, class Adaptation>
std::vector<result> run_model(const problem& p, const model_traits<Model, Adaptation>& traits,
                              const selection* chosen = nullptr, selection* choosing = nullptr) {
    using S = typename Model::scalar_type;
    using loss = mr::loss::mse;
    const config& c = p.options;
    const mr::recsys::feature_encoder encoder(p.data, traits.features, p.split);  // held-out values: unseen
    const auto tasks_of = [&](const std::vector<mr::data::task_split>& tasks) { return encode_tasks<S>(p, encoder, tasks); };
    const auto train_data = tasks_of(p.split.train), validation_data = tasks_of(p.split.validation),
               test_data = tasks_of(p.split.test);
    const auto train = mr::meta::views(train_data), validation = mr::meta::views(validation_data),
               test = mr::meta::views(test_data);
    const auto shot_data = encode_shots<S>(p.split.test, c.shots, tasks_of);  // --shots
    if (mr::index(train.size()) < c.meta_batch)
        throw std::invalid_argument("the meta-batch (" + std::to_string(c.meta_batch) + ") is larger than the " +
                                    std::to_string(train.size()) + " training tasks");
    const auto model = [&] {
        Model m(encoder.shape(), c.seed);
        if (traits.initialize) traits.initialize(m, encoder);
        return m;
    };
    const mr::meta::maml_options maml_options{.inner_lr = c.inner_lr, .inner_steps = c.inner_steps, .order = 2,
                                              .meta_batch = c.meta_batch, .threads = c.threads, .seed = c.seed};

    // meta-training with early stopping on the validation tasks (best epoch restored); with
    // --checkpoint, a checkpoint every c.checkpoint_every steps that --resume continues from
    // (with a selection: the epochs it chose, without early stopping; its curves are reported)
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> curves;  // per run: epoch losses
    const auto fit = [&](const std::string& name, auto& algorithm) {
        auto& curve = curves[name];  // the training meta-loss and validation loss of each epoch (--plot)
        const epoch_losses record{&curve.first};
        const auto* choice = chosen ? &chosen->at(name) : nullptr;
        const mr::meta::fit_options options{.epochs = choice ? choice->epochs : c.epochs};
        mr::callbacks::progress_bar bar{.quiet = c.quiet};  // not const: its hooks update it
        const auto train_with = [&](auto&... callbacks) {
            // a selection run keeps no checkpoint: it is repeated whole, its choice with it
            if (c.checkpoint_dir.empty() || choosing) return algorithm.fit(train, options, callbacks..., bar, record).seconds;
            const auto path = std::filesystem::path(c.checkpoint_dir) / (c.model + "-" + name + ".ckpt");
            if (c.resume && std::filesystem::exists(path)) algorithm.resume(path);
            mr::callbacks::checkpoint save{path, c.checkpoint_every};
            return algorithm.fit(train, options, callbacks..., bar, save, record).seconds;
        };
        if (choice) {
            const double seconds = train_with();
            curve = {choice->training_loss, choice->validation_loss};  // the selection run's, not what `record` took
            return seconds + choice->seconds;
        }
        if (validation.empty()) return train_with();
        mr::callbacks::early_stopping stop{validation, {.patience = c.patience}};
        const double seconds = train_with(stop);
        curve.second = stop.history();
        if (choosing)  // the epochs to train again for (every validation loss NaN: all of them)
            (*choosing)[name] = {.epochs = stop.best_epoch() >= 0 ? stop.best_epoch() + 1 : c.epochs, .seconds = seconds};
        return seconds;
    };
    // a row's configuration as reported; with a selection, the epochs it chose ("... epochs=3")
    const auto described = [&](const std::string& name, const hyper& h) {
        return chosen ? h.text() + " epochs=" + std::to_string(chosen->at(name).epochs) : h.text();
    };
    // --save: the model of the one algorithm trained, with what serving must find again
    // (with --id-warmup, the model saved is the warm-up's: id_warmup.hpp)
    const auto save = [&](const std::string& name, const auto& algorithm, const hyper& h) {
        if (c.save.empty() || c.id_warmup != "none") return;
        algorithm.save(c.save, describe_run(p, encoder, name, traits.features.item_id, h));
    };
    // --stream K: the test tasks in K periods of arrival; in each, the frozen and the streamed
    // model adapt to the period's new users, then the streamed one learns from them (update())
    const auto periods = c.stream > 0 ? mr::data::split_by_arrival(p.data, p.split.test, c.stream)
                                      : std::vector<std::vector<mr::data::task_split>>{};
    std::vector<decltype(tasks_of(p.split.test))> period_data;
    for (const auto& period : periods) period_data.push_back(tasks_of(period));
    const auto stream = [&](auto& algorithm) {
        std::vector<stream_period> out;
        const auto frozen = algorithm.snapshot();
        std::vector<typename decltype(train)::value_type> log;  // every task streamed so far
        for (std::size_t k = 0; k < periods.size(); ++k) {
            const auto tasks = mr::meta::views(period_data[k]);
            stream_period period{.tasks = mr::index(tasks.size())};
            period.streamed = evaluate_tasks("", algorithm, tasks, periods[k], p, -1, 0.0, role::meta).per_task[0];
            const auto current = algorithm.snapshot();
            algorithm.restore(frozen);
            period.frozen = evaluate_tasks("", algorithm, tasks, periods[k], p, -1, 0.0, role::meta).per_task[0];
            algorithm.restore(current);
            period.difference = mr::eval::paired_bootstrap(period.streamed, period.frozen, c.seed);
            log.insert(log.end(), tasks.begin(), tasks.end());
            const auto update = algorithm.update(log, {.replay_capacity = c.replay, .passes = c.stream_passes});
            period.update_steps = update.steps;
            period.update_seconds = update.seconds;
            out.push_back(std::move(period));
        }
        return out;
    };
    const auto evaluate = [&](std::string name, const auto& algorithm, int steps, double seconds, role r) {
        auto row = evaluate_tasks(std::move(name), algorithm, test, p.split.test, p, steps, seconds, r);
        row.by_shots = model_shots(shot_data, [&](const auto& tasks, const auto& splits) {
            return evaluate_tasks(row.name, algorithm, tasks, splits, p, steps, 0.0, r);
        });
        return row;
    };
    // --tune N: the configuration (of N seeded draws, the first being the flags') whose adapted
    // model has the lowest MAE on the validation tasks; `build(h, use)` constructs the algorithm
    // with configuration h and calls use(algorithm) on it. Every method gets the same N.
    const auto candidates = tuning_candidates(c);
    const auto tune = [&](const std::string& name, const auto& build) -> hyper {
        if (chosen) return chosen->at(name).configuration;
        if (candidates.size() == 1 || validation.empty()) return candidates.front();
        std::size_t best = 0;
        double best_mae = std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < candidates.size(); ++k)
            build(candidates[k], [&](auto algorithm) {
                algorithm.distribute(make_distribution(c));
                mr::callbacks::early_stopping stop{validation, {.patience = c.patience}};
                algorithm.fit(train, {.epochs = c.epochs}, stop);
                const double mae =
                    evaluate_tasks(name, algorithm, validation, p.split.validation, p, -1, 0.0, role::meta).values[0];
                if (mae < best_mae) {  // NaN (diverged) never wins
                    best_mae = mae;
                    best = k;
                }
            });
        if (!c.quiet)
            std::fprintf(stderr, "%s: tuned %s (validation MAE %.4f, %zu configurations)\n", name.c_str(),
                         candidates[best].text().c_str(), best_mae, candidates.size());
        return candidates[best];
    };

    // transfer baseline: pre-train on the pooled training interactions, fine-tune the same
    // slice with K steps of SGD on each new user's support set
    p.announce("fine-tune");
    using fine_tune = mr::meta::fine_tune<Model, loss, mr::optim::adam, mr::optim::sgd, Adaptation, distribution>;
    const auto make_fine_tune = [&](const hyper& h) {
        return fine_tune(model(),
                         {.inner = {.lr = h.inner_lr}, .inner_steps = h.inner_steps, .meta_batch = c.meta_batch,
                          .threads = c.threads, .seed = c.seed},
                         mr::optim::adam{.lr = h.outer_lr});
    };
    const hyper fine_tune_config =
        tune("fine-tune", [&](const hyper& h, const auto& use) { use(make_fine_tune(h)); });
    fine_tune pretrained = make_fine_tune(fine_tune_config);
    pretrained.distribute(make_distribution(c));
    const double pretrain_seconds = fit("fine-tune", pretrained);
    if (choosing) (*choosing)["fine-tune"].configuration = fine_tune_config;
    // meta-learning starts from the pre-trained parameters (--warm-start) or from scratch
    const auto start = [&] { return c.warm_start ? pretrained.learner() : model(); };

    std::vector<result> rows;
    std::vector<result> no_adapt;  // the first meta-learned model, not adapted
    auto names = c.algorithms;
    if (names.size() == 1 && names[0] == "all") names = all_algorithms(c.model);
    for (const auto& name : names) {
        p.announce(name);
        hyper configuration = candidates.front();
        const auto run = [&](auto algorithm) {
            algorithm.distribute(make_distribution(c));
            // a warm-started algorithm's time includes the pre-training it starts from
            const double seconds = fit(name, algorithm) + (c.warm_start ? pretrain_seconds : 0.0);
            if (choosing) {
                (*choosing)[name].configuration = configuration;
                return;  // selection alone: nothing is evaluated on the test tasks
            }
            save(name, algorithm, configuration);
            rows.push_back(evaluate(name, algorithm, -1, seconds, role::meta));
            rows.back().config = described(name, configuration);
            if (no_adapt.empty()) no_adapt.push_back(evaluate("no-adapt", algorithm, 0, seconds, role::transfer));
            if (c.stream > 0) rows.back().stream = stream(algorithm);  // last: it changes the model
        };
        // constructs the algorithm `name` with configuration h and hands it to use()
        const auto build = [&](const hyper& h, const auto& use) {
            const mr::optim::adam outer_h{.lr = h.outer_lr};
            auto options = maml_options;
            options.inner_lr = h.inner_lr;
            options.inner_steps = h.inner_steps;
            if (name == "maml" || name == "fomaml") {
                options.order = name == "maml" ? 2 : 1;
                use(mr::meta::maml<Model, loss, mr::optim::adam, Adaptation, distribution>(start(), options, outer_h));
            } else if (name == "meta-sgd") {
                use(mr::meta::meta_sgd<Model, loss, mr::optim::adam, Adaptation, distribution>(start(), options, outer_h));
            } else if (name == "anil") {
                use(mr::meta::anil<Model, loss, mr::optim::adam, distribution>(start(), options, outer_h));
            } else if (name == "reptile") {
                using reptile = mr::meta::reptile<Model, loss, mr::optim::adam, mr::optim::sgd, Adaptation, distribution>;
                use(reptile(start(),
                            {.inner = {.lr = h.inner_lr}, .inner_steps = h.inner_steps, .meta_batch = c.meta_batch,
                             .threads = c.threads, .seed = c.seed},
                            outer_h));
            }
        };
        if (name == "anil" && !traits.supports_anil)
            throw std::invalid_argument("--algo anil adapts the last layer of a decision head: only with --model melu");
        if (name == "maml" || name == "fomaml" || name == "meta-sgd" || name == "anil" || name == "reptile") {
            configuration = tune(name, build);
            build(configuration, run);
        } else if (name == "fine-tune") {
            continue;  // always reported as a baseline below
        } else {
            throw std::invalid_argument("unknown algorithm '" + name +
                                        "' (expected maml, fomaml, reptile, meta-sgd, anil, fine-tune or all)");
        }
    }

    if (choosing) {
        for (auto& [name, choice] : *choosing)
            std::tie(choice.training_loss, choice.validation_loss) = curves[name];
        return {};
    }
    if (names.size() == 1 && names[0] == "fine-tune") save("fine-tune", pretrained, fine_tune_config);
    if (no_adapt.empty()) no_adapt.push_back(evaluate("no-adapt", pretrained, 0, pretrain_seconds, role::transfer));
    rows.push_back(no_adapt.front());
    rows.push_back(evaluate("fine-tune", pretrained, -1, pretrain_seconds, role::transfer));
    rows.back().config = described("fine-tune", fine_tune_config);
    for (auto& r : rows)
        if (const auto it = curves.find(r.name); it != curves.end())
            std::tie(r.training_loss, r.validation_loss) = it->second;
    return rows;
}

/// Runs the methods of one model type, `traits_of(q)` giving the model's traits on problem q.
/// Where `p.selection` is set (the models read the warm interactions: biases, item factors),
/// each method is first selected on it (configuration and epochs chosen on validation tasks
/// that are new to the model, as the test tasks are), then trained again on all of p's warm
/// data with that choice; otherwise selected and trained in one run.
template <class TraitsOf>
std::vector<result> run_selected(const problem& p, const TraitsOf& traits_of) {
    if (!p.selection) return run_model(p, traits_of(p));
    selection chosen;
    run_model(*p.selection, traits_of(*p.selection), nullptr, &chosen);
    return run_model(p, traits_of(p), &chosen);
}

}  // namespace coldstart
