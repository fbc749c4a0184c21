// metarec: fully connected layer with bias.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "layer.hpp"

namespace metarec::nn {

/// Fully connected layer `y = W x + b`, W of shape `N x in`, b of length N.
///
/// Parameters, at `offset()`: W column-major (`N * in` numbers), then b (`N`). Derivatives
/// (x: `in x n`, columns are samples; V_W, V_b the direction's slices):
///
///     backward:   grad_W += dy x^T      grad_b += sum_j dy_j      dx = W^T dy
///     r_forward:  ry = W rx + V_W x + V_b
///     r_backward: hv_W += rdy x^T + dy rx^T    hv_b += sum_j rdy_j    rdx = W^T rdy + V_W^T dy
///
/// Initialization as PyTorch's nn.Linear: W and b uniform in `[-1/sqrt(in), 1/sqrt(in)]`.
/// As first layer of a model it reads the batch's dense features. Input rows that are the same
/// in every sample (a user's features in a per-user task) enter the products once per batch.
/// @tparam N output features (N >= 1)
template <index N>
struct dense : layer_base {
    static_assert(N >= 1, "metarec: dense<N> needs N >= 1 outputs");
    static constexpr std::string_view name = "dense";  //!< "dense": the name of its parameter slice (meta::adapt_dense_head looks for it)

    //! in = in_rows (std::invalid_argument if none); returns N
    index configure(const input_shape&, index in_rows, index offset) {
        if (in_rows <= 0)
            throw std::invalid_argument("metarec: dense<" + std::to_string(N) +
                                        "> has no input features (the input's dense part is empty)");
        in_rows_ = in_rows;
        out_rows_ = N;
        offset_ = offset;
        return N;
    }
    //! N * in + N: W, then b
    index parameter_count() const noexcept { return N * in_rows_ + N; }

    //! W and b uniform in [-1/sqrt(in), 1/sqrt(in)]
    template <class S>
    void initialize(S* theta, metarec::detail::rng& g) const {
        const double bound = 1.0 / std::sqrt(double(in_rows_));
        for (index i = 0; i < parameter_count(); ++i) theta[offset_ + i] = S(g.uniform(-bound, bound));
    }

    /// Scratch memory of one thread: the rows of the input that are the same in every sample
    /// (found by forward(), read by the other passes) and a column for their products.
    /// @tparam S scalar type
    /// @tparam D device policy
    template <class S, class D>
    struct workspace {
        index lead = 0;                       //!< rows [0, lead) of the input are the same in every column
        index trail = 0;                      //!< and so are rows [in - trail, in)
        typename D::template vector<S> sum;  //!< N values: a column sum of dy
    };
    //! scratch memory (its size does not depend on the batch)
    template <class S, class D>
    workspace<S, D> make_workspace(index) const {
        return {0, 0, typename D::template vector<S>(N)};
    }

    //! y = W x + b
    template <class D, class S, class X>
    void forward(const S* theta, const X& x, S* y, index n, auto& ws) const {
        find_constant_rows<D>(detail::matrix_of(x), n, ws);
        affine<D>(weights(theta), bias(theta), detail::matrix_of(x), y, n, ws);
    }

    //! grad_W += dy x^T, grad_b += sum_j dy_j; dx = W^T dy
    template <class D, class S, class X>
    void backward(const S* theta, const X& x, const S* dy, S* dx, S* grad, index n, auto& ws) const {
        if (grad) outer_sum<D>(dy, detail::matrix_of(x), weights(grad), bias(grad), n, ws);
        if (dx) D::gemm(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(theta), N, dy, N, S(0), dx, in_rows_);
    }

    //! ry = W rx + V_W x + V_b
    template <class D, class S, class X>
    void r_forward(const S* theta, const S* v, const X& x, const S* rx, S* ry, index n, auto& ws) const {
        affine<D>(weights(v), bias(v), detail::matrix_of(x), ry, n, ws);
        if (rx) D::gemm(transpose::no, transpose::no, N, n, in_rows_, S(1), weights(theta), N, rx, in_rows_, S(1), ry, N);
    }

