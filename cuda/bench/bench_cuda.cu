// metarec benchmark: MeLU meta-training on device::cuda (see bench/support/device_meta_step.hpp):
// meta-batches 32, 256 and 1,024, K 1 and 5, orders 1 and 2, per task with 1 host thread (the
// tasks of a meta-batch one after another on one stream: the launch-bound loop) and 8 (eight
// tasks at a time on eight per-thread streams), and task-batched (batched:1: every layer once
// per meta-batch, cuBLAS gemmStridedBatched); Reptile's meta-training of the same model per
// task and task-batched (reptile_cuda); and the gradient passes of MeLU's head for a
// meta-batch, task by task against the task-batched passes. Needs a GPU: without one it says
// so and exits with 77.
// SPDX-License-Identifier: Apache-2.0
#include <cstdio>

#include <metarec/cuda/device.cuh>

#include "../../bench/support/device_meta_step.hpp"

int main(int argc, char** argv) {
    namespace mr = metarec;
    if (mr::device::cuda_device_count() == 0) {
        std::printf("metarec: no CUDA GPU found: bench_cuda has nothing to measure\n");
        return 77;
    }
    mr::bench::register_device_meta_step<mr::device::cuda>("cuda", {1, 8});
    mr::bench::register_device_reptile_step<mr::device::cuda>("reptile_cuda");
    mr::bench::register_head_passes<mr::device::cuda>("head_passes_cuda");
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
