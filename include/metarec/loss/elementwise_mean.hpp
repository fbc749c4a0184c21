// metarec: the losses that are a mean of one term per prediction (mse, bce_with_logits).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "../config.hpp"

namespace metarec::loss::detail {

// The kernels of a mean of terms l(p_i, t_i) over tasks of `size` values each (rows n, one
// task after another), of which task t uses the first `rows counts[t]` (the rest pads the
// task to n samples; `counts` null: all of them). Named structs (no lambdas) so that a CUDA
// device runs them as they are. `Loss` gives l, l' and l'' (see elementwise_mean).

//! l(p_i, t_i)
template <class Loss, class S>
struct term_kernel {
    const S* pred;
    const S* target;
    METAREC_HOST_DEVICE S operator()(index i) const { return Loss::term(pred[i], target[i]); }
};

//! the values task t uses: rows counts[t], or all `size` of them
METAREC_HOST_DEVICE inline index used_values(index size, index rows, const index* counts, index t) {
    return counts ? rows * counts[t] : size;
}

//! the weight of value i in its task's mean: 1 / N_t (N_t: the values the task uses), 0 on padding
template <class S>
METAREC_HOST_DEVICE inline S mean_weight(index i, index size, index rows, const index* counts) {
    const index t = i / size, used = used_values(size, rows, counts, t);
    return i - t * size < used ? S(1) / S(used) : S(0);
}

//! out[t] = the mean of task t's terms (0 for a task without samples), one task per iteration
template <class Loss, class S>
struct task_mean_kernel {
    const S* pred;
    const S* target;
    index size, rows;
    const index* counts;
    S* out;
    METAREC_HOST_DEVICE void operator()(index t) const {
        const index first = t * size, used = used_values(size, rows, counts, t);
        S acc = S(0);
        for (index i = first; i < first + used; ++i) acc += Loss::term(pred[i], target[i]);
        out[t] = used > 0 ? acc / S(used) : S(0);
    }
};

//! dpred_i = l'(p_i, t_i) / N_t, 0 on padding (not evaluated there: padding may hold anything)
template <class Loss, class S>
struct mean_gradient_kernel {
    const S* pred;
    const S* target;
    index size, rows;
    const index* counts;
    S* dpred;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const S w = mean_weight<S>(i, size, rows, counts);
        dpred[i] = w != S(0) ? Loss::derivative(pred[i], target[i]) * w : S(0);
    }
};

//! rdpred_i = l''(p_i) r_i / N_t, 0 on padding
template <class Loss, class S>
struct mean_hessian_kernel {
    const S* pred;
    const S* rpred;
    index size, rows;
    const index* counts;
    S* rdpred;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const S w = mean_weight<S>(i, size, rows, counts);
        rdpred[i] = w != S(0) ? Loss::second_derivative(pred[i]) * rpred[i] * w : S(0);
    }
};

/// The members of a loss that is the mean of one term per prediction,
///
///     L = (1/N) sum_i l(p_i, t_i),   dL/dp_i = l'(p_i, t_i) / N,   (H r)_i = l''(p_i) r_i / N
///
/// over the N = rows n predictions, for one batch and task-batched, from the term the loss
/// gives (CRTP: `Derived` declares the static, METAREC_HOST_DEVICE member templates
/// `term(p, t)`, `derivative(p, t)` and `second_derivative(p)`; l'' must not depend on the
/// target). An empty batch has loss 0 and writes nothing.
template <class Derived>
struct elementwise_mean {
    /// The loss.
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
        return Device::reduce(size, term_kernel<Derived, S>{pred, target}) / S(size);
    }
    //! `dpred = dL/dpred` (overwritten; `rows x n`, device memory)
    template <class Device, class S>
    void gradient(const S* pred, const S* target, index rows, index n, S* dpred) const {
        gradient_batched<Device>(pred, target, rows, n, 1, nullptr, dpred);
    }
    //! `rdpred = (d2L/dpred2) rpred` (overwritten; `rows x n`, device memory)
    template <class Device, class S>
    void hessian_product(const S* pred, const S* target, index rows, index n, const S* rpred, S* rdpred) const {
        hessian_product_batched<Device>(pred, target, rows, n, 1, nullptr, rpred, rdpred);
    }

    /// @{
    /// @brief The task-batched loss: `tasks` tasks of n samples each, their predictions and
    /// targets one task after another, each task's loss the mean over its own values. Task t
    /// uses its first `counts[t]` samples (device memory; `counts` null: all n), the rest pads
    /// it to n: they count for nothing and get zero derivatives. `values_batched` writes the
    /// tasks' losses to `out` (device memory, one per task); gradient and Hessian product are
    /// those of each task's loss. One kernel for all tasks.
    template <class Device, class S>
    void values_batched(const S* pred, const S* target, index rows, index n, index tasks, const index* counts,
                        S* out) const {
        Device::for_each(tasks, task_mean_kernel<Derived, S>{pred, target, rows * n, rows, counts, out});
    }
    template <class Device, class S>
    void gradient_batched(const S* pred, const S* target, index rows, index n, index tasks, const index* counts,
                          S* dpred) const {
        const index size = rows * n;
        if (size > 0)
            Device::for_each(size * tasks, mean_gradient_kernel<Derived, S>{pred, target, size, rows, counts, dpred});
    }
    template <class Device, class S>
    void hessian_product_batched(const S* pred, const S* /*target*/, index rows, index n, index tasks,
                                 const index* counts, const S* rpred, S* rdpred) const {
        const index size = rows * n;
        if (size > 0)
            Device::for_each(size * tasks, mean_hessian_kernel<Derived, S>{pred, rpred, size, rows, counts, rdpred});
    }
    /// @}
};

}  // namespace metarec::loss::detail