    //! backward, and hv_W += rdy x^T + dy rx^T, hv_b += sum_j rdy_j; rdx = W^T rdy + V_W^T dy
    template <class D, class S, class X>
    void r_backward(const S* theta, const S* v, const X& x, const S* rx, const S* dy, const S* rdy, S* dx, S* rdx,
                    S* grad, S* hv, index n, auto& ws) const {
        backward<D>(theta, x, dy, dx, grad, n, ws);
        outer_sum<D>(rdy, detail::matrix_of(x), weights(hv), bias(hv), n, ws);
        if (rx) D::gemm(transpose::no, transpose::yes, N, in_rows_, n, S(1), dy, N, rx, in_rows_, S(1), weights(hv), N);
        if (rdx) {
            D::gemm(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(theta), N, rdy, N, S(0), rdx, in_rows_);
            D::gemm(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(v), N, dy, N, S(1), rdx, in_rows_);
        }
    }

    /// @{
    /// @brief The task-batched passes (layer.hpp): task t's W_t, b_t at `theta + t layout.stride`
    /// (likewise v, grad, hv), its samples in columns [t n, (t+1) n) of x, y and their
    /// derivatives. Each product of the passes above becomes one gemm_batched over the
    /// tasks (strides `in n` and `N n` between the tasks' matrices), each bias operation one
    /// batched kernel: a fixed number of launches whatever the number of tasks. (The
    /// constant-row shortcut of the single-task passes is not taken.)
    template <class D, class S, class X>
    void forward_batched(const S* theta, task_layout layout, const X& x, S* y, index n, index tasks, auto&) const {
        const index stride = layout.stride;
        const S* in = detail::matrix_of(x);
        D::gemm_batched(transpose::no, transpose::no, N, n, in_rows_, S(1), weights(theta), N, stride, in, in_rows_,
                        in_rows_ * n, S(0), y, N, N * n, tasks);
        D::add_to_columns_batched(N, n, tasks, bias(theta), stride, y);
    }
    template <class D, class S, class X>
    void backward_batched(const S* theta, task_layout layout, const X& x, const S* dy, S* dx, S* grad, index n,
                          index tasks, auto&) const {
        const index stride = layout.stride;
        if (grad) outer_sum_batched<D>(dy, detail::matrix_of(x), grad, stride, n, tasks);
        if (dx)
            D::gemm_batched(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(theta), N, stride, dy, N, N * n,
                            S(0), dx, in_rows_, in_rows_ * n, tasks);
    }
    template <class D, class S, class X>
    void r_forward_batched(const S* theta, const S* v, task_layout layout, const X& x, const S* rx, S* ry, index n,
                           index tasks, auto& ws) const {
        const index stride = layout.stride;
        forward_batched<D>(v, layout, x, ry, n, tasks, ws);
        if (rx)
            D::gemm_batched(transpose::no, transpose::no, N, n, in_rows_, S(1), weights(theta), N, stride, rx, in_rows_,
                            in_rows_ * n, S(1), ry, N, N * n, tasks);
    }
    template <class D, class S, class X>
    void r_backward_batched(const S* theta, const S* v, task_layout layout, const X& x, const S* rx, const S* dy,
                            const S* rdy, S* dx, S* rdx, S* grad, S* hv, index n, index tasks, auto& ws) const {
        const index stride = layout.stride;
        backward_batched<D>(theta, layout, x, dy, dx, grad, n, tasks, ws);
        outer_sum_batched<D>(rdy, detail::matrix_of(x), hv, stride, n, tasks);
        if (rx)
            D::gemm_batched(transpose::no, transpose::yes, N, in_rows_, n, S(1), dy, N, N * n, rx, in_rows_, in_rows_ * n,
                            S(1), weights(hv), N, stride, tasks);
        if (rdx) {
            D::gemm_batched(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(theta), N, stride, rdy, N, N * n,
                            S(0), rdx, in_rows_, in_rows_ * n, tasks);
            D::gemm_batched(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(v), N, stride, dy, N, N * n,
                            S(1), rdx, in_rows_, in_rows_ * n, tasks);
        }
    }
    /// @}

private:
    // Rows of x that are the same in every sample: a task's user features in a per-user
    // batch (MeLU: the user's fields come first). Their part of W x is one column,
    // W_c x_c, computed once instead of n times, and their part of a weight gradient is the
    // rank-one (dy 1) x_c^T. Host memory only (the scan reads x); worth it from 16 rows.
    template <class D, class S>
    void find_constant_rows(const S* x, index n, auto& ws) const {
        ws.lead = ws.trail = 0;
        if constexpr (D::host_memory) {
            // column by column (contiguous), shrinking the candidate rows at each mismatch. Once
            // the first columns have found them, a column is the same as column 0 on every
            // candidate row: one vectorized memcmp tests that (bitwise equal is equal; a
            // scalar scan of 1,000 columns took 14 % of a request of adapt_rank)
            const auto same = [](const S* a, const S* b, index rows) {
                return rows == 0 || std::memcmp(a, b, sizeof(S) * std::size_t(rows)) == 0;
            };
            index lead = in_rows_, trail = in_rows_;
            for (index j = 1; j < n && lead + trail >= 16; ++j) {
                const S* col = x + j * in_rows_;
                if (!same(col, x, lead)) {
                    index r = 0;
                    while (r < lead && col[r] == x[r]) ++r;
                    lead = r;
                }
                const index limit = std::min(trail, in_rows_ - lead);
                if (limit < trail || !same(col + in_rows_ - trail, x + in_rows_ - trail, trail)) {
                    const index last = in_rows_ - 1;
                    index t = 0;
                    while (t < limit && col[last - t] == x[last - t]) ++t;
                    trail = t;
                }
            }
            if (n >= 2 && lead + trail >= 16) ws.lead = lead, ws.trail = trail;
        }
    }

