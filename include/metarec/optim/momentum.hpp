// metarec: gradient descent with heavy-ball or Nesterov momentum.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "../config.hpp"
#include "../device/fwd.hpp"
#include "schedule.hpp"
#include "state.hpp"

namespace metarec::optim {

namespace detail {

// b = mu b + g;  theta -= lr * (nesterov ? g + mu b : b),  g = scale grad + wd theta
template <class S>
struct momentum_kernel {
    S* theta;
    const S* grad;
    S* buf;
    S scale, lr, weight_decay, mu;
    bool nesterov;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const S g = scale * grad[i] + weight_decay * theta[i];
        const S b = mu * buf[i] + g;
        buf[i] = b;
        theta[i] -= lr * (nesterov ? g + mu * b : b);
    }
};

}  // namespace detail

/// Gradient descent with momentum, PyTorch's convention (`torch.optim.SGD` with
/// `momentum = mu`, `dampening = 0`). With `c` the clipping factor (1 when `clip_norm == 0`),
/// `lambda` the weight decay and `eta_t = lr * lr_schedule.factor(t)`:
///
///     g      = c * grad + lambda * theta
///     b     <- mu * b + g                         (b starts at 0, so b_1 = g_1)
///     u      = nesterov ? g + mu * b : b
///     theta <- theta - eta_t * u
///
/// State: the velocity b, `state_size(n) == n`. Fields, in designated-initializer order:
/// @param lr            base learning rate, >= 0; default 1e-3
/// @param mu            momentum, in [0, 1); default 0.9 (must be > 0 with nesterov)
/// @param nesterov      Nesterov's look-ahead form; default false
/// @param weight_decay  L2 penalty lambda added to the gradient, >= 0; default 0
/// @param clip_norm     maximum gradient norm, >= 0; default 0 (off)
/// @param lr_schedule   factor of lr per step; default schedule::constant()
/// @code
/// metarec::optim::momentum opt{.lr = 0.01, .mu = 0.9, .nesterov = true};
/// @endcode
struct momentum {
    static constexpr std::string_view name = "momentum";  //!< used in error messages
    static constexpr bool elementwise = true;  //!< each update reads its own state only (optim::elementwise)

    double lr = 1e-3;                             //!< base learning rate, >= 0
    double mu = 0.9;                              //!< momentum, in [0, 1) (> 0 with nesterov)
    bool nesterov = false;                        //!< Nesterov's look-ahead form
    double weight_decay = 0;                      //!< L2 penalty lambda added to the gradient, >= 0
    double clip_norm = 0;                         //!< maximum gradient norm before the step, >= 0 (0: no clipping)
    schedule lr_schedule = schedule::constant();  //!< factor of lr at each step

    //! Throws std::invalid_argument naming the first invalid hyper-parameter.
    void validate() const {
        detail::require_common(*this);
        detail::require_unit(name, "mu", mu);
        if (nesterov && mu == 0) detail::invalid(name, "nesterov = true needs a momentum mu > 0");
    }

    //! the velocity, one scalar per parameter
    index state_size(index n) const noexcept { return n; }

    /// One update of the n parameters at `theta` (device memory) from `grad`, which is not
    /// modified; increments `st.steps`.
    template <class S, class Device>
    void step(state<S, Device>& st, S* theta, const S* grad, index n) const {
        const auto k = detail::begin_step(*this, st, grad, n);
        Device::for_each(n, detail::momentum_kernel<S>{theta, grad, st.buffer.data(), k.scale, k.lr,
                                                       S(weight_decay), S(mu), nesterov});
        ++st.steps;
    }
};

}  // namespace metarec::optim
