// metarec: the score of two towers: the dot product of the two halves of the input.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>

#include "layer.hpp"

namespace metarec::nn {

namespace detail {

// The per-sample kernels of dot<Half, Biased>. Sample j's input column is [a; b], Half rows
// each; the first d = Half - Biased rows of each half multiply, the last row of each half is
// a bias when Biased. Rows are the fastest index (column-major).
template <class S, bool Biased>
struct dot_forward_kernel {
    const S* x;
    const S* c;  // the global bias (Biased), or null
    S* y;
    index half;
    METAREC_HOST_DEVICE void operator()(index j) const {
        const S* a = x + 2 * half * j;
        const S* b = a + half;
        const index d = half - (Biased ? 1 : 0);
        S sum = S(0);
        for (index k = 0; k < d; ++k) sum += a[k] * b[k];
        if constexpr (Biased) sum += a[d] + b[d] + c[0];
        y[j] = sum;
    }
};

// dx = J_x^T dy; with ry/rdy (R-backward): rdx = J_x^T rdy + R{J_x^T} dy
template <class S, bool Biased>
struct dot_backward_kernel {
    const S* x;
    const S* rx;   // R{x}, or null
    const S* dy;
    const S* rdy;  // null: plain backward
    S* dx;         // J^T dy (may be null)
    S* rdx;        // R{J^T dy} (may be null)
    index half;
    METAREC_HOST_DEVICE void operator()(index j) const {
        const index h = half, d = half - (Biased ? 1 : 0), base = 2 * h * j;
        const S* a = x + base;
        const S* b = a + h;
        for (index k = 0; k < d; ++k) {
            if (dx) {
                dx[base + k] = dy[j] * b[k];
                dx[base + h + k] = dy[j] * a[k];
            }
            if (rdx) {
                const S ra = rx ? rx[base + k] : S(0), rb = rx ? rx[base + h + k] : S(0);
                rdx[base + k] = rdy[j] * b[k] + dy[j] * rb;
                rdx[base + h + k] = rdy[j] * a[k] + dy[j] * ra;
            }
        }
        if constexpr (Biased) {
            if (dx) dx[base + d] = dx[base + h + d] = dy[j];
            if (rdx) rdx[base + d] = rdx[base + h + d] = rdy[j];
        }
    }
};

}  // namespace detail

/// Scores a pair of towers: the input column of a sample is `[a; b]` (`Half` rows each) and
///
///     y = <a, b>                                           (Biased = false)
///     y = <a[0:d], b[0:d]> + a[d] + b[d] + c,  d = Half-1  (Biased = true: matrix factorization's
///                                                           user bias, item bias and global bias c)
///
/// Derivatives (bilinear in a and b; c is the only parameter, when Biased):
///
///     backward:   da = dy b        db = dy a        (bias rows: dy)     grad_c += sum_j dy_j
///     r_forward:  ry = <ra, b> + <a, rb> (+ ra[d] + rb[d] + V_c)
///     r_backward: rda = rdy b + dy rb    rdb = rdy a + dy ra    (bias rows: rdy)    hv_c += sum_j rdy_j
///
/// @tparam Half   rows of each half (the towers' output size, bias row included)
/// @tparam Biased whether the last row of each half and a global constant are added
template <index Half, bool Biased = false>
struct dot : layer_base {
    static_assert(Half >= (Biased ? 2 : 1), "metarec: dot<Half, Biased> needs Half >= 1 (>= 2 with biases)");
    static constexpr std::string_view name = "dot";  //!< "dot": the name of its parameter slice (Biased: the global bias c)

    //! needs in_rows == 2 Half (else std::invalid_argument); returns 1
    index configure(const input_shape&, index in_rows, index offset) {
        if (in_rows != 2 * Half)
            throw std::invalid_argument("metarec: dot<" + std::to_string(Half) + "> needs two halves of " +
                                        std::to_string(Half) + " rows (" + std::to_string(2 * Half) +
                                        "), the previous layer gives " + std::to_string(in_rows));
        in_rows_ = in_rows;
        offset_ = offset;
        out_rows_ = 1;
        return 1;
    }
    //! 1 (the global bias c) when Biased, else 0
    index parameter_count() const noexcept { return Biased ? 1 : 0; }
    //! c = 0
    template <class S>
    void initialize(S* theta, metarec::detail::rng&) const {
        if constexpr (Biased) theta[offset_] = S(0);
    }

    //! y = <a, b>, plus a[d] + b[d] + c when Biased
    template <class D, class S>
    void forward(const S* theta, const S* x, S* y, index n, auto&) const {
        D::for_each(n, detail::dot_forward_kernel<S, Biased>{x, Biased ? theta + offset_ : nullptr, y, Half});
    }
    //! da = dy b, db = dy a (bias rows: dy); grad_c += sum_j dy_j
    template <class D, class S>
    void backward(const S*, const S* x, const S* dy, S* dx, S* grad, index n, auto&) const {
        if constexpr (Biased)
            if (grad) D::sum_columns(index(1), n, dy, grad + offset_);
        if (dx) D::for_each(n, detail::dot_backward_kernel<S, Biased>{x, nullptr, dy, nullptr, dx, nullptr, Half});
    }
    //! ry = <ra, b> + <a, rb>, plus ra[d] + rb[d] + V_c when Biased
    template <class D, class S>
    void r_forward(const S*, const S* v, const S* x, const S* rx, S* ry, index n, auto&) const {
        D::for_each(n, r_forward_kernel<S>{x, rx, Biased ? v + offset_ : nullptr, ry});
    }
    //! backward, and rda = rdy b + dy rb, rdb = rdy a + dy ra (bias rows: rdy); hv_c += sum_j rdy_j
    template <class D, class S>
    void r_backward(const S* theta, const S*, const S* x, const S* rx, const S* dy, const S* rdy, S* dx, S* rdx, S* grad,
                    S* hv, index n, auto& ws) const {
        backward<D>(theta, x, dy, dx, grad, n, ws);
        if constexpr (Biased) D::sum_columns(index(1), n, rdy, hv + offset_);
        if (rdx) D::for_each(n, detail::dot_backward_kernel<S, Biased>{x, rx, dy, rdy, nullptr, rdx, Half});
    }

private:
    template <class S>
    struct r_forward_kernel {
        const S* x;
        const S* rx;  // null: x is constant
        const S* vc;  // the direction's global bias (Biased), or null
        S* ry;
        METAREC_HOST_DEVICE void operator()(index j) const {
            const index h = Half, d = Half - (Biased ? 1 : 0), base = 2 * h * j;
            S sum = S(0);
            if (rx)
                for (index k = 0; k < d; ++k) sum += rx[base + k] * x[base + h + k] + x[base + k] * rx[base + h + k];
            if constexpr (Biased) sum += (rx ? rx[base + d] + rx[base + h + d] : S(0)) + vc[0];
            ry[j] = sum;
        }
    };
};

}  // namespace metarec::nn
