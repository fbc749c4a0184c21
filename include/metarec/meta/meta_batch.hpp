// metarec: combining the tasks' meta-gradients of a meta-step into one: slots, touched ranges, NaN checks, the sum.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/ranges.hpp"
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

    /// Marks the first `mine` tasks whose loss, or kept meta-gradient, is NaN or infinite
    /// (they stay out of sum()); counts them in `totals` and returns the first.
    first_non_finite find_non_finite(index mine, step_totals& totals) {
        first_non_finite first;
        non_finite_.assign(std::size_t(mine), 0);
        for (index m = 0; m < mine; ++m) {
            const bool loss_bad = !std::isfinite(losses_[std::size_t(m)]);
            if (loss_bad || !Device::all_finite(size_of(m), slots_[std::size_t(m)].data())) {
                non_finite_[std::size_t(m)] = 1;
                totals.non_finite += 1;
                if (first.task < 0) first = {m, loss_bad};
            }
        }
        return first;
    }

    /// meta_gradient() = the sum over the first `mine` tasks, in task order, of the finite
    /// ones; their losses and weights are added to `totals`.
    void sum(index mine, step_totals& totals) {
        clear();
        for (index m = 0; m < mine; ++m) {
            if (non_finite_[std::size_t(m)]) continue;
            index at = 0;  // where range r starts in the slot
            for (const auto& r : ranges_[std::size_t(m)]) {
                Device::axpy(r.size, S(1), slots_[std::size_t(m)].data() + at, gradient_.data() + r.offset);
                touched_.push_back(r);
                at += r.size;
            }
            totals.loss += losses_[std::size_t(m)];
            totals.weight += weights_[std::size_t(m)];
        }
        detail::coalesce(touched_);
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

    /// Divides the meta-gradient by `weight` on touched(); returns those ranges within the
    /// first `p` values (the learner's parameters, not the extras).
    std::span<const parameter_range> scale(double weight, index p) {
        theta_touched_.clear();
        for (const auto& r : touched_) {
            Device::scal(r.size, S(1.0 / weight), gradient_.data() + r.offset);
            if (r.offset < p) theta_touched_.push_back({r.offset, std::min(r.size, p - r.offset)});
        }
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

    vector_type gradient_;                              // the sum, zero outside touched_
    std::vector<parameter_range> touched_, theta_touched_;
    std::vector<vector_type> slots_;                    // per task: its meta-gradient on ranges_[m], end to end
    std::vector<std::vector<parameter_range>> ranges_;  // per task: where it wrote its meta-gradient
    std::vector<vector_type> outputs_;                  // per thread: the full-width buffer of task_gradient()
    std::vector<double> losses_, weights_;              // per task
    std::vector<char> non_finite_;                      // per task: its loss or meta-gradient is NaN/inf
    std::vector<S> host_;                               // distributed: the meta-gradient on its way through MPI
};

}  // namespace metarec::meta
