// metarec: a learned vector, the same for every sample (a per-task embedding).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "layer.hpp"

namespace metarec::nn {

namespace detail {
//! y[:, j] = p for every column j
template <class S>
struct broadcast_kernel {
    const S* p;
    S* y;
    index rows;
    METAREC_HOST_DEVICE void operator()(index i) const { y[i] = p[i % rows]; }
};
}  // namespace detail

/// Outputs its parameter vector `p` (Rows numbers) for every sample, ignoring the input:
/// `y[:, j] = p`. In an ID-free matrix factorization (recsys::matrix_factorization) it is
/// the user's embedding: one task is one user, the meta-learned `p` is where every new user
/// starts, and the fast weights after adaptation are that user's own vector.
///
///     backward:   grad_p += sum_j dy_j          dx = 0
///     r_forward:  ry[:, j] = V_p
///     r_backward: hv_p += sum_j rdy_j           rdx = 0
///
/// Initialization: uniform in `[-0.1, 0.1]`.
/// @tparam Rows length of the vector
template <index Rows>
struct broadcast : layer_base {
    static_assert(Rows >= 1, "metarec: broadcast<Rows> needs Rows >= 1");
    static constexpr std::string_view name = "broadcast";  //!< "broadcast": the name of its parameter slice

    //! ignores the input; returns Rows
    index configure(const input_shape&, index in_rows, index offset) {
        in_rows_ = in_rows;
        offset_ = offset;
        out_rows_ = Rows;
        return Rows;
    }
    //! Rows: the vector p
    index parameter_count() const noexcept { return Rows; }
    //! p uniform in [-0.1, 0.1]
    template <class S>
    void initialize(S* theta, metarec::detail::rng& g) const {
        for (index i = 0; i < Rows; ++i) theta[offset_ + i] = S(g.uniform(-0.1, 0.1));
    }

    //! y[:, j] = p
    template <class D, class S, class X>
    void forward(const S* theta, const X&, S* y, index n, auto&) const {
        D::for_each(Rows * n, detail::broadcast_kernel<S>{theta + offset_, y, Rows});
    }
    //! grad_p += sum_j dy_j; dx = 0
    template <class D, class S, class X>
    void backward(const S*, const X&, const S* dy, S* dx, S* grad, index n, auto&) const {
        if (grad) D::sum_columns(Rows, n, dy, grad + offset_);
        if (dx) D::fill(in_rows_ * n, S(0), dx);
    }
    //! ry[:, j] = V_p
    template <class D, class S, class X>
    void r_forward(const S*, const S* v, const X&, const S*, S* ry, index n, auto&) const {
        D::for_each(Rows * n, detail::broadcast_kernel<S>{v + offset_, ry, Rows});
    }
    //! backward, and hv_p += sum_j rdy_j; rdx = 0
    template <class D, class S, class X>
    void r_backward(const S* theta, const S*, const X& x, const S*, const S* dy, const S* rdy, S* dx, S* rdx, S* grad,
                    S* hv, index n, auto& ws) const {
        backward<D>(theta, x, dy, dx, grad, n, ws);
        D::sum_columns(Rows, n, rdy, hv + offset_);
        if (rdx) D::fill(in_rows_ * n, S(0), rdx);
    }
};

}  // namespace metarec::nn
