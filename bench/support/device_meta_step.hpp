// metarec benchmarks: MeLU meta-training throughput on a device policy (the Thrust systems,
// CUDA, or device::cpu for reference): one iteration is an epoch over a pool of tasks.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>

#include "melu_workload.hpp"

namespace metarec::bench {

/// maml/order:O/steps:K/batch:B/threads:T on `Device`: meta-steps of B tasks over a pool of
/// max(1,024, B) distinct users; counters tasks_per_second and gflops (as bench_melu).
template <class Device>
void device_meta_step(benchmark::State& state) {
    namespace w = melu_workload;
    using model = recsys::melu<recsys::melu_head, float, Device>;
    using algorithm = meta::melu_maml<model, loss::mse>;
    const int order = int(state.range(0)), steps = int(state.range(1)), threads = int(state.range(3));
    const index batch = state.range(2), pool = std::max(w::pool_size, batch);
    const w::task_set<Device> data{pool};
    algorithm melu{model{w::shape(), 1},
                   {.inner_lr = 5e-3, .inner_steps = steps, .order = order, .meta_batch = batch, .threads = threads},
                   optim::adam{.lr = 1e-4}};
    melu.fit(data.tasks, {.max_steps = 1});  // warm-up: workspaces
    for (auto _ : state) melu.fit(data.tasks, {.epochs = 1});
    const double tasks = double(state.iterations()) * double(pool);
    state.counters["tasks_per_second"] = benchmark::Counter(tasks, benchmark::Counter::kIsRate);
    state.counters["gflops"] = benchmark::Counter(tasks * w::task_flops(order, steps) * 1e-9, benchmark::Counter::kIsRate);
}

//! registers device_meta_step<Device> as `name` over meta-batches 32, 256, 1024, K 1 and 5, orders 1 and 2
template <class Device>
void register_device_meta_step(const char* name, std::vector<std::int64_t> threads = {1}) {
    benchmark::RegisterBenchmark(name, device_meta_step<Device>)
        ->ArgNames({"order", "steps", "batch", "threads"})
        ->ArgsProduct({{1, 2}, {1, 5}, {32, 256, 1024}, threads})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

}  // namespace metarec::bench
