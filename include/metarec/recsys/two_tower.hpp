// metarec: the two-tower recommender, where the user tower adapts.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "../device/cpu.hpp"
#include "../meta/adaptation.hpp"
#include "../nn/nn.hpp"
#include "features.hpp"
#include "matrix_factorization.hpp"  // recsys::adapt_user (and, for older code, matrix_factorization)

namespace metarec::recsys {

/// One tower: the embeddings of a feature group's categorical and multi-valued fields
/// (field order, `Embedding` numbers each, bags mean-pooled) stacked with the group's dense
/// rows, through an MLP to `Out` numbers:
/// `sequential<concat<field_embeddings<Embedding, mean, Group>, dense_features<Group>>, dense<Hidden>, relu, dense<Out>>`.
/// The group must have at least one categorical or multi-valued field (construction throws
/// std::invalid_argument naming the group otherwise); its dense rows are optional.
/// @tparam Group     the feature group it reads (recsys::user_group or recsys::item_group)
/// @tparam Out       output numbers
/// @tparam Embedding embedding dimension of each field
/// @tparam Hidden    width of the hidden layer
template <int Group, index Out, index Embedding = 32, index Hidden = 64>
using tower = nn::sequential<nn::concat<nn::field_embeddings<Embedding, nn::pooling::mean, Group>, nn::dense_features<Group>>,
                             nn::dense<Hidden>, nn::relu, nn::dense<Out>>;

/// The score of a two-tower model: `dot_score<Dim>` (default) is the dot product of the
/// towers' first `Dim` numbers plus the last number of each tower as a bias and a learned
/// global bias (`<u, v> + b_u + b_i + c`).
template <index Dim>
using dot_score = nn::dot<Dim + 1, true>;
/// The other score of a two-tower model: an MLP (64, ReLU, 1) on the concatenated towers.
using mlp_score = nn::sequential<nn::dense<64>, nn::relu, nn::dense<1>>;

/// A two-tower recommender: a user tower on the user's features (recsys::user_group) and an
/// item tower on the item's (recsys::item_group), each `tower<Group, Dim + 1>`, scored by
/// `Score`:
///
///     u = tower_user(x_user),  v = tower_item(x_item)      (Dim + 1 numbers each)
///     y = <u[0:Dim], v[0:Dim]> + u[Dim] + v[Dim] + c        (dot_score<Dim>, the default)
///     y = dense<1>(relu(dense<64>([u; v])))                  (mlp_score)
///
/// The user tower's parameters come first and are contiguous: `adapt_user` adapts exactly
/// them, so each new user gets their own tower from a few interactions while the item tower
/// and the score stay shared (meta-learned). Layout: user tower, item tower, score.
///
/// The batch: one sample per (user, item) interaction holding the user's fields and the
/// item's, told apart by `input_shape::{dense,categorical,multi}_group` (what
/// recsys::feature_encoder lays out: user's fields first, then the item's). Each group needs
/// at least one categorical or multi-valued field; a group's dense rows must be contiguous.
/// @code
/// namespace mr = metarec;
/// using towers = mr::recsys::two_tower<>;                       // 32-dim towers, dot score, float, CPU
/// mr::recsys::feature_encoder encoder(data);                    // user fields, then item fields, with groups
/// mr::meta::maml<towers, mr::loss::mse, mr::optim::adam, mr::recsys::adapt_user> algo{
///     towers{encoder.shape(), /*seed=*/1}, {.inner_lr = 0.01, .inner_steps = 5}};
/// algo.fit(mr::meta::views(train_tasks), {.epochs = 10});
/// auto user = algo.adapt(support, ratings);                     // the new user's own user tower
/// // an MLP score instead of the dot product:
/// using mlp_towers = mr::recsys::two_tower<32, mr::recsys::mlp_score>;
/// @endcode
/// @tparam Dim    the towers' output size (each also outputs a bias with dot_score)
/// @tparam Score  dot_score<Dim> (default) or mlp_score, or any layer chain from 2 (Dim + 1) rows to 1
/// @tparam Scalar float or double
/// @tparam Device device policy
template <index Dim = 32, class Score = dot_score<Dim>, class Scalar = float, class Device = device::cpu>
using two_tower = nn::model<nn::sequential<nn::concat<tower<user_group, Dim + 1>, tower<item_group, Dim + 1>>, Score>, Scalar, Device>;

}  // namespace metarec::recsys
