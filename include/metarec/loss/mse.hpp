// metarec: the mean squared error loss, with its gradient and Hessian-vector product.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "../config.hpp"

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
struct mse {
    static constexpr std::string_view name = "mse";  //!< identifier of the loss

    //! one target value per prediction
    static constexpr index target_rows(index rows) { return rows; }

    /// The mean squared error.
    /// @tparam Device device policy that owns the memory (e.g. device::cpu)
    /// @tparam S      scalar type
    /// @param pred    predictions, `rows x n` column-major (device memory)
    /// @param target  targets, same layout as `pred` (device memory)
    /// @param rows    outputs per sample
    /// @param n       number of samples
    template <class Device, class S>
    S value(const S* pred, const S* target, index rows, index n) const {
        const index size = rows * n;
        if (size <= 0) return S(0);
        return Device::reduce(size, detail::mse_value_kernel<S>{pred, target}) / S(size);
    }

    /// `dpred = dL/dpred = (2/N) (pred - target)` (overwritten; `rows x n`, device memory).
    template <class Device, class S>
    void gradient(const S* pred, const S* target, index rows, index n, S* dpred) const {
        const index size = rows * n;
        if (size <= 0) return;
        Device::for_each(size, detail::mse_gradient_kernel<S>{pred, target, S(2) / S(size), dpred});
    }

    /// `rdpred = (d2L/dpred2) rpred = (2/N) rpred` (overwritten; `rows x n`, device memory).
    template <class Device, class S>
    void hessian_product(const S* /*pred*/, const S* /*target*/, index rows, index n, const S* rpred, S* rdpred) const {
        const index size = rows * n;
        if (size <= 0) return;
        Device::for_each(size, detail::mse_hessian_kernel<S>{rpred, S(2) / S(size), rdpred});
    }
};

}  // namespace metarec::loss
