// metarec: softmax cross-entropy on logits with class-index targets, with its gradient and
// Hessian-vector product.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../config.hpp"

namespace metarec::loss {

namespace detail {

// Kernel functors of softmax_cross_entropy: one call per column (sample) j, which loops
// over the C classes of that column. Named structs so that a CUDA device runs them as they are.

//! whether t is a class index in [0, classes): an integer value in range (false for NaN)
template <class S>
METAREC_HOST_DEVICE inline bool valid_class(S t, index classes) {
    return t >= S(0) && t < S(classes) && S(index(t)) == t;
}

//! max_k z_k and sum_k exp(z_k - max) of the column z (classes >= 1)
template <class S>
struct softmax_column {
    S max, sum;
    METAREC_HOST_DEVICE softmax_column(const S* z, index classes) : max(z[0]), sum(S(0)) {
        for (index k = 1; k < classes; ++k)
            if (z[k] > max) max = z[k];
        for (index k = 0; k < classes; ++k) sum += std::exp(z[k] - max);
    }
    //! softmax(z)_k
    METAREC_HOST_DEVICE S probability(S zk) const { return std::exp(zk - max) / sum; }
    //! logsumexp(z)
    METAREC_HOST_DEVICE S log_normalizer() const { return max + std::log(sum); }
};

//! 1 when target j is not a class index in [0, C), else 0
template <class S>
struct invalid_class_kernel {
    const S* target;
    index classes;
    METAREC_HOST_DEVICE index operator()(index j) const { return valid_class(target[j], classes) ? 0 : 1; }
};

//! logsumexp(z_j) - z_j[t_j] (0 for an invalid target: it is never read out of bounds)
template <class S>
struct softmax_ce_value_kernel {
    const S* pred;
    const S* target;
    index classes;
    METAREC_HOST_DEVICE S operator()(index j) const {
        const S t = target[j];
        if (!valid_class(t, classes)) return S(0);
        const S* z = pred + j * classes;
        const softmax_column<S> c(z, classes);
        return (c.max - z[index(t)]) + std::log(c.sum);
    }
};

//! dpred[:, j] = (softmax(z_j) - onehot(t_j)) / n
template <class S>
struct softmax_ce_gradient_kernel {
    const S* pred;
    const S* target;
    index classes;
    S inv_n;
    S* dpred;
    METAREC_HOST_DEVICE void operator()(index j) const {
        const S* z = pred + j * classes;
        S* g = dpred + j * classes;
        const softmax_column<S> c(z, classes);
        for (index k = 0; k < classes; ++k) g[k] = c.probability(z[k]) * inv_n;
        const S t = target[j];
        if (valid_class(t, classes)) g[index(t)] -= inv_n;
    }
};

//! rdpred[:, j] = p ⊙ (r - p·r) / n with p = softmax(z_j), r = rpred[:, j]
template <class S>
struct softmax_ce_hessian_kernel {
    const S* pred;
    const S* rpred;
    index classes;
    S inv_n;
    S* rdpred;
    METAREC_HOST_DEVICE void operator()(index j) const {
        const S* z = pred + j * classes;
        const S* r = rpred + j * classes;
        S* h = rdpred + j * classes;
        const softmax_column<S> c(z, classes);
        S pr = S(0);
        for (index k = 0; k < classes; ++k) pr += c.probability(z[k]) * r[k];
        for (index k = 0; k < classes; ++k) h[k] = c.probability(z[k]) * (r[k] - pr) * inv_n;
    }
};

}  // namespace detail

/// Softmax cross-entropy (multinomial logistic loss) on logits with one class index per
/// sample, averaged over the samples (PyTorch's `CrossEntropyLoss` with class-index targets
/// and `reduction="mean"`). Predictions Z are `C x n` column-major logits (`rows = C`
/// classes); the target is a `1 x n` vector of class indices stored as S (0, 1, ..., C-1).
/// With p_j = softmax(z_j) for column j,
///
///     L(Z)          = (1/n) sum_j logsumexp(z_j) - z_j[t_j]
///                   = (1/n) sum_j m_j + log sum_k exp(z_jk - m_j) - z_j[t_j],  m_j = max_k z_jk
///     dL/dz_j       = (1/n) (p_j - onehot(t_j))
///     d2L/dz_j^2    = (1/n) (diag(p_j) - p_j p_j^T)   so  (H r)_j = (1/n) p_j ⊙ (r_j - p_j·r_j)
///
/// and there are no cross-column terms. The max shift keeps it finite for logits of any
/// magnitude. `value` and `gradient` check the targets first (one reduction) and throw
/// std::invalid_argument when any is not an integer in [0, C); hessian_product does not
/// read `target`. An empty batch (n = 0) has loss 0 and writes nothing.
struct softmax_cross_entropy {
    static constexpr std::string_view name = "softmax_cross_entropy";  //!< identifier of the loss

    //! one class index per sample, whatever the number of classes
    static constexpr index target_rows(index /*rows*/) { return 1; }

    /// The mean cross-entropy.
    /// @tparam Device device policy that owns the memory (e.g. device::cpu)
    /// @tparam S      scalar type
    /// @param pred    logits, `rows x n` column-major (device memory)
    /// @param target  n class indices in [0, rows), stored as S (device memory)
    /// @param rows    number of classes C
    /// @param n       number of samples
    /// @throws std::invalid_argument when a target is not a class index in [0, rows)
    template <class Device, class S>
    S value(const S* pred, const S* target, index rows, index n) const {
        if (n <= 0) return S(0);
        check_targets<Device>(target, rows, n);
        return Device::reduce(n, detail::softmax_ce_value_kernel<S>{pred, target, rows}) / S(n);
    }

    /// `dpred = dL/dpred = (softmax(pred) - onehot(target)) / n`, per column (overwritten;
    /// `rows x n`, device memory).
    /// @throws std::invalid_argument when a target is not a class index in [0, rows)
    template <class Device, class S>
    void gradient(const S* pred, const S* target, index rows, index n, S* dpred) const {
        if (n <= 0) return;
        check_targets<Device>(target, rows, n);
        Device::for_each(n, detail::softmax_ce_gradient_kernel<S>{pred, target, rows, S(1) / S(n), dpred});
    }

    /// `rdpred = (d2L/dpred2) rpred`, per column `p ⊙ (r - p·r) / n` with p = softmax(pred)
    /// (overwritten; `rows x n`, device memory). Does not read `target`.
    template <class Device, class S>
    void hessian_product(const S* pred, const S* /*target*/, index rows, index n, const S* rpred,
                         S* rdpred) const {
        if (n <= 0 || rows <= 0) return;
        Device::for_each(n, detail::softmax_ce_hessian_kernel<S>{pred, rpred, rows, S(1) / S(n), rdpred});
    }

private:
    template <class Device, class S>
    static void check_targets(const S* target, index rows, index n) {
        const index invalid = Device::reduce(n, detail::invalid_class_kernel<S>{target, rows});
        if (invalid != 0)
            throw std::invalid_argument("metarec::loss::softmax_cross_entropy: " + std::to_string(invalid) + " of " +
                                        std::to_string(n) + " targets are not a class index in [0, " +
                                        std::to_string(rows) + ")");
    }
};

}  // namespace metarec::loss
