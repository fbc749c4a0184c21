// metarec: two-tower and matrix-factorization recommenders, where the user's side adapts.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>

#include "../device/cpu.hpp"
#include "../meta/adaptation.hpp"
#include "../nn/nn.hpp"
#include "features.hpp"

namespace metarec::recsys {

/// One tower: the embeddings of a feature group's categorical fields and its dense
/// features, through an MLP to `Out` numbers.
template <int Group, index Out, index Embedding = 32, index Hidden = 64>
using tower = nn::sequential<nn::concat<nn::field_embeddings<Embedding, nn::pooling::mean, Group>, nn::dense_features<Group>>,
                             nn::dense<Hidden>, nn::relu, nn::dense<Out>>;

/// The score of a two-tower model: `dot_score<Dim>` (default) is the dot product of the
/// towers' `Dim` numbers plus the last number of each tower as a bias and a global bias
/// (`<u, v> + b_u + b_i + c`); `mlp_score` an MLP on the concatenated towers.
template <index Dim>
using dot_score = nn::dot<Dim + 1, true>;
using mlp_score = nn::sequential<nn::dense<64>, nn::relu, nn::dense<1>>;

/// A two-tower recommender: a user tower on the user's features (recsys::user_group) and an
/// item tower on the item's (recsys::item_group), scored by `Score`. The user tower's
/// parameters come first and are contiguous: `adapt_user` adapts exactly them, so each new
/// user gets their own tower from a few interactions while the item tower stays shared.
/// @code
/// using model = metarec::recsys::two_tower<>;                    // 32-dim towers, dot score, float, CPU
/// metarec::recsys::feature_encoder encoder(data);                // user fields, then item fields
/// model m{encoder.shape(), /*seed=*/1};
/// metarec::meta::maml<model, metarec::loss::mse, metarec::optim::adam, metarec::recsys::adapt_user> algo{std::move(m)};
/// @endcode
/// @tparam Dim    the towers' output size (each also outputs a bias with dot_score)
/// @tparam Score  dot_score<Dim> or mlp_score (or any layer chain from 2 (Dim + 1) rows to 1)
/// @tparam Scalar float or double
/// @tparam Device device policy
template <index Dim = 32, class Score = dot_score<Dim>, class Scalar = float, class Device = device::cpu>
using two_tower = nn::model<nn::sequential<nn::concat<tower<user_group, Dim + 1>, tower<item_group, Dim + 1>>, Score>, Scalar, Device>;

/// Matrix factorization for data without side features: the score
/// `<p_u, q_i> + b_u + b_i + mu` with the item's embedding and bias `(q_i, b_i)` a row of a
/// table indexed by the item's id (a categorical field of item_group, vocabulary = items;
/// `feature_encoder` with `{.user_features = false, .item_features = false, .item_id = true}`)
/// and the user's `(p_u, b_u)` a vector of its own (nn::broadcast), the same for every
/// sample of a task: meta-learning learns where a new user starts, adaptation (`adapt_user`)
/// moves only that vector, from the user's few ratings.
/// @code
/// using model = metarec::recsys::matrix_factorization<>;
/// metarec::recsys::feature_encoder encoder(data, {.user_features = false, .item_features = false, .item_id = true});
/// model m{encoder.shape(), /*seed=*/1};
/// @endcode
template <index Dim = 32, class Scalar = float, class Device = device::cpu>
using matrix_factorization =
    nn::model<nn::sequential<nn::concat<nn::broadcast<Dim + 1>, nn::field_embeddings<Dim + 1, nn::pooling::mean, item_group>>,
                             nn::dot<Dim + 1, true>>,
              Scalar, Device>;

/// Adaptation policy of two_tower and matrix_factorization: the parameters of the user's
/// side, the first branch of the network's leading concat (the user tower, or the user's
/// vector). Use it as the Adaptation of meta::maml, meta::reptile, meta::fine_tune.
struct adapt_user {
    template <class Learner>
    static meta::parameter_range select(const Learner& learner) {
        const auto& user_side = learner.network().template layer<0>().template branch<0>();
        return {user_side.offset(), user_side.parameter_count()};
    }
};

}  // namespace metarec::recsys
