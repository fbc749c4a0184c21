// metarec-coldstart: meta-train one model type with the chosen algorithms and evaluate each.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <metarec/callbacks/standard.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/optim/optim.hpp>
#include <metarec/loss/loss.hpp>

#include "coldstart.hpp"

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
};

//! evaluate() with the report's metrics
template <class Algorithm, class Tasks, class... Metrics>
mr::meta::evaluation evaluate_with(const Algorithm& algorithm, const Tasks& tasks, mr::meta::adapt_options options,
                                   const mr::eval::task_average<Metrics...>*) {
    return algorithm.evaluate(tasks, options, Metrics{}...);
}

/// Runs `p.options.algorithms` for one model type; see coldstart.hpp.
template <class Model, class Adaptation>
std::vector<result> run_model(const problem& p, const model_traits<Model, Adaptation>& traits) {
    using S = typename Model::scalar_type;
    using loss = mr::loss::mse;
    const config& c = p.options;
    const mr::recsys::feature_encoder encoder(p.data, traits.features, p.split);  // held-out values: unseen
    const auto train_data = encoder.tasks<S>(p.split.train), validation_data = encoder.tasks<S>(p.split.validation),
               test_data = encoder.tasks<S>(p.split.test);
    const auto train = mr::meta::views(train_data), validation = mr::meta::views(validation_data),
               test = mr::meta::views(test_data);
    if (mr::index(train.size()) < c.meta_batch)
        throw std::invalid_argument("the meta-batch (" + std::to_string(c.meta_batch) + ") is larger than the " +
                                    std::to_string(train.size()) + " training tasks");
    const auto model = [&] { return Model(encoder.shape(), c.seed); };
    const mr::optim::adam outer{.lr = c.outer_lr};
    const mr::meta::maml_options maml_options{.inner_lr = c.inner_lr, .inner_steps = c.inner_steps, .order = 2,
                                              .meta_batch = c.meta_batch, .threads = c.threads, .seed = c.seed};

    // meta-training with early stopping on the validation tasks (best epoch restored); with
    // --checkpoint, a checkpoint every c.checkpoint_every steps that --resume continues from
    const auto fit = [&](const std::string& name, auto& algorithm) {
        const mr::meta::fit_options options{.epochs = c.epochs};
        mr::callbacks::progress_bar bar{.quiet = c.quiet};  // not const: its hooks update it
        const auto train_with = [&](auto&... callbacks) {
            if (c.checkpoint_dir.empty()) return algorithm.fit(train, options, callbacks..., bar).seconds;
            const auto path = std::filesystem::path(c.checkpoint_dir) / (c.model + "-" + name + ".ckpt");
            if (c.resume && std::filesystem::exists(path)) algorithm.resume(path);
            mr::callbacks::checkpoint save{path, c.checkpoint_every};
            return algorithm.fit(train, options, callbacks..., bar, save).seconds;
        };
        if (validation.empty()) return train_with();
        mr::callbacks::early_stopping stop{validation, {.patience = c.patience}};
        return train_with(stop);
    };
    // --save: the model of the one algorithm trained, with what serving must find again
    const auto save = [&](const std::string& name, const auto& algorithm) {
        if (c.save.empty()) return;
        auto description = encoder.configuration();
        description.set("coldstart.model", c.model);
        description.set("coldstart.algorithm", name);
        description.set("coldstart.item_id", traits.features.item_id ? "on" : "off");
        description.set("coldstart.inner_lr", std::to_string(c.inner_lr));
        description.set("coldstart.inner_steps", std::to_string(c.inner_steps));
        description.set("coldstart.dataset", p.data.name);
        algorithm.save(c.save, description);
    };
    const auto evaluate = [&](std::string name, const auto& algorithm, int steps, double seconds) {
        const auto e = evaluate_with(algorithm, test, {.steps = steps}, static_cast<const metrics*>(nullptr));
        return result{std::move(name), e.metrics, e.metric_tasks, e.diverged, seconds};
    };

    // transfer baseline: pre-train on the pooled training interactions, fine-tune the same
    // slice with K steps of SGD on each new user's support set
    p.announce("fine-tune");
    using fine_tune = mr::meta::fine_tune<Model, loss, mr::optim::adam, mr::optim::sgd, Adaptation, distribution>;
    fine_tune pretrained(model(),
                         {.inner = {.lr = c.inner_lr}, .inner_steps = c.inner_steps, .meta_batch = c.meta_batch,
                          .threads = c.threads, .seed = c.seed},
                         outer);
    pretrained.distribute(make_distribution(c));
    const double pretrain_seconds = fit("fine-tune", pretrained);
    // meta-learning starts from the pre-trained parameters (--warm-start) or from scratch
    const auto start = [&] { return c.warm_start ? pretrained.learner() : model(); };

    std::vector<result> rows;
    std::vector<result> no_adapt;  // the first meta-learned model, not adapted
    auto names = c.algorithms;
    if (names.size() == 1 && names[0] == "all") names = all_algorithms(c.model);
    for (const auto& name : names) {
        p.announce(name);
        const auto run = [&](auto algorithm) {
            algorithm.distribute(make_distribution(c));
            // a warm-started algorithm's time includes the pre-training it starts from
            const double seconds = fit(name, algorithm) + (c.warm_start ? pretrain_seconds : 0.0);
            save(name, algorithm);
            rows.push_back(evaluate(name, algorithm, -1, seconds));
            if (no_adapt.empty()) no_adapt.push_back(evaluate("no-adapt", algorithm, 0, seconds));
        };
        if (name == "maml" || name == "fomaml") {
            auto options = maml_options;
            options.order = name == "maml" ? 2 : 1;
            run(mr::meta::maml<Model, loss, mr::optim::adam, Adaptation, distribution>(start(), options, outer));
        } else if (name == "meta-sgd") {
            run(mr::meta::meta_sgd<Model, loss, mr::optim::adam, Adaptation, distribution>(start(), maml_options, outer));
        } else if (name == "anil") {
            if (!traits.supports_anil)
                throw std::invalid_argument("--algo anil adapts the last layer of a decision head: only with --model melu");
            run(mr::meta::anil<Model, loss, mr::optim::adam, distribution>(start(), maml_options, outer));
        } else if (name == "reptile") {
            using reptile = mr::meta::reptile<Model, loss, mr::optim::adam, mr::optim::sgd, Adaptation, distribution>;
            run(reptile(start(),
                        {.inner = {.lr = c.inner_lr}, .inner_steps = c.inner_steps, .meta_batch = c.meta_batch,
                         .threads = c.threads, .seed = c.seed},
                        outer));
        } else if (name == "fine-tune") {
            continue;  // always reported as a baseline below
        } else {
            throw std::invalid_argument("unknown algorithm '" + name +
                                        "' (expected maml, fomaml, reptile, meta-sgd, anil, fine-tune or all)");
        }
    }

    if (names.size() == 1 && names[0] == "fine-tune") save("fine-tune", pretrained);
    if (no_adapt.empty()) no_adapt.push_back(evaluate("no-adapt", pretrained, 0, pretrain_seconds));
    rows.push_back(no_adapt.front());
    rows.push_back(evaluate("fine-tune", pretrained, -1, pretrain_seconds));
    return rows;
}

}  // namespace coldstart
