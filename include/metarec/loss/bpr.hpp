// metarec: the Bayesian personalized ranking (BPR) loss on (positive, negative) score pairs,
// with its gradient and Hessian-vector product.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "../config.hpp"
#include "bce_with_logits.hpp"  // detail::sigmoid, softplus, sigmoid_derivative

namespace metarec::loss {

namespace detail {

// Kernel functors of bpr: one call per pair i, which owns samples 2i (positive) and 2i+1
// (negative). Named structs so that a CUDA device runs them as they are.

//! softplus(-(s_2i - s_2i+1)) = -log sigmoid(s_pos - s_neg)
template <class S>
struct bpr_value_kernel {
    const S* pred;
    METAREC_HOST_DEVICE S operator()(index i) const { return softplus(pred[2 * i + 1] - pred[2 * i]); }
};

//! dpred_2i = -sigmoid(-d_i) / P, dpred_2i+1 = +sigmoid(-d_i) / P
template <class S>
struct bpr_gradient_kernel {
    const S* pred;
    S inv_pairs;
    S* dpred;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const S g = sigmoid(pred[2 * i + 1] - pred[2 * i]) * inv_pairs;  // sigmoid(-d_i) / P
        dpred[2 * i] = -g;
        dpred[2 * i + 1] = g;
    }
};

//! rdpred_2i = h_i (r_2i - r_2i+1) / P = -rdpred_2i+1, h_i = sigmoid(d_i) sigmoid(-d_i)
template <class S>
struct bpr_hessian_kernel {
    const S* pred;
    const S* rpred;
    S inv_pairs;
    S* rdpred;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const S h = sigmoid_derivative(pred[2 * i] - pred[2 * i + 1]) * (rpred[2 * i] - rpred[2 * i + 1]) * inv_pairs;
        rdpred[2 * i] = h;
        rdpred[2 * i + 1] = -h;
    }
};

}  // namespace detail

/// Bayesian personalized ranking (Rendle et al., 2009): the logistic loss on the score
/// difference of an interacted (positive) item and a sampled (negative) item, averaged over
/// the pairs (the mean reduction, as PyTorch's default `reduction='mean'`).
///
/// Layout: predictions are `1 x n` scores (`rows` must be 1) with n even; samples come in
/// pairs, sample 2i is the positive item of pair i and sample 2i+1 its sampled negative.
/// The target is unused (pass null). With P = n/2 pairs and d_i = s_2i - s_2i+1,
///
///     L(s)        = (1/P) sum_i -log sigmoid(d_i) = (1/P) sum_i softplus(-d_i)
///     dL/ds_2i    = -(1/P) sigmoid(-d_i)      dL/ds_2i+1 = +(1/P) sigmoid(-d_i)
///     d2L/dd_i^2  = (1/P) sigmoid(d_i) sigmoid(-d_i)
///     (H r)_2i    = (1/P) sigmoid(d_i) sigmoid(-d_i) (r_2i - r_2i+1) = -(H r)_2i+1
///
/// computed without overflow for scores of any magnitude. Every member throws
/// std::invalid_argument when `rows != 1` or n is odd. An empty batch (n = 0) has loss 0
/// and writes nothing.
struct bpr {
    static constexpr std::string_view name = "bpr";  //!< identifier of the loss

    //! no target: the pair layout is the supervision
    static constexpr index target_rows(index /*rows*/) { return 0; }

    /// The mean BPR loss over the n/2 pairs. The second argument (the target) is unused and
    /// may be null.
    /// @tparam Device device policy that owns the memory (e.g. device::cpu)
    /// @tparam S      scalar type
    /// @param pred    scores, `1 x n`: positive, negative, positive, negative, ... (device memory)
    /// @param rows    must be 1
    /// @param n       number of samples, even (2 per pair)
    /// @throws std::invalid_argument when rows != 1 or n is odd
    template <class Device, class S>
    S value(const S* pred, const S* /*target*/, index rows, index n) const {
        check_shape(rows, n);
        if (n == 0) return S(0);
        const index pairs = n / 2;
        return Device::reduce(pairs, detail::bpr_value_kernel<S>{pred}) / S(pairs);
    }

    /// `dpred = dL/dpred` (overwritten; `1 x n`, device memory).
    /// @throws std::invalid_argument when rows != 1 or n is odd
    template <class Device, class S>
    void gradient(const S* pred, const S* /*target*/, index rows, index n, S* dpred) const {
        check_shape(rows, n);
        if (n == 0) return;
        const index pairs = n / 2;
        Device::for_each(pairs, detail::bpr_gradient_kernel<S>{pred, S(1) / S(pairs), dpred});
    }

    /// `rdpred = (d2L/dpred2) rpred` (overwritten; `1 x n`, device memory).
    /// @throws std::invalid_argument when rows != 1 or n is odd
    template <class Device, class S>
    void hessian_product(const S* pred, const S* /*target*/, index rows, index n, const S* rpred,
                         S* rdpred) const {
        check_shape(rows, n);
        if (n == 0) return;
        const index pairs = n / 2;
        Device::for_each(pairs, detail::bpr_hessian_kernel<S>{pred, rpred, S(1) / S(pairs), rdpred});
    }

private:
    static void check_shape(index rows, index n) {
        if (rows != 1)
            throw std::invalid_argument("metarec::loss::bpr: predictions must be 1 x n scores, got rows = " +
                                        std::to_string(rows));
        if (n < 0 || n % 2 != 0)
            throw std::invalid_argument("metarec::loss::bpr: n must be even, samples come in (positive, negative) "
                                        "pairs; got n = " + std::to_string(n));
    }
};

}  // namespace metarec::loss
