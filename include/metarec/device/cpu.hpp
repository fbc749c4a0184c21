// metarec: the CPU device policy, on Eigen.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstring>
#include <utility>

#include <Eigen/Core>

#include "execution_policy.hpp"

namespace metarec::device {

namespace detail {

// Eigen's packet types are SIMD vectors whose alignment attributes a template argument drops
// (harmlessly: they are loaded and stored unaligned here); GCC warns of it, as Eigen's own
// headers silence for themselves.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

//! the number of S in one SIMD packet (1: not vectorized)
template <class S>
inline constexpr index packet_size = Eigen::internal::unpacket_traits<typename Eigen::internal::packet_traits<S>::type>::size;

/// `C = A op(B)` (`Accumulate`: `C += A op(B)`) for a right operand of `Columns` columns, A
/// `m x k` with m a multiple of the SIMD packet and not transposed, `op(B)(p, j) = b[p sp + j sj]`
/// (B as it is, `sp = 1, sj = ldb`, or transposed, `sp = ldb, sj = 1`): A streamed column by
/// column, two packets of rows at a time (one for a last odd packet), each multiplied by
/// broadcasts of op(B)'s entries into Packets x Columns accumulators. No operand is packed
/// (Eigen's GEMM packs both, which at 10 samples costs about as much as the product). Each
/// element is summed from zero over the depth in order by the packet multiply-add, then added
/// to C: Eigen's kernel's sums, bit for bit, wherever its depth block holds k and its kernel
/// takes the rows in blocks of 2 or 3 packets (a lone last packet it sums in two halves: there
/// the results differ in the last bits).
template <int Columns, bool Accumulate, class S>
void streaming_gemm(index m, index k, const S* a, index lda, const S* b, index sp, index sj, S* c, index ldc) {
    namespace ei = Eigen::internal;
    using packet = typename ei::packet_traits<S>::type;
    constexpr index size = packet_size<S>;
    // rows [i, i + Packets size) of C
    const auto rows = [&]<int Packets>(index i) {
        packet sum[Packets][Columns];
        for (auto& r : sum)
            for (auto& v : r) v = ei::pset1<packet>(S(0));
        for (index p = 0; p < k; ++p) {
            packet column[Packets];
            for (int r = 0; r < Packets; ++r) column[r] = ei::ploadu<packet>(a + i + r * size + p * lda);
            for (int j = 0; j < Columns; ++j) {
                const packet bj = ei::pset1<packet>(b[p * sp + j * sj]);
                for (int r = 0; r < Packets; ++r) sum[r][j] = ei::pmadd(column[r], bj, sum[r][j]);
            }
        }
        for (int r = 0; r < Packets; ++r)
            for (int j = 0; j < Columns; ++j) {
                S* out = c + i + r * size + j * ldc;
                ei::pstoreu(out, Accumulate ? ei::padd(sum[r][j], ei::ploadu<packet>(out)) : sum[r][j]);
            }
    };
    index i = 0;
    for (; i + 2 * size <= m; i += 2 * size) rows.template operator()<2>(i);
    if (i < m) rows.template operator()<1>(i);
}

/// streaming_gemm over n >= 2 columns: in one block where n <= 12 (a task's samples, depth up
/// to 256), else in blocks of 6 (12 accumulators: the multiply-adds' latency covered) where the
/// depth is at most 16, so that A stays in the L1 cache from block to block (a weight
/// gradient `dY X^T`, summed over a task's samples). False where neither holds, and for one
/// column (Eigen's product is then a matrix-vector product, with other sums).
template <class S>
bool streaming_gemm(index m, index n, index k, const S* a, index lda, const S* b, index sp, index sj, bool accumulate,
                    S* c, index ldc) {
    if (n < 2 || k > (n <= 12 ? 256 : 16)) return false;
    const auto block = [&]<int... J>(index columns, index first, std::integer_sequence<int, J...>) {
        ((columns == J + 1 ? (accumulate ? streaming_gemm<J + 1, true>(m, k, a, lda, b + first * sj, sp, sj, c + first * ldc, ldc)
                                         : streaming_gemm<J + 1, false>(m, k, a, lda, b + first * sj, sp, sj, c + first * ldc, ldc),
                              0)
                           : 0),
         ...);
    };
    if (n <= 12) {
        block(n, 0, std::make_integer_sequence<int, 12>{});
        return true;
    }
    index first = 0;
    for (; first + 6 <= n; first += 6) block(6, first, std::make_integer_sequence<int, 6>{});
    if (first < n) block(n - first, first, std::make_integer_sequence<int, 6>{});
    return true;
}

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/// Column-major `C = alpha op(A) op(B) + beta C` through Eigen's GEMM (device::cpu's gemm; when
/// `beta == 0`, C is not read). A function template that is not inline, so that a program may
/// compile it once (METAREC_EXTERN_GEMM below).
template <class S>
void eigen_gemm(transpose ta, transpose tb, index m, index n, index k, S alpha, const S* a, index lda, const S* b,
                index ldb, S beta, S* c, index ldc) {
    using matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
    using stride = Eigen::OuterStride<>;
    Eigen::Map<matrix, 0, stride> C(c, m, n, stride(ldc));
    if (k == 1) {
        // C = alpha a b^T + beta C, a rank-one update (a one-output layer's input gradient, the
        // weight gradient of rows shared by a batch): column by column, since Eigen's GEMM packs
        // both operands first (docs/performance.md, "Small products")
        using column = Eigen::Matrix<S, Eigen::Dynamic, 1>;
        const Eigen::Map<const column, 0, Eigen::InnerStride<>> av(a, m, Eigen::InnerStride<>(ta == transpose::no ? 1 : lda));
        const index sb = tb == transpose::no ? ldb : 1;  // b_j = op(B)(0, j)
        // alpha (a_i b_j), rounded as Eigen's GEMM rounds it (the same results at k = 1)
        for (index j = 0; j < n; ++j) {
            const S bj = b[j * sb];
            if (beta == S(0)) C.col(j) = alpha * (av * bj);
            else if (beta == S(1)) C.col(j) += alpha * (av * bj);
            else C.col(j) = beta * C.col(j) + alpha * (av * bj);
        }
        return;
    }
    // a few right-hand columns (a task's samples), or a depth of a few samples (a weight
    // gradient): streamed, unpacked (Eigen's sums where its depth block holds k). With 128- and
    // 256-bit vectors (AVX2: 1.7x Eigen's GEMM at 64 x 128 by 10 columns, and at 64 x 10 by
    // 10 x 256); not with 512-bit ones, where a kernel like it measured no faster than Eigen's
    // (docs/performance.md, "Small products")
    if (ta == transpose::no && alpha == S(1) && (beta == S(0) || beta == S(1)) && packet_size<S> > 1 &&
        packet_size<S> * index(sizeof(S)) <= 32 && m % packet_size<S> == 0 &&
        streaming_gemm(m, n, k, a, lda, b, tb == transpose::no ? 1 : ldb, tb == transpose::no ? ldb : 1, beta == S(1),
                       c, ldc))
        return;
    // alpha as a factor of A (Eigen folds it into the product; `alpha * (A * B)` would
    // evaluate the product into a heap temporary first)
    const auto run = [&](auto& C, const auto& A, const auto& B) {
        if (beta == S(0)) {
            if (alpha == S(1)) C.noalias() = A * B;
            else C.noalias() = (alpha * A) * B;
        } else {
            if (beta != S(1)) C *= beta;
            if (alpha == S(1)) C.noalias() += A * B;
            else C.noalias() += (alpha * A) * B;
        }
    };
    Eigen::Map<const matrix, 0, stride> A(a, ta == transpose::no ? m : k, ta == transpose::no ? k : m, stride(lda));
    Eigen::Map<const matrix, 0, stride> B(b, tb == transpose::no ? k : n, tb == transpose::no ? n : k, stride(ldb));
    const auto product = [&](auto& C, const auto& B) {
        if (ta == transpose::no && tb == transpose::no) run(C, A, B);
        else if (ta == transpose::no) run(C, A, B.transpose());
        else if (tb == transpose::no) run(C, A.transpose(), B);
        else run(C, A.transpose(), B.transpose());
    };
    // Eigen packs op(B)'s k x n block into a buffer on the stack up to EIGEN_STACK_ALLOCATION_LIMIT
    // bytes, on the heap beyond: a wide product (a catalogue scored at serving time) runs in
    // column blocks whose buffer fits the stack, so a request allocates nothing. The results are
    // bit for bit those of one product: Eigen's depth blocking depends on k and the caches
    // alone, and its kernels take columns in groups of 4 (or 8) from each block's start, so
    // blocks that start at multiples of 16 give every column the same path and the same sums;
    // the last block keeps at least 16 columns (a product of one column would be a GEMV).
    const index width = index(EIGEN_STACK_ALLOCATION_LIMIT) / (k * index(sizeof(S))) / 16 * 16;
    if (m > 1 && width >= 32 && n > width) {
        for (index first = 0; first < n;) {
            const index left = n - first, columns = left > width ? std::min(width, (left - 16) / 16 * 16) : left;
            auto Cb = C.middleCols(first, columns);
            if (tb == transpose::no) product(Cb, B.middleCols(first, columns));
            else product(Cb, B.middleRows(first, columns));
            first += columns;
        }
        return;
    }
    product(C, B);
}

}  // namespace detail

//! the declarator of detail::eigen_gemm<S> (explicit instantiations)
#define METAREC_GEMM_SIGNATURE(S)                                                                                \
    void metarec::device::detail::eigen_gemm<S>(metarec::transpose, metarec::transpose, metarec::index,          \
                                                metarec::index, metarec::index, S, const S*, metarec::index,     \
                                                const S*, metarec::index, S, S*, metarec::index)
/// Compile time: Eigen's GEMM kernels are the costliest instantiation in a translation unit that
/// uses metarec on the CPU (docs/performance.md, "Build and test times").
/// With `METAREC_EXTERN_GEMM` defined in every translation unit of a program (e.g.
/// `-DMETAREC_EXTERN_GEMM`) they are extern, and exactly one translation unit compiles them:
/// @code
/// #include <metarec/device/cpu.hpp>
/// METAREC_INSTANTIATE_GEMM()   // float and double
/// @endcode
/// metarec's own programs (tests, examples, benchmarks) are built this way
/// (`metarec_gemm_instances` in its CMakeLists.txt). Nothing changes at run time.
#define METAREC_INSTANTIATE_GEMM()            \
    template METAREC_GEMM_SIGNATURE(float);  \
    template METAREC_GEMM_SIGNATURE(double);

}  // namespace metarec::device

