// metarec: the support and query sets of a meta-batch's tasks, stacked into one batch each.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../nn/batch.hpp"

namespace metarec::detail {

// The kernels read the tasks' arrays through a table of their addresses in device memory
// (std::uintptr_t: every device policy's vector holds integers).

// The samples of task t: counts[t], or all n when `counts` is null
METAREC_HOST_DEVICE inline index task_samples(const index* counts, index n, index t) { return counts ? counts[t] : n; }

// dst[t width n + i] = source_t[i] for the `width` values of each of task t's samples, 0 for
// the samples that pad it to n (source_t: the t-th array of the table)
template <class T>
struct stack_kernel {
    const std::uintptr_t* sources;
    const index* counts;
    index width, n;
    T* dst;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index t = i / (width * n), local = i - t * width * n;
        dst[i] = local < width * task_samples(counts, n, t) ? reinterpret_cast<const T*>(sources[t])[local] : T(0);
    }
};

// the number of ids of task t's bags (its last offset)
struct bag_length_kernel {
    const std::uintptr_t* offsets;
    const index* counts;
    index n;
    METAREC_HOST_DEVICE index operator()(index t) const {
        return index(reinterpret_cast<const id_type*>(offsets[t])[task_samples(counts, n, t)]);
    }
};

// One task per iteration: task t's bag offsets (from 0) shifted by the ids of the tasks before
// it, empty bags for the samples that pad it to n, and its ids after theirs. Each task sums
// the lengths of the tasks before it (T^2 / 2 reads of one number for T tasks: a meta-batch
// has hundreds, and a prefix sum is not among the device operations).
struct stack_bags_kernel {
    const std::uintptr_t* offsets;
    const std::uintptr_t* ids;
    const index* counts;
    index n, tasks;
    id_type* stacked_offsets;
    id_type* stacked_ids;
    METAREC_HOST_DEVICE void operator()(index t) const {
        const bag_length_kernel length{offsets, counts, n};
        index base = 0;
        for (index u = 0; u < t; ++u) base += length(u);
        const id_type* o = reinterpret_cast<const id_type*>(offsets[t]);
        const id_type* source = reinterpret_cast<const id_type*>(ids[t]);
        const index c = task_samples(counts, n, t), end = index(o[c]);
        for (index j = 0; j < n; ++j) stacked_offsets[t * n + j] = id_type(base + (j < c ? index(o[j]) : end));
        if (t + 1 == tasks) stacked_offsets[tasks * n] = id_type(base + end);
        for (index k = 0; k < end; ++k) stacked_ids[base + k] = source[k];
    }
};

//! reallocates the device buffer `v` when it holds fewer than n values (its contents are then
//! unspecified); returns whether it did
template <class Vector>
bool grow(Vector& v, index n) {
    if (index(v.size()) >= n) return false;
    v = Vector(n);
    return true;
}

}  // namespace metarec::detail

