// metarec: fully connected layer with bias.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
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
/// As first layer of a model it reads the batch's dense features.
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

    //! y = W x + b
    template <class D, class S, class X>
    void forward(const S* theta, const X& x, S* y, index n, auto&) const {
        D::gemm(transpose::no, transpose::no, N, n, in_rows_, S(1), weights(theta), N,
                detail::matrix_of(x), in_rows_, S(0), y, N);
        D::add_to_columns(N, n, bias(theta), y);
    }

    //! grad_W += dy x^T, grad_b += sum_j dy_j; dx = W^T dy
    template <class D, class S, class X>
    void backward(const S* theta, const X& x, const S* dy, S* dx, S* grad, index n, auto&) const {
        if (grad) {
            D::gemm(transpose::no, transpose::yes, N, in_rows_, n, S(1), dy, N, detail::matrix_of(x), in_rows_,
                    S(1), weights(grad), N);
            D::sum_columns(N, n, dy, bias(grad));
        }
        if (dx) D::gemm(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(theta), N, dy, N, S(0), dx, in_rows_);
    }

    //! ry = W rx + V_W x + V_b
    template <class D, class S, class X>
    void r_forward(const S* theta, const S* v, const X& x, const S* rx, S* ry, index n, auto&) const {
        D::gemm(transpose::no, transpose::no, N, n, in_rows_, S(1), weights(v), N, detail::matrix_of(x), in_rows_,
                S(0), ry, N);
        D::add_to_columns(N, n, bias(v), ry);
        if (rx) D::gemm(transpose::no, transpose::no, N, n, in_rows_, S(1), weights(theta), N, rx, in_rows_, S(1), ry, N);
    }

    //! backward, and hv_W += rdy x^T + dy rx^T, hv_b += sum_j rdy_j; rdx = W^T rdy + V_W^T dy
    template <class D, class S, class X>
    void r_backward(const S* theta, const S* v, const X& x, const S* rx, const S* dy, const S* rdy, S* dx, S* rdx,
                    S* grad, S* hv, index n, auto& ws) const {
        backward<D>(theta, x, dy, dx, grad, n, ws);
        D::gemm(transpose::no, transpose::yes, N, in_rows_, n, S(1), rdy, N, detail::matrix_of(x), in_rows_, S(1),
                weights(hv), N);
        if (rx) D::gemm(transpose::no, transpose::yes, N, in_rows_, n, S(1), dy, N, rx, in_rows_, S(1), weights(hv), N);
        D::sum_columns(N, n, rdy, bias(hv));
        if (rdx) {
            D::gemm(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(theta), N, rdy, N, S(0), rdx, in_rows_);
            D::gemm(transpose::yes, transpose::no, in_rows_, n, N, S(1), weights(v), N, dy, N, S(1), rdx, in_rows_);
        }
    }

private:
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
