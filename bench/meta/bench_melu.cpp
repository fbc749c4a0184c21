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
//    per-request latencies), allocs (heap allocations per request after warm-up) and
//    adapted_bytes (the heap of the serving thread's meta::adapted: its parameters and workspaces);
//  - adapt_rank_catalogue/...: the same request scored through a recsys::catalogue of the N
//    candidates (their features and first-layer product cached; the adaptation's low-rank
//    change applied per request); counter low_rank (1 when every request took that path);
//  - serve_batch/users:U/threads:T: U new users at once through recsys::catalogue_server
//    (the request above for each, spread over T threads); counters per_user_us (the median
//    batch's wall time over U), batch_p50_us, batch_p99_us, low_rank (share of the users).
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>
#include <vector>

#include <metarec/metarec.hpp>

#include "../support/heap_counter.hpp"
#include "../support/melu_workload.hpp"

namespace {

namespace mr = metarec;
using model = mr::recsys::melu<>;
using algorithm = mr::meta::melu_maml<model, mr::loss::mse>;
using namespace mr::bench::melu_workload;

algorithm make_algorithm(int order, int steps, mr::index batch, int threads, bool lazy = false) {
    return algorithm{model{shape(), 1},
                     {.inner_lr = 5e-3, .inner_steps = steps, .order = order, .meta_batch = batch, .threads = threads},
                     mr::optim::adam{.lr = 1e-4, .lazy = lazy}};
}

// the top `top` of `n` scores, as a request ranks its candidates (order: n indices, reused)
void rank_top(const float* scores, std::vector<mr::index>& order, std::size_t top = 10) {
    std::iota(order.begin(), order.end(), mr::index(0));
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(top), order.end(),
                      [&](mr::index a, mr::index b) { return scores[a] > scores[b]; });
    benchmark::DoNotOptimize(order.data());
}

// the q-quantile of latencies (reordered in place)
double percentile(std::vector<double>& latencies, double q) {
    const auto k = std::min(latencies.size() - 1, std::size_t(q * double(latencies.size())));
    std::nth_element(latencies.begin(), latencies.begin() + std::ptrdiff_t(k), latencies.end());
    return latencies[k];
}

template <bool Lazy>
void maml_step(benchmark::State& state) {
    const int order = int(state.range(0)), steps = int(state.range(1)), threads = int(state.range(3));
    const mr::index batch = state.range(2);
    const task_set<> data{pool_size};
    auto melu = make_algorithm(order, steps, batch, threads, Lazy);
    melu.fit(data.tasks, {.epochs = 1});  // warm-up: workspaces
    for (auto _ : state) melu.fit(data.tasks, {.epochs = 1});  // pool_size / batch meta-steps
    const double tasks = double(state.iterations()) * double(pool_size);
    state.counters["tasks_per_second"] = benchmark::Counter(tasks, benchmark::Counter::kIsRate);
    state.counters["gflops"] = benchmark::Counter(tasks * task_flops(order, steps) * 1e-9, benchmark::Counter::kIsRate);
}