namespace metarec::meta {

/// The support sets of a meta-batch's tasks stacked into one batch on the device, and their
/// query sets into another, as the learners' task-batched passes read them (layer.hpp): task
/// t's samples are the samples `[t n, (t+1) n)`, its targets likewise. n is the largest set's
/// size; a smaller set is padded with samples of zeros (id 0, empty bags, target 0) that
/// `support_counts()` / `query_counts()` tell the losses to leave out (objective's `counts`).
/// Dense features, targets and single-valued ids are copied as they are; bag offsets are
/// shifted by the ids of the tasks before.
///
/// Device to device, in a fixed number of kernels whatever the number of tasks: the kernels
/// read the tasks' arrays through a table of their addresses (8 bytes per task and array),
/// which is uploaded with the tasks' sizes when they differ; one reduction per multi-valued
/// field brings the number of its ids to the host (to size the buffer). Buffers grow and are
/// reused.
template <class S, class Device>
class stacked_tasks {
    template <class T>
    using vector = typename Device::template vector<T>;

public:
    /// Stacks the support and the query sets of `tasks` (meta::task views of nn::batch
    /// inputs), which must have the same fields (std::invalid_argument otherwise, naming the
    /// tasks). `target_rows`: target values per sample.
    template <class Task>
    void stack(std::span<const Task* const> tasks, index target_rows) {
        if (tasks.empty()) throw std::invalid_argument("metarec: stacked_tasks: no task to stack");
        const index T = index(tasks.size());
        const auto& first = tasks[0]->support;
        // the address table: per side, T addresses for each of dense, targets, every
        // categorical field, the offsets and the ids of every multi-valued field
        const std::size_t per_side = 2 + first.categorical.size() + 2 * first.multi.size();
        host_addresses_.assign(2 * per_side * std::size_t(T), 0);
        const auto address = [&](std::size_t side, std::size_t array, index t) -> std::uintptr_t& {
            return host_addresses_[(side * per_side + array) * std::size_t(T) + std::size_t(t)];
        };
        for (auto& out : sides_) out.host_counts.resize(std::size_t(T));
        for (index t = 0; t < T; ++t) {
            const Task& task = *tasks[std::size_t(t)];
            for (std::size_t side = 0; side < 2; ++side) {
                const auto& x = side ? task.query : task.support;
                check_set(task, side, x, *tasks[0]);
                sides_[side].host_counts[std::size_t(t)] = x.size();
                std::size_t a = 0;
                address(side, a++, t) = reinterpret_cast<std::uintptr_t>(x.dense);
                address(side, a++, t) = reinterpret_cast<std::uintptr_t>(side ? task.query_target : task.support_target);
                for (const id_type* ids : x.categorical) address(side, a++, t) = reinterpret_cast<std::uintptr_t>(ids);
                for (const auto& bag : x.multi) {
                    address(side, a++, t) = reinterpret_cast<std::uintptr_t>(bag.offsets);
                    address(side, a++, t) = reinterpret_cast<std::uintptr_t>(bag.ids);
                }
            }
        }
        detail::grow(addresses_, index(host_addresses_.size()));
        Device::to_device(index(host_addresses_.size()), host_addresses_.data(), addresses_.data());
        for (std::size_t side = 0; side < 2; ++side) {
            auto& out = sides_[side];
            const auto [smallest, largest] = std::minmax_element(out.host_counts.begin(), out.host_counts.end());
            out.ragged = *smallest != *largest;
            if (out.ragged) {
                detail::grow(out.counts, T);
                Device::to_device(T, out.host_counts.data(), out.counts.data());
            }
            stack_side(out, side ? tasks[0]->query : first, *largest, T, target_rows,
                       addresses_.data() + side * per_side * std::size_t(T));
        }
    }

    //! the tasks' support sets, one task after another, n samples each (after stack())
    const nn::batch<S>& support() const noexcept { return sides_[0].view; }
    //! their targets, `target_rows x n` per task
    const S* support_target() const noexcept { return sides_[0].target.data(); }
    //! the support sets' sizes (device memory, one per task), or null when they are all n
    const index* support_counts() const noexcept { return sides_[0].ragged ? sides_[0].counts.data() : nullptr; }
    //! the tasks' query sets, one task after another, n samples each (after stack())
    const nn::batch<S>& query() const noexcept { return sides_[1].view; }
    //! their targets
    const S* query_target() const noexcept { return sides_[1].target.data(); }
    //! the query sets' sizes (device memory, one per task), or null when they are all n
    const index* query_counts() const noexcept { return sides_[1].ragged ? sides_[1].counts.data() : nullptr; }

private:
    // a set the kernels can read: the fields of the first task's support set (its layout of
    // the address table), and none of the arrays they read missing (a null one would crash them)
    template <class Task>
    static void check_set(const Task& task, std::size_t side, const nn::batch<S>& x, const Task& first_task) {
        const auto& first = first_task.support;
        if (x.dense_dim != first.dense_dim || x.categorical.size() != first.categorical.size() ||
            x.multi.size() != first.multi.size())
            throw std::invalid_argument(
                "metarec: stacked_tasks: task key " + std::to_string(task.key) + " has " + std::to_string(x.dense_dim) +
                " dense features, " + std::to_string(x.categorical.size()) + " categorical and " +
                std::to_string(x.multi.size()) + " multi-valued fields; task key " + std::to_string(first_task.key) +
                " " + std::to_string(first.dense_dim) + ", " + std::to_string(first.categorical.size()) + " and " +
                std::to_string(first.multi.size()));
        const auto fail = [&](const char* what) {
            throw std::invalid_argument("metarec: stacked_tasks: task key " + std::to_string(task.key) + ": the " +
                                        (side ? "query" : "support") + " set has no " + what);
        };
        if (x.size() <= 0) fail("samples");
        if (x.dense_dim > 0 && !x.dense) fail("dense feature data");
        if (!(side ? task.query_target : task.support_target)) fail("targets");
        for (const id_type* ids : x.categorical)
            if (!ids) fail("ids for a categorical field");
        for (const auto& bag : x.multi)
            if (!bag.offsets) fail("bag offsets for a multi-valued field");
    }

