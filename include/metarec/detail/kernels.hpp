// metarec: element-wise kernels shared by the meta-algorithms.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "../config.hpp"

namespace metarec::detail {

// Run by Device::for_each_task: element j of task t, the tasks' vectors `stride` apart
// (x_t = x + t stride; one task: the stride is not read), the rates shared by the tasks.

//! x_t[j] -= rate_j g_t[j], with one rate per element when `rates` is set, else the scalar `rate`
template <class S>
struct sgd_step_kernel {
    index stride;
    S* x;
    const S* g;
    const S* rates;
    S rate;
    METAREC_HOST_DEVICE void operator()(index j, index t) const {
        x[t * stride + j] -= (rates ? rates[j] : rate) * g[t * stride + j];
    }
};

//! x[j] = from[j] - rate_j g[j] (one task; the rates as sgd_step_kernel's; `from` may be `x`)
template <class S>
struct sgd_step_from_kernel {
    S* x;
    const S* from;
    const S* g;
    const S* rates;
    S rate;
    METAREC_HOST_DEVICE void operator()(index j, index) const { x[j] = from[j] - (rates ? rates[j] : rate) * g[j]; }
};

//! out_t[j] = rate_j g_t[j] (the rates as sgd_step_kernel's)
template <class S>
struct scaled_copy_kernel {
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
struct subtract_product_kernel {
    index out_stride, a_stride, b_stride;
    S* out;
    const S* a;
    const S* b;
    METAREC_HOST_DEVICE void operator()(index j, index t) const {
        out[t * out_stride + j] -= a[t * a_stride + j] * b[t * b_stride + j];
    }
};

}  // namespace metarec::detail
