// metarec benchmark: the cost of learning while serving (meta::algorithm::update) per streamed
// task, on the MeLU workload of bench_melu.cpp (8 fields x 32-dim embeddings, head 256-64-64-1,
// float, MSE, the head adapts, outer Adam), order 1, meta-batch 32, one thread.
//
//  - stream/new:N/replay:R/steps:K: one iteration is one update() over N new tasks (cycling
//    through a pool of 1,024 users), R % of each meta-batch replayed from a buffer of 1,024
//    (so N new tasks take N / (32 (1 - R/100)) meta-steps of 32 tasks); counter
//    new_tasks_per_second (its inverse: the cost of a streamed task);
//  - fit/steps:K: the same meta-steps in fit() (an epoch over the pool), tasks_per_second: the
//    reference, so that update()'s overhead beyond its meta-steps shows (with R = 0 the two
//    rates should agree; with R = 50 each new task brings a replayed one: half the rate).
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <vector>

#include <metarec/metarec.hpp>

#include "../support/melu_workload.hpp"

namespace {

namespace mr = metarec;
using model = mr::recsys::melu<>;
using algorithm = mr::meta::melu_maml<model, mr::loss::mse>;
using namespace mr::bench::melu_workload;
constexpr mr::index batch = 32;

algorithm make_algorithm(int steps) {
    return algorithm{model{shape(), 1},
                     {.inner_lr = 5e-3, .inner_steps = steps, .order = 1, .meta_batch = batch, .threads = 1},
                     mr::optim::adam{.lr = 1e-4}};
}

void stream(benchmark::State& state) {
    const mr::index fresh = state.range(0);
    const double share = double(state.range(1)) / 100;
    const int steps = int(state.range(2));
    const task_set<> data{pool_size};
    auto melu = make_algorithm(steps);
    const mr::meta::stream_options options{.replay_capacity = pool_size, .replay_share = share};
    std::vector<algorithm::task_type> log;  // the stream: the pool's tasks again and again
    const auto serve = [&] {
        for (mr::index t = 0; t < fresh; ++t) log.push_back(data.tasks[std::size_t(mr::index(log.size()) % pool_size)]);
        melu.update(log, options);
    };
    for (int warm = 0; warm < 4; ++warm) serve();  // workspaces, and a buffer with tasks to replay
    for (auto _ : state) serve();
    const double tasks = double(state.iterations()) * double(fresh);
    state.counters["new_tasks_per_second"] = benchmark::Counter(tasks, benchmark::Counter::kIsRate);
}

void fit(benchmark::State& state) {
    const task_set<> data{pool_size};
    auto melu = make_algorithm(int(state.range(0)));
    melu.fit(data.tasks, {.epochs = 1});  // warm-up: workspaces
    for (auto _ : state) melu.fit(data.tasks, {.epochs = 1});
    state.counters["tasks_per_second"] =
        benchmark::Counter(double(state.iterations()) * double(pool_size), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(stream)
    ->Name("stream")
    ->ArgNames({"new", "replay", "steps"})
    ->ArgsProduct({{64, 512}, {0, 50}, {1, 5}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(fit)->Name("fit")->ArgNames({"steps"})->Arg(1)->Arg(5)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
