// metarec: the CRTP base of every device policy, with the generic device operations.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "../config.hpp"

/// @namespace metarec::device
/// Device policies: stateless tag types whose static operations (GEMM, BLAS-1, embedding
/// gather/scatter, transfers) every layer, loss and optimizer calls; device::cpu (Eigen),
/// device::thrust<System> (Thrust on the host or a GPU) and device::cuda.
namespace metarec::device {

namespace detail {

// Kernel functors for the generic operations. They are named structs, not lambdas, so
// that a device system that needs __device__ code (CUDA) can run them unchanged.

template <class S>
struct fill_kernel {
    S* x;
    S value;
    METAREC_HOST_DEVICE void operator()(index i) const { x[i] = value; }
};

template <class S>
struct copy_kernel {
    const S* x;
    S* y;
    METAREC_HOST_DEVICE void operator()(index i) const { y[i] = x[i]; }
};

template <class S>
struct axpy_kernel {
    S alpha;
    const S* x;
    S* y;
    METAREC_HOST_DEVICE void operator()(index i) const { y[i] += alpha * x[i]; }
};

template <class S>
struct scal_kernel {
    S alpha;
    S* x;
    METAREC_HOST_DEVICE void operator()(index i) const { x[i] *= alpha; }
};

template <class S>
struct dot_kernel {
    const S* x;
    const S* y;
    METAREC_HOST_DEVICE S operator()(index i) const { return x[i] * y[i]; }
};

// out[:, s] = sum over the ids of segment s of w * table_t[:, id]; w = 1 or 1/length (mean),
// for the segments s of task t, [t segments, (t+1) segments), and its table table_t = table +
// t stride (one task: t = 0). One (feature, task) per iteration, so that no two iterations
// write the same element.
template <class S>
struct gather_sum_kernel {
    index dim, segments;     // segments per task
    const id_type* offsets;  // tasks segments + 1 entries, or null: segment s is the single id s
    const id_type* ids;
    bool mean;
    const S* table;
    index stride;
    S* out;
    index ldo;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index d = i % dim, t = i / dim;
        const S* tt = table + t * stride;
        for (index s = t * segments; s < (t + 1) * segments; ++s) {
            const index begin = offsets ? offsets[s] : s;
            const index end = offsets ? offsets[s + 1] : s + 1;
            S acc = S(0);
            for (index k = begin; k < end; ++k) acc += tt[index(ids[k]) * dim + d];
            if (mean && end > begin) acc /= S(end - begin);
            out[s * ldo + d] = acc;
        }
    }
};

// The adjoint of gather_sum: table_t[:, id] += w * src[:, s] for every id of segment s of
// task t. The tasks' tables are disjoint (stride >= the table's size): no two iterations
// write the same element.
template <class S>
struct scatter_add_kernel {
    index dim, segments;
    const id_type* offsets;
    const id_type* ids;
    bool mean;
    const S* src;
    index lds;
    S* table;
    index stride;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index d = i % dim, t = i / dim;
        S* tt = table + t * stride;
        for (index s = t * segments; s < (t + 1) * segments; ++s) {
            const index begin = offsets ? offsets[s] : s;
            const index end = offsets ? offsets[s + 1] : s + 1;
            if (end == begin) continue;
            const S w = mean ? S(1) / S(end - begin) : S(1);
            for (index k = begin; k < end; ++k) tt[index(ids[k]) * dim + d] += w * src[s * lds + d];
        }
    }
};

template <class S>
struct add_to_columns_kernel {
    index rows;
    const S* b;
    S* y;
    METAREC_HOST_DEVICE void operator()(index i) const { y[i] += b[i % rows]; }
};

template <class S>
struct sum_columns_kernel {
    index rows, cols;
    const S* y;
    S* b;
    METAREC_HOST_DEVICE void operator()(index r) const {
        S acc = S(0);
        for (index j = 0; j < cols; ++j) acc += y[j * rows + r];
        b[r] += acc;
    }
};

// f(i, t) for every task t of element i: the generic for_each_task
template <class F>
struct for_each_task_kernel {
    F f;
    index tasks;
    METAREC_HOST_DEVICE void operator()(index i) const {
        for (index t = 0; t < tasks; ++t) f(i, t);
    }
};

// y_t[:, j] += b_t for the count matrices y_t (rows x cols, one after another) and the
// columns b_t = b + t stride
template <class S>
struct add_to_columns_batched_kernel {
    index rows, cols;
    const S* b;
    index stride;
    S* y;
    METAREC_HOST_DEVICE void operator()(index i) const { y[i] += b[(i / (rows * cols)) * stride + i % rows]; }
};

