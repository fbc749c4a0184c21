// metarec: owning storage for a batch of samples, in a device's memory.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../device/fwd.hpp"
#include "batch.hpp"

namespace metarec::nn {

/// A multi-valued field on the host: sample j owns `ids[offsets[j], offsets[j+1])`.
struct host_bags {
    std::vector<id_type> offsets;  //!< samples + 1 entries, from 0
    std::vector<id_type> ids;      //!< the ids of every bag, concatenated in sample order
};

/// Owns a batch's features in device memory (uploaded once, at construction) and hands out
/// the non-owning `batch<S>` view that learners read. Movable, not copyable (the view's
/// pointers follow the storage on a move).
/// @tparam S      scalar type of the dense features
/// @tparam Device where the storage lives
template <class S, class Device = device::cpu>
class batch_data {
    template <class T>
    using vector = typename Device::template vector<T>;

public:
    batch_data() = default;

    /// @param samples     number of samples
    /// @param dense       `dense_dim x samples` column-major features (may be empty if dense_dim == 0)
    /// @param dense_dim   numeric features per sample
    /// @param categorical one id per sample for each single-valued field
    /// @param multi       a bag of ids per sample for each multi-valued field
    batch_data(index samples, const std::vector<S>& dense, index dense_dim,
               const std::vector<std::vector<id_type>>& categorical = {}, const std::vector<host_bags>& multi = {})
        : samples_(samples), dense_dim_(dense_dim) {
        if (samples < 0 || dense_dim < 0) throw std::invalid_argument("metarec: batch_data: negative size");
        if (index(dense.size()) != dense_dim * samples)
            throw std::invalid_argument("metarec: batch_data: " + std::to_string(dense.size()) +
                                        " dense values for " + std::to_string(samples) + " samples of " +
                                        std::to_string(dense_dim) + " features");
        dense_ = upload(dense);
        for (const auto& field : categorical) {
            if (index(field.size()) != samples)
                throw std::invalid_argument("metarec: batch_data: a categorical field has " +
                                            std::to_string(field.size()) + " ids for " + std::to_string(samples) +
                                            " samples");
            categorical_.push_back(upload(field));
        }
        for (const auto& field : multi) {
            if (index(field.offsets.size()) != samples + 1 || field.offsets.front() != 0 ||
                index(field.offsets.back()) != index(field.ids.size()))
                throw std::invalid_argument("metarec: batch_data: a multi-valued field needs samples + 1 offsets "
                                            "from 0 to the number of ids");
            bags_.push_back({upload(field.offsets), upload(field.ids)});
        }
        for (const auto& field : categorical_) categorical_ptrs_.push_back(field.data());
        for (const auto& [offsets, ids] : bags_) bag_views_.push_back({offsets.data(), ids.data()});
    }
    //! takes the storage; the view of the moved-to object points into it
    batch_data(batch_data&&) noexcept = default;
    //! takes the storage; the view of the moved-to object points into it
    batch_data& operator=(batch_data&&) noexcept = default;

    //! the view that learners read
    batch<S> view() const noexcept {
        return batch<S>{samples_, dense_dim_ ? dense_.data() : nullptr, dense_dim_, categorical_ptrs_, bag_views_};
    }
    //! number of samples
    index size() const noexcept { return samples_; }

private:
    template <class T>
    static vector<T> upload(const std::vector<T>& host) {
        vector<T> v(index(host.size()));
        Device::to_device(index(host.size()), host.data(), v.data());
        return v;
    }

    index samples_ = 0, dense_dim_ = 0;
    vector<S> dense_;
    std::vector<vector<id_type>> categorical_;
    std::vector<std::pair<vector<id_type>, vector<id_type>>> bags_;
    std::vector<const id_type*> categorical_ptrs_;
    std::vector<bag_field> bag_views_;
};

}  // namespace metarec::nn
