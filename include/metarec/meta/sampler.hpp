// metarec: seeded meta-batch sampling, identical on every platform.
// SPDX-License-Identifier: Apache-2.0
#pragma once

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
