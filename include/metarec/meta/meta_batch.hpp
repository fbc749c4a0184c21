// metarec: combining the tasks' meta-gradients of a meta-step into one: slots, touched ranges, NaN checks, the sum.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/ranges.hpp"
#include "../optim/state.hpp"
#include "inner_loop.hpp"

namespace metarec::meta {

/// What a meta-step's tasks add up to (over this process's tasks, then over every rank).
struct step_totals {
    double loss = 0;        //!< the sum of the kept tasks' losses
    double weight = 0;      //!< the sum of the kept tasks' weights (task_result::weight)
    double non_finite = 0;  //!< tasks whose loss or meta-gradient is NaN or infinite
};

/// The first task of a meta-step whose loss or meta-gradient is NaN or infinite.
struct first_non_finite {
    index task = -1;     //!< its place in this rank's share of the meta-batch (-1: none)
    bool loss = false;   //!< its loss is NaN or infinite (otherwise its meta-gradient)
};

/// The tasks' contributions to one meta-step and their sum, `meta_gradient()` (of `width`
/// values: the learner's parameters, then the rule's extras). Task m's meta-gradient is kept
/// in its slot on the ranges it was written (task_result::written, and the extras), one after
/// another: a dense one changes places with the thread's buffer (no copy), a sparse one's
/// few columns are copied (a MeLU task: the head and the embedding columns it read). The sum
/// runs over the slots in task order, so it does not depend on the thread count, bit for
/// bit; `meta_gradient()` is zero outside `touched()`, and only those ranges are cleared and
/// summed.
/// @tparam S      the scalar
/// @tparam Device the device policy
template <class S, class Device>
class meta_batch_sum {
    using vector_type = typename Device::template vector<S>;

public:
    //! room for `tasks` tasks of `width` meta-parameters, on `threads` threads
    void prepare(index tasks, index width, int threads) {
        slots_.resize(std::size_t(tasks));
        ranges_.resize(std::size_t(tasks));
        outputs_.resize(std::size_t(threads));
        losses_.resize(std::size_t(tasks));
        weights_.resize(std::size_t(tasks));
        if (index(gradient_.size()) != width) {
            gradient_ = vector_type(width);
            Device::fill(width, S(0), gradient_.data());
            touched_.clear();
        }
    }

    //! the full-width buffer that thread `thread`'s task_gradient() writes
    S* output(int thread, index width) {
        auto& out = outputs_[std::size_t(thread)];
        if (index(out.size()) < width) out = vector_type(width);
        return out.data();
    }

    /// Keeps task m's contribution, written by thread `thread` into output(): `r.written` of
    /// the p learner parameters (all of them when std::nullopt), then the e extras.
    void store(index m, int thread, const task_result& r, index p, index e) {
        losses_[std::size_t(m)] = r.loss;
        weights_[std::size_t(m)] = r.weight;
        auto& ranges = ranges_[std::size_t(m)];
        if (r.written) ranges.assign(r.written->begin(), r.written->end());
        else ranges.assign(1, {0, p});
        if (e > 0) ranges.push_back({p, e});
        auto& slot = slots_[std::size_t(m)];
        auto& out = outputs_[std::size_t(thread)];
        if (!r.written) {
            std::swap(slot, out);
            return;
        }
        const index total = size_of(m), width = p + e;
        if (slot.size() < total) slot = vector_type(std::min(width, total + total / 4));  // room for the next tasks
        index at = 0;
        for (const auto& range : ranges) {
            Device::copy(range.size, out.data() + range.offset, slot.data() + at);
            at += range.size;
        }
    }

