// metarec benchmark: implicit feedback's costs beside the MeLU step of bench_melu.
//
//  - negatives/distribution:D/per_positive:R: the sampler's cost per task: R negatives for each
//    of a task's 20 positives (10 support, 10 query), catalogue of 10,000 items, the user's own
//    50 items excluded; D = 0 uniform, 1 popularity-proportional; one iteration is one task;
//  - melu_step/loss:L: MeLU meta-steps (melu_maml, order 2, 5 inner steps, batch 32, 1 thread)
//    on 1,024 tasks, L = 0 MSE on rating tasks of 10 + 10 samples (bench_melu's workload),
//    L = 1 BCE on tasks of 50 + 50 samples: 10 positives with 4 sampled negatives each, per
//    side (the bound: 5x the samples of L = 0); L = 2 BCE on tasks of 10 + 10 samples,
//    2 positives with 4 negatives each (L = 0's work layer for layer: what implicit feedback
//    itself costs); counter tasks_per_second;
//  - full_catalogue/items:N/one_user:1: one new user's full-catalogue evaluation, as serving
//    and `metarec-coldstart --eval full` do it: adapt() on 10 positives and 40 negatives, then
//    score N items in batches of 1,024 (one adapted forward pass over the catalogue; the
//    user's fields are the same in every row, so dense<N>, the first layer, computes their
//    part, the user half of W x, once per batch); one_user:0, the same with every row another
//    user's fields (no constant rows: the first layer's full product for every row), the
//    cost without that split; counter items_per_second.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <vector>

#include <metarec/data/negatives.hpp>
#include <metarec/metarec.hpp>

#include "../support/melu_workload.hpp"

namespace {

namespace mr = metarec;
using model = mr::recsys::melu<>;
using namespace mr::bench::melu_workload;

// a data set with `items` items, one heavy user (50 items) and the rest of the interactions
// spread by a long-tailed popularity
mr::data::dataset catalogue(mr::index items) {
    mr::data::dataset data;
    for (mr::index i = 0; i < items; ++i) data.items.add("i" + std::to_string(i));
    for (mr::index u = 0; u < 200; ++u) data.users.add("u" + std::to_string(u));
    mr::detail::rng g(3);
    for (mr::index u = 0; u < 200; ++u)
        for (int k = 0; k < 50; ++k) {
            const double r = g.uniform();
            data.interactions.push_back({mr::id_type(u), mr::id_type(mr::index(r * r * double(items))), 1.0f, 0});
        }
    for (mr::index i = 0; i < items; ++i) data.interactions.push_back({0, mr::id_type(i), 1.0f, 0});  // every item once
    return data;
}

void negatives(benchmark::State& state) {
    const auto data = catalogue(10000);
    std::vector<mr::index> training(data.interactions.size());
    for (std::size_t k = 0; k < training.size(); ++k) training[k] = mr::index(k);
    const auto own = mr::data::items_of_users(data);
    const mr::data::negative_sampler sampler(data, training, mr::data::negative_distribution(state.range(0)), 1);
    const mr::index per_positive = state.range(1);
    std::vector<mr::id_type> out;
    std::uint64_t task = 0;
    for (auto _ : state) {
        out.clear();
        for (std::uint64_t p = 0; p < 20; ++p)
            sampler.draw(mr::data::negative_sampler::stream_of(task, p), per_positive, own[1], out);
        benchmark::DoNotOptimize(out.data());
        ++task;
    }
}

// tasks of `per_side` samples per side; targets ratings (MSE) or 1 positive then 4 negatives (BCE)
struct tasks_of {
    std::vector<mr::meta::task_data<float>> storage;
    std::vector<mr::meta::task<mr::nn::batch<float>, float>> tasks;
    tasks_of(mr::index count, mr::index per_side, bool implicit) {
        shop<> s;
        const auto labels = [&](mr::index n) {
            if (!implicit) return s.ratings(n);
            std::vector<float> y(static_cast<std::size_t>(n));
            for (mr::index j = 0; j < n; ++j) y[std::size_t(j)] = j % 5 == 0 ? 1.0f : 0.0f;
            return y;
        };
        for (mr::index t = 0; t < count; ++t) {
            const auto u = s.user();
            storage.emplace_back(s.pairs(u, per_side), labels(per_side), s.pairs(u, per_side), labels(per_side), t);
        }
        tasks = mr::meta::views(storage);
    }
};

template <class Loss>
void step(benchmark::State& state, bool implicit, mr::index per_side) {
    const tasks_of data(pool_size, per_side, implicit);
    mr::meta::melu_maml<model, Loss> melu{model{shape(), 1},
                                          {.inner_lr = 5e-3, .inner_steps = 5, .order = 2, .meta_batch = 32, .threads = 1},
                                          mr::optim::adam{.lr = 1e-4}};
    melu.fit(data.tasks, {.epochs = 1});
    for (auto _ : state) melu.fit(data.tasks, {.epochs = 1});
    state.counters["tasks_per_second"] =
        benchmark::Counter(double(state.iterations()) * double(pool_size), benchmark::Counter::kIsRate);
}

void melu_step(benchmark::State& state) {
    switch (state.range(0)) {
        case 0: step<mr::loss::mse>(state, false, shots); break;
        case 1: step<mr::loss::bce_with_logits>(state, true, 5 * shots); break;
        default: step<mr::loss::bce_with_logits>(state, true, shots); break;
    }
}

void full_catalogue(benchmark::State& state) {
    const mr::index items = state.range(0), batch = 1024;
    shop<> s;
    const tasks_of data(32, 5 * shots, true);
    mr::meta::melu_maml<model, mr::loss::bce_with_logits> melu{
        model{shape(), 1}, {.inner_lr = 1.0, .inner_steps = 5, .order = 2, .meta_batch = 32, .threads = 1}};
    const auto u = s.user();
    std::vector<mr::nn::batch_data<float>> chunks;
    for (mr::index begin = 0; begin < items; begin += batch)
        chunks.push_back(s.pairs(u, std::min(batch, items - begin), state.range(1) == 0));
    std::vector<float> scores(static_cast<std::size_t>(batch));
    const auto& task = data.tasks[0];
    for (auto _ : state) {
        auto personal = melu.adapt(task.support, task.support_target);
        for (const auto& c : chunks) personal.predict(c.view(), scores.data());
        benchmark::DoNotOptimize(scores.data());
    }
    state.counters["items_per_second"] =
        benchmark::Counter(double(state.iterations()) * double(items), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(negatives)
    ->Name("negatives")
    ->ArgNames({"distribution", "per_positive"})
    ->ArgsProduct({{0, 1}, {4, 99}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(melu_step)->Name("melu_step")->ArgNames({"loss"})->DenseRange(0, 2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(full_catalogue)
    ->Name("full_catalogue")
    ->ArgNames({"items", "one_user"})
    ->Args({10000, 1})
    ->Args({10000, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
