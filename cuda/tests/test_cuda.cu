// metarec CUDA tests: the cross-device suite on device::cuda against device::cpu, and a user
// policy that replaces one CUDA operation. The device operations (cuBLAS S and D GEMM, the
// Thrust kernels) run in float and double; the suites built on them (derivatives, algorithms,
// optimizers) in float, the type a GPU trains in (and the cheaper to compile: CI compiles this
// file; docs/performance.md, "Build and test times"). Needs a GPU: without one the program says so
// and exits with 77, which CTest reports as skipped.
// SPDX-License-Identifier: Apache-2.0
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>

#include <metarec/cuda/device.cuh>

#include "../../tests/device/cross_device.hpp"

namespace mr = metarec;
namespace cross = metarec::test::cross;
using gpu = mr::device::cuda;

TEST_CASE_TEMPLATE("cuda: every device operation agrees with device::cpu", C, cross::config<gpu, float>,
                   cross::config<gpu, double>) {
    cross::check_operations<C>();
}

TEST_CASE("cuda: gradients and H v of networks agree with device::cpu") {
    cross::check_all_derivatives<cross::config<gpu, float>>();
}

TEST_CASE("cuda: the task-batched passes (cuBLAS gemmStridedBatched) agree with device::cpu's passes task by task") {
    cross::check_batched_passes<cross::config<gpu, float>>();
}

TEST_CASE("cuda: meta-gradients, fit(), adapt() and evaluate() agree with device::cpu") {
    cross::check_all_algorithms<cross::config<gpu, float>>();
}

TEST_CASE("cuda: optimizer steps agree with device::cpu") {
    cross::check_all_optimizers<cross::config<gpu, float>>();
}

namespace {

std::atomic<int> scal_calls{0};

// a user policy on the GPU that replaces one operation (scal) and inherits the rest
struct counting_cuda : mr::device::basic_thrust<counting_cuda, mr::device::system::cuda> {
    template <class S>
    static void scal(mr::index n, S alpha, S* x) {
        ++scal_calls;
        for_each(n, mr::device::detail::scal_kernel<S>{alpha, x});
    }
};

}  // namespace

TEST_CASE("cuda: a user policy derived from basic_thrust replaces one operation") {
    static_assert(mr::device_policy<counting_cuda> && !counting_cuda::host_memory);
    scal_calls = 0;
    cross::check_algorithm<cross::config<counting_cuda, float>, cross::maml_mse, cross::mlp>(
        cross::mlp_shape, mr::meta::maml_options{.inner_lr = 0.3, .inner_steps = 2, .meta_batch = 2});
    CHECK(scal_calls > 0);  // meta_gradient() scales by the task weight
}

int main(int argc, char** argv) {
    if (mr::device::cuda_device_count() == 0) {
        std::printf("metarec: no CUDA GPU found: the gpu tests skip themselves\n");
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
