// metarec compile test: a minimal user-defined optimizer satisfies the optimizer concept.
// SPDX-License-Identifier: Apache-2.0
#include <metarec/concepts/optimizer.hpp>

// Signum (sign of momentum): b <- mu b + (1 - mu) g;  theta <- theta - lr sign(b).
// The kernel is a named functor, so a CUDA device policy can run it unchanged.
template <class S>
struct my_opt_kernel {
    S* theta;
    const S* grad;
    S* buf;
    S lr, mu;
    METAREC_HOST_DEVICE void operator()(metarec::index i) const {
        const S b = mu * buf[i] + (S(1) - mu) * grad[i];
        buf[i] = b;
        theta[i] -= b > S(0) ? lr : b < S(0) ? -lr : S(0);
    }
};

struct my_opt {
    double lr = 1e-3;
    double mu = 0.9;

    // one momentum scalar per parameter
    metarec::index state_size(metarec::index n) const { return n; }

    template <class S, class Device>
    void step(metarec::optim::state<S, Device>& st, S* theta, const S* grad, metarec::index n) const {
        Device::for_each(n, my_opt_kernel<S>{theta, grad, st.buffer.data(), S(lr), S(mu)});
        ++st.steps;
    }
};

static_assert(metarec::check_optimizer<my_opt, float, metarec::device::cpu>());
static_assert(metarec::optimizer<my_opt, double>);
