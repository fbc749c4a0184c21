// metarec-coldstart: item cold start with id warm-up (--id-warmup metaemb, mwuf): the item id
// as a feature, a new item's row generated from its features (recsys::meta_embedding), scaled
// and shifted by its first ratings (recsys::meta_warm_up) and warmed up on them, against the
// same model with the unseen item's zero row.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include <metarec/recsys/id_warmup.hpp>

#include "runner.hpp"

namespace coldstart {

/// The rows of id warm-up on tasks per new item, for a MeLU-style `Model`: the model with the
/// item id among its features pre-trained on the warm items (fine-tuning's pooled training,
/// early stopping on the validation items, whose ids are treated as new), then
///  - `id-fine-tune`: the new item's row starts at the unseen-value row (zero) and adapts
///    (adapt_item_id: K SGD steps on the item's row);
///  - `metaemb`: the row starts at MetaEmb's generated embedding and adapts the same way;
///  - `metaemb-cold`: the generated row, not adapted (cold); `id-no-adapt`: the zero row, not adapted;
///  - `metaemb-head` and `id-head`: from the generated (zero) row, the dense head adapts
///    (adapt_dense_head, as the content-only model's fine-tuning) instead of the row;
///  - with --id-warmup mwuf, `mwuf` and `mwuf-zero`: the generated (zero) row scaled and
///    shifted by the item's support (MWUF, its nets meta-learned as the generator is, on each
///    cold row), then adapted as `metaemb`'s; `mwuf-cold` and `mwuf-zero-cold`: not adapted.
/// The generator is meta-learned on the training items with the model frozen
/// (recsys::meta_embedding::fit, the warm-up step at --inner-lr, Adam at --outer-lr, at most
/// --epochs epochs, early stopping on the validation items). With --save, the model with ids
/// and its generator are saved for serve_new_user, which serves a new item its generated row.
template <class Model>
std::vector<result> run_id_warmup(const problem& p) {
    using S = typename Model::scalar_type;
    using loss = mr::loss::mse;
    const config& c = p.options;
    auto split = p.split;  // the validation items are new to this model, as the test items are
    for (const auto& t : split.validation) split.new_item.at(std::size_t(t.key)) = 1;
    const mr::recsys::feature_encoder encoder(p.data, {.item_id = true}, split);
    const auto train_data = encode_tasks<S>(p, encoder, split.train),
               validation_data = encode_tasks<S>(p, encoder, split.validation),
               test_data = encode_tasks<S>(p, encoder, split.test);
    const auto train = mr::meta::views(train_data), validation = mr::meta::views(validation_data),
               test = mr::meta::views(test_data);
    const auto shot_data = encode_shots<S>(split.test, c.shots, [&](const std::vector<mr::data::task_split>& tasks) {
        return encode_tasks<S>(p, encoder, tasks);
    });

    p.announce("id-fine-tune");
    using fine_tune = mr::meta::fine_tune<Model, loss, mr::optim::adam, mr::optim::sgd, mr::recsys::adapt_item_id, distribution>;
    fine_tune pretrained(Model(encoder.shape(), c.seed),
                         {.inner = {.lr = c.inner_lr}, .inner_steps = c.inner_steps, .meta_batch = c.meta_batch,
                          .threads = c.threads, .seed = c.seed},
                         mr::optim::adam{.lr = c.outer_lr});
    pretrained.distribute(make_distribution(c));
    mr::callbacks::progress_bar bar{.quiet = c.quiet};
    double seconds = 0;
    if (validation.empty()) {
        seconds = pretrained.fit(train, {.epochs = c.epochs}, bar).seconds;
    } else {
        mr::callbacks::early_stopping stop{validation, {.patience = c.patience}};
        seconds = pretrained.fit(train, {.epochs = c.epochs}, stop, bar).seconds;
    }
    const auto& base = pretrained.learner();

    p.announce("metaemb");
    const auto started = std::chrono::steady_clock::now();
    mr::recsys::meta_embedding<S> generator(base, c.seed);
    const auto losses = generator.fit(base, loss{}, train,
                                      {.inner_lr = c.inner_lr, .lr = c.outer_lr, .epochs = c.epochs,
                                       .meta_batch = c.meta_batch, .patience = c.patience, .seed = c.seed},
                                      validation);
    const double generator_seconds = seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!c.quiet)
        std::fprintf(stderr, "metaemb: generator loss %.4f -> %.4f over %zu epochs\n", losses.empty() ? 0.0 : losses.front(),
                     losses.empty() ? 0.0 : losses.back(), losses.size());
    std::vector<S> initial(std::size_t(base.parameter_count()));
    const auto generated = [&](const auto& algorithm, const auto& task) {
        generator.initialize(algorithm.learner().parameters(), task.support, initial.data());
        return static_cast<const S*>(initial.data());
    };