#ifdef METAREC_EXTERN_GEMM
extern template METAREC_GEMM_SIGNATURE(float);
extern template METAREC_GEMM_SIGNATURE(double);
#endif

namespace metarec::device {

/// Device operations on the host CPU, implemented with Eigen (BLAS-3 through Eigen's GEMM,
/// BLAS-1 through Eigen maps, embedding gather / scatter as per-column Eigen segments).
///
/// Every operation runs on the calling thread: meta-algorithms parallelize over tasks, one
/// task per thread, so a kernel never spawns threads of its own. Results depend only on
/// the inputs (fixed summation order).
///
/// @tparam Derived the concrete policy (CRTP); derive from `basic_cpu<Mine>` to override one
///         operation and keep the rest (see execution_policy).
template <class Derived>
struct basic_cpu : execution_policy<Derived> {
    //! Owning, 16-byte aligned, contiguous host buffer.
    template <class S>
    using vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;

    //! the iterations are independent (the device-policy contract: any order, in parallel on
    //! a GPU), which the compiler is told so that it vectorizes kernels over several arrays
    template <class F>
    static void for_each(index n, F f) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#elif defined(__clang__)
#pragma clang loop vectorize(assume_safety)
#endif
        for (index i = 0; i < n; ++i) f(i);
    }

