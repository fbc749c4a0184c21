// metarec: seeded meta-batch sampling, identical on every platform.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <algorithm>
#include <numeric>
#include <utility>
#include <span>
#include <stdexcept>
#include <vector>

#include "../config.hpp"
#include "../detail/random.hpp"

namespace metarec::meta {

/// Draws meta-batches from a collection of `count` tasks: each epoch is a fresh
/// Fisher-Yates shuffle of all task indices (from metarec's own generator, so the same seed
/// gives the same sequence on every platform and standard library), cut into consecutive
/// meta-batches of `batch_size` (the last one may be smaller).
class task_sampler {
public:
    /// @param count      number of tasks (>= 1), indices 0 .. count-1
    /// @param batch_size tasks per meta-batch (>= 1)
    /// @param seed       seed of the shuffles
    /// @throws std::invalid_argument when count or batch_size is not positive
    task_sampler(index count, index batch_size, std::uint64_t seed)
        : count_(count), batch_size_(batch_size), rng_(seed), order_(std::size_t(count)) {
        if (count <= 0) throw std::invalid_argument("metarec: task_sampler: no tasks to sample from");
        if (batch_size <= 0) throw std::invalid_argument("metarec: task_sampler: the meta-batch size must be >= 1");
        std::iota(order_.begin(), order_.end(), index{0});
    }

    //! meta-batches per epoch
    index batches_per_epoch() const noexcept { return (count_ + batch_size_ - 1) / batch_size_; }
    //! size of a full meta-batch
    index batch_size() const noexcept { return batch_size_; }
    //! number of tasks
    index count() const noexcept { return count_; }

    //! the generator's state and the current order, for checkpoints
    std::pair<std::array<std::uint64_t, 4>, std::span<const index>> state() const noexcept {
        return {rng_.state_words(), order_};
    }
    /// Restores state(); returns false (and changes nothing) unless `order` is a
    /// permutation of the `count()` task indices and the generator's words are not all zero.
    bool restore(const std::array<std::uint64_t, 4>& words, std::vector<index> order) {
        if (index(order.size()) != count_ || (words[0] | words[1] | words[2] | words[3]) == 0) return false;
        std::vector<char> seen(order.size(), 0);
        for (const index i : order) {
            if (i < 0 || i >= count_ || seen[std::size_t(i)]) return false;
            seen[std::size_t(i)] = 1;
        }
        rng_.set_state(words);
        order_ = std::move(order);
        return true;
    }

    //! starts an epoch: reshuffles the task order
    void shuffle() {
        for (index i = count_ - 1; i > 0; --i) std::swap(order_[std::size_t(i)], order_[rng_.below(std::uint64_t(i + 1))]);
    }

    //! the task indices of meta-batch `b` of the current epoch
    std::span<const index> batch(index b) const {
        const index begin = b * batch_size_, end = std::min(count_, begin + batch_size_);
        return {order_.data() + begin, std::size_t(end - begin)};
    }

private:
    index count_, batch_size_;
    detail::rng rng_;
    std::vector<index> order_;
};

}  // namespace metarec::meta
