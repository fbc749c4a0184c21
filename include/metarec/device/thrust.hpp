// metarec: device::thrust<System>, the device policy on Thrust (sequential C++, OpenMP,
// TBB on the CPU; CUDA on a GPU through the cuda/ component).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include <thrust/for_each.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cpp/execution_policy.h>
#include <thrust/system/cpp/vector.h>
#include <thrust/transform_reduce.h>

#if defined(_OPENMP)
#include <thrust/system/omp/execution_policy.h>
#include <thrust/system/omp/vector.h>
#endif
#if defined(METAREC_HAS_TBB)
#include <thrust/system/tbb/execution_policy.h>
#include <thrust/system/tbb/vector.h>
#endif

#include "execution_policy.hpp"

namespace metarec::device {

/// The Thrust systems, the `System` argument of device::thrust<System>.
namespace system {
struct cpp {};   //!< sequential C++ on the calling thread (always available)
struct omp {};   //!< OpenMP threads: compile with OpenMP (link the target metarec::omp)
struct tbb {};   //!< oneTBB: link the target metarec::tbb
struct cuda {};  //!< a CUDA GPU: include <metarec/cuda/device.cuh>, compile with nvcc (metarec::cuda)
}  // namespace system

namespace detail {

template <class>
inline constexpr bool unsupported_system = false;

/// What device::thrust needs to know of a Thrust system: `tag` (its Thrust execution
/// policy), `vector<T>` (its owning container), `host_memory` (whether the host may read
/// its pointers), `to_host` / `to_device`; optionally a `gemm` that replaces the generic
/// kernel (cuBLAS on CUDA). Specialized below for the host systems and in
/// <metarec/cuda/device.cuh> for CUDA.
template <class System>
struct thrust_system {
    static_assert(unsupported_system<System>,
                  "metarec: this Thrust system is not available in this translation unit: system::omp needs "
                  "OpenMP (link metarec::omp), system::tbb needs oneTBB (link metarec::tbb), system::cuda needs "
                  "<metarec/cuda/device.cuh> compiled by nvcc (link metarec::cuda)");
};

// The host systems: memory is ordinary host memory, transfers are copies.
template <class Tag, template <class> class Vector>
struct thrust_host_system {
    using tag = Tag;
    template <class T>
    using vector = Vector<T>;
    static constexpr bool host_memory = true;
    template <class S>
    static void to_host(index n, const S* src, S* dst) {
        std::memcpy(dst, src, sizeof(S) * std::size_t(n));
    }
    template <class S>
    static void to_device(index n, const S* src, S* dst) {
        std::memcpy(dst, src, sizeof(S) * std::size_t(n));
    }
};

template <class T>
using thrust_cpp_vector = ::thrust::cpp::vector<T>;
template <>
struct thrust_system<system::cpp> : thrust_host_system<::thrust::system::cpp::tag, thrust_cpp_vector> {};

#if defined(_OPENMP)
template <class T>
using thrust_omp_vector = ::thrust::omp::vector<T>;
template <>
struct thrust_system<system::omp> : thrust_host_system<::thrust::system::omp::tag, thrust_omp_vector> {};
#endif

#if defined(METAREC_HAS_TBB)
template <class T>
using thrust_tbb_vector = ::thrust::tbb::vector<T>;
template <>
struct thrust_system<system::tbb> : thrust_host_system<::thrust::system::tbb::tag, thrust_tbb_vector> {};
#endif

/// A Thrust container seen as a device buffer: `data()` is a raw pointer into the system's
/// memory (what kernels take), `size()` is signed. Contents are value-initialized.
template <class T, class Container>
class thrust_buffer {
public:
    using value_type = T;
    thrust_buffer() = default;
    explicit thrust_buffer(index n) : storage_(static_cast<std::size_t>(n)) {}

    T* data() noexcept { return ::thrust::raw_pointer_cast(storage_.data()); }
    const T* data() const noexcept { return ::thrust::raw_pointer_cast(storage_.data()); }
    index size() const noexcept { return index(storage_.size()); }

private:
    Container storage_;
};

// C_t(i, j) = alpha sum_l op(A_t)(i, l) op(B_t)(l, j) + beta C_t(i, j) with A_t = a + t sa
// (likewise B_t, C_t), one output element of one product per iteration: the generic gemm
// and gemm_batched of the Thrust systems (column-major, as BLAS; gemm is the batch of one).
template <class S>
struct thrust_gemm_kernel {
    bool ta, tb;
    index m, n, k;
    S alpha;
    const S* a;
    index lda, sa;
    const S* b;
    index ldb, sb;
    S beta;
    S* c;
    index ldc, sc;
    METAREC_HOST_DEVICE void operator()(index e) const {
        const index t = e / (m * n), i = e % m, j = (e / m) % n;
        const S* at = a + t * sa;
        const S* bt = b + t * sb;
        S acc = S(0);
        for (index l = 0; l < k; ++l)
            acc += (ta ? at[i * lda + l] : at[l * lda + i]) * (tb ? bt[l * ldb + j] : bt[j * ldb + l]);
        S& out = c[t * sc + j * ldc + i];
        out = beta == S(0) ? alpha * acc : alpha * acc + beta * out;
    }
};

}  // namespace detail

/// Device operations on a Thrust system (the CRTP base: derive from `basic_thrust<Mine,
/// System>` to replace one operation, as with basic_cpu). `for_each` and `reduce` are
/// `thrust::for_each_n` and `thrust::transform_reduce` over a counting iterator, with the
/// system's execution policy; every other operation is execution_policy's generic kernel
/// on top of them, except `gemm` where the system brings its own (cuBLAS on CUDA).
///
/// With system::omp and system::tbb, every operation of at least `serial_below` units of
/// work is parallel across the system's threads; a reduction's summation order then depends
/// on the thread count (results agree with device::cpu to rounding, not bit for bit). Meta-algorithms' `threads` option adds
/// threads over tasks on top: keep it at 1 with these systems, or cap OMP_NUM_THREADS.
/// @tparam Derived the concrete policy
/// @tparam System  system::cpp, system::omp, system::tbb or system::cuda
template <class Derived, class System>
struct basic_thrust : execution_policy<Derived> {
    using system_type = System;  //!< the Thrust system (system::cpp, omp, tbb or cuda)
    //! whether the host may dereference the policy's pointers (false on a GPU)
    static constexpr bool host_memory = detail::thrust_system<System>::host_memory;

