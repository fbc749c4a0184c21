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

// The kernels read the arrays of a collection of tasks (fit()'s) through a table of their
// addresses in device memory (std::uintptr_t: every device policy's vector holds integers),
// uploaded once; the stacked tasks are the collection's tasks `chosen[t step]`.

// dst[t width n + i] = source_c[i] for the `width` values of each sample of the stacked task
// t (the collection's c = chosen[t step]), 0 for the samples that pad it to n
template <class T>
struct stack_kernel {
    const std::uintptr_t* sources;
    const index* chosen;
    index step;
    const index* sizes;
    index width, n;
    T* dst;
    METAREC_HOST_DEVICE void operator()(index i) const {
        const index t = i / (width * n), local = i - t * width * n, c = chosen[t * step];
        dst[i] = local < width * sizes[c] ? reinterpret_cast<const T*>(sources[c])[local] : T(0);
    }
};

// counts[t] = sizes[chosen[t step]]: the stacked tasks' sizes, for the losses
struct gather_sizes_kernel {
    const index* sizes;
    const index* chosen;
    index step;
    index* counts;
    METAREC_HOST_DEVICE void operator()(index t) const { counts[t] = sizes[chosen[t * step]]; }
};

// lengths[c] = the number of ids of the collection's task c's bags (its last offset)
struct bag_length_kernel {
    const std::uintptr_t* offsets;
    const index* sizes;
    index* lengths;
    METAREC_HOST_DEVICE void operator()(index c) const {
        lengths[c] = index(reinterpret_cast<const id_type*>(offsets[c])[sizes[c]]);
    }
};

