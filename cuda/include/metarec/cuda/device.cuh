// metarec: device::thrust<system::cuda>, the Thrust device policy on a CUDA GPU (cuBLAS
// for the matrix products, Thrust kernels for everything else).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#if !defined(__CUDACC__)
#error "metarec/cuda/device.cuh is CUDA code: compile it with nvcc (CMake: link metarec::cuda)"
#endif

#include <stdexcept>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system/cuda/vector.h>

#include <metarec/device/thrust.hpp>

namespace metarec::device {

namespace detail {

inline void cuda_check(cudaError_t status, const char* what) {
    if (status != cudaSuccess)
        throw std::runtime_error(std::string("metarec: CUDA: ") + what + ": " + cudaGetErrorString(status));
}

inline void cublas_check(cublasStatus_t status, const char* what) {
    if (status != CUBLAS_STATUS_SUCCESS)
        throw std::runtime_error(std::string("metarec: cuBLAS: ") + what + " failed with status " +
                                 std::to_string(int(status)));
}

/// The calling thread's cuBLAS handle, on the thread's default stream (metarec::cuda
/// compiles with `--default-stream per-thread`: the worker threads of a meta-batch run
/// their tasks on streams of their own, concurrently). Created on first use.
inline cublasHandle_t cublas_handle() {
    struct owner {
        cublasHandle_t handle = nullptr;
        owner() {
            cublas_check(cublasCreate(&handle), "cublasCreate");
            cublas_check(cublasSetStream(handle, cudaStreamPerThread), "cublasSetStream");
        }
        ~owner() { cublasDestroy(handle); }
    };
    thread_local owner mine;
    return mine.handle;
}

inline cublasOperation_t cublas_op(transpose t) { return t == transpose::no ? CUBLAS_OP_N : CUBLAS_OP_T; }

template <class T>
using thrust_cuda_vector = ::thrust::cuda::vector<T>;

/// system::cuda: device memory, explicit cudaMemcpy transfers, cuBLAS GEMM.
template <>
struct thrust_system<system::cuda> {
    using tag = ::thrust::system::cuda::tag;
    template <class T>
    using vector = thrust_cuda_vector<T>;
    static constexpr bool host_memory = false;

    template <class S>
    static void to_host(index n, const S* src, S* dst) {
        cuda_check(cudaMemcpy(dst, src, sizeof(S) * std::size_t(n), cudaMemcpyDeviceToHost), "copy to the host");
    }
    template <class S>
    static void to_device(index n, const S* src, S* dst) {
        cuda_check(cudaMemcpy(dst, src, sizeof(S) * std::size_t(n), cudaMemcpyHostToDevice), "copy to the device");
    }

    // column-major C = alpha op(A) op(B) + beta C, as cuBLAS (beta == 0: C is not read)
    static void gemm(transpose ta, transpose tb, index m, index n, index k, float alpha, const float* a, index lda,
                     const float* b, index ldb, float beta, float* c, index ldc) {
        if (m == 0 || n == 0) return;
        cublas_check(cublasSgemm(cublas_handle(), cublas_op(ta), cublas_op(tb), int(m), int(n), int(k), &alpha, a,
                                 int(lda), b, int(ldb), &beta, c, int(ldc)),
                     "cublasSgemm");
    }
    static void gemm(transpose ta, transpose tb, index m, index n, index k, double alpha, const double* a, index lda,
                     const double* b, index ldb, double beta, double* c, index ldc) {
        if (m == 0 || n == 0) return;
        cublas_check(cublasDgemm(cublas_handle(), cublas_op(ta), cublas_op(tb), int(m), int(n), int(k), &alpha, a,
                                 int(lda), b, int(ldb), &beta, c, int(ldc)),
                     "cublasDgemm");
    }

    // C_t = alpha op(A_t) op(B_t) + beta C_t for count products at fixed strides: one launch
    static void gemm_batched(transpose ta, transpose tb, index m, index n, index k, float alpha, const float* a,
                             index lda, index stride_a, const float* b, index ldb, index stride_b, float beta, float* c,
                             index ldc, index stride_c, index count) {
        if (m == 0 || n == 0 || count == 0) return;
        cublas_check(cublasSgemmStridedBatched(cublas_handle(), cublas_op(ta), cublas_op(tb), int(m), int(n), int(k),
                                               &alpha, a, int(lda), (long long)stride_a, b, int(ldb),
                                               (long long)stride_b, &beta, c, int(ldc), (long long)stride_c, int(count)),
                     "cublasSgemmStridedBatched");
    }
    static void gemm_batched(transpose ta, transpose tb, index m, index n, index k, double alpha, const double* a,
                             index lda, index stride_a, const double* b, index ldb, index stride_b, double beta,
                             double* c, index ldc, index stride_c, index count) {
        if (m == 0 || n == 0 || count == 0) return;
        cublas_check(cublasDgemmStridedBatched(cublas_handle(), cublas_op(ta), cublas_op(tb), int(m), int(n), int(k),
                                               &alpha, a, int(lda), (long long)stride_a, b, int(ldb),
                                               (long long)stride_b, &beta, c, int(ldc), (long long)stride_c, int(count)),
                     "cublasDgemmStridedBatched");
    }
};

}  // namespace detail

/// The CUDA device policy: `nn::model<Spec, float, device::cuda>`.
using cuda = thrust<system::cuda>;

/// Number of CUDA GPUs this process sees (0 without a driver or a GPU; never throws).
inline int cuda_device_count() noexcept {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();  // clear the sticky error
        return 0;
    }
    return count;
}

}  // namespace metarec::device
