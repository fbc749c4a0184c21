// metarec: binary cross-entropy on logits, with its gradient and Hessian-vector product.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <string_view>

#include "../config.hpp"
#include "elementwise_mean.hpp"

namespace metarec::loss {

namespace detail {

// Numerically stable scalar functions of a logit, shared by bce_with_logits and bpr. None
// of them overflows: every exp() has a non-positive argument.

//! |z|
template <class S>
METAREC_HOST_DEVICE inline S abs_value(S z) {
    return z < S(0) ? -z : z;
}

//! sigmoid(z) = 1 / (1 + exp(-z)), through exp(-|z|) so that it never overflows
template <class S>
METAREC_HOST_DEVICE inline S sigmoid(S z) {
    const S e = std::exp(-abs_value(z));  // in (0, 1]
    return z >= S(0) ? S(1) / (S(1) + e) : e / (S(1) + e);
}

//! softplus(z) = log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|))
template <class S>
METAREC_HOST_DEVICE inline S softplus(S z) {
    return (z > S(0) ? z : S(0)) + std::log1p(std::exp(-abs_value(z)));
}

//! sigmoid'(z) = sigmoid(z) sigmoid(-z) = e / (1 + e)^2 with e = exp(-|z|); exact in the
//! tails, where 1 - sigmoid(z) would round to 0
template <class S>
METAREC_HOST_DEVICE inline S sigmoid_derivative(S z) {
    const S e = std::exp(-abs_value(z));
    const S d = S(1) + e;
    return e / (d * d);
}

}  // namespace detail

/// Binary cross-entropy on logits, averaged over every sample and output (PyTorch's
/// `BCEWithLogitsLoss` with `reduction="mean"`). With logits Z and targets T in [0, 1], both
/// `rows x n` column-major (several independent binary outputs per sample are allowed), and
/// N = rows n,
///
///     L(Z)          = (1/N) sum_i softplus(z_i) - t_i z_i
///                   = (1/N) sum_i max(z_i, 0) - t_i z_i + log1p(exp(-|z_i|))
///     dL/dz_i       = (1/N) (sigmoid(z_i) - t_i)
///     d2L/dz_i dz_k = (1/N) sigmoid(z_i) (1 - sigmoid(z_i)) [i = k]
///
/// which is `-(1/N) sum_i t_i log sigmoid(z_i) + (1 - t_i) log(1 - sigmoid(z_i))`, computed
/// without overflow for logits of any magnitude (also in float). Soft targets in [0, 1]
/// are allowed and not checked. An empty batch (N = 0) has loss 0 and writes nothing.
struct bce_with_logits : detail::elementwise_mean<bce_with_logits> {
    static constexpr std::string_view name = "bce_with_logits";  //!< identifier of the loss

    //! one target in [0, 1] per logit
    static constexpr index target_rows(index rows) { return rows; }

    /// @{
    /// @brief the term of the mean (detail::elementwise_mean) and its derivatives:
    /// softplus(z) - t z, sigmoid(z) - t, sigmoid(z) sigmoid(-z)
    template <class S>
    METAREC_HOST_DEVICE static S term(S z, S t) {
        return detail::softplus(z) - t * z;
    }
    template <class S>
    METAREC_HOST_DEVICE static S derivative(S z, S t) {
        return detail::sigmoid(z) - t;
    }
    template <class S>
    METAREC_HOST_DEVICE static S second_derivative(S z) {
        return detail::sigmoid_derivative(z);
    }
    /// @}
};

}  // namespace metarec::loss