    struct side {
        std::vector<index> host_counts;  // the tasks' sizes
        bool ragged = false;             // whether they differ (then `counts` holds them)
        vector<index> counts;
        vector<S> dense, target;
        std::vector<vector<id_type>> categorical, offsets, ids;
        std::vector<const id_type*> categorical_ids;
        std::vector<nn::bag_field> bags;
        nn::batch<S> view;
    };

    // one side of every task, padded to n samples (`like`: the first task's, for the fields),
    // the addresses of its arrays at `table`
    static void stack_side(side& out, const nn::batch<S>& like, index n, index T, index target_rows,
                           const std::uintptr_t* table) {
        const index dim = like.dense_dim;
        const index* counts = out.ragged ? out.counts.data() : nullptr;
        const std::size_t fields = like.categorical.size(), bag_fields = like.multi.size();
        out.categorical.resize(fields);
        out.offsets.resize(bag_fields);
        out.ids.resize(bag_fields);
        out.categorical_ids.resize(fields);
        out.bags.resize(bag_fields);
        if (dim > 0) stack_array(out.dense, dim, n, T, counts, table);
        stack_array(out.target, target_rows, n, T, counts, table + T);
        for (std::size_t f = 0; f < fields; ++f) {
            stack_array(out.categorical[f], 1, n, T, counts, table + (2 + f) * std::size_t(T));
            out.categorical_ids[f] = out.categorical[f].data();
        }
        for (std::size_t f = 0; f < bag_fields; ++f) {
            const std::uintptr_t* offsets = table + (2 + fields + 2 * f) * std::size_t(T);
            const std::uintptr_t* ids = offsets + T;
            const index total = Device::reduce(T, detail::bag_length_kernel{offsets, counts, n});
            detail::grow(out.offsets[f], n * T + 1);
            detail::grow(out.ids[f], std::max(total, index(1)));
            Device::for_each(T, detail::stack_bags_kernel{offsets, ids, counts, n, T, out.offsets[f].data(),
                                                          out.ids[f].data()});
            out.bags[f] = {out.offsets[f].data(), out.ids[f].data()};
        }
        out.view = nn::batch<S>{n * T, dim > 0 ? out.dense.data() : nullptr, dim, out.categorical_ids, out.bags};
    }

    // `width` values per sample, n samples per task
    template <class T>
    static void stack_array(vector<T>& out, index width, index n, index tasks, const index* counts,
                            const std::uintptr_t* sources) {
        detail::grow(out, width * n * tasks);
        if (width * n > 0)
            Device::for_each(width * n * tasks, detail::stack_kernel<T>{sources, counts, width, n, out.data()});
    }

    std::array<side, 2> sides_;
    std::vector<std::uintptr_t> host_addresses_;
    vector<std::uintptr_t> addresses_;
};

}  // namespace metarec::meta