    //! Owning buffer of the system's memory (host or GPU), value-initialized; `data()` is a raw pointer.
    template <class S>
    using vector = detail::thrust_buffer<S, typename detail::thrust_system<System>::template vector<S>>;

    /// On the host systems, a loop of fewer than this many iterations (of unit work) runs on
    /// the calling thread: forking OpenMP or TBB threads costs microseconds, more than the
    /// small element-wise kernels of a few-shot task take (measured in bench_thrust).
    static constexpr index serial_below = host_memory ? 16384 : 0;

    //! calls f(i) for every i in [0, n), in any order: `thrust::for_each_n` on the system
    //! (on the calling thread below serial_below iterations)
    template <class F>
    static void for_each(index n, F f) {
        for_each_weighted(n, 1, f);
    }

    //! sum of f(i) over [0, n) (the type of f's result): `thrust::transform_reduce` on the
    //! system (a serial loop below serial_below iterations)
    template <class F>
    static auto reduce(index n, F f) {
        using R = decltype(f(index{}));
        if (n <= 0) return R(0);
        if constexpr (host_memory) {
            if (n < serial_below) {
                R acc = R(0);
                for (index i = 0; i < n; ++i) acc += f(i);
                return acc;
            }
        }
        return ::thrust::transform_reduce(policy(), ::thrust::counting_iterator<index>(0),
                                          ::thrust::counting_iterator<index>(n), f, R(0), ::thrust::plus<R>());
    }

    //! `f(i, t)` for every element i of every task t (execution_policy's kernel), with the
    //! serial threshold counting all `n tasks` units of work
    template <class F>
    static void for_each_task(index n, index tasks, F f) {
        for_each_weighted(n, tasks, detail::for_each_task_kernel<F>{f, tasks});
    }

    //! column-major `C = alpha op(A) op(B) + beta C` (when `beta == 0`, C is not read): the
    //! system's own GEMM (cuBLAS on CUDA) or a generic kernel with one output element per iteration
    template <class S>
    static void gemm(transpose ta, transpose tb, index m, index n, index k, S alpha, const S* a, index lda,
                     const S* b, index ldb, S beta, S* c, index ldc) {
        using traits = detail::thrust_system<System>;
        if constexpr (requires { traits::gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); })
            traits::gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else
            for_each_weighted(m * n, k, detail::thrust_gemm_kernel<S>{ta == transpose::yes, tb == transpose::yes, m, n, k,
                                                                      alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0});
    }

    //! `C_t = alpha op(A_t) op(B_t) + beta C_t` for t in [0, count), `A_t = a + t stride_a`
    //! (likewise B_t, C_t; see execution_policy): the system's own batched GEMM (cuBLAS's
    //! gemmStridedBatched on CUDA), or the generic kernel over every output element of
    //! every product: one launch either way.
    template <class S>
    static void gemm_batched(transpose ta, transpose tb, index m, index n, index k, S alpha, const S* a, index lda,
                             index stride_a, const S* b, index ldb, index stride_b, S beta, S* c, index ldc,
                             index stride_c, index count) {
        using traits = detail::thrust_system<System>;
        if constexpr (requires {
                          traits::gemm_batched(ta, tb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc,
                                               stride_c, count);
                      })
            traits::gemm_batched(ta, tb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c,
                                 count);
        else
            for_each_weighted(m * n * count, k,
                              detail::thrust_gemm_kernel<S>{ta == transpose::yes, tb == transpose::yes, m, n, k, alpha, a,
                                                            lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c});
    }

    //! copies n values from the system's memory to host memory (cudaMemcpy on CUDA)
    template <class S>
    static void to_host(index n, const S* src, S* dst) {
        if (n > 0) detail::thrust_system<System>::to_host(n, src, dst);
    }
    //! copies n values from host memory to the system's memory (cudaMemcpy on CUDA)
    template <class S>
    static void to_device(index n, const S* src, S* dst) {
        if (n > 0) detail::thrust_system<System>::to_device(n, src, dst);
    }

    //! the Thrust execution policy of the system (its tag)
    static constexpr auto policy() { return typename detail::thrust_system<System>::tag{}; }

private:
    // for_each of n iterations of `work` units each: on the calling thread when small
    template <class F>
    static void for_each_weighted(index n, index work, F f) {
        if (n <= 0) return;
        if constexpr (host_memory) {
            if (n * std::max(work, index(1)) < serial_below) {
                for (index i = 0; i < n; ++i) f(i);
                return;
            }
        }
        ::thrust::for_each_n(policy(), ::thrust::counting_iterator<index>(0), n, f);
    }
};

/// The Thrust device policy of a system: `device::thrust<device::system::omp>`.
template <class System>
struct thrust : basic_thrust<thrust<System>, System> {};

}  // namespace metarec::device
