// metarec compile test: a minimal user-defined loss (Huber) satisfies loss_function and
// loss_with_hessian.
// SPDX-License-Identifier: Apache-2.0
#include <string_view>

#include <metarec/concepts/loss_function.hpp>

// Kernels are named functors, so a CUDA device policy can run them unchanged.
template <class S>
struct huber_value_kernel {
    const S* pred;
    const S* target;
    S delta;
    METAREC_HOST_DEVICE S operator()(metarec::index i) const {
        const S d = pred[i] - target[i], a = d < S(0) ? -d : d;
        return a <= delta ? S(0.5) * d * d : delta * (a - S(0.5) * delta);
    }
};

template <class S>
struct huber_gradient_kernel {
    const S* pred;
    const S* target;
    S delta, inv_size;
    S* dpred;
    METAREC_HOST_DEVICE void operator()(metarec::index i) const {
        const S d = pred[i] - target[i];
        dpred[i] = (d > delta ? delta : d < -delta ? -delta : d) * inv_size;
    }
};

template <class S>
struct huber_hessian_kernel {
    const S* pred;
    const S* target;
    const S* rpred;
    S delta, inv_size;
    S* rdpred;
    METAREC_HOST_DEVICE void operator()(metarec::index i) const {
        const S d = pred[i] - target[i];
        rdpred[i] = (d <= delta && d >= -delta ? rpred[i] : S(0)) * inv_size;
    }
};

// Huber loss, mean over rows x n: 0.5 d^2 where |d| <= delta, delta (|d| - delta / 2) beyond.
struct my_loss {
    double delta = 1.0;

    static constexpr std::string_view name = "huber";
    static constexpr metarec::index target_rows(metarec::index rows) { return rows; }

    template <class Device, class S>
    S value(const S* pred, const S* target, metarec::index rows, metarec::index n) const {
        const metarec::index size = rows * n;
        if (size == 0) return S(0);
        return Device::reduce(size, huber_value_kernel<S>{pred, target, S(delta)}) / S(size);
    }
    template <class Device, class S>
    void gradient(const S* pred, const S* target, metarec::index rows, metarec::index n, S* dpred) const {
        const metarec::index size = rows * n;
        if (size == 0) return;
        Device::for_each(size, huber_gradient_kernel<S>{pred, target, S(delta), S(1) / S(size), dpred});
    }
    // optional: without it the loss is still a loss_function (first-order use, or a
    // finite-difference Hessian-vector product)
    template <class Device, class S>
    void hessian_product(const S* pred, const S* target, metarec::index rows, metarec::index n, const S* rpred,
                         S* rdpred) const {
        const metarec::index size = rows * n;
        if (size == 0) return;
        Device::for_each(size, huber_hessian_kernel<S>{pred, target, rpred, S(delta), S(1) / S(size), rdpred});
    }
};

static_assert(metarec::check_loss_function<my_loss, double, metarec::device::cpu>());
static_assert(metarec::check_loss_function<my_loss, float, metarec::device::cpu>());
static_assert(metarec::loss_with_hessian<my_loss, double, metarec::device::cpu>);
