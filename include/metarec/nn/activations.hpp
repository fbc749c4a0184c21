// metarec: element-wise activation layers (relu, leaky_relu, sigmoid, tanh, identity).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <ratio>

#include "layer.hpp"

namespace metarec::nn {

namespace detail {

// Each function gives f, f' and f'' at x. f'' is what makes Hessian-vector products exact.

struct identity_fn {
    static constexpr std::string_view name = "identity";
    template <class S> METAREC_HOST_DEVICE static S value(S x) { return x; }
    template <class S> METAREC_HOST_DEVICE static S d1(S) { return S(1); }
    template <class S> METAREC_HOST_DEVICE static S d2(S) { return S(0); }
};

struct relu_fn {
    static constexpr std::string_view name = "relu";
    template <class S> METAREC_HOST_DEVICE static S value(S x) { return x > S(0) ? x : S(0); }
    template <class S> METAREC_HOST_DEVICE static S d1(S x) { return x > S(0) ? S(1) : S(0); }
    template <class S> METAREC_HOST_DEVICE static S d2(S) { return S(0); }
};

template <class Slope>
struct leaky_relu_fn {
    static constexpr std::string_view name = "leaky_relu";
    template <class S> METAREC_HOST_DEVICE static S slope() { return S(Slope::num) / S(Slope::den); }
    template <class S> METAREC_HOST_DEVICE static S value(S x) { return x > S(0) ? x : slope<S>() * x; }
    template <class S> METAREC_HOST_DEVICE static S d1(S x) { return x > S(0) ? S(1) : slope<S>(); }
    template <class S> METAREC_HOST_DEVICE static S d2(S) { return S(0); }
};

struct sigmoid_fn {
    static constexpr std::string_view name = "sigmoid";
    // stable for large |x|: never evaluates exp of a large positive number
    template <class S> METAREC_HOST_DEVICE static S value(S x) {
        using std::exp;
        if (x >= S(0)) return S(1) / (S(1) + exp(-x));
        const S e = exp(x);
        return e / (S(1) + e);
    }
    template <class S> METAREC_HOST_DEVICE static S d1(S x) {
        const S s = value(x);
        return s * (S(1) - s);
    }
    template <class S> METAREC_HOST_DEVICE static S d2(S x) {
        const S s = value(x);
        return s * (S(1) - s) * (S(1) - S(2) * s);
    }
};

struct tanh_fn {
    static constexpr std::string_view name = "tanh";
    template <class S> METAREC_HOST_DEVICE static S value(S x) {
        using std::tanh;
        return tanh(x);
    }
    template <class S> METAREC_HOST_DEVICE static S d1(S x) {
        const S t = value(x);
        return S(1) - t * t;
    }
    template <class S> METAREC_HOST_DEVICE static S d2(S x) {
        const S t = value(x);
        return S(-2) * t * (S(1) - t * t);
    }
};

template <class F, class S>
struct activation_forward_kernel {
    const S* x;
    S* y;
    METAREC_HOST_DEVICE void operator()(index i) const { y[i] = F::value(x[i]); }
};

// out = f'(x) * in: backward (in = dy) and R-forward (in = rx)
template <class F, class S>
struct activation_d1_kernel {
    const S* x;
    const S* in;
    S* out;
    METAREC_HOST_DEVICE void operator()(index i) const { out[i] = F::d1(x[i]) * in[i]; }
};

// rdx = f''(x) rx dy + f'(x) rdy
template <class F, class S>
struct activation_r_backward_kernel {
    const S* x;
    const S* rx;
    const S* dy;
    const S* rdy;
    S* rdx;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const S second = rx ? F::d2(x[i]) * rx[i] * dy[i] : S(0);
        rdx[i] = second + F::d1(x[i]) * rdy[i];
    }
};

}  // namespace detail

/// Element-wise activation `y = f(x)`, no parameters. Derivatives:
///
///     backward:   dx  = f'(x) dy
///     r_forward:  ry  = f'(x) rx
///     r_backward: rdx = f''(x) rx dy + f'(x) rdy
///
/// @tparam F a struct of static functions `value`, `d1`, `d2` (f, f', f'') of a scalar, all
///         `METAREC_HOST_DEVICE`; see detail::tanh_fn. A user-defined F gives a new activation.
template <class F>
struct activation : layer_base, detail::same_for_every_task<activation<F>> {
    static constexpr std::string_view name = F::name;  //!< the function's name, e.g. "relu"

    //! as many output rows as input rows; no parameters
    index configure(const input_shape&, index in_rows, index offset) {
        in_rows_ = out_rows_ = in_rows;
        offset_ = offset;
        return in_rows;
    }
    //! 0: no parameters
    index parameter_count() const noexcept { return 0; }
    //! nothing to initialize
    template <class S>
    void initialize(S*, metarec::detail::rng&) const {}

    //! y = f(x), element-wise
    template <class D, class S, class X>
    void forward(const S*, const X& x, S* y, index n, auto&) const {
        D::for_each(in_rows_ * n, detail::activation_forward_kernel<F, S>{detail::matrix_of(x), y});
    }
    //! dx = f'(x) dy (no parameters: no gradient)
    template <class D, class S, class X>
    void backward(const S*, const X& x, const S* dy, S* dx, S*, index n, auto&) const {
        if (dx) D::for_each(in_rows_ * n, detail::activation_d1_kernel<F, S>{detail::matrix_of(x), dy, dx});
    }
    //! ry = f'(x) rx (0 when rx is null: x is data)
    template <class D, class S, class X>
    void r_forward(const S*, const S*, const X& x, const S* rx, S* ry, index n, auto&) const {
        if (rx)
            D::for_each(in_rows_ * n, detail::activation_d1_kernel<F, S>{detail::matrix_of(x), rx, ry});
        else
            D::fill(in_rows_ * n, S(0), ry);
    }
    //! backward, and rdx = f''(x) rx dy + f'(x) rdy
    template <class D, class S, class X>
    void r_backward(const S* theta, const S*, const X& x, const S* rx, const S* dy, const S* rdy, S* dx, S* rdx,
                    S* grad, S*, index n, auto& ws) const {
        backward<D>(theta, x, dy, dx, grad, n, ws);
        if (rdx)
            D::for_each(in_rows_ * n, detail::activation_r_backward_kernel<F, S>{detail::matrix_of(x), rx, dy, rdy, rdx});
    }

};

using identity = activation<detail::identity_fn>;  //!< `y = x`
using relu = activation<detail::relu_fn>;          //!< `y = max(x, 0)`
using sigmoid = activation<detail::sigmoid_fn>;    //!< `y = 1 / (1 + exp(-x))`, computed without overflow
using tanh = activation<detail::tanh_fn>;          //!< `y = tanh(x)`
/// `max(x, 0) + Slope * min(x, 0)`, the slope a std::ratio (floating-point template
/// arguments are not portable yet): `leaky_relu<std::ratio<1, 10>>` has slope 0.1.
template <class Slope = std::ratio<1, 100>>
using leaky_relu = activation<detail::leaky_relu_fn<Slope>>;

}  // namespace metarec::nn
