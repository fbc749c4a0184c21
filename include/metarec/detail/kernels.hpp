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

// The same for the tasks of a task-batched meta-step, run by Device::for_each_task: element
// j of task t, whose vectors are `stride` apart (x_t = x + t stride); the rates are shared.

//! x_t[j] -= rate_j g_t[j]
template <class S>
struct sgd_step_batched_kernel {
    index stride;
    S* x;
    const S* g;
    const S* rates;
    S rate;
    METAREC_HOST_DEVICE void operator()(index j, index t) const {
        x[t * stride + j] -= (rates ? rates[j] : rate) * g[t * stride + j];
    }
};

//! out_t[j] = rate_j g_t[j]
template <class S>
struct scaled_copy_batched_kernel {
    index stride;
    S* out;
    const S* g;
    const S* rates;
    S rate;
    METAREC_HOST_DEVICE void operator()(index j, index t) const {
        out[t * stride + j] = (rates ? rates[j] : rate) * g[t * stride + j];
    }
};

//! out_t[j] -= a_t[j] b_t[j], each of the three with a stride of its own
template <class S>
struct subtract_product_batched_kernel {
    index out_stride, a_stride, b_stride;
    S* out;
    const S* a;
    const S* b;
    METAREC_HOST_DEVICE void operator()(index j, index t) const {
        out[t * out_stride + j] -= a[t * a_stride + j] * b[t * b_stride + j];
    }
};

}  // namespace metarec::detail
