// metarec: Adam and AdamW (one kernel; coupled L2 or decoupled weight decay).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string_view>
#include <type_traits>

#include "../config.hpp"
#include "../device/cpu.hpp"
#include "schedule.hpp"
#include "state.hpp"

namespace metarec::optim {

namespace detail {

// The update of adam (decay = 1) and adamw (l2 = 0):
//   g = scale grad + l2 theta;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   theta = decay theta - lr (m / bias1) / (sqrt(v / bias2) + eps)
template <class S>
struct adam_kernel {
    S* theta;
    const S* grad;
    S* m;
    S* v;
    S scale, lr, l2, decay;
    S beta1, one_minus_beta1, beta2, one_minus_beta2;
    S bias1, bias2;  // 1 - beta1^t, 1 - beta2^t
    S eps;
    METAREC_HOST_DEVICE void operator()(index i) const {
        using std::sqrt;
        const S g = scale * grad[i] + l2 * theta[i];
        const S mi = beta1 * m[i] + one_minus_beta1 * g;
        const S vi = beta2 * v[i] + one_minus_beta2 * g * g;
        m[i] = mi;
        v[i] = vi;
        theta[i] = decay * theta[i] - lr * (mi / bias1) / (sqrt(vi / bias2) + eps);
    }
};

// adam_kernel on [offset, offset + size) as Eigen array expressions, for the CPU policies:
// the same arithmetic, with Eigen's vectorized square root (std::sqrt in the scalar kernel
// keeps the loop scalar: it may set errno)
template <class S>
void adam_arrays(const adam_kernel<S>& k, index offset, index size) {
    using array = Eigen::Array<S, Eigen::Dynamic, 1>;
    Eigen::Map<array> theta(k.theta + offset, size), m(k.m + offset, size), v(k.v + offset, size);
    const Eigen::Map<const array> grad(k.grad + offset, size);
    constexpr index block = part_granularity;  // g on the stack, in L1; parts of a step start at a block
    for (index b = 0; b < size; b += block) {
        const index len = std::min(index(block), size - b);
        const Eigen::Array<S, Eigen::Dynamic, 1, 0, int(block), 1> g =
            k.scale * grad.segment(b, len) + k.l2 * theta.segment(b, len);
        m.segment(b, len) = k.beta1 * m.segment(b, len) + k.one_minus_beta1 * g;
        v.segment(b, len) = k.beta2 * v.segment(b, len) + k.one_minus_beta2 * g.square();
        theta.segment(b, len) = k.decay * theta.segment(b, len) -
                                k.lr * (m.segment(b, len) / k.bias1) / ((v.segment(b, len) / k.bias2).sqrt() + k.eps);
    }
}

/// One step of `opt` (a basic_adam: coupled or decoupled weight decay) over `ranges` of the n
/// parameters, or over every one in `parts` when `ranges` is empty.
template <class Optimizer, class S, class Device, class Parts = one_part>
void adam_step(const Optimizer& opt, state<S, Device>& st, S* theta, const S* grad, index n,
               std::span<const parameter_range> ranges = {}, const Parts& parts = {}) {
    constexpr bool decoupled = Optimizer::decoupled;
    const auto k = begin_step(opt, st, grad, n);
    const double t = double(st.steps + 1);  // 1-based step number of the bias correction
    const S decay = decoupled ? S(1 - opt.lr * opt.lr_schedule.factor(st.steps) * opt.weight_decay) : S(1);
    S* m = st.buffer.data();
    const adam_kernel<S> kernel{theta, grad, m, m + n, k.scale, k.lr, decoupled ? S(0) : S(opt.weight_decay), decay,
                                S(opt.beta1), S(1 - opt.beta1), S(opt.beta2), S(1 - opt.beta2),
                                S(1 - std::pow(opt.beta1, t)), S(1 - std::pow(opt.beta2, t)), S(opt.eps)};
    const auto update = [&](index offset, index size) {
        if constexpr (std::is_base_of_v<device::basic_cpu<Device>, Device>) {
            adam_arrays(kernel, offset, size);
        } else {
            adam_kernel<S> part = kernel;  // the same kernel on [offset, offset + size)
            part.theta += offset;
            part.grad += offset;
            part.m += offset;
            part.v += offset;
            Device::for_each(size, part);
        }
    };
    if (ranges.empty()) {
        parts(n, update);
    } else {
        for (const auto& r : ranges) {
            if (r.offset < 0 || r.size < 0 || r.offset + r.size > n)
                invalid(Optimizer::name, "a touched range [" + std::to_string(r.offset) + ", " +
                                             std::to_string(r.offset + r.size) + ") is outside the " +
                                             std::to_string(n) + " parameters");
            update(r.offset, r.size);
        }
    }
    ++st.steps;
}

}  // namespace detail

/// How an adam-family optimizer applies its weight decay lambda (the template parameter of
/// basic_adam).
enum class weight_decay_mode {
    coupled,    //!< an L2 penalty lambda * theta added to the gradient (adam)
    decoupled,  //!< the parameters shrink by eta_t * lambda * theta before the update (adamw)
};

/// Adam (Kingma and Ba 2015) with bias correction, as PyTorch's `torch.optim.Adam` (alias
/// optim::adam, coupled weight decay) and `torch.optim.AdamW` (alias optim::adamw, decoupled
/// weight decay, Loshchilov and Hutter 2019). With `c` the clipping factor (1 when
/// `clip_norm == 0`), `lambda` the weight decay, `eta_t = lr * lr_schedule.factor(t-1)` and
/// `t` the 1-based step number, adam (coupled L2 penalty):
///
///     g      = c * grad + lambda * theta
///     m     <- beta1 * m + (1 - beta1) * g
///     v     <- beta2 * v + (1 - beta2) * g^2
///     theta <- theta - eta_t * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
///
/// and adamw (decoupled: the decay does not pass through the adaptive denominator, so every
/// parameter shrinks by the same fraction):
///
///     theta <- theta * (1 - eta_t * lambda)
///     g      = c * grad                           (no L2 term)
///     m, v   as adam
///     theta <- theta - eta_t * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
///
/// State: m then v, `state_size(n) == 2n` (buffer[0, n) = m, buffer[n, 2n) = v). Fields,
/// in designated-initializer order:
/// @tparam Decay        weight_decay_mode::coupled (adam) or weight_decay_mode::decoupled (adamw)
/// @param lr            base learning rate, >= 0; default 1e-3
/// @param beta1         decay of the first moment, in [0, 1); default 0.9
/// @param beta2         decay of the second moment, in [0, 1); default 0.999
/// @param eps           added to the denominator, > 0; default 1e-8
/// @param weight_decay  lambda, >= 0: the L2 penalty added to the gradient (adam; default 0) or
///                      the decoupled decay (adamw; default 0.01)
/// @param clip_norm     maximum gradient norm, >= 0; default 0 (off)
/// @param lr_schedule   factor of lr per step (with adamw it scales the decay too); default
///                      schedule::constant()
/// @param lazy          with sparse gradients (embedding tables), update only the touched
///                      parameters and their moments (and, with adamw, decay only those), as
///                      TensorFlow's LazyAdam and PyTorch's SparseAdam: an embedding column that
///                      no sample of the step used keeps its value and moments instead of moving
///                      on its momentum (much faster with large tables; the bias correction counts
///                      every step); default false
/// @code
/// metarec::optim::adam opt{.lr = 1e-3};
/// auto st = metarec::optim::make_state<float>(opt, n);
/// for (...) { /* grad = ... */ opt.step(st, theta, grad, n); }
/// metarec::optim::adamw decoupled{.lr = 1e-3, .weight_decay = 0.05};
/// @endcode
template <weight_decay_mode Decay>
struct basic_adam {
    static constexpr bool decoupled = Decay == weight_decay_mode::decoupled;  //!< adamw
    static constexpr std::string_view name = decoupled ? "adamw" : "adam";  //!< used in error messages
    static constexpr bool elementwise = true;  //!< each update reads its own state only (optim::elementwise)