// b_t += sum_j y_t[:, j], one (task, row) per iteration
template <class S>
struct sum_columns_batched_kernel {
    index rows, cols;
    const S* y;
    S* b;
    index stride;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index t = i / rows, r = i % rows;
        const S* yt = y + t * rows * cols;
        S acc = S(0);
        for (index j = 0; j < cols; ++j) acc += yt[j * rows + r];
        b[t * stride + r] += acc;
    }
};

// counts entries that are NaN or infinite
template <class S>
struct count_non_finite_kernel {
    const S* x;
    METAREC_HOST_DEVICE index operator()(index i) const {
        const S v = x[i];
        return (v != v || v - v != S(0)) ? 1 : 0;
    }
};

template <class S>
struct copy_block_kernel {
    index rows;
    const S* src;
    index lds;
    S* dst;
    index ldd;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index r = i % rows, c = i / rows;
        dst[c * ldd + r] = src[c * lds + r];
    }
};

}  // namespace detail

/// CRTP base of the device policies (the Thrust idea of `execution_policy<Derived>`).
///
/// A device policy is a stateless tag type. Layers, losses, optimizers and meta-algorithms
/// call its operations as static members, `Device::gemm(...)`, so they are written once for
/// every device. A concrete policy must provide the primitives
///
///  - `template <class S> using vector`: an owning contiguous buffer with `data()`,
///    `size()`, and a constructor from a size (contents unspecified);
///  - `for_each(n, f)`: calls `f(i)` for every `i` in `[0, n)`, in any order;
///  - `reduce(n, f)`: returns the sum of `f(i)` over `[0, n)` (type of `f`'s result);
///  - `gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)`: column-major
///    `C = alpha op(A) op(B) + beta C` (when `beta == 0`, C is not read);
///  - `to_host(n, src, dst)` / `to_device(n, src, dst)`: explicit transfers.
///
/// Everything else has a generic definition here, built on `for_each` and `reduce`, that a
/// policy may hide with a faster one (device::cpu hides the BLAS-1 ones with Eigen). To
/// change one kernel, derive from a policy's `basic_` template and declare that member:
/// @code
/// struct my_cpu : metarec::device::basic_cpu<my_cpu> {
///     template <class S> static void axpy(metarec::index n, S a, const S* x, S* y) { /*...*/ }
/// };
/// @endcode
/// @tparam Derived the concrete policy; its members take precedence over these defaults.
template <class Derived>
struct execution_policy {
    //! whether the host may dereference the policy's pointers (a GPU policy says false; then
    //! nothing on the host reads device memory but through to_host)
    static constexpr bool host_memory = true;

    //! x[i] = value
    template <class S>
    static void fill(index n, S value, S* x) {
        Derived::for_each(n, detail::fill_kernel<S>{x, value});
    }
    //! y[i] = x[i]
    template <class S>
    static void copy(index n, const S* x, S* y) {
        Derived::for_each(n, detail::copy_kernel<S>{x, y});
    }
    //! y += alpha x
    template <class S>
    static void axpy(index n, S alpha, const S* x, S* y) {
        Derived::for_each(n, detail::axpy_kernel<S>{alpha, x, y});
    }
    //! x *= alpha
    template <class S>
    static void scal(index n, S alpha, S* x) {
        Derived::for_each(n, detail::scal_kernel<S>{alpha, x});
    }
    //! sum_i x[i] y[i]
    template <class S>
    static S dot(index n, const S* x, const S* y) {
        return Derived::reduce(n, detail::dot_kernel<S>{x, y});
    }

    /// Embedding lookup with pooling: `out[:, s] = w_s * sum_{i in segment s} table[:, ids[i]]`
    /// where segment s is `[offsets[s], offsets[s+1])` (or the single id `s` when `offsets` is
    /// null), `w_s = 1 / |segment|` when `mean`, else 1. `table` is `dim x vocabulary`,
    /// `out` is `dim x segments` with leading dimension `ldo >= dim` (rows of a taller matrix),
    /// both column-major. An empty segment gives zeros.
    template <class S>
    static void gather_sum(index dim, index segments, const id_type* offsets, const id_type* ids,
                           bool mean, const S* table, S* out, index ldo) {
        Derived::for_each(dim, detail::gather_sum_kernel<S>{dim, segments, offsets, ids, mean, table, 0, out, ldo});
    }

    /// Adjoint of gather_sum: `table[:, ids[i]] += w_s src[:, s]` for every i of segment s
    /// (`src` with leading dimension `lds`); rows that no id names are untouched (sparse
    /// embedding gradient).
    template <class S>
    static void scatter_add(index dim, index segments, const id_type* offsets, const id_type* ids,
                            bool mean, const S* src, index lds, S* table) {
        Derived::for_each(dim, detail::scatter_add_kernel<S>{dim, segments, offsets, ids, mean, src, lds, table, 0});
    }

