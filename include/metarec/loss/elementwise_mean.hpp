// metarec: the losses that are a mean of one term per prediction (mse, bce_with_logits).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "../config.hpp"

namespace metarec::loss::detail {

/// out[t] = (1/size) sum_{i < size} term(t size + i): the loss of each of the tasks whose
/// `size` elements lie one task after another, one task per iteration (the tasks of a
/// meta-batch are few-shot, so the loop is short).
template <class S, class Term>
struct task_mean_kernel {
    Term term;
    index size;
    S* out;
    METAREC_HOST_DEVICE void operator()(index t) const {
        S acc = S(0);
        for (index i = 0; i < size; ++i) acc += term(t * size + i);
        out[t] = acc / S(size);
    }
};

/// The members of a loss `L = (1/N) sum_i l(p_i, t_i)` over the N = rows n predictions, for
/// one batch and task-batched, from the kernels the loss gives (CRTP: `Derived` declares, as
/// static member templates, `value_kernel(pred, target)` of l, `gradient_kernel(pred,
/// target, N, dpred)` writing dL/dp, and `hessian_kernel(pred, rpred, N, rdpred)` writing
/// (d2L/dp2) r, each a functor of the element index i). An empty batch has loss 0 and
/// writes nothing.
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
        return Device::reduce(size, Derived::value_kernel(pred, target)) / S(size);
    }
    //! `dpred = dL/dpred` (overwritten; `rows x n`, device memory)
    template <class Device, class S>
    void gradient(const S* pred, const S* target, index rows, index n, S* dpred) const {
        gradient_batched<Device>(pred, target, rows, n, 1, dpred);
    }
    //! `rdpred = (d2L/dpred2) rpred` (overwritten; `rows x n`, device memory)
    template <class Device, class S>
    void hessian_product(const S* pred, const S* target, index rows, index n, const S* rpred, S* rdpred) const {
        hessian_product_batched<Device>(pred, target, rows, n, 1, rpred, rdpred);
    }

    /// @{
    /// @brief The task-batched loss: `tasks` tasks of n samples each, their predictions and
    /// targets one task after another, each task's loss the mean over its own `rows n` values.
    /// `values_batched` writes the tasks' losses to `out` (device memory, one per task);
    /// gradient and Hessian product are those of each task's loss, one kernel for all tasks.
    template <class Device, class S>
    void values_batched(const S* pred, const S* target, index rows, index n, index tasks, S* out) const {
        const index size = rows * n;
        if (size <= 0) return Device::fill(tasks, S(0), out);
        using term = decltype(Derived::value_kernel(pred, target));
        Device::for_each(tasks, task_mean_kernel<S, term>{Derived::value_kernel(pred, target), size, out});
    }
    template <class Device, class S>
    void gradient_batched(const S* pred, const S* target, index rows, index n, index tasks, S* dpred) const {
        const index size = rows * n;
        if (size > 0) Device::for_each(size * tasks, Derived::gradient_kernel(pred, target, size, dpred));
    }
    template <class Device, class S>
    void hessian_product_batched(const S* pred, const S* /*target*/, index rows, index n, index tasks, const S* rpred,
                                 S* rdpred) const {
        const index size = rows * n;
        if (size > 0) Device::for_each(size * tasks, Derived::hessian_kernel(pred, rpred, size, rdpred));
    }
    /// @}
};

}  // namespace metarec::loss::detail
