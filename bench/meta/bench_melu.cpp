// metarec benchmark: the "MeLU step" of the performance issue and request-time adaptation.
//
// Model: MeLU (recsys::melu<>): 8 fields x 32-dim embeddings (users: gender 2, age 7,
// occupation 21, zip 3,402; items: rate 6, and the multi-valued genre 25, director 2,186,
// actor 8,030 as mean embedding bags of 2, 2 and 4 ids), head 256-64-64-1, float, MSE.
// Only the head adapts (meta::melu_maml); the outer Adam step updates every parameter.
// The same workload is implemented in PyTorch and JAX in bench/peers/.
//
//  - maml/order:O/steps:K/batch:B/threads:T: meta-steps of B tasks (support 10, query 10);
//    one iteration is an epoch over a pool of 1,024 distinct users (1,024 / B meta-steps),
//    as the peers cycle through theirs; counters tasks_per_second and gflops (matrix
//    products only, per task: order 1 0.905 K + 1.233 MFLOP, order 2 2.715 K + 1.233 MFLOP);
//  - maml_lazy_adam/...: the same with adam{.lazy = true} (only the embedding columns the
//    meta-batch read are updated);
//  - maml_memory/order:O/steps:K: peak heap bytes of building the algorithm and one meta-step;
//  - adapt_rank/support:10/steps:5/candidates:N: one request: adapt() on 10 ratings with 5
//    inner steps, score N candidate items, take the top 10; counters p50_us, p99_us (of the
//    per-request latencies) and allocs (heap allocations per request after warm-up).
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include <metarec/metarec.hpp>

#include "../support/heap_counter.hpp"

namespace {

namespace mr = metarec;
using model = mr::recsys::melu<>;
using algorithm = mr::meta::melu_maml<model, mr::loss::mse>;
using sample_batch = mr::nn::batch_data<float>;

constexpr mr::index shots = 10, pool_size = 1024;
// vocabularies: single-valued gender, age, occupation, zip (user) and rate (item); then the
// item's multi-valued genre, director, actor, with a fixed bag size each
const std::vector<mr::index> categorical = {2, 7, 21, 3402, 6};
const std::vector<mr::index> multi = {25, 2186, 8030};
constexpr mr::index bag_sizes[] = {2, 2, 4};
constexpr int user_fields = 4;

mr::nn::input_shape shape() { return {.dense = 0, .categorical = categorical, .multi = multi}; }

//! FLOPs of the matrix products of one task, as the performance issue counts them
double task_flops(int order, int steps) { return ((order == 2 ? 2.715 : 0.905) * steps + 1.233) * 1e6; }

//! random users and items, and batches of (user, items) pairs
struct shop {
    mr::detail::rng g{7};