    //! y[:, j] += b for every column j of the rows x cols matrix y (bias broadcast)
    template <class S>
    static void add_to_columns(index rows, index cols, const S* b, S* y) {
        Derived::for_each(rows * cols, detail::add_to_columns_kernel<S>{rows, b, y});
    }
    //! b += sum_j y[:, j] (bias gradient)
    template <class S>
    static void sum_columns(index rows, index cols, const S* y, S* b) {
        Derived::for_each(rows, detail::sum_columns_kernel<S>{rows, cols, y, b});
    }
    /// @{
    /// @brief The batched operations: one call for the `count` tasks of a meta-batch, each with
    /// its own matrices at a fixed stride (the layers' task-batched passes, layer.hpp).
    ///
    /// `gemm_batched`: `C_t = alpha op(A_t) op(B_t) + beta C_t` for t in [0, count), where
    /// `A_t = a + t stride_a` (likewise B_t, C_t); a stride of 0 gives every product the same
    /// matrix. Generic: one gemm() per product. device::thrust runs the batch as one kernel,
    /// device::cuda as cuBLAS's gemmStridedBatched (one launch instead of count).
    template <class S>
    static void gemm_batched(transpose ta, transpose tb, index m, index n, index k, S alpha, const S* a, index lda,
                             index stride_a, const S* b, index ldb, index stride_b, S beta, S* c, index ldc,
                             index stride_c, index count) {
        for (index t = 0; t < count; ++t)
            Derived::gemm(ta, tb, m, n, k, alpha, a + t * stride_a, lda, b + t * stride_b, ldb, beta, c + t * stride_c, ldc);
    }
    //! calls `f(i, t)` for every element i in [0, n) of every task t in [0, tasks), in any
    //! order: the element-wise kernels of a task-batched step. Generic: one for_each over the
    //! elements with the tasks inside (neighbouring iterations touch neighbouring elements,
    //! which a GPU coalesces; no division of an index into task and element)
    template <class F>
    static void for_each_task(index n, index tasks, F f) {
        Derived::for_each(n, detail::for_each_task_kernel<F>{f, tasks});
    }
    //! `y_t[:, j] += b_t` where `y_t = y + t rows cols` (the tasks' `rows x cols` matrices one
    //! after another) and `b_t = b + t stride`: the bias broadcast of count tasks, one kernel
    template <class S>
    static void add_to_columns_batched(index rows, index cols, index count, const S* b, index stride, S* y) {
        Derived::for_each(rows * cols * count, detail::add_to_columns_batched_kernel<S>{rows, cols, b, stride, y});
    }
    //! `b_t += sum_j y_t[:, j]`, the adjoint of add_to_columns_batched (bias gradients), one kernel
    template <class S>
    static void sum_columns_batched(index rows, index cols, index count, const S* y, S* b, index stride) {
        Derived::for_each(rows * count, detail::sum_columns_batched_kernel<S>{rows, cols, y, b, stride});
    }
    //! gather_sum for `tasks` tasks of `segments` segments each, task t's table at `table + t
    //! stride`: the segments of task t are `[t segments, (t+1) segments)` of `offsets` (which
    //! index the one `ids` array of all tasks) and of `out`. One kernel over (feature, task).
    template <class S>
    static void gather_sum_batched(index dim, index segments, index tasks, const id_type* offsets, const id_type* ids,
                                   bool mean, const S* table, index stride, S* out, index ldo) {
        Derived::for_each(dim * tasks,
                          detail::gather_sum_kernel<S>{dim, segments, offsets, ids, mean, table, stride, out, ldo});
    }
    //! the adjoint of gather_sum_batched: scatter_add of task t's segments into `table + t stride`
    template <class S>
    static void scatter_add_batched(index dim, index segments, index tasks, const id_type* offsets,
                                    const id_type* ids, bool mean, const S* src, index lds, S* table, index stride) {
        Derived::for_each(dim * tasks,
                          detail::scatter_add_kernel<S>{dim, segments, offsets, ids, mean, src, lds, table, stride});
    }
    /// @}
    //! dst(0:rows, 0:cols) = src(0:rows, 0:cols), both column-major with leading dimensions
    template <class S>
    static void copy_block(index rows, index cols, const S* src, index lds, S* dst, index ldd) {
        Derived::for_each(rows * cols, detail::copy_block_kernel<S>{rows, src, lds, dst, ldd});
    }
    //! true when no entry of x is NaN or infinite
    template <class S>
    static bool all_finite(index n, const S* x) {
        return Derived::reduce(n, detail::count_non_finite_kernel<S>{x}) == 0;
    }
};

}  // namespace metarec::device
