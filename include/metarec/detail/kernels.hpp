// metarec: element-wise kernels shared by the meta-algorithms.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "../config.hpp"

namespace metarec::detail {

//! x -= rate * g, with one rate per element when `rates` is set, else the scalar `rate`
template <class S>
struct sgd_step_kernel {
    S* x;
    const S* g;
    const S* rates;
    S rate;
    METAREC_HOST_DEVICE void operator()(index i) const { x[i] -= (rates ? rates[i] : rate) * g[i]; }
};

//! out = rate * g (elementwise rates when set)
template <class S>
struct scaled_copy_kernel {
    S* out;
    const S* g;
    const S* rates;
    S rate;
    METAREC_HOST_DEVICE void operator()(index i) const { out[i] = (rates ? rates[i] : rate) * g[i]; }
};

//! out -= a * b
template <class S>
struct subtract_product_kernel {
    S* out;
    const S* a;
    const S* b;
    METAREC_HOST_DEVICE void operator()(index i) const { out[i] -= a[i] * b[i]; }
};

// The same for the `tasks` tasks of a task-batched meta-step: iteration i is element j = i % m
// of task t = i / m, whose vectors are `stride` apart (x_t = x + t stride); the rates are shared.

//! x_t[j] -= rate_j g_t[j]
template <class S>
struct sgd_step_batched_kernel {
    index m, stride;
    S* x;
    const S* g;
    const S* rates;
    S rate;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index j = i % m, k = (i / m) * stride + j;
        x[k] -= (rates ? rates[j] : rate) * g[k];
    }
};

//! out_t[j] = rate_j g_t[j]
template <class S>
struct scaled_copy_batched_kernel {
    index m, stride;
    S* out;
    const S* g;
    const S* rates;
    S rate;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index j = i % m, k = (i / m) * stride + j;
        out[k] = (rates ? rates[j] : rate) * g[k];
    }
};

//! out_t[j] -= a_t[j] b_t[j], each of the three with a stride of its own
template <class S>
struct subtract_product_batched_kernel {
    index m, out_stride, a_stride, b_stride;
    S* out;
    const S* a;
    const S* b;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index t = i / m, j = i % m;
        out[t * out_stride + j] -= a[t * a_stride + j] * b[t * b_stride + j];
    }
};

}  // namespace metarec::detail
