// metarec benchmarks: MeLU meta-training throughput on a device policy (the Thrust systems,
// CUDA, or device::cpu for reference): one iteration is an epoch over a pool of tasks.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>

#include "melu_workload.hpp"

namespace metarec::bench {

/// name/order:O/steps:K/batch:B/threads:T/batched:M on `Device`: MeLU meta-steps of B tasks
/// over a pool of max(1,024, B) distinct users, the tasks one after another on T threads
/// (batched 0: task_batching::per_task, the per-task loop) or all at once (batched 1:
/// task_batching::batched, the task-batched passes); counters tasks_per_second and gflops
/// (as bench_melu).
template <class Device>
void device_meta_step(benchmark::State& state) {
    namespace w = melu_workload;
    using model = recsys::melu<recsys::melu_head, float, Device>;
    using algorithm = meta::melu_maml<model, loss::mse>;
    const int order = int(state.range(0)), steps = int(state.range(1)), threads = int(state.range(3));
    const index batch = state.range(2), pool = std::max(w::pool_size, batch);
    const auto batching = state.range(4) ? meta::task_batching::batched : meta::task_batching::per_task;
    const w::task_set<Device> data{pool};
    algorithm melu{model{w::shape(), 1},
                   {.inner_lr = 5e-3,
                    .inner_steps = steps,
                    .order = order,
                    .meta_batch = batch,
                    .threads = threads,
                    .batching = batching},
                   optim::adam{.lr = 1e-4}};
    melu.fit(data.tasks, {.max_steps = 1});  // warm-up: workspaces
    for (auto _ : state) melu.fit(data.tasks, {.epochs = 1});
    const double tasks = double(state.iterations()) * double(pool);
    state.counters["tasks_per_second"] = benchmark::Counter(tasks, benchmark::Counter::kIsRate);
    state.counters["gflops"] = benchmark::Counter(tasks * w::task_flops(order, steps) * 1e-9, benchmark::Counter::kIsRate);
}

//! registers device_meta_step<Device> as `name` over meta-batches 32, 256, 1024, K 1 and 5,
//! orders 1 and 2: per task on each of `threads`, and (`batched`) task-batched
template <class Device>
void register_device_meta_step(const char* name, std::vector<std::int64_t> threads = {1}, bool batched = true) {
    auto* b = benchmark::RegisterBenchmark(name, device_meta_step<Device>)
                  ->ArgNames({"order", "steps", "batch", "threads", "batched"})
                  ->ArgsProduct({{1, 2}, {1, 5}, {32, 256, 1024}, threads, {0}});
    if (batched) b->ArgsProduct({{1, 2}, {1, 5}, {32, 256, 1024}, {1}, {1}});
    b->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

/// name/steps:K/batch:B/batched:M on `Device`: Reptile meta-training of the same MeLU model,
/// the head adapting by K steps of inner SGD (rate 5e-3), over the same pool: per task
/// (batched 0) or task-batched (batched 1: every task's inner loop at once, the embeddings
/// kept once). Counter tasks_per_second.
template <class Device>
void device_reptile_step(benchmark::State& state) {
    namespace w = melu_workload;
    using model = recsys::melu<recsys::melu_head, float, Device>;
    using algorithm = meta::reptile<model, loss::mse, optim::sgd, optim::sgd, meta::adapt_dense_head>;
    const int steps = int(state.range(0));
    const index batch = state.range(1), pool = std::max(w::pool_size, batch);
    const w::task_set<Device> data{pool};
    algorithm reptile{model{w::shape(), 1},
                      {.inner = {.lr = 5e-3},
                       .inner_steps = steps,
                       .meta_batch = batch,
                       .batching = state.range(2) ? meta::task_batching::batched : meta::task_batching::per_task},
                      optim::sgd{.lr = 0.1}};
    reptile.fit(data.tasks, {.max_steps = 1});  // warm-up: workspaces
    for (auto _ : state) reptile.fit(data.tasks, {.epochs = 1});
    state.counters["tasks_per_second"] =
        benchmark::Counter(double(state.iterations()) * double(pool), benchmark::Counter::kIsRate);
}

//! registers device_reptile_step<Device> as `name` over K 1 and 5, meta-batches 32, 256 and 1024, per task and batched
template <class Device>
void register_device_reptile_step(const char* name) {
    benchmark::RegisterBenchmark(name, device_reptile_step<Device>)
        ->ArgNames({"steps", "batch", "batched"})
        ->ArgsProduct({{1, 5}, {32, 256, 1024}, {0, 1}})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

/// head_passes/batched:M/batch:B on `Device`: the gradient passes (forward and backward) of
/// MeLU's head (256 inputs, 64, 64, 1) for B tasks of 10 samples, each task with parameters of
/// its own (a meta-batch's fast weights): batched 0 calls the single-task passes task by task
/// (the per-task loop), batched 1 the task-batched passes once for all tasks (gemm_batched).
/// Counter tasks_per_second.
template <class Device>
void head_passes(benchmark::State& state) {
    using head = nn::model<recsys::melu_head, float, Device>;
    using vector = typename Device::template vector<float>;
    const bool batched = state.range(0) != 0;
    const index tasks = state.range(1), n = melu_workload::shots, in = 256;
    const head f{{.dense = in}, 1};
    const index stride = f.parameter_count();
    std::vector<float> host(std::size_t(std::max(stride * tasks, in * n * tasks)));
    metarec::detail::rng g(2);
    for (auto& v : host) v = float(g.uniform(-0.1, 0.1));
    vector theta(stride * tasks), x(in * n * tasks), dpred(n * tasks), pred(n * tasks), grad(stride * tasks);
    Device::to_device(stride * tasks, host.data(), theta.data());
    Device::to_device(in * n * tasks, host.data(), x.data());
    Device::to_device(n * tasks, host.data(), dpred.data());
    auto ws = f.make_workspace(batched ? n * tasks : n);
    const auto all = nn::batch<float>::dense_only(x.data(), in, n * tasks);
    for (auto _ : state) {
        if (batched) {
            f.forward_batched(theta.data(), stride, all, tasks, ws, pred.data());
            f.backward_batched(theta.data(), stride, all, tasks, ws, dpred.data(), grad.data());
        } else {
            for (index t = 0; t < tasks; ++t) {
                const auto xt = nn::batch<float>::dense_only(x.data() + t * in * n, in, n);
                f.forward(theta.data() + t * stride, xt, ws, pred.data() + t * n);
                f.backward(theta.data() + t * stride, xt, ws, dpred.data() + t * n, grad.data() + t * stride);
            }
        }
        float probe = 0;
        Device::to_host(1, grad.data(), &probe);  // waits for a GPU to finish
        benchmark::DoNotOptimize(probe);
    }
    state.counters["tasks_per_second"] =
        benchmark::Counter(double(state.iterations()) * double(tasks), benchmark::Counter::kIsRate);
}

//! registers head_passes<Device> as `name` (e.g. "head_passes_cuda") over loop and batched, meta-batches 32, 256 and 1024
template <class Device>
void register_head_passes(const char* name) {
    benchmark::RegisterBenchmark(name, head_passes<Device>)
        ->ArgNames({"batched", "batch"})
        ->ArgsProduct({{0, 1}, {32, 256, 1024}})
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
}

}  // namespace metarec::bench