    // --id-warmup mwuf: the cold rows scaled and shifted by the item's support, from the
    // generated row (mwuf) and from the zero row (mwuf-zero)
    mr::recsys::meta_warm_up<S> on_generated(base, c.seed), on_zero(base, c.seed);
    double on_generated_seconds = 0, on_zero_seconds = 0;
    if (c.id_warmup == "mwuf") {
        p.announce("mwuf");
        const auto fit = [&](auto& mwuf, const mr::recsys::meta_embedding<S>* cold, const char* name) {
            const auto begun = std::chrono::steady_clock::now();
            const auto history = mwuf.fit(base, loss{}, train,
                                          {.lr = c.outer_lr, .epochs = c.epochs, .meta_batch = c.meta_batch,
                                           .patience = c.patience, .seed = c.seed},
                                          validation, cold);
            if (!c.quiet)
                std::fprintf(stderr, "%s: loss %.4f -> %.4f over %zu epochs\n", name,
                             history.empty() ? 0.0 : history.front(), history.empty() ? 0.0 : history.back(),
                             history.size());
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
        };
        on_generated_seconds = generator_seconds + fit(on_generated, &generator, "mwuf");
        on_zero_seconds = seconds + fit(on_zero, nullptr, "mwuf-zero");
    }
    const auto warmed = [&](const auto& mwuf, bool from_generated) {
        return [&, cold_to_warm = &mwuf, from_generated](const auto& algorithm, const auto& task) {
            const S* theta = algorithm.learner().parameters();
            if (from_generated) generator.initialize(theta, task.support, initial.data());
            else std::copy(theta, theta + base.parameter_count(), initial.begin());
            cold_to_warm->warm_up(task.support, task.support_target, initial.data());
            return static_cast<const S*>(initial.data());
        };
    };

    std::vector<result> rows;
    const auto evaluate = [&](const auto& algorithm, std::string name, int steps, double time, role r,
                              const auto& start) {
        auto row = evaluate_tasks(std::move(name), algorithm, test, split.test, p, steps, time, r, start);
        row.by_shots = model_shots(shot_data, [&](const auto& tasks, const auto& splits) {
            return evaluate_tasks(row.name, algorithm, tasks, splits, p, steps, 0.0, r, start);
        });
        rows.push_back(std::move(row));
    };
    evaluate(pretrained, "metaemb", -1, generator_seconds, role::warmup, generated);
    evaluate(pretrained, "metaemb-cold", 0, generator_seconds, role::warmup, generated);
    evaluate(pretrained, "id-fine-tune", -1, seconds, role::transfer, meta_learned{});
    evaluate(pretrained, "id-no-adapt", 0, seconds, role::transfer, meta_learned{});
    if (c.id_warmup == "mwuf") {
        evaluate(pretrained, "mwuf", -1, on_generated_seconds, role::warmup, warmed(on_generated, true));
        evaluate(pretrained, "mwuf-cold", 0, on_generated_seconds, role::warmup, warmed(on_generated, true));
        evaluate(pretrained, "mwuf-zero", -1, on_zero_seconds, role::warmup, warmed(on_zero, false));
        evaluate(pretrained, "mwuf-zero-cold", 0, on_zero_seconds, role::warmup, warmed(on_zero, false));
    }
    // the same model and rows, the dense head adapting instead of the item's row
    using head_tune = mr::meta::fine_tune<Model, loss, mr::optim::adam, mr::optim::sgd, mr::meta::adapt_dense_head, distribution>;
    const head_tune head(base, {.inner = {.lr = c.inner_lr}, .inner_steps = c.inner_steps, .meta_batch = c.meta_batch,
                                .threads = c.threads, .seed = c.seed});
    evaluate(head, "metaemb-head", -1, generator_seconds, role::warmup, generated);
    evaluate(head, "id-head", -1, seconds, role::transfer, meta_learned{});
    // --save: the model with ids and its generator, adapting its head per user as
    // serve_new_user does; a new item's row is generated there (metaemb.parameters)
    if (!c.save.empty()) {
        auto description = describe_run(p, encoder, "metaemb", true, {c.inner_lr, c.inner_steps, c.outer_lr});
        generator.describe(description);
        head.save(c.save, description);
    }
    return rows;
}

}  // namespace coldstart
