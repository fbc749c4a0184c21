// metarec: the mean squared error loss, with its gradient and Hessian-vector product.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "../config.hpp"
#include "elementwise_mean.hpp"

namespace metarec::loss {

/// Mean squared error, averaged over every sample and output (PyTorch's `MSELoss` with
/// `reduction="mean"`). With predictions P and targets T, both `rows x n` column-major and
/// N = rows n,
///
///     L(P)         = (1/N) sum_i (p_i - t_i)^2
///     dL/dp_i      = (2/N) (p_i - t_i)
///     d2L/dp_i dp_k = (2/N) [i = k]          so  (H r)_i = (2/N) r_i
///
/// The Hessian is constant (it depends on neither `pred` nor `target`). An empty
/// batch (N = 0) has loss 0 and writes nothing.
struct mse : detail::elementwise_mean<mse> {
    static constexpr std::string_view name = "mse";  //!< identifier of the loss

    //! one target value per prediction
    static constexpr index target_rows(index rows) { return rows; }

    /// @{
    /// @brief the term of the mean (detail::elementwise_mean) and its derivatives:
    /// (p - t)^2, 2 (p - t), 2
    template <class S>
    METAREC_HOST_DEVICE static S term(S p, S t) {
        const S d = p - t;
        return d * d;
    }
    template <class S>
    METAREC_HOST_DEVICE static S derivative(S p, S t) {
        return S(2) * (p - t);
    }
    template <class S>
    METAREC_HOST_DEVICE static S second_derivative(S) {
        return S(2);
    }
    /// @}
};

}  // namespace metarec::loss