// One stacked task per iteration: its bag offsets (from 0) shifted by the ids of the tasks
// before it, empty bags for the samples that pad it to n, and its ids after theirs. Each task
// sums the lengths of the tasks before it (T^2 / 2 reads of one number for T tasks: a
// meta-batch has hundreds, and a prefix sum is not among the device operations).
struct stack_bags_kernel {
    const std::uintptr_t* offsets;
    const std::uintptr_t* ids;
    const index* chosen;
    index step;
    const index* sizes;
    const index* lengths;
    index n, tasks;
    id_type* stacked_offsets;
    id_type* stacked_ids;
    METAREC_HOST_DEVICE void operator()(index t) const {
        index base = 0;
        for (index u = 0; u < t; ++u) base += lengths[chosen[u * step]];
        const index c = chosen[t * step];
        const id_type* o = reinterpret_cast<const id_type*>(offsets[c]);
        const id_type* source = reinterpret_cast<const id_type*>(ids[c]);
        const index count = sizes[c], end = lengths[c];
        for (index j = 0; j < n; ++j) stacked_offsets[t * n + j] = id_type(base + (j < count ? index(o[j]) : end));
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

/// The tasks of a task-batched meta-step: which tasks of fit()'s collection, on the host and
/// on the device (where the epoch's task order lives), so that stacking them copies nothing
/// between host and device.
template <class Task>
struct task_selection {
    std::span<const Task> all;       //!< the collection (fit()'s tasks)
    std::span<const index> chosen;   //!< the stacked tasks: `all[chosen[t]]`
    const index* device_chosen;      //!< the same indices in device memory, `chosen[t]` at `device_chosen[t step]`
    index step = 1;                  //!< (one rank's share of a meta-batch is every step-th task)
    std::uint64_t generation = 0;    //!< changes whenever `all` may have changed (each fit())
};

/// The support sets of a meta-batch's tasks stacked into one batch on the device, and their
/// query sets into another, as the learners' task-batched passes read them (layer.hpp): task
/// t's samples are the samples `[t n, (t+1) n)`, its targets likewise. n is the largest set's
/// size; a smaller set is padded with samples of zeros (id 0, empty bags, target 0) that
/// `support_counts()` / `query_counts()` tell the losses to leave out (objective's `counts`).
/// Dense features, targets and single-valued ids are copied as they are; bag offsets are
/// shifted by the ids of the tasks before.
///
/// Device to device, in a fixed number of kernels whatever the number of tasks, and without
/// a host-device copy: the kernels read the tasks' arrays through a table of the addresses
/// of the whole collection's arrays, with the tasks' sizes and numbers of bag ids, uploaded
/// (and read back) once per collection (each fit(): `task_selection::generation`); a
/// meta-step reads its tasks' indices where the device holds them. Buffers grow and are
/// reused.
template <class S, class Device>
class stacked_tasks {
    template <class T>
    using vector = typename Device::template vector<T>;

public:
    /// Stacks the support and the query sets of the selected tasks (meta::task views of
    /// nn::batch inputs). Every task of the collection must have the fields of the first
    /// (std::invalid_argument otherwise, naming the tasks). `target_rows`: target values per
    /// sample.
    template <class Task>
    void stack(const task_selection<Task>& selection, index target_rows) {
        if (selection.chosen.empty()) throw std::invalid_argument("metarec: stacked_tasks: no task to stack");
        if (selection.generation != generation_ || selection.all.data() != static_cast<const void*>(collection_) ||
            index(selection.all.size()) != collection_size_)
            prepare(selection.all, selection.generation);
        const index T = index(selection.chosen.size());
        for (std::size_t side = 0; side < 2; ++side) {
            auto& out = sides_[side];
            index smallest = out.host_sizes[std::size_t(selection.chosen[0])], largest = smallest;
            for (const index c : selection.chosen) {
                smallest = std::min(smallest, out.host_sizes[std::size_t(c)]);
                largest = std::max(largest, out.host_sizes[std::size_t(c)]);
            }
            out.ragged = smallest != largest;
            if (out.ragged) {
                detail::grow(out.counts, T);
                Device::for_each(T, detail::gather_sizes_kernel{out.sizes.data(), selection.device_chosen,
                                                                selection.step, out.counts.data()});
            }
            const std::uintptr_t* table = addresses_.data() + side * per_side_ * std::size_t(collection_size_);
            stack_side(out, selection, largest, target_rows, table);
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
    // The collection's address table, per side: N addresses for each of dense, targets, every
    // categorical field, the offsets and the ids of every multi-valued field; its sets' sizes
    // and numbers of bag ids (on the device and, to size the buffers, on the host)
    template <class Task>
    void prepare(std::span<const Task> tasks, std::uint64_t generation) {
        collection_ = nullptr;  // until it is done: a set that fails the checks leaves it unprepared
        const index N = index(tasks.size());
        const auto& first = tasks[0].support;
        per_side_ = 2 + first.categorical.size() + 2 * first.multi.size();
        host_addresses_.assign(2 * per_side_ * std::size_t(N), 0);
        const auto address = [&](std::size_t side, std::size_t array, index c) -> std::uintptr_t& {
            return host_addresses_[(side * per_side_ + array) * std::size_t(N) + std::size_t(c)];
        };
        for (auto& out : sides_) out.host_sizes.resize(std::size_t(N));
        for (index c = 0; c < N; ++c) {
            const Task& task = tasks[std::size_t(c)];
            for (std::size_t side = 0; side < 2; ++side) {
                const auto& x = side ? task.query : task.support;
                check_set(task, side, x, tasks[0]);
                sides_[side].host_sizes[std::size_t(c)] = x.size();
                std::size_t a = 0;
                address(side, a++, c) = reinterpret_cast<std::uintptr_t>(x.dense);
                const S* target = side ? task.query_target : task.support_target;
                address(side, a++, c) = reinterpret_cast<std::uintptr_t>(target);
                for (const id_type* ids : x.categorical) address(side, a++, c) = reinterpret_cast<std::uintptr_t>(ids);
                for (const auto& bag : x.multi) {
                    address(side, a++, c) = reinterpret_cast<std::uintptr_t>(bag.offsets);
                    address(side, a++, c) = reinterpret_cast<std::uintptr_t>(bag.ids);
                }
            }
        }
        addresses_ = vector<std::uintptr_t>(index(host_addresses_.size()));
        Device::to_device(index(host_addresses_.size()), host_addresses_.data(), addresses_.data());
        const std::size_t bag_fields = first.multi.size();
        for (std::size_t side = 0; side < 2; ++side) {
            auto& out = sides_[side];
            out.sizes = vector<index>(N);
            Device::to_device(N, out.host_sizes.data(), out.sizes.data());
            out.lengths.resize(bag_fields);
            out.host_lengths.resize(bag_fields);
            for (std::size_t f = 0; f < bag_fields; ++f) {
                const std::uintptr_t* offsets =
                    addresses_.data() + (side * per_side_ + 2 + first.categorical.size() + 2 * f) * std::size_t(N);
                out.lengths[f] = vector<index>(N);
                Device::for_each(N, detail::bag_length_kernel{offsets, out.sizes.data(), out.lengths[f].data()});
                out.host_lengths[f].resize(std::size_t(N));
                Device::to_host(N, out.lengths[f].data(), out.host_lengths[f].data());
            }
        }
        generation_ = generation;
        collection_ = tasks.data();
        collection_size_ = N;
    }

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
        std::vector<index> host_sizes;                 // the collection's sets' sizes
        std::vector<std::vector<index>> host_lengths;  // and per multi-valued field, their numbers of ids
        vector<index> sizes;                           // the same on the device
        std::vector<vector<index>> lengths;
        bool ragged = false;  // whether the stacked tasks' sizes differ (then `counts` holds them)
        vector<index> counts;
        vector<S> dense, target;
        std::vector<vector<id_type>> categorical, offsets, ids;
        std::vector<const id_type*> categorical_ids;
        std::vector<nn::bag_field> bags;
        nn::batch<S> view;
    };

    // one side of the selected tasks, padded to n samples, the collection's addresses of its
    // arrays at `table` (N per array)
    template <class Task>
    void stack_side(side& out, const task_selection<Task>& selection, index n, index target_rows,
                    const std::uintptr_t* table) {
        const index T = index(selection.chosen.size()), N = collection_size_;
        const auto& like = selection.all[0].support;
        const index dim = like.dense_dim;
        const std::size_t fields = like.categorical.size(), bag_fields = like.multi.size();
        out.categorical.resize(fields);
        out.offsets.resize(bag_fields);
        out.ids.resize(bag_fields);
        out.categorical_ids.resize(fields);
        out.bags.resize(bag_fields);
        const auto stack_array = [&]<class T_>(vector<T_>& to, index width, const std::uintptr_t* sources) {
            detail::grow(to, width * n * T);
            if (width * n > 0)
                Device::for_each(width * n * T, detail::stack_kernel<T_>{sources, selection.device_chosen,
                                                                         selection.step, out.sizes.data(), width, n,
                                                                         to.data()});
        };
        if (dim > 0) stack_array(out.dense, dim, table);
        stack_array(out.target, target_rows, table + N);
        for (std::size_t f = 0; f < fields; ++f) {
            stack_array(out.categorical[f], 1, table + (2 + f) * std::size_t(N));
            out.categorical_ids[f] = out.categorical[f].data();
        }
        for (std::size_t f = 0; f < bag_fields; ++f) {
            const std::uintptr_t* offsets = table + (2 + fields + 2 * f) * std::size_t(N);
            index total = 0;
            for (const index c : selection.chosen) total += out.host_lengths[f][std::size_t(c)];
            detail::grow(out.offsets[f], n * T + 1);
            detail::grow(out.ids[f], std::max(total, index(1)));
            Device::for_each(T, detail::stack_bags_kernel{offsets, offsets + N, selection.device_chosen, selection.step,
                                                          out.sizes.data(), out.lengths[f].data(), n, T,
                                                          out.offsets[f].data(), out.ids[f].data()});
            out.bags[f] = {out.offsets[f].data(), out.ids[f].data()};
        }
        out.view = nn::batch<S>{n * T, dim > 0 ? out.dense.data() : nullptr, dim, out.categorical_ids, out.bags};
    }

    std::array<side, 2> sides_;
    std::vector<std::uintptr_t> host_addresses_;
    vector<std::uintptr_t> addresses_;
    std::size_t per_side_ = 0;              // arrays per side in the address table
    const void* collection_ = nullptr;      // the collection prepared for, its size and generation
    index collection_size_ = 0;
    std::uint64_t generation_ = 0;
};

}  // namespace metarec::meta
