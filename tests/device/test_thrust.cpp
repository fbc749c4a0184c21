// metarec tests: device::thrust on the host systems (sequential C++, OpenMP, TBB) against
// device::cpu, float and double; and a user policy that replaces one Thrust operation.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <atomic>

#include <metarec/device/thrust.hpp>

#include "cross_device.hpp"

namespace mr = metarec;
namespace cross = metarec::test::cross;
namespace sys = metarec::device::system;  // (tbb and thrust also name namespaces of their own)
template <class System>
using device_thrust = mr::device::thrust<System>;

// Every host system of this build (cpp always, omp with OpenMP, tbb with oneTBB) in float and
// double runs the operations suite: a system changes only how these primitives run (Thrust
// algorithms under its execution policy), everything else is written on top of them. The
// suites built on the primitives (derivatives, algorithms, optimizers) run on one scalar type
// per system: double on cpp, float on omp and tbb (the parallel systems, in the type a device
// runs); cpp float too without OpenMP. (All six for all four suites would cost CI compile
// time: docs/performance.md, "Build and test times".)
#if defined(_OPENMP)
#define METAREC_OMP(S) , cross::config<device_thrust<sys::omp>, S>
#define METAREC_CPP_FLOAT
#else
#define METAREC_OMP(S)
#define METAREC_CPP_FLOAT , cross::config<device_thrust<sys::cpp>, float>
#endif
#if defined(METAREC_HAS_TBB)
#define METAREC_TBB(S) , cross::config<device_thrust<sys::tbb>, S>
#else
#define METAREC_TBB(S)
#endif
#define METAREC_HOST_SYSTEMS(S) cross::config<device_thrust<sys::cpp>, S> METAREC_OMP(S) METAREC_TBB(S)
#define METAREC_CONFIGS METAREC_HOST_SYSTEMS(float), METAREC_HOST_SYSTEMS(double)
#define METAREC_COMPOSED_CONFIGS \
    cross::config<device_thrust<sys::cpp>, double> METAREC_CPP_FLOAT METAREC_OMP(float) METAREC_TBB(float)

TEST_CASE_TEMPLATE("thrust: every device operation agrees with device::cpu", C, METAREC_CONFIGS) {
    cross::check_operations<C>();
}

TEST_CASE_TEMPLATE("thrust: gradients and H v of networks agree with device::cpu", C, METAREC_COMPOSED_CONFIGS) {
    cross::check_all_derivatives<C>();
}

TEST_CASE_TEMPLATE("thrust: the task-batched passes agree with device::cpu's passes task by task", C,
                   METAREC_COMPOSED_CONFIGS) {
    cross::check_batched_passes<C>();
}

TEST_CASE_TEMPLATE("thrust: meta-gradients, fit(), adapt() and evaluate() agree with device::cpu", C,
                   METAREC_COMPOSED_CONFIGS) {
    cross::check_all_algorithms<C>();
}

TEST_CASE_TEMPLATE("thrust: optimizer steps agree with device::cpu", C, METAREC_COMPOSED_CONFIGS) {
    cross::check_all_optimizers<C>();
}

namespace {

std::atomic<int> axpy_calls{0};

// The extension point: a user policy that keeps every Thrust operation of the OpenMP system
// but replaces one (here axpy, counting its calls; a real one would call a tuned kernel).
struct counting_omp : mr::device::basic_thrust<counting_omp, sys::omp> {
    template <class S>
    static void axpy(mr::index n, S alpha, const S* x, S* y) {
        ++axpy_calls;
        for_each(n, mr::device::detail::axpy_kernel<S>{alpha, x, y});
    }
};

}  // namespace

TEST_CASE("thrust: a user policy derived from basic_thrust replaces one operation, the rest is inherited") {
    static_assert(mr::device_policy<counting_omp>);
    static_assert(std::is_same_v<counting_omp::vector<float>, device_thrust<sys::omp>::vector<float>>);
    axpy_calls = 0;
    // Reptile's outer update sums the task directions with axpy: the override is called
    // there, and the result is the one of the stock policy
    using config = cross::config<counting_omp, double>;
    cross::check_algorithm<config, cross::reptile_mse, cross::mlp>(
        cross::mlp_shape, mr::meta::reptile_options<mr::optim::sgd>{.inner = {.lr = 0.1}, .inner_steps = 2, .meta_batch = 2});
    CHECK(axpy_calls > 0);
}

TEST_CASE("thrust: host systems report host memory, buffers are raw pointers of the system") {
    static_assert(device_thrust<sys::cpp>::host_memory && device_thrust<sys::omp>::host_memory && device_thrust<sys::tbb>::host_memory);
    device_thrust<sys::omp>::vector<float> v(5);
    CHECK(v.size() == 5);
    std::vector<float> host{1, 2, 3, 4, 5}, back(5);
    device_thrust<sys::omp>::to_device(5, host.data(), v.data());
    device_thrust<sys::omp>::to_host(5, v.data(), back.data());
    CHECK(back == host);
    CHECK(device_thrust<sys::cpp>::reduce(0, [](mr::index) { return 1; }) == 0);
}

namespace {

// counts the host <-> device copies and the largest one
struct transfer_log {
    std::atomic<long> to_host{0}, to_device{0}, largest{0};
    void note(std::atomic<long>& calls, mr::index n) {
        ++calls;
        for (long seen = largest; n > seen && !largest.compare_exchange_weak(seen, n);) {}
    }
} transfers;

struct logging_cpp : mr::device::basic_thrust<logging_cpp, sys::cpp> {
    using base = mr::device::basic_thrust<logging_cpp, sys::cpp>;
    template <class S>
    static void to_host(mr::index n, const S* src, S* dst) {
        transfers.note(transfers.to_host, n);
        base::to_host(n, src, dst);
    }
    template <class S>
    static void to_device(mr::index n, const S* src, S* dst) {
        transfers.note(transfers.to_device, n);
        base::to_device(n, src, dst);
    }
};

}  // namespace

TEST_CASE("thrust: meta-training copies nothing between host and device but scalars") {
    namespace meta = mr::meta;
    using net = cross::recommender<float, logging_cpp>;
    const auto data = cross::tasks_on<float, logging_cpp>(cross::recommender_shape, 8, 6, 5, 3);
    const auto tasks = meta::views(data);
    meta::melu_maml<net, mr::loss::mse> melu{net{cross::recommender_shape, 1},
                                             {.inner_lr = 0.1, .inner_steps = 2, .meta_batch = 4}};
    transfers.to_host = transfers.to_device = transfers.largest = 0;
    melu.fit(tasks, {.epochs = 3});
    CHECK(melu.steps() == 6);
    CHECK(transfers.to_device == 0);
    CHECK(transfers.largest <= 1);  // the bag offsets an embedding layer checks
    CHECK(transfers.to_host > 0);
    // what copies on purpose: evaluation and snapshots
    transfers.largest = 0;
    (void)melu.snapshot();
    CHECK(transfers.largest == melu.meta_parameter_count());
}
