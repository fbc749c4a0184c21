// metarec: item factors of what the bias model leaves over (alternating least squares), and
// the fold-in of a new user on them.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include "../data/dataset.hpp"
#include "../data/split.hpp"
#include "../detail/random.hpp"
#include "baselines.hpp"

namespace metarec::recsys {

namespace detail {
//! the ridge regression `x = (sum_k y_k y_k^T + lambda I)^-1 sum_k e_k y_k` over the pairs
//! (y_k, e_k) that `visit(add)` passes to `add(y, e)`; `normal` and `rhs` are its scratch
template <class Visit>
Eigen::VectorXd ridge(double lambda, Eigen::MatrixXd& normal, Eigen::VectorXd& rhs, Visit visit) {
    normal.setZero();
    rhs.setZero();
    visit([&](const auto& y, double e) {
        normal.selfadjointView<Eigen::Lower>().rankUpdate(y);
        rhs += e * y;
    });
    normal.diagonal().array() += lambda;
    return normal.selfadjointView<Eigen::Lower>().llt().solve(rhs);
}
}  // namespace detail

/// Options of fit_item_factors().
struct item_factor_options {
    index factors = 32;          //!< dimension of every p_u and q_i, >= 1
    double regularization = 10;  //!< lambda, the ridge strength on every p_u and q_i, > 0
    int sweeps = 10;             //!< alternations (every user's p_u, then every item's q_i), >= 1
    std::uint64_t seed = 1;      //!< seed of the initial item factors
};

/// Item factors of the residuals the bias model leaves on the training interactions, by
/// alternating least squares:
///
///     min_{P, Q}  sum_{(u,i) in training} (e_ui - <p_u, q_i>)^2 + lambda (sum_u |p_u|^2 + sum_i |q_i|^2)
///     e_ui = r_ui - mu - b_i - b_u                      (bias.mean(), item_bias(), user_bias())
///
/// Each half-sweep is exact: with Q fixed, p_u = (Q_u^T Q_u + lambda I)^-1 Q_u^T e_u over the
/// items u rated, and symmetrically for q_i. The user factors are thrown away: what transfers
/// to a new user is Q, on which its vector is folded in from a few ratings (fold_in(), or the
/// inner loop of a meta-learned recsys::matrix_factorization started from Q:
/// initialize_item_factors()). Items without training interactions get q_i = 0.
/// @return Q, `factors x data.items.rows()` (column i = q_i)
inline Eigen::MatrixXd fit_item_factors(const data::dataset& data, const bias_model& bias, std::span<const index> training,
                                        const item_factor_options& o = {}) {
    if (o.factors < 1 || !(o.regularization > 0) || o.sweeps < 1)
        throw std::invalid_argument("metarec: fit_item_factors: need factors >= 1, regularization > 0, sweeps >= 1");
    if (training.empty()) throw std::invalid_argument("metarec: fit_item_factors: no training interactions");
    const auto users = std::size_t(data.users.rows()), items = std::size_t(data.items.rows());
    // the interactions of each user and of each item (positions in `training`), residuals
    std::vector<std::vector<std::size_t>> of_user(users), of_item(items);
    std::vector<double> residual(training.size());
    for (std::size_t k = 0; k < training.size(); ++k) {
        const auto& r = data.interactions[std::size_t(training[k])];
        of_user[std::size_t(r.user)].push_back(k);
        of_item[std::size_t(r.item)].push_back(k);
        residual[k] = r.rating - bias.mean() - bias.item_bias(r.item) - bias.user_bias(r.user);
    }
    const auto f = Eigen::Index(o.factors);
    Eigen::MatrixXd P = Eigen::MatrixXd::Zero(f, Eigen::Index(users)), Q(f, Eigen::Index(items));
    metarec::detail::rng g(o.seed);
    const double scale = 1.0 / std::sqrt(double(o.factors));
    for (Eigen::Index k = 0; k < Q.size(); ++k) Q.data()[k] = g.uniform(-scale, scale);
    // one ridge regression per entity on the other side's factors
    Eigen::MatrixXd normal(f, f);
    Eigen::VectorXd rhs(f);
    const auto solve = [&](const std::vector<std::size_t>& ks, const Eigen::MatrixXd& other, bool by_user, auto column) {
        column = detail::ridge(o.regularization, normal, rhs, [&](auto add) {
            for (std::size_t k : ks) {
                const auto& r = data.interactions[std::size_t(training[k])];
                add(other.col(Eigen::Index(by_user ? r.item : r.user)), residual[k]);
            }
        });
    };
    for (int sweep = 0; sweep < o.sweeps; ++sweep) {
        for (std::size_t u = 0; u < users; ++u)
            if (!of_user[u].empty()) solve(of_user[u], Q, true, P.col(Eigen::Index(u)));
        for (std::size_t i = 0; i < items; ++i) {
            if (of_item[i].empty())
                Q.col(Eigen::Index(i)).setZero();
            else
                solve(of_item[i], P, false, Q.col(Eigen::Index(i)));
        }
    }
    return Q;
}

/// The fold-in of a new user: the ridge regression of its support residuals on the item
/// factors, `p = (Q_S^T Q_S + lambda I)^-1 Q_S^T e_S`, `e = r - (mu + b_i + b_u + b_task)`
/// (bias.unclipped()); returns the predictions `bias + <p, q_i>` for the task's query
/// interactions, clipped to the rating range.
inline std::vector<double> fold_in(const data::dataset& data, const bias_model& bias, const Eigen::MatrixXd& factors,
                                   double regularization, const data::task_split& task) {
    const auto base_support = bias.unclipped(task, task.support);
    Eigen::MatrixXd normal(factors.rows(), factors.rows());
    Eigen::VectorXd rhs(factors.rows());
    const Eigen::VectorXd p = detail::ridge(regularization, normal, rhs, [&](auto add) {
        for (std::size_t k = 0; k < task.support.size(); ++k) {
            const auto& r = data.interactions[std::size_t(task.support[k])];
            add(factors.col(Eigen::Index(r.item)), r.rating - base_support[k]);
        }
    });
    auto out = bias.unclipped(task, task.query);
    for (std::size_t k = 0; k < task.query.size(); ++k)
        out[k] = bias.clip(out[k] + p.dot(factors.col(Eigen::Index(data.interactions[std::size_t(task.query[k])].item))));
    return out;
}

/// Item factors whose ridge strength (from `grid`) gives the lowest mean per-task MAE of
/// fold_in() on the validation tasks, the validation users' training interactions left out
/// of that choice (they are as new as test users); then refitted on all of
/// `split.training_interactions`. For new-users splits with tasks per user; `bias` is the
/// tuned bias model of the split (bias_model::tuned). Without validation tasks, o's strength.
/// @return the factors and the chosen strength
inline std::pair<Eigen::MatrixXd, double> tuned_item_factors(const data::dataset& data, const data::split& split,
                                                             const bias_model& bias, item_factor_options o = {},
                                                             std::span<const double> grid = std::array{1.0, 3.0, 10.0, 30.0, 100.0}) {
    if (!split.validation.empty() && !grid.empty()) {
        const auto fit_on = data::training_without_validation(data, split, data::scenario::new_users);
        double best_mae = std::numeric_limits<double>::infinity(), best = o.regularization;
        const bias_model without(data, fit_on, bias.shrinkage());
        for (double lambda : grid) {
            o.regularization = lambda;
            const auto factors = fit_item_factors(data, without, fit_on, o);
            const double mae = detail::mean_task_mae(data, split.validation,
                                                     [&](const auto& t) { return fold_in(data, without, factors, lambda, t); });
            if (mae < best_mae) {
                best_mae = mae;
                best = lambda;
            }
        }
        o.regularization = best;
    }
    return {fit_item_factors(data, bias, split.training_interactions, o), o.regularization};
}

}  // namespace metarec::recsys
