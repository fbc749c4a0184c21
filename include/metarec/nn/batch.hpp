// metarec: what a network reads (a batch of samples) and how it is shaped.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <vector>

#include "../config.hpp"

namespace metarec::nn {

/// The shape of a network's input, known at run time (from a data schema): the number of
/// dense numeric features and the vocabulary size of every categorical field.
struct input_shape {
    index dense = 0;                   //!< numeric features per sample
    std::vector<index> categorical{};  //!< vocabulary of each single-valued field (one id per sample)
    std::vector<index> multi{};        //!< vocabulary of each multi-valued field (a bag of ids per sample)
};

/// One multi-valued field of a batch: sample j owns `ids[offsets[j] .. offsets[j+1])`.
/// `offsets` has `samples + 1` entries, starting at 0. An empty bag is allowed.
struct bag_field {
    const id_type* offsets = nullptr;
    const id_type* ids = nullptr;
};

/// A batch of samples: a non-owning view (pointers in the device's memory) of
///  - `dense`: a column-major `dense_dim x samples` matrix (sample j is column j);
///  - `categorical[f]`: one id per sample for single-valued field f;
///  - `multi[f]`: a bag of ids per sample for multi-valued field f.
/// The storage must outlive every call that reads the batch.
/// @tparam S scalar type of the dense features
template <class S>
struct batch {
    index samples = 0;
    const S* dense = nullptr;
    index dense_dim = 0;
    std::span<const id_type* const> categorical{};
    std::span<const bag_field> multi{};

    //! number of samples
    index size() const noexcept { return samples; }

    //! a batch of dense features only (a `dim x samples` column-major matrix)
    static batch dense_only(const S* features, index dim, index samples) noexcept {
        return batch{samples, features, dim, {}, {}};
    }
};

}  // namespace metarec::nn
