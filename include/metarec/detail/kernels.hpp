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

}  // namespace metarec::detail