    /// meta_gradient() = the sum over the first `mine` tasks, in task order, of those whose loss
    /// and kept meta-gradient are finite; the others are counted in `totals` and the first of
    /// them is returned; the kept tasks' losses and weights are added to `totals`. The work runs
    /// over the parameter axis in `parts` (optim::one_part, or the algorithm's threads): each
    /// part clears and adds the slots on its own parameters, task after task, so the result is
    /// the same bit for bit for any partition. A NaN or infinity in a slot makes the sum NaN or
    /// infinite there (inf + x, NaN + x), so the sum is checked rather than each slot; only when
    /// it is not finite are the slots checked one by one, and the sum done again without the
    /// tasks found (a sum of finite slots that overflows is kept: the outer step's check
    /// catches it).
    template <class Parts>
    first_non_finite sum(index mine, step_totals& totals, const Parts& parts) {
        non_finite_.assign(std::size_t(mine), 0);
        for (index m = 0; m < mine; ++m)
            if (!std::isfinite(losses_[std::size_t(m)])) non_finite_[std::size_t(m)] = 1;
        if (!add_kept(mine, parts)) {
            bool found = false;
            for (index m = 0; m < mine; ++m)
                if (!non_finite_[std::size_t(m)] && !Device::all_finite(size_of(m), slots_[std::size_t(m)].data()))
                    non_finite_[std::size_t(m)] = 1, found = true;
            if (found) add_kept(mine, parts);
        }
        first_non_finite first;
        for (index m = 0; m < mine; ++m) {
            if (non_finite_[std::size_t(m)]) {
                totals.non_finite += 1;
                if (first.task < 0) first = {m, !std::isfinite(losses_[std::size_t(m)])};
                continue;
            }
            totals.loss += losses_[std::size_t(m)];
            totals.weight += weights_[std::size_t(m)];
        }
        return first;
    }

    /// meta_gradient() from a task-batched step's `out` (rule::batch_gradient): the sum over
    /// the `mine` tasks on the `shared` parameters, then each task's `own` ones (a column sum).
    /// The tasks' losses are in losses(); every task weighs 1.
    void take_batched(index shared, index own, index mine, const S* out, step_totals& totals) {
        clear();
        touched_.assign(1, {0, shared + own});
        Device::copy(shared, out, gradient_.data());
        Device::sum_columns(own, mine, out + shared, gradient_.data() + shared);
        for (index m = 0; m < mine; ++m) totals.loss += losses_[std::size_t(m)];
        totals.weight += double(mine);
    }

    /// The meta-gradient and `totals` summed over the ranks of `dist` (distributed only):
    /// through the host, and touched() becomes everything (the other ranks' ranges are not
    /// known here).
    template <class Distribution>
    void all_reduce(const Distribution& dist, step_totals& totals) {
        const index width = index(gradient_.size());
        host_.resize(std::size_t(width));
        Device::to_host(width, gradient_.data(), host_.data());
        dist.sum(host_.data(), width);
        Device::to_device(width, host_.data(), gradient_.data());
        double values[3] = {totals.loss, totals.weight, totals.non_finite};
        dist.sum(values, 3);
        totals = {values[0], values[1], values[2]};
        touched_.assign(1, {0, width});
    }

    /// Divides the meta-gradient by `weight` on touched(), in `parts` as sum(); returns those
    /// ranges within the first `p` values (the learner's parameters, not the extras).
    template <class Parts>
    std::span<const parameter_range> scale(double weight, index p, const Parts& parts) {
        theta_touched_.clear();
        for (const auto& r : touched_)
            if (r.offset < p) theta_touched_.push_back({r.offset, std::min(r.size, p - r.offset)});
        block_work(touched_, true);
        std::partial_sum(work_.begin(), work_.end(), work_.begin());
        parts(index(gradient_.size()), [&](index begin, index size) {
            within(touched_, begin, size, [&](index offset, index length, index) {
                Device::scal(length, S(1.0 / weight), gradient_.data() + offset);
            });
        }, work_);
        return theta_touched_;
    }

