// metarec: matrix factorization without user ids, where the user's vector adapts; the
// adaptation policy of the user side (recsys::adapt_user).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Eigen/Core>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <type_traits>

#include "../device/cpu.hpp"
#include "../meta/adaptation.hpp"
#include "../nn/nn.hpp"
#include "features.hpp"

namespace metarec::detail {
//! a network whose first layer is a concat (recsys::adapt_user)
template <class Network>
concept starts_with_concat = requires(const Network& n) { n.template layer<0>().template branch<0>(); };
//! a concat itself (recsys::adapt_user)
template <class Network>
concept is_concat = requires(const Network& n) { n.template branch<0>(); };
}  // namespace metarec::detail

namespace metarec::recsys {

/// Adaptation policy of the models whose network starts with `concat<user side, item side,
/// ...>` (recsys::two_tower, recsys::matrix_factorization, or your own): the parameters of
/// the first branch, i.e. the user tower or the user's vector, which nn::model lays out
/// first and contiguously. Everything after it (item side, score) stays global.
/// Use it as the Adaptation of meta::maml, meta::meta_sgd, meta::reptile, meta::fine_tune:
/// @code
/// metarec::meta::maml<metarec::recsys::matrix_factorization<>, metarec::loss::mse, metarec::optim::adam,
///                     metarec::recsys::adapt_user> algo{...};
/// @endcode
/// Throws std::invalid_argument if the user side has no parameters. Not for recsys::melu
/// (its network starts with the concat of field embeddings and dense features, so this
/// would adapt the embeddings): MeLU adapts its head, meta::adapt_dense_head.
struct adapt_user {
    //! the parameters of the first concat branch (the user side)
    template <class Learner>
    static meta::parameter_range select(const Learner& learner) {
        static_assert(requires { learner.network(); },
                      "metarec: recsys::adapt_user needs a learner with network() (an nn::model), see docs/recsys.md");
        using network = std::remove_cvref_t<decltype(learner.network())>;
        static_assert(metarec::detail::starts_with_concat<network> || metarec::detail::is_concat<network>,
                      "metarec: recsys::adapt_user: the network must start with concat<user side, item side> "
                      "(its first branch adapts), see docs/recsys.md");
        if constexpr (metarec::detail::is_concat<network>)
            return range_of(learner.network().template branch<0>());
        else if constexpr (metarec::detail::starts_with_concat<network>)
            return range_of(learner.network().template layer<0>().template branch<0>());
        else
            return {};  // not reached: the static_assert above fails
    }

private:
    template <class Side>
    static meta::parameter_range range_of(const Side& user_side) {
        if (user_side.parameter_count() == 0)
            throw std::invalid_argument("metarec: recsys::adapt_user: the user side (first concat branch) has no parameters");
        return {user_side.offset(), user_side.parameter_count()};
    }
};

/// Matrix factorization for data without side features (or ignoring them):
///
///     y(u, i) = <p_u, q_i> + b_u + b_i + mu
///
/// The item's embedding and bias `(q_i, b_i)` are column i of a `(Dim + 1) x items` table,
/// looked up by the item's id, a categorical field of recsys::item_group (vocabulary = number
/// of items). The user has no id: `(p_u, b_u)` is an nn::broadcast vector, the same for every
/// sample of a task (a task = one user's interactions). Meta-learning learns where every new
/// user starts; adaptation (`adapt_user`) moves only that vector, from the user's few
/// ratings, so the fast weights are the new user's embedding and bias. `mu` is the global
/// bias of nn::dot<Dim + 1, true>. Layout: user vector (Dim + 1), item table, mu.
///
/// The batch: only the item-group categorical fields are read, and the first of them must be
/// the item id (more item-group fields would each get their own table, summed into the
/// score: don't); dense features and user-group fields are ignored.
/// @code
/// namespace mr = metarec;
/// using mf = mr::recsys::matrix_factorization<32>;
/// mr::recsys::feature_encoder ids(data, {.user_features = false, .item_features = false, .item_id = true});
/// // or by hand: mr::nn::input_shape{.categorical = {items}, .categorical_group = {mr::recsys::item_group}}
/// mr::meta::maml<mf, mr::loss::mse, mr::optim::adam, mr::recsys::adapt_user> algo{
///     mf{ids.shape(), /*seed=*/1}, {.inner_lr = 0.05, .inner_steps = 5}};
/// algo.fit(mr::meta::views(train_tasks), {.epochs = 10});
/// auto user = algo.adapt(support, ratings);    // the new user's vector; items untouched
/// auto scores = user.predict(candidates);       // batch: the candidate items' ids
/// @endcode
/// @tparam Dim    embedding dimension (the user vector and each item row have Dim + 1 numbers)
/// @tparam Scalar float or double
/// @tparam Device device policy
template <index Dim = 32, class Scalar = float, class Device = device::cpu>
using matrix_factorization =
    nn::model<nn::sequential<nn::concat<nn::broadcast<Dim + 1>, nn::field_embeddings<Dim + 1, nn::pooling::mean, item_group>>,
                             nn::dot<Dim + 1, true>>,
              Scalar, Device>;

/// Starts a matrix_factorization from item factors (recsys::fit_item_factors) instead of
/// random rows: item row i's column of the table is `(q_i, b_i)`, the user vector
/// `(p, b_u)` and the global bias are `0` and `mu`. A new user's vector then starts at 0 and
/// its first inner steps fold it in on the factors (a few gradient steps towards the ridge
/// regression recsys::fold_in solves), which a meta-learner refines; from random rows,
/// meta-training first shrinks the noisy item vectors towards 0, where the gradient that
/// would grow the user-item structure vanishes.
/// @param model     a matrix_factorization over `encoder.shape()` (item id the only item field)
/// @param encoder   the features of the model (item_id on), which map item rows to table columns
/// @param factors   `Dim x items` (column i = q_i); std::invalid_argument for another shape
/// @param item_bias b_i for an item row (e.g. bias_model::item_bias; 0 when the targets are residuals)
/// @param mu        the global bias (bias_model::mean; 0 when the targets are residuals)
/// @tparam Model a matrix_factorization<Dim, Scalar, Device>
template <class Model>
void initialize_item_factors(Model& model, const feature_encoder& encoder, const Eigen::MatrixXd& factors,
                             const std::function<double(index)>& item_bias, double mu) {
    using Scalar = typename Model::scalar_type;
    const auto& towers = model.network().template layer<0>();
    const auto& user = towers.template branch<0>();
    const auto& table = towers.template branch<1>();
    const auto& score = model.network().template layer<1>();
    const index Dim = user.parameter_count() - 1, items = encoder.dataset().items.rows();
    if (factors.rows() != Dim || factors.cols() != items)
        throw std::invalid_argument("metarec: initialize_item_factors: the factors are " + std::to_string(factors.rows()) +
                                    " x " + std::to_string(factors.cols()) + ", the model needs " + std::to_string(Dim) +
                                    " x " + std::to_string(items));
    std::vector<id_type> rows(static_cast<std::size_t>(items)), first_user(rows.size(), 0);
    std::iota(rows.begin(), rows.end(), id_type(0));
    const auto batch = encoder.encode_pairs<Scalar>(first_user, rows);  // the table column of each item row
    const id_type* column = batch.view().categorical[0];
    Scalar* theta = model.parameters();
    std::fill(theta + user.offset(), theta + user.offset() + user.parameter_count(), Scalar(0));
    for (index i = 0; i < items; ++i) {
        Scalar* q = theta + table.offset() + (Dim + 1) * index(column[i]);
        for (index k = 0; k < Dim; ++k) q[k] = Scalar(factors(k, i));
        q[Dim] = Scalar(item_bias(i));
    }
    theta[score.offset()] = Scalar(mu);
}

}  // namespace metarec::recsys
