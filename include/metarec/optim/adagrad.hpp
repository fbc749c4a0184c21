// metarec: Adagrad (per-parameter learning rates from accumulated squared gradients).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <string_view>

#include "../config.hpp"
#include "../device/fwd.hpp"
#include "schedule.hpp"
#include "state.hpp"

namespace metarec::optim {

namespace detail {

// G += g^2;  theta -= lr g / (sqrt(G) + eps),  g = scale grad + wd theta
template <class S>
struct adagrad_kernel {
    S* theta;
    const S* grad;
    S* sum;
    S scale, lr, weight_decay, eps;
    METAREC_HOST_DEVICE void operator()(index i) const {
        using std::sqrt;
        const S g = scale * grad[i] + weight_decay * theta[i];
        const S G = sum[i] + g * g;
        sum[i] = G;
        theta[i] -= lr * g / (sqrt(G) + eps);
    }
};

}  // namespace detail

/// Adagrad (Duchi, Hazan and Singer 2011), as PyTorch's `torch.optim.Adagrad` without
/// `lr_decay`. With `c` the clipping factor (1 when `clip_norm == 0`), `lambda` the weight
/// decay and `eta_t = lr * lr_schedule.factor(t)`:
///
///     g      = c * grad + lambda * theta
///     G     <- G + g^2                            (G starts at initial_accumulator)
///     theta <- theta - eta_t * g / (sqrt(G) + eps)
///
/// State: the accumulator G, `state_size(n) == n`; make_state fills it with
/// `initial_accumulator`. Fields, in designated-initializer order:
/// @param lr                   base learning rate, >= 0; default 1e-2
/// @param eps                  added to the denominator, > 0; default 1e-10
/// @param initial_accumulator  starting value of G, >= 0; default 0
/// @param weight_decay         L2 penalty lambda added to the gradient, >= 0; default 0
/// @param clip_norm            maximum gradient norm, >= 0; default 0 (off)
/// @param lr_schedule          factor of lr per step; default schedule::constant()
/// @code
/// metarec::optim::adagrad opt{.lr = 0.1, .initial_accumulator = 0.1};
/// @endcode
struct adagrad {
    static constexpr std::string_view name = "adagrad";  //!< used in error messages
    static constexpr bool elementwise = true;  //!< each update reads its own state only (optim::elementwise)

    double lr = 1e-2;                             //!< base learning rate, >= 0
    double eps = 1e-10;                           //!< added to the denominator, > 0
    double initial_accumulator = 0;               //!< starting value of the accumulator G, >= 0
    double weight_decay = 0;                      //!< L2 penalty lambda added to the gradient, >= 0
    double clip_norm = 0;                         //!< maximum gradient norm before the step, >= 0 (0: no clipping)
    schedule lr_schedule = schedule::constant();  //!< factor of lr at each step

    //! Throws std::invalid_argument naming the first invalid hyper-parameter.
    void validate() const {
        detail::require_common(*this);
        detail::require_positive(name, "eps", eps);
        detail::require_non_negative(name, "initial_accumulator", initial_accumulator);
    }

    //! the accumulator G, one scalar per parameter
    index state_size(index n) const noexcept { return n; }

    //! make_state fills the accumulator with this value
    double initial_state_value() const noexcept { return initial_accumulator; }

    /// One update of the n parameters at `theta` (device memory) from `grad`, which is not
    /// modified; increments `st.steps`.
    template <class S, class Device>
    void step(state<S, Device>& st, S* theta, const S* grad, index n) const {
        const auto k = detail::begin_step(*this, st, grad, n);
        Device::for_each(n, detail::adagrad_kernel<S>{theta, grad, st.buffer.data(), k.scale, k.lr, S(weight_decay),
                                                      S(eps)});
        ++st.steps;
    }
};

}  // namespace metarec::optim