    // y = M x + c 1^T for the weights M (N x in) and the column c at the same layout as W, b
    template <class D, class S>
    void affine(const S* m, const S* c, const S* x, S* y, index n, const auto& ws) const {
        const index lead = ws.lead, trail = ws.trail, middle = in_rows_ - lead - trail;
        if (lead + trail == 0) {
            D::gemm(transpose::no, transpose::no, N, n, in_rows_, S(1), m, N, x, in_rows_, S(0), y, N);
            D::add_to_columns(N, n, c, y);
            return;
        }
        // the constant rows' part, once, in column 0, then copied to the others
        D::copy(N, c, y);
        if (lead) D::gemm(transpose::no, transpose::no, N, 1, lead, S(1), m, N, x, in_rows_, S(1), y, N);
        if (trail)
            D::gemm(transpose::no, transpose::no, N, 1, trail, S(1), m + N * (in_rows_ - trail), N, x + in_rows_ - trail,
                    in_rows_, S(1), y, N);
        for (index j = 1; j < n; ++j) D::copy(N, y, y + j * N);
        if (middle)
            D::gemm(transpose::no, transpose::no, N, n, middle, S(1), m + N * lead, N, x + lead, in_rows_, S(1), y, N);
    }

    // gm += d x^T, gc += sum_j d_j (gm, gc at the layout of W, b)
    template <class D, class S>
    void outer_sum(const S* d, const S* x, S* gm, S* gc, index n, auto& ws) const {
        const index lead = ws.lead, trail = ws.trail, middle = in_rows_ - lead - trail;
        if (lead + trail == 0) {
            D::gemm(transpose::no, transpose::yes, N, in_rows_, n, S(1), d, N, x, in_rows_, S(1), gm, N);
            D::sum_columns(N, n, d, gc);
            return;
        }
        S* s = ws.sum.data();
        D::fill(N, S(0), s);
        D::sum_columns(N, n, d, s);
        D::axpy(N, S(1), s, gc);
        if (lead) D::gemm(transpose::no, transpose::yes, N, lead, 1, S(1), s, N, x, in_rows_, S(1), gm, N);
        if (trail)
            D::gemm(transpose::no, transpose::yes, N, trail, 1, S(1), s, N, x + in_rows_ - trail, in_rows_, S(1),
                    gm + N * (in_rows_ - trail), N);
        if (middle)
            D::gemm(transpose::no, transpose::yes, N, middle, n, S(1), d, N, x + lead, in_rows_, S(1), gm + N * lead, N);
    }

    // gm_t += d_t x_t^T, gc_t += sum_j d_t[:, j] for every task t (gm_t, gc_t at W, b of p + t stride)
    template <class D, class S>
    void outer_sum_batched(const S* d, const S* x, S* p, index stride, index n, index tasks) const {
        D::gemm_batched(transpose::no, transpose::yes, N, in_rows_, n, S(1), d, N, N * n, x, in_rows_, in_rows_ * n, S(1),
                        weights(p), N, stride, tasks);
        D::sum_columns_batched(N, n, tasks, d, bias(p), stride);
    }

    template <class S>
    S* weights(S* p) const noexcept {
        return p + offset_;
    }
    template <class S>
    S* bias(S* p) const noexcept {
        return p + offset_ + N * in_rows_;
    }
};

}  // namespace metarec::nn
