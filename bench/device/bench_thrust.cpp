// metarec benchmark: MeLU meta-training on device::thrust's host systems (sequential C++,
// OpenMP, TBB), with device::cpu (Eigen) as the reference; see bench/support/device_meta_step.hpp.
// reptile_cpu: Reptile meta-training of the same model, per task and task-batched.
// head_passes_*: the gradient passes of MeLU's head for a meta-batch, task by task against
// the task-batched passes (cpu and OpenMP).
// The host systems run Thrust's generic GEMM kernel (one output element per iteration): they
// exist to test the Thrust path without a GPU, not to replace device::cpu.
// SPDX-License-Identifier: Apache-2.0
#include <metarec/device/thrust.hpp>

#include "../support/device_meta_step.hpp"

int main(int argc, char** argv) {
    namespace mr = metarec;
    namespace sys = metarec::device::system;
    mr::bench::register_device_meta_step<mr::device::cpu>("cpu");
    mr::bench::register_device_meta_step<mr::device::thrust<sys::cpp>>("thrust_cpp");
#if defined(_OPENMP)
    mr::bench::register_device_meta_step<mr::device::thrust<sys::omp>>("thrust_omp");
#endif
#if defined(METAREC_HAS_TBB)
    mr::bench::register_device_meta_step<mr::device::thrust<sys::tbb>>("thrust_tbb");
#endif
    mr::bench::register_device_reptile_step<mr::device::cpu>("reptile_cpu");
    mr::bench::register_head_passes<mr::device::cpu>("head_passes_cpu");
#if defined(_OPENMP)
    mr::bench::register_head_passes<mr::device::thrust<sys::omp>>("head_passes_thrust_omp");
#endif
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
