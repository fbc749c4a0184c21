// expect: a loss function lacks a const member template gradient<Device>
// metarec compile test: a loss without gradient() is rejected with a readable message.
// SPDX-License-Identifier: Apache-2.0
#include <string_view>

#include <metarec/concepts/loss_function.hpp>
#include <metarec/device/cpu.hpp>

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

// The loss of the skeleton of docs/concepts/loss_function.md with gradient() (and hessian_product()) missing.
struct my_loss {
    double delta = 1.0;

    static constexpr std::string_view name = "huber";

    template <class Device, class S>
    S value(const S* pred, const S* target, metarec::index rows, metarec::index n) const {
        const metarec::index size = rows * n;
        if (size == 0) return S(0);
        return Device::reduce(size, huber_value_kernel<S>{pred, target, S(delta)}) / S(size);
    }
};

static_assert(metarec::check_loss_function<my_loss, double, metarec::device::cpu>());
