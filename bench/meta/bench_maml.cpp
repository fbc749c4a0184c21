// metarec benchmark: MAML meta-training throughput on a MeLU-sized head alone (256 -> 64 -> 64
// -> 1, ReLU, MSE, float, every parameter adapts), meta-batch 32, support 10, query 10, K = 1
// and 5, order 1 and 2, 1 and 2 threads, and task-batched (maml_head_batched); and the peak heap memory of order 2 against order 1
// for K = 1, 5, 20. The full MeLU workload, embedding tables included, is bench_melu.cpp.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <metarec/metarec.hpp>

#include "../support/heap_counter.hpp"

namespace {

namespace mr = metarec;
using namespace metarec::nn;

using head = model<sequential<dense<64>, relu, dense<64>, relu, dense<1>>, float>;
constexpr mr::index input_dim = 256, shots = 10, meta_batch = 32;

// FLOPs of the matrix products of one task (2 per multiply-add), from bench_gradient_hvp.cpp:
// a gradient on 10 samples G = 20 (2a + b), an HVP without gradient H = 20 (3a + 5b).
constexpr double a = 256.0 * 64 + 64.0 * 64 + 64.0, b = 64.0 * 64 + 64.0;
constexpr double gradient_flops = 20 * (2 * a + b), hvp_flops = 20 * (3 * a + 5 * b);
//! order 1: K support gradients + 1 query gradient; order 2: plus K HVPs
double task_flops(int order, int steps) { return (steps + 1) * gradient_flops + (order == 2 ? steps * hvp_flops : 0); }

struct task_set {
    std::vector<mr::meta::task_data<float>> storage;
    std::vector<mr::meta::task<batch<float>, float>> tasks;
    explicit task_set(int count) {
        mr::detail::rng g(3);
        const auto features = [&] {
            std::vector<float> x(static_cast<std::size_t>(input_dim * shots));
            for (auto& v : x) v = float(g.uniform(-1, 1));
            return batch_data<float>(shots, x, input_dim);
        };
        const auto ratings = [&] {
            std::vector<float> y(static_cast<std::size_t>(shots));
            for (auto& v : y) v = float(1 + g.below(5));
            return y;
        };
        for (int t = 0; t < count; ++t) storage.emplace_back(features(), ratings(), features(), ratings(), t);
        tasks = mr::meta::views(storage);
    }
};

// Batching: per task (the tasks on `threads` threads) or task-batched (every layer once for
// the 32 tasks: a loop of Eigen GEMMs on the CPU, one cuBLAS call on a GPU)
template <mr::meta::task_batching Batching>
void maml_step(benchmark::State& state) {
    const int order = int(state.range(0)), steps = int(state.range(1)), threads = int(state.range(3));
    const task_set data{int(meta_batch)};
    mr::meta::maml<head, mr::loss::mse> maml{head{{.dense = input_dim}, 1},
                                             {.inner_lr = 1e-3,
                                              .inner_steps = steps,
                                              .order = order,
                                              .meta_batch = meta_batch,
                                              .threads = threads,
                                              .batching = Batching}};
    maml.fit(data.tasks, {.epochs = 1});  // warm-up: workspaces
    for (auto _ : state) maml.fit(data.tasks, {.epochs = 1});  // one meta-step of 32 tasks
    const double tasks = double(state.iterations()) * double(meta_batch);
    state.counters["tasks_per_second"] = benchmark::Counter(tasks, benchmark::Counter::kIsRate);
    state.counters["gflops"] = benchmark::Counter(tasks * task_flops(order, steps) * 1e-9, benchmark::Counter::kIsRate);
}

void maml_memory(benchmark::State& state) {
    const int order = int(state.range(0)), steps = int(state.range(1));
    const task_set data{int(meta_batch)};
    for (auto _ : state) {
        const auto before = mr::bench::live_bytes.load();
        mr::bench::peak_bytes = before;
        {
            mr::meta::maml<head, mr::loss::mse> maml{
                head{{.dense = input_dim}, 1},
                {.inner_lr = 1e-3, .inner_steps = steps, .order = order, .meta_batch = meta_batch}};
            maml.fit(data.tasks, {.epochs = 1});
        }
        state.counters["peak_bytes"] = double(mr::bench::peak_bytes.load() - before);
    }
}

}  // namespace

BENCHMARK(maml_step<mr::meta::task_batching::per_task>)
    ->Name("maml_head")
    ->ArgNames({"order", "steps", "batch", "threads"})
    ->ArgsProduct({{1, 2}, {1, 5}, {meta_batch}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(maml_step<mr::meta::task_batching::batched>)
    ->Name("maml_head_batched")
    ->ArgNames({"order", "steps", "batch", "threads"})
    ->ArgsProduct({{1, 2}, {1, 5}, {meta_batch}, {1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(maml_memory)
    ->Name("maml_head_memory")
    ->ArgNames({"order", "steps"})
    ->ArgsProduct({{1, 2}, {1, 5, 20}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