    double lr = 1e-3;                             //!< base learning rate, >= 0
    double beta1 = 0.9;                           //!< decay of the first moment, in [0, 1)
    double beta2 = 0.999;                         //!< decay of the second moment, in [0, 1)
    double eps = 1e-8;                            //!< added to the denominator, > 0
    double weight_decay = decoupled ? 0.01 : 0;   //!< lambda, >= 0: L2 penalty (adam) or decoupled decay (adamw)
    double clip_norm = 0;                         //!< maximum gradient norm before the step, >= 0 (0: no clipping)
    schedule lr_schedule = schedule::constant();  //!< factor of lr at each step
    bool lazy = false;                            //!< with sparse gradients, update only the touched parameters

    //! Throws std::invalid_argument naming the first invalid hyper-parameter.
    void validate() const {
        detail::require_common(*this);
        detail::require_unit(name, "beta1", beta1);
        detail::require_unit(name, "beta2", beta2);
        detail::require_positive(name, "eps", eps);
    }

    //! first moments m, then second moments v
    index state_size(index n) const noexcept { return 2 * n; }

    /// One update of the n parameters at `theta` (device memory) from `grad`, which is not
    /// modified; increments `st.steps`.
    template <class S, class Device>
    void step(state<S, Device>& st, S* theta, const S* grad, index n) const {
        detail::adam_step(*this, st, theta, grad, n);
    }
    /// The same step, given that `grad` is zero outside `touched` (disjoint ranges: sparse
    /// embedding gradients; meta-algorithms pass them): with `lazy`, only the touched
    /// parameters and their moments change; otherwise as step().
    template <class S, class Device>
    void step(state<S, Device>& st, S* theta, const S* grad, index n, std::span<const parameter_range> touched) const {
        step(st, theta, grad, n, touched, one_part{});
    }
    /// The same step, its update of every parameter (not `lazy`) run by `parts` (see
    /// optim::one_part): the threads of a meta-algorithm; the results are those of step().
    template <class S, class Device, class Parts>
    void step(state<S, Device>& st, S* theta, const S* grad, index n, std::span<const parameter_range> touched,
              const Parts& parts) const {
        if (!lazy) return detail::adam_step(*this, st, theta, grad, n, {}, parts);
        if (!touched.empty()) return detail::adam_step(*this, st, theta, grad, n, touched);
        detail::begin_step(*this, st, grad, n);  // nothing touched: nothing changes but the step count
        ++st.steps;
    }
};

/// Adam with the L2 penalty added to the gradient, as PyTorch's `torch.optim.Adam` (see basic_adam).
using adam = basic_adam<weight_decay_mode::coupled>;

/// AdamW: Adam with decoupled weight decay (default 0.01), as PyTorch's `torch.optim.AdamW`
/// (see basic_adam).
using adamw = basic_adam<weight_decay_mode::decoupled>;

}  // namespace metarec::optim
