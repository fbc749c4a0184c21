// metarec: what a network reads (a batch of samples) and how it is shaped.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <vector>

#include "../config.hpp"

namespace metarec::nn {

/// The shape of a network's input, known at run time (from a data schema): the number of
/// dense numeric features and the vocabulary size of every categorical field.
///
/// Optionally, every feature belongs to a group (recommenders: 0 = the user's features,
/// 1 = the item's, see recsys/features.hpp), so that a tower reads only its side. Empty
/// group vectors put every feature in group 0.
struct input_shape {
    index dense = 0;                     //!< numeric features per sample
    std::vector<index> categorical{};    //!< vocabulary of each single-valued field (one id per sample)
    std::vector<index> multi{};          //!< vocabulary of each multi-valued field (a bag of ids per sample)
    std::vector<int> dense_group{};      //!< group of each dense row (empty: all 0)
    std::vector<int> categorical_group{};  //!< group of each single-valued field (empty: all 0)
    std::vector<int> multi_group{};      //!< group of each multi-valued field (empty: all 0)
    /// per single-valued field, 1 when the last row of its vocabulary is the unseen-value row
    /// (ids that arrive after training: zeros at initialization, drawn from no random number,
    /// so the other rows and every later layer start as without it); empty: none
    std::vector<index> categorical_unseen{};
};

//! whether single-valued field `f` of `shape` ends with an unseen-value row
inline bool has_unseen_row(const input_shape& shape, index f) noexcept {
    return f < index(shape.categorical_unseen.size()) && shape.categorical_unseen[static_cast<std::size_t>(f)] != 0;
}

/// "Every group": the default of layers that can read one feature group.
inline constexpr int all_groups = -1;

/// Group of feature `i` given a group vector (empty: group 0).
inline int group_of(const std::vector<int>& groups, index i) noexcept {
    return groups.empty() ? 0 : groups[static_cast<std::size_t>(i)];
}

/// One multi-valued field of a batch: sample j owns `ids[offsets[j], offsets[j+1])`.
/// `offsets` has `samples + 1` entries, starting at 0. An empty bag is allowed.
struct bag_field {
    const id_type* offsets = nullptr;  //!< `samples + 1` bag boundaries (device memory)
    const id_type* ids = nullptr;      //!< the ids of every bag, concatenated (device memory)
};

/// A batch of samples: a non-owning view (pointers in the device's memory) of
///  - `dense`: a column-major `dense_dim x samples` matrix (sample j is column j);
///  - `categorical[f]`: one id per sample for single-valued field f;
///  - `multi[f]`: a bag of ids per sample for multi-valued field f.
/// The storage must outlive every call that reads the batch.
/// @tparam S scalar type of the dense features
template <class S>
struct batch {
    index samples = 0;                              //!< number of samples (columns)
    const S* dense = nullptr;                       //!< `dense_dim x samples` features, or null when dense_dim == 0
    index dense_dim = 0;                            //!< dense (numeric) features per sample
    std::span<const id_type* const> categorical{};  //!< per single-valued field, `samples` ids
    std::span<const bag_field> multi{};             //!< per multi-valued field, a bag of ids per sample

    //! number of samples
    index size() const noexcept { return samples; }

    //! a batch of dense features only (a `dim x samples` column-major matrix)
    static batch dense_only(const S* features, index dim, index samples) noexcept {
        return batch{samples, features, dim, {}, {}};
    }
};

}  // namespace metarec::nn
