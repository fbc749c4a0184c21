// metarec: stochastic gradient descent with L2 weight decay.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "../config.hpp"
#include "../device/fwd.hpp"
#include "schedule.hpp"
#include "state.hpp"

namespace metarec::optim {

namespace detail {

// theta[i] -= lr * (scale * grad[i] + weight_decay * theta[i])
template <class S>
struct sgd_kernel {
    S* theta;
    const S* grad;
    S scale, lr, weight_decay;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const S g = scale * grad[i] + weight_decay * theta[i];
        theta[i] -= lr * g;
    }
};

}  // namespace detail

/// Plain gradient descent (PyTorch `torch.optim.SGD` without momentum). With `c` the
/// clipping factor (see clip_by_norm; 1 when `clip_norm == 0`), `lambda` the weight decay and
/// `eta_t = lr * lr_schedule.factor(t)`:
///
///     g      = c * grad + lambda * theta
///     theta <- theta - eta_t * g
///
/// No state (`state_size(n) == 0`). Fields, in designated-initializer order:
/// @param lr            base learning rate, >= 0; default 1e-3
/// @param weight_decay  L2 penalty lambda added to the gradient, >= 0; default 0
/// @param clip_norm     maximum gradient norm, >= 0; default 0 (off)
/// @param lr_schedule   factor of lr per step; default schedule::constant()
/// @code
/// metarec::optim::sgd opt{.lr = 0.05, .weight_decay = 1e-4};
/// auto st = metarec::optim::make_state<float>(opt, n);
/// opt.step(st, theta, grad, n);
/// @endcode
struct sgd {
    static constexpr std::string_view name = "sgd";  //!< used in error messages
    static constexpr bool elementwise = true;  //!< each update reads its own state only (optim::elementwise)

    double lr = 1e-3;                             //!< base learning rate, >= 0
    double weight_decay = 0;                      //!< L2 penalty lambda added to the gradient, >= 0
    double clip_norm = 0;                         //!< maximum gradient norm before the step, >= 0 (0: no clipping)
    schedule lr_schedule = schedule::constant();  //!< factor of lr at each step

    //! Throws std::invalid_argument naming the first invalid hyper-parameter.
    void validate() const { detail::require_common(*this); }

    //! sgd keeps no state.
    index state_size(index) const noexcept { return 0; }

    /// One update of the n parameters at `theta` (device memory) from `grad`, which is not
    /// modified; increments `st.steps`.
    template <class S, class Device>
    void step(state<S, Device>& st, S* theta, const S* grad, index n) const {
        const auto k = detail::begin_step(*this, st, grad, n);
        Device::for_each(n, detail::sgd_kernel<S>{theta, grad, k.scale, k.lr, S(weight_decay)});
        ++st.steps;
    }
};

}  // namespace metarec::optim
