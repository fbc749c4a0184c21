// metarec-coldstart: meta-train one model type on implicit feedback (BCE or BPR over tasks with
// sampled negatives) with the chosen algorithms, and rank each new user's held-out positives.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <metarec/callbacks/standard.hpp>
#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/optim/optim.hpp>

#include "implicit.hpp"

namespace coldstart {

/// Runs `p.options.algorithms` for one model type and one loss; see implicit.hpp.
/// @tparam Model      an nn::model of the recommender
/// @tparam Adaptation the adaptation policy (what the fast weights are)
/// @tparam Loss       loss::bce_with_logits or loss::bpr
template <class Model, class Adaptation, class Loss>
std::vector<std::vector<implicit_result>> run_implicit_model(const implicit_problem& p, const mr::recsys::encoder_options& features,
                                                bool supports_anil) {
    using S = typename Model::scalar_type;
    const config& c = p.options;
    // --baseline-inputs: item-kNN's scores of each row (recsys::baseline_inputs::default_knn)
    // and the item's popularity as inputs of the model
    std::optional<mr::recsys::baseline_inputs> inputs;
    auto with_inputs = features;
    if (p.implicit.baseline_inputs) {
        inputs.emplace(p.data, p.split.training_interactions);
        with_inputs.pair_inputs = inputs->width();
    }
    const mr::recsys::feature_encoder encoder(p.data, with_inputs);
    const mr::recsys::baseline_inputs* given = inputs ? &*inputs : nullptr;
    const mr::recsys::implicit_task_options task_options{
        .objective = p.implicit.objective == "bpr" ? mr::recsys::implicit_objective::pairwise
                                                   : mr::recsys::implicit_objective::pointwise,
        .negatives = p.implicit.negatives,
        .scenario = p.scenario};
    auto options_of = [&](std::uint64_t role) {
        auto o = task_options;
        o.role = role;
        return o;
    };
    const auto train_data =
        mr::recsys::implicit_tasks<S>(encoder, p.split.train, p.sampler, p.excluded, options_of(0), given);
    const auto validation_data =
        mr::recsys::implicit_tasks<S>(encoder, p.split.validation, p.sampler, p.excluded, options_of(1), given);
    const auto test_data =
        mr::recsys::implicit_tasks<S>(encoder, p.split.test, p.sampler, p.excluded, options_of(2), given);
    const auto train = mr::meta::views(train_data), validation = mr::meta::views(validation_data),
               test = mr::meta::views(test_data);
    if (mr::index(train.size()) < c.meta_batch)
        throw std::invalid_argument("the meta-batch (" + std::to_string(c.meta_batch) + ") is larger than the " +
                                    std::to_string(train.size()) + " training tasks");
    const auto model = [&] { return Model(encoder.shape(), c.seed); };
    const mr::optim::adam outer{.lr = c.outer_lr};
    const mr::meta::maml_options maml_options{.inner_lr = c.inner_lr, .inner_steps = c.inner_steps, .order = 2,
                                              .meta_batch = c.meta_batch, .threads = c.threads, .seed = c.seed};

    // meta-training with early stopping on the validation tasks' loss (best epoch restored)
    const auto fit = [&](auto& algorithm) {
        const mr::meta::fit_options options{.epochs = c.epochs};
        mr::callbacks::progress_bar bar{.quiet = c.quiet};
        if (validation.empty()) return algorithm.fit(train, options, bar).seconds;
        mr::callbacks::early_stopping stop{validation, {.patience = c.patience}};
        return algorithm.fit(train, options, stop, bar).seconds;
    };
    // ranks each new user's candidates with the model adapted to the user's support set, in
    // every evaluation; appends the rows to `into` (one list per evaluation)
    std::vector<std::vector<implicit_result>> rows(p.evaluations.size()), no_adapt(p.evaluations.size());
    const auto evaluate = [&](std::vector<std::vector<implicit_result>>& into, std::string name, const auto& algorithm,
                              int steps, double seconds) {
        for (std::size_t e = 0; e < p.evaluations.size(); ++e) into[e].push_back(evaluate_ranking(
            name, p.evaluations[e],
            [&](const eval_user& u, std::span<const mr::id_type> items) {
                const auto& task = test[u.task];
                auto adapted = algorithm.adapt(task.support, task.support_target, {.steps = steps});
                const std::vector<mr::id_type> users(items.size(), u.user);
                std::vector<float> values;
                if (given) given->append(u.user, p.split.test[u.task].support, items, values);
                const auto batch = encoder.encode_pairs<S>(users, items, values);
                const auto scores = adapted.predict(batch.view());
                return std::vector<double>(scores.begin(), scores.end());
            },
            seconds));
    };

    // --save: the model of the one algorithm trained, with what serve_new_user must find again
    const auto save = [&](const std::string& name, const auto& algorithm) {
        if (c.save.empty()) return;
        auto description = describe_model(c, p.data.name, encoder, name, features.item_id, c.inner_lr, c.inner_steps);
        describe_implicit(description, p.implicit, given);
        algorithm.save(c.save, description);
    };

    p.announce("fine-tune");
    using fine_tune = mr::meta::fine_tune<Model, Loss, mr::optim::adam, mr::optim::sgd, Adaptation>;
    fine_tune pretrained(model(),
                         {.inner = {.lr = c.inner_lr}, .inner_steps = c.inner_steps, .meta_batch = c.meta_batch,
                          .threads = c.threads, .seed = c.seed},
                         outer);
    const double pretrain_seconds = fit(pretrained);
    const auto start = [&] { return c.warm_start ? pretrained.learner() : model(); };

    auto names = c.algorithms;
    if (names.size() == 1 && names[0] == "all") names = all_algorithms(c.model);
    for (const auto& name : names) {
        if (name == "fine-tune") continue;  // always reported as a baseline below
        p.announce(name);
        const auto run = [&](auto algorithm) {
            const double seconds = fit(algorithm) + (c.warm_start ? pretrain_seconds : 0.0);
            evaluate(rows, name, algorithm, -1, seconds);
            if (no_adapt[0].empty()) evaluate(no_adapt, "no-adapt", algorithm, 0, seconds);
            save(name, algorithm);
        };
        if (name == "maml" || name == "fomaml") {
            auto options = maml_options;
            options.order = name == "maml" ? 2 : 1;
            run(mr::meta::maml<Model, Loss, mr::optim::adam, Adaptation>(start(), options, outer));
        } else if (name == "meta-sgd") {
            run(mr::meta::meta_sgd<Model, Loss, mr::optim::adam, Adaptation>(start(), maml_options, outer));
        } else if (name == "anil") {
            if (!supports_anil)
                throw std::invalid_argument("--algo anil adapts the last layer of a decision head: only with --model melu");
            run(mr::meta::anil<Model, Loss, mr::optim::adam>(start(), maml_options, outer));
        } else if (name == "reptile") {
            using reptile = mr::meta::reptile<Model, Loss, mr::optim::adam, mr::optim::sgd, Adaptation>;
            run(reptile(start(),
                        {.inner = {.lr = c.inner_lr}, .inner_steps = c.inner_steps, .meta_batch = c.meta_batch,
                         .threads = c.threads, .seed = c.seed},
                        outer));
        } else {
            throw std::invalid_argument("unknown algorithm '" + name +
                                        "' (expected maml, fomaml, reptile, meta-sgd, anil, fine-tune or all)");
        }
    }
    if (no_adapt[0].empty()) evaluate(no_adapt, "no-adapt", pretrained, 0, pretrain_seconds);
    for (std::size_t e = 0; e < rows.size(); ++e) rows[e].push_back(std::move(no_adapt[e].front()));
    evaluate(rows, "fine-tune", pretrained, -1, pretrain_seconds);
    if (names.size() == 1 && names[0] == "fine-tune") save("fine-tune", pretrained);
    return rows;
}

}  // namespace coldstart
