// metarec: the mean squared error loss, with its gradient and Hessian-vector product.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "../config.hpp"
#include "elementwise_mean.hpp"

namespace metarec::loss {

namespace detail {

// Kernel functors of mse. Named structs (no lambdas) so that a CUDA device runs them as they are.

//! (p_i - t_i)^2
template <class S>
struct mse_value_kernel {
    const S* pred;
    const S* target;
    METAREC_HOST_DEVICE S operator()(index i) const {
        const S d = pred[i] - target[i];
        return d * d;
    }
};

//! dpred_i = scale (p_i - t_i), scale = 2 / N
template <class S>
struct mse_gradient_kernel {
    const S* pred;
    const S* target;
    S scale;
    S* dpred;
    METAREC_HOST_DEVICE void operator()(index i) const { dpred[i] = scale * (pred[i] - target[i]); }
};

//! rdpred_i = scale rpred_i, scale = 2 / N
template <class S>
struct mse_hessian_kernel {
    const S* rpred;
    S scale;
    S* rdpred;
    METAREC_HOST_DEVICE void operator()(index i) const { rdpred[i] = scale * rpred[i]; }
};

}  // namespace detail

/// Mean squared error, averaged over every sample and output (PyTorch's `MSELoss` with
/// `reduction="mean"`). With predictions P and targets T, both `rows x n` column-major and
/// N = rows n,
///
///     L(P)         = (1/N) sum_i (p_i - t_i)^2
///     dL/dp_i      = (2/N) (p_i - t_i)
///     d2L/dp_i dp_k = (2/N) [i = k]          so  (H r)_i = (2/N) r_i
///
/// The Hessian is constant: hessian_product does not read `pred` or `target`. An empty
/// batch (N = 0) has loss 0 and writes nothing.
struct mse : detail::elementwise_mean<mse> {
    static constexpr std::string_view name = "mse";  //!< identifier of the loss

    //! one target value per prediction
    static constexpr index target_rows(index rows) { return rows; }

    /// @{
    /// @brief the kernels of the mean (detail::elementwise_mean): (p_i - t_i)^2,
    /// dpred_i = (2/N) (p_i - t_i), rdpred_i = (2/N) r_i
    template <class S>
    static detail::mse_value_kernel<S> value_kernel(const S* pred, const S* target) {
        return {pred, target};
    }
    template <class S>
    static detail::mse_gradient_kernel<S> gradient_kernel(const S* pred, const S* target, index size, S* dpred) {
        return {pred, target, S(2) / S(size), dpred};
    }
    template <class S>
    static detail::mse_hessian_kernel<S> hessian_kernel(const S* /*pred*/, const S* rpred, index size, S* rdpred) {
        return {rpred, S(2) / S(size), rdpred};
    }
    /// @}
};

}  // namespace metarec::loss
