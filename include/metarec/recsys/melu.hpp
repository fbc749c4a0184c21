// metarec: MeLU (Lee et al., KDD 2019): field embeddings, meta-learned globally, feeding a
// dense head that adapts per user.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "../device/cpu.hpp"
#include "../nn/nn.hpp"

namespace metarec::recsys {

/// MeLU's default decision head: 64-64-1 with ReLU.
using melu_head = nn::sequential<nn::dense<64>, nn::relu, nn::dense<64>, nn::relu, nn::dense<1>>;

/// The MeLU model: every categorical and multi-valued field of users and items embedded
/// (`Dim` each, multi-valued fields as mean embedding bags), concatenated with the dense
/// features (numeric fields, pre-computed vectors such as text embeddings; none is fine),
/// into `Head`.
/// The embedding tables come first in the flat parameters and the head last, so
/// `meta::melu_maml` (adapt_dense_head) adapts exactly the head per user and meta-learns
/// the embeddings globally.
/// @code
/// using model = metarec::recsys::melu<>;                         // float, CPU, 32-dim, 64-64-1
/// model m{{.categorical = {2, 7, 21, 3402}, .multi = {25}}, /*seed=*/1};
/// metarec::meta::melu_maml<model, metarec::loss::mse> algo{std::move(m), {.inner_lr = 5e-3, .inner_steps = 5}};
/// @endcode
/// @tparam Head   the dense head (a layer or chain ending in 1 output for ratings)
/// @tparam Scalar float or double
/// @tparam Device device policy
/// @tparam Dim    embedding dimension of every field
template <class Head = melu_head, class Scalar = float, class Device = device::cpu, index Dim = 32>
using melu = nn::model<nn::sequential<nn::concat<nn::field_embeddings<Dim>, nn::dense_features<>>, Head>, Scalar, Device>;

}  // namespace metarec::recsys