void maml_memory(benchmark::State& state) {
    const int order = int(state.range(0)), steps = int(state.range(1));
    const task_set<> data{32};
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

template <bool Catalogue>
void adapt_rank(benchmark::State& state) {
    const mr::index support_size = state.range(0), candidates = state.range(2);
    const int steps = int(state.range(1));
    constexpr std::size_t top = 10;
    shop<> s;
    const task_set<> data{32};
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
    const auto bytes_before = mr::bench::live_bytes.load();
    auto personal = melu.adapt(support.view(), ratings.data(), {.steps = steps});  // the serving thread's model
    state.counters["adapted_bytes"] = double(mr::bench::live_bytes.load() - bytes_before);
    // the catalogue variant: built once per model version, a workspace per serving thread
    std::optional<mr::recsys::catalogue<model>> catalogue;
    std::optional<mr::recsys::catalogue<model>::workspace> catalogue_ws;
    if constexpr (Catalogue) {
        catalogue.emplace(melu, items.view());
        catalogue_ws.emplace(catalogue->make_workspace());
    }
    std::size_t low_rank = 0, requests_made = 0;
    const auto request = [&] {
        melu.adapt(support.view(), ratings.data(), personal, {.steps = steps});
        if constexpr (Catalogue) {
            const auto path = catalogue->predict(personal, support.view(), items.view(), scores.data(), *catalogue_ws);
            low_rank += path == mr::recsys::catalogue_path::low_rank;
            ++requests_made;
        } else {
            personal.predict(items.view(), scores.data());
        }
        rank_top(scores.data(), order, top);
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
    state.counters["p50_us"] = percentile(latencies, 0.50);
    state.counters["p99_us"] = percentile(latencies, 0.99);
    if constexpr (Catalogue) state.counters["low_rank"] = double(low_rank == requests_made);
}

// `base`'s samples with the user fields of `u` (the same items: a catalogue shown to another user)
shop<>::sample_batch for_user(const shop<>::sample_batch& base, const std::vector<mr::id_type>& u) {
    const auto x = base.view();
    const auto n = std::size_t(x.size());
    std::vector<std::vector<mr::id_type>> cat;
    for (std::size_t f = 0; f < x.categorical.size(); ++f)
        cat.push_back(f < u.size() ? std::vector<mr::id_type>(n, u[f])
                                   : std::vector<mr::id_type>(x.categorical[f], x.categorical[f] + n));
    std::vector<mr::nn::host_bags> bags;
    for (const auto& b : x.multi) bags.push_back({{b.offsets, b.offsets + n + 1}, {b.ids, b.ids + b.offsets[n]}});
    return shop<>::sample_batch(x.size(), {}, 0, cat, bags);
}

// serve_batch/users:U/threads:T: U new users served at once by recsys::catalogue_server (each
// adapted on 10 ratings with 5 steps, 1,000 candidates scored through the catalogue, the top
// 10 taken); counters per_user_us (a batch's wall time over U) and batch_p50_us, batch_p99_us.
void serve_batch(benchmark::State& state) {
    const mr::index users = state.range(0);
    const int threads = int(state.range(1));
    constexpr mr::index support_size = 10, candidates = 1000;
    constexpr std::size_t top = 10;
    shop<> s;
    const task_set<> data{32};
    auto melu = make_algorithm(2, 5, 32, 1);
    melu.fit(data.tasks, {.epochs = 1});
    const auto items = s.pairs(s.user(), candidates);
    const mr::recsys::catalogue<model> catalogue{melu, items.view()};
    std::vector<shop<>::sample_batch> supports, shown;
    std::vector<std::vector<float>> ratings;
    std::vector<mr::recsys::catalogue_server<algorithm>::request> requests;
    for (mr::index i = 0; i < users; ++i) {
        const auto u = s.user();
        supports.push_back(s.pairs(u, support_size));
        ratings.push_back(s.ratings(support_size));
        shown.push_back(for_user(items, u));
    }
    for (std::size_t i = 0; i < std::size_t(users); ++i)
        requests.push_back({supports[i].view(), ratings[i].data(), shown[i].view()});
    mr::recsys::catalogue_server server{melu, catalogue, threads};
    std::vector<float> scores(std::size_t(users * candidates));
    std::vector<mr::index> order(static_cast<std::size_t>(candidates));
    std::vector<double> latencies;
    const auto batch = [&] {
        const auto paths = server.serve(requests, scores.data(), {.steps = 5});
        for (mr::index i = 0; i < users; ++i) rank_top(scores.data() + i * candidates, order, top);
        return paths;
    };
    const auto paths = batch();  // warm-up
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        batch();
        latencies.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    const double median = percentile(latencies, 0.5);
    state.counters["per_user_us"] = median / double(users);
    state.counters["batch_p50_us"] = median;
    state.counters["batch_p99_us"] = percentile(latencies, 0.99);
    state.counters["low_rank"] =
        double(std::count(paths.begin(), paths.end(), mr::recsys::catalogue_path::low_rank)) / double(users);
}

}  // namespace

BENCHMARK(maml_step<false>)
    ->Name("maml")
    ->ArgNames({"order", "steps", "batch", "threads"})
    ->ArgsProduct({{1, 2}, {1, 5}, {32, 256}, {1, 2}})
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
BENCHMARK(adapt_rank<false>)
    ->Name("adapt_rank")
    ->ArgNames({"support", "steps", "candidates"})
    ->Args({10, 5, 1000})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(serve_batch)
    ->Name("serve_batch")
    ->ArgNames({"users", "threads"})
    ->ArgsProduct({{32}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(adapt_rank<true>)
    ->Name("adapt_rank_catalogue")
    ->ArgNames({"support", "steps", "candidates"})
    ->Args({10, 5, 1000})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