    //! sum of f(i) for i = 0, 1, ..., n-1, in that order (the type of f's result; 0 when n <= 0)
    template <class F>
    static auto reduce(index n, F f) {
        using R = decltype(f(index{}));
        R acc = R(0);
        for (index i = 0; i < n; ++i) acc += f(i);
        return acc;
    }

    //! column-major `C = alpha op(A) op(B) + beta C` (Eigen's GEMM; when `beta == 0`, C is not read)
    template <class S>
    static void gemm(transpose ta, transpose tb, index m, index n, index k, S alpha, const S* a, index lda, const S* b,
                     index ldb, S beta, S* c, index ldc) {
        detail::eigen_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    //! copies n values to host memory (a memcpy: host and device are the same memory)
    template <class S>
    static void to_host(index n, const S* src, S* dst) {
        if (n > 0) std::memcpy(dst, src, sizeof(S) * std::size_t(n));
    }
    //! copies n values from host memory (a memcpy)
    template <class S>
    static void to_device(index n, const S* src, S* dst) {
        if (n > 0) std::memcpy(dst, src, sizeof(S) * std::size_t(n));
    }

    //! x[i] = value
    template <class S>
    static void fill(index n, S value, S* x) {
        map(x, n).setConstant(value);
    }
    //! y[i] = x[i] (a memcpy: x and y must not overlap)
    template <class S>
    static void copy(index n, const S* x, S* y) {
        if (n > 0) std::memcpy(y, x, sizeof(S) * std::size_t(n));
    }
    //! column by column (the generic kernel divides per element)
    template <class S>
    static void copy_block(index rows, index cols, const S* src, index lds, S* dst, index ldd) {
        if (rows == lds && rows == ldd) return copy(rows * cols, src, dst);
        for (index c = 0; c < cols; ++c) copy(rows, src + c * lds, dst + c * ldd);
    }
    //! y += alpha x
    template <class S>
    static void axpy(index n, S alpha, const S* x, S* y) {
        map(y, n) += alpha * map(x, n);
    }
    //! x *= alpha
    template <class S>
    static void scal(index n, S alpha, S* x) {
        map(x, n) *= alpha;
    }
    //! sum(0 * x) is 0 when every entry is finite and NaN otherwise: one vectorized pass
    //! (Eigen's allFinite() tests entry by entry)
    template <class S>
    static bool all_finite(index n, const S* x) {
        return n == 0 || (map(x, n) * S(0)).sum() == S(0);
    }
    //! sum_i x[i] y[i]
    template <class S>
    static S dot(index n, const S* x, const S* y) {
        return map(x, n).dot(map(y, n));
    }

    //! @copydoc metarec::device::execution_policy::gather_sum
    //! Here segment by segment, as plain loops over the column: an embedding column is short
    //! (8 to 64 values), where Eigen's maps of a run-time size cost more than the loop
    //! (docs/performance.md, "Request-time adaptation").
    template <class S>
    static void gather_sum(index dim, index segments, const id_type* offsets, const id_type* ids,
                           bool mean, const S* table, S* out, index ldo) {
        for (index s = 0; s < segments; ++s) {
            const index begin = offsets ? offsets[s] : s, end = offsets ? offsets[s + 1] : s + 1;
            S* o = out + s * ldo;
            if (end == begin) {
                fill(dim, S(0), o);
                continue;
            }
            copy(dim, table + index(ids[begin]) * dim, o);
            for (index i = begin + 1; i < end; ++i) column_add(dim, S(1), table + index(ids[i]) * dim, o);
            if (mean && end - begin > 1) {
                const S count = S(end - begin);
                for_each(dim, [=](index d) { o[d] /= count; });
            }
        }
    }

    //! @copydoc metarec::device::execution_policy::scatter_add
    //! Plain loops over the column, as gather_sum.
    template <class S>
    static void scatter_add(index dim, index segments, const id_type* offsets, const id_type* ids,
                            bool mean, const S* src, index lds, S* table) {
        for (index s = 0; s < segments; ++s) {
            const index begin = offsets ? offsets[s] : s, end = offsets ? offsets[s + 1] : s + 1;
            if (end == begin) continue;
            const S w = mean ? S(1) / S(end - begin) : S(1);
            for (index i = begin; i < end; ++i) column_add(dim, w, src + s * lds, table + index(ids[i]) * dim);
        }
    }

    //! y[:, j] += b for every column j of the rows x cols matrix y (bias broadcast)
    template <class S>
    static void add_to_columns(index rows, index cols, const S* b, S* y) {
        map(y, rows, cols).colwise() += map(b, rows);
    }
    //! b += sum_j y[:, j] (bias gradient)
    template <class S>
    static void sum_columns(index rows, index cols, const S* y, S* b) {
        map(b, rows) += map(y, rows, cols).rowwise().sum();
    }

    //! task after task, each a contiguous loop the compiler vectorizes (the generic order, the
    //! tasks inside, strides across the tasks' vectors: slower on a CPU, docs/performance.md)
    template <class F>
    static void for_each_task(index n, index tasks, F f) {
        for (index t = 0; t < tasks; ++t) for_each(n, [f, t](index i) { f(i, t); });
    }
    //! task by task with the Eigen kernels above (the generic one divides per element)
    template <class S>
    static void add_to_columns_batched(index rows, index cols, index count, const S* b, index stride, S* y) {
        for (index t = 0; t < count; ++t) add_to_columns(rows, cols, b + t * stride, y + t * rows * cols);
    }
    //! task by task with the Eigen kernels above
    template <class S>
    static void sum_columns_batched(index rows, index cols, index count, const S* y, S* b, index stride) {
        for (index t = 0; t < count; ++t) sum_columns(rows, cols, y + t * rows * cols, b + t * stride);
    }
    //! task by task with the gather_sum above (segment s of every task reads the same offsets
    //! and ids arrays; a single-id field's ids move with the task)
    template <class S>
    static void gather_sum_batched(index dim, index segments, index tasks, const id_type* offsets, const id_type* ids,
                                   bool mean, const S* table, index stride, S* out, index ldo) {
        for (index t = 0, first = 0; t < tasks; ++t, first += segments)
            gather_sum(dim, segments, offsets ? offsets + first : nullptr, offsets ? ids : ids + first, mean,
                       table + t * stride, out + first * ldo, ldo);
    }
    //! task by task with the scatter_add above
    template <class S>
    static void scatter_add_batched(index dim, index segments, index tasks, const id_type* offsets,
                                    const id_type* ids, bool mean, const S* src, index lds, S* table, index stride) {
        for (index t = 0, first = 0; t < tasks; ++t, first += segments)
            scatter_add(dim, segments, offsets ? offsets + first : nullptr, offsets ? ids : ids + first, mean,
                        src + first * lds, lds, table + t * stride);
    }

private:
    // y[0, n) += w x[0, n): the inner loop of gather and scatter
    template <class S>
    static void column_add(index n, S w, const S* x, S* y) {
        for_each(n, [=](index d) { y[d] += w * x[d]; });
    }

    template <class S>
    static auto map(S* p, index n) {
        return Eigen::Map<Eigen::Matrix<std::remove_const_t<S>, Eigen::Dynamic, 1>>(const_cast<std::remove_const_t<S>*>(p), n);
    }
    template <class S>
    static auto map(const S* p, index n) {
        return Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, 1>>(p, n);
    }
    template <class S>
    static auto map(S* p, index rows, index cols) {
        return Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>(p, rows, cols);
    }
    template <class S>
    static auto map(const S* p, index rows, index cols) {
        return Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>(p, rows, cols);
    }
};

/// The default device: Eigen on the host CPU.
struct cpu : basic_cpu<cpu> {};

}  // namespace metarec::device