    std::vector<mr::id_type> user() {
        std::vector<mr::id_type> u;
        for (int f = 0; f < user_fields; ++f) u.push_back(mr::id_type(g.below(std::uint64_t(categorical[std::size_t(f)]))));
        return u;
    }
    //! n items for one user: its fields repeated, each item's rate and bags drawn at random
    sample_batch pairs(const std::vector<mr::id_type>& u, mr::index n) {
        std::vector<std::vector<mr::id_type>> cat(categorical.size());
        for (mr::index j = 0; j < n; ++j) {
            for (int f = 0; f < user_fields; ++f) cat[std::size_t(f)].push_back(u[std::size_t(f)]);
            cat[user_fields].push_back(mr::id_type(g.below(std::uint64_t(categorical[user_fields]))));
        }
        std::vector<mr::nn::host_bags> bags(multi.size());
        for (std::size_t f = 0; f < multi.size(); ++f) {
            bags[f].offsets.push_back(0);
            for (mr::index j = 0; j < n; ++j) {
                for (mr::index k = 0; k < bag_sizes[f]; ++k) bags[f].ids.push_back(mr::id_type(g.below(std::uint64_t(multi[f]))));
                bags[f].offsets.push_back(mr::id_type(bags[f].ids.size()));
            }
        }
        return sample_batch(n, {}, 0, cat, bags);
    }
    std::vector<float> ratings(mr::index n) {
        std::vector<float> y(static_cast<std::size_t>(n));
        for (auto& v : y) v = float(1 + g.below(5));
        return y;
    }
};

struct task_set {
    std::vector<mr::meta::task_data<float>> storage;
    std::vector<mr::meta::task<mr::nn::batch<float>, float>> tasks;
    explicit task_set(mr::index count) {
        shop s;
        for (mr::index t = 0; t < count; ++t) {
            const auto u = s.user();
            storage.emplace_back(s.pairs(u, shots), s.ratings(shots), s.pairs(u, shots), s.ratings(shots), t);
        }
        tasks = mr::meta::views(storage);
    }
};

algorithm make_algorithm(int order, int steps, mr::index batch, int threads, bool lazy = false) {
    return algorithm{model{shape(), 1},
                     {.inner_lr = 5e-3, .inner_steps = steps, .order = order, .meta_batch = batch, .threads = threads},
                     mr::optim::adam{.lr = 1e-4, .lazy = lazy}};
}

template <bool Lazy>
void maml_step(benchmark::State& state) {
    const int order = int(state.range(0)), steps = int(state.range(1)), threads = int(state.range(3));
    const mr::index batch = state.range(2);
    const task_set data{pool_size};
    auto melu = make_algorithm(order, steps, batch, threads, Lazy);
    melu.fit(data.tasks, {.epochs = 1});  // warm-up: workspaces
    for (auto _ : state) melu.fit(data.tasks, {.epochs = 1});  // pool_size / batch meta-steps
    const double tasks = double(state.iterations()) * double(pool_size);
    state.counters["tasks_per_second"] = benchmark::Counter(tasks, benchmark::Counter::kIsRate);
    state.counters["gflops"] = benchmark::Counter(tasks * task_flops(order, steps) * 1e-9, benchmark::Counter::kIsRate);
}

void maml_memory(benchmark::State& state) {
    const int order = int(state.range(0)), steps = int(state.range(1));
    const task_set data{32};
    for (auto _ : state) {
        const auto before = mr::bench::live_bytes.load();
        mr::bench::peak_bytes = before;
        {
            auto melu = make_algorithm(order, steps, 32, 1);
            melu.fit(data.tasks, {.epochs = 1});
        }
        state.counters["peak_bytes"] = double(mr::bench::peak_bytes.load() - before);
    }
}

void adapt_rank(benchmark::State& state) {
    const mr::index support_size = state.range(0), candidates = state.range(2);
    const int steps = int(state.range(1));
    constexpr std::size_t top = 10;
    shop s;
    const task_set data{32};
    auto melu = make_algorithm(2, steps, 32, 1);
    melu.fit(data.tasks, {.epochs = 1});  // a meta-trained state (one step: the timing does not depend on it)
    const auto u = s.user();
    const auto support = s.pairs(u, support_size);
    const auto ratings = s.ratings(support_size);
    const auto items = s.pairs(u, candidates);

    std::vector<float> scores(static_cast<std::size_t>(candidates));
    std::vector<mr::index> order(static_cast<std::size_t>(candidates));
    std::vector<double> latencies;
    latencies.reserve(1 << 20);
    auto personal = melu.adapt(support.view(), ratings.data(), {.steps = steps});  // the serving thread's model
    const auto request = [&] {
        melu.adapt(support.view(), ratings.data(), personal, {.steps = steps});
        personal.predict(items.view(), scores.data());
        std::iota(order.begin(), order.end(), mr::index(0));
        std::partial_sort(order.begin(), order.begin() + top, order.end(),
                          [&](mr::index a, mr::index b) { return scores[std::size_t(a)] > scores[std::size_t(b)]; });
        benchmark::DoNotOptimize(order.data());
    };
    for (int i = 0; i < 10; ++i) request();  // warm-up
    const auto allocations_before = mr::bench::allocations.load();
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        request();
        latencies.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    const auto requests = latencies.size();
    state.counters["allocs"] = double(mr::bench::allocations.load() - allocations_before) / double(requests);
    const auto percentile = [&](double q) {
        const auto k = std::min(requests - 1, std::size_t(q * double(requests)));
        std::nth_element(latencies.begin(), latencies.begin() + std::ptrdiff_t(k), latencies.end());
        return latencies[k];
    };
    state.counters["p50_us"] = percentile(0.50);
    state.counters["p99_us"] = percentile(0.99);
}

}  // namespace

BENCHMARK(maml_step<false>)
    ->Name("maml")
    ->ArgNames({"order", "steps", "batch", "threads"})
    ->ArgsProduct({{1, 2}, {1, 5}, {32}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(maml_step<true>)
    ->Name("maml_lazy_adam")
    ->ArgNames({"order", "steps", "batch", "threads"})
    ->ArgsProduct({{1, 2}, {1, 5}, {32}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(maml_memory)
    ->Name("maml_memory")
    ->ArgNames({"order", "steps"})
    ->ArgsProduct({{1, 2}, {1, 5, 20}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(adapt_rank)
    ->Name("adapt_rank")
    ->ArgNames({"support", "steps", "candidates"})
    ->Args({10, 5, 1000})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