    //! the summed meta-gradient (device memory)
    S* meta_gradient() noexcept { return gradient_.data(); }
    //! where meta_gradient() can be nonzero
    std::span<const parameter_range> touched() const noexcept { return touched_; }
    //! the tasks' losses (a task-batched step writes them here)
    double* losses() noexcept { return losses_.data(); }
    //! task m's loss
    double loss(index m) const { return losses_[std::size_t(m)]; }

private:
    index size_of(index m) const {
        index total = 0;
        for (const auto& r : ranges_[std::size_t(m)]) total += r.size;
        return total;
    }
    // zero on the last step's ranges, and none touched
    void clear() {
        for (const auto& r : touched_) Device::fill(r.size, S(0), gradient_.data() + r.offset);
        touched_.clear();
    }
    // f(offset, length, at) for the part of each of the disjoint sorted `ranges` within
    // [begin, begin + size); `at`: where that part starts counting the ranges end to end (its
    // place in a slot)
    template <class F>
    static void within(std::span<const parameter_range> ranges, index begin, index size, F&& f) {
        const index end = begin + size;
        index at = 0;
        for (const auto& r : ranges) {
            const index from = std::max(r.offset, begin), to = std::min(r.offset + r.size, end);
            if (from < to) f(from, to - from, at + (from - r.offset));
            at += r.size;
        }
    }
    // meta_gradient() = the sum of the slots of the tasks not marked in non_finite_, in parts
    // (the last step's ranges cleared first); false when it is NaN or infinite somewhere
    template <class Parts>
    bool add_kept(index mine, const Parts& parts) {
        cleared_.swap(touched_);
        union_.reset(index(gradient_.size()));
        for (index m = 0; m < mine; ++m)
            if (!non_finite_[std::size_t(m)]) union_.mark(ranges_[std::size_t(m)]);
        union_.take(touched_);
        // the work of a block: its values cleared, added (once per task) and checked
        block_work(cleared_, true);
        block_work(touched_, false);
        for (index m = 0; m < mine; ++m)
            if (!non_finite_[std::size_t(m)]) block_work(ranges_[std::size_t(m)], false);
        std::partial_sum(work_.begin(), work_.end(), work_.begin());
        std::atomic<bool> finite{true};
        parts(index(gradient_.size()), [&](index begin, index size) {
            S* g = gradient_.data();
            within(cleared_, begin, size, [&](index offset, index length, index) { Device::fill(length, S(0), g + offset); });
            for (index m = 0; m < mine; ++m) {
                if (non_finite_[std::size_t(m)]) continue;
                const S* slot = slots_[std::size_t(m)].data();
                within(ranges_[std::size_t(m)], begin, size,
                       [&](index offset, index length, index at) { Device::axpy(length, S(1), slot + at, g + offset); });
            }
            within(touched_, begin, size, [&](index offset, index length, index) {
                if (!Device::all_finite(length, g + offset)) finite.store(false, std::memory_order_relaxed);
            });
        }, work_);
        return finite.load();
    }
    // work_[b + 1] += the work of `ranges` in block b of optim::part_granularity values (after
    // `fresh`: theirs alone): its values, and 64 for each range (the fixed cost of a call on
    // a range, about that of 64 values on the CPU: MeLU's embedding columns are ranges of 32);
    // work_ becomes the cumulative work that parts() balances by std::partial_sum
    void block_work(std::span<const parameter_range> ranges, bool fresh) {
        constexpr index granularity = optim::part_granularity, range_cost = 64;
        const index blocks = (index(gradient_.size()) + granularity - 1) / granularity;
        if (fresh) work_.assign(std::size_t(blocks + 1), 0);
        for (const auto& r : ranges)
            for (index b = r.offset / granularity; b * granularity < r.offset + r.size; ++b)
                work_[std::size_t(b + 1)] +=
                    range_cost + std::min(r.offset + r.size, (b + 1) * granularity) - std::max(r.offset, b * granularity);
    }

    vector_type gradient_;                              // the sum, zero outside touched_
    std::vector<parameter_range> touched_, cleared_, theta_touched_;  // cleared_: the last step's touched_
    std::vector<vector_type> slots_;                    // per task: its meta-gradient on ranges_[m], end to end
    std::vector<std::vector<parameter_range>> ranges_;  // per task: where it wrote its meta-gradient
    std::vector<vector_type> outputs_;                  // per thread: the full-width buffer of task_gradient()
    std::vector<double> losses_, weights_;              // per task
    std::vector<char> non_finite_;                      // per task: its loss or meta-gradient is NaN/inf
    std::vector<index> work_;                           // per block of the parameters: the cumulative work of a pass
    detail::range_union union_;                         // of the kept tasks' ranges: touched_
    std::vector<S> host_;                               // distributed: the meta-gradient on its way through MPI
};

}  // namespace metarec::meta
