// metarec: the simple alternatives every meta-learned recommender must beat.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include "../data/dataset.hpp"
#include "../data/split.hpp"

namespace metarec::recsys {

/// Predicts the mean rating of the training interactions for everything.
class global_mean {
public:
    //! the mean rating of `training` (indices into `data.interactions`); std::invalid_argument if empty
    global_mean(const data::dataset& data, std::span<const index> training) {
        if (training.empty()) throw std::invalid_argument("metarec: global_mean: no training interactions");
        for (index k : training) mean_ += data.interactions[std::size_t(k)].rating;
        mean_ /= double(training.size());
    }
    //! the mean
    double mean() const noexcept { return mean_; }
    //! predictions for the query interactions of a task
    std::vector<double> predict(const data::task_split& task) const { return std::vector<double>(task.query.size(), mean_); }

private:
    double mean_ = 0;
};

/// Predicts the mean rating of the task's own support set (the user's mean rating, for
/// tasks grouped by user): the strongest simple baseline for new users.
class support_mean {
public:
    //! reads the ratings of `data`, which must outlive the baseline
    explicit support_mean(const data::dataset& data) : data_(&data) {}
    //! the mean support rating for each query interaction of `task`; std::invalid_argument
    //! when the task has no support set
    std::vector<double> predict(const data::task_split& task) const {
        if (task.support.empty()) throw std::invalid_argument("metarec: support_mean: the task has no support set");
        double mean = 0;
        for (index k : task.support) mean += data_->interactions[std::size_t(k)].rating;
        return std::vector<double>(task.query.size(), mean / double(task.support.size()));
    }

private:
    const data::dataset* data_;
};

/// Predicts each item's mean training rating, shrunk towards the global mean by `prior`
/// pseudo-ratings (a Bayesian average: `(sum + prior * mu) / (count + prior)`), so that
/// items with few ratings are not ranked by luck; new items get the global mean. Ranking
/// by it is ranking by popular quality.
class item_mean {
public:
    /// @param data     the data set, which must outlive the baseline
    /// @param training the interactions to learn from (indices into `data.interactions`)
    /// @param prior    weight of the global mean, in pseudo-ratings, >= 0; default 5
    item_mean(const data::dataset& data, std::span<const index> training, double prior = 5.0)
        : global_(data, training), sum_(std::size_t(data.items.rows())), count_(std::size_t(data.items.rows())) {
        if (prior < 0) throw std::invalid_argument("metarec: item_mean: the prior weight must be >= 0");
        for (index k : training) {
            const auto& r = data.interactions[std::size_t(k)];
            sum_[std::size_t(r.item)] += r.rating;
            ++count_[std::size_t(r.item)];
        }
        data_ = &data;
        prior_ = prior;
    }
    //! the shrunk mean rating of the item of each query interaction of `task`
    std::vector<double> predict(const data::task_split& task) const {
        std::vector<double> out;
        const double mu = global_.mean();
        for (index k : task.query) {
            const auto i = std::size_t(data_->interactions[std::size_t(k)].item);
            out.push_back(count_[i] + prior_ > 0 ? (sum_[i] + prior_ * mu) / (double(count_[i]) + prior_) : mu);
        }
        return out;
    }

private:
    global_mean global_;
    std::vector<double> sum_;
    std::vector<index> count_;
    const data::dataset* data_ = nullptr;
    double prior_ = 5.0;
};

namespace detail {
//! the mean over `tasks` of each task's query MAE, `predict(task)` giving the query predictions
//! (what bias_model::tuned and tuned_item_factors choose their strengths by)
template <class Predict>
double mean_task_mae(const data::dataset& data, const std::vector<data::task_split>& tasks, Predict predict) {
    double mae = 0;
    for (const auto& t : tasks) {
        const auto pred = predict(t);
        double sum = 0;
        for (std::size_t q = 0; q < t.query.size(); ++q) sum += std::abs(pred[q] - data.interactions[std::size_t(t.query[q])].rating);
        mae += sum / double(std::max<std::size_t>(1, t.query.size()));
    }
    return mae / double(tasks.size());
}
}  // namespace detail

/// Shrinkage strengths of bias_model, in pseudo-ratings (each a weight of the prior 0 added to
/// the count of ratings a bias is the mean of).
struct bias_shrinkage {
    double item = 5;   //!< item biases, fitted on the training interactions
    double user = 5;   //!< user biases, fitted on the training interactions
    double task = 5;   //!< the task's own offset, fitted on its support set
};

/// The bias model `r = mu + b_item + b_user + b_task`, clipped to the training ratings' range:
/// the strongest simple baseline for explicit ratings (Koren's baseline predictor). What
/// training knows comes from training, what the scenario leaves unknown from the task's
/// support set:
///
///     mu       = mean training rating
///     b_i      = sum_{(u,i) in training} (r - mu) / (lambda_item + n_i)
///     b_u      = sum_{(u,i) in training} (r - mu - b_i) / (lambda_user + n_u)
///     b_task   = sum_{(u,i) in support} (r - mu - b_i - b_u) / (lambda_task + n_support)
///
/// An entity without training interactions (a new user or item) has bias 0, so `b_task` is
/// the new user's bias in a new-users split with tasks per user, the new item's bias with
/// tasks per item, and the scenario's offset with tasks per feature value.
/// tuned() chooses the three strengths on the validation tasks (lowest MAE).
class bias_model {
public:
    /// @param data      the data set, which must outlive the model
    /// @param training  the interactions to learn from (indices into `data.interactions`)
    /// @param shrinkage the shrinkage strengths, each >= 0
    bias_model(const data::dataset& data, std::span<const index> training, bias_shrinkage shrinkage = {})
        : data_(&data), shrinkage_(shrinkage) {
        if (training.empty()) throw std::invalid_argument("metarec: bias_model: no training interactions");
        if (!(shrinkage.item >= 0 && shrinkage.user >= 0 && shrinkage.task >= 0))
            throw std::invalid_argument("metarec: bias_model: shrinkage strengths must be >= 0");
        lowest_ = std::numeric_limits<double>::infinity();
        highest_ = -lowest_;
        for (index k : training) {
            const double r = data.interactions[std::size_t(k)].rating;
            mu_ += r;
            lowest_ = std::min(lowest_, r);
            highest_ = std::max(highest_, r);
        }
        mu_ /= double(training.size());
        item_ = fit(data, training, true, shrinkage.item, {});
        user_ = fit(data, training, false, shrinkage.user, item_);
    }

    /// The bias model with the shrinkage strengths (from `grid`, each of the three) that give
    /// the lowest mean per-task MAE on `split.validation`, then refitted on all of
    /// `split.training_interactions`. The validation tasks are made as new as the scenario
    /// makes the test tasks: the strengths are tried on a fit without every training rating of
    /// the validation tasks' users (new users; warm too), of their items (new items), or of both, so
    /// that a validation task sees known and unknown biases as a test task does. Without
    /// validation tasks, the default strengths.
    static bias_model tuned(const data::dataset& data, const data::split& split,
                            data::scenario scenario = data::scenario::new_users,
                            std::span<const double> grid = default_grid()) {
        if (split.validation.empty() || grid.empty()) return bias_model(data, split.training_interactions);
        const auto fit_on = data::training_without_validation(data, split, scenario);
        if (fit_on.empty()) return bias_model(data, split.training_interactions);
        bias_shrinkage best{};
        double best_mae = std::numeric_limits<double>::infinity();
        for (double item : grid)
            for (double user : grid) {
                bias_model m(data, fit_on, {item, user, 0});
                for (double task : grid) {
                    m.shrinkage_.task = task;
                    const double mae = detail::mean_task_mae(data, split.validation, [&](const auto& t) { return m.predict(t); });
                    if (mae < best_mae) {
                        best_mae = mae;
                        best = {item, user, task};
                    }
                }
            }
        return bias_model(data, split.training_interactions, best);
    }
    //! the strengths tuned() tries for each of the three: 0, 1, 2, 5, 10, 25, 50, 100
    static std::span<const double> default_grid() noexcept {
        static constexpr std::array<double, 8> grid{0, 1, 2, 5, 10, 25, 50, 100};
        return grid;
    }

    //! predictions for the query interactions of `task`
    std::vector<double> predict(const data::task_split& task) const {
        auto out = unclipped(task, task.query);
        for (auto& v : out) v = clip(v);
        return out;
    }
    //! `mu + b_i + b_u + b_task` for some interactions (indices into the data set's interactions)
    //! of `task`, with `b_task` from its support set, not clipped
    std::vector<double> unclipped(const data::task_split& task, std::span<const index> interactions) const {
        const double offset = task_offset(task);
        std::vector<double> out;
        out.reserve(interactions.size());
        for (index k : interactions) out.push_back(mu_ + known(data_->interactions[std::size_t(k)]) + offset);
        return out;
    }
    //! `value` clipped to the range of the training ratings
    double clip(double value) const noexcept { return std::clamp(value, lowest_, highest_); }
    /// The same model with the training biases of the side the scenario makes new set to 0
    /// (every user's for new users, every item's for new items, both for both): the biases a
    /// training task may use are then those a test task has. recsys::residual_tasks uses it.
    bias_model for_scenario(data::scenario s) const {
        bias_model out = *this;
        if (s == data::scenario::new_users || s == data::scenario::new_users_new_items)
            std::fill(out.user_.begin(), out.user_.end(), 0.0);
        if (s == data::scenario::new_items || s == data::scenario::new_users_new_items)
            std::fill(out.item_.begin(), out.item_.end(), 0.0);
        return out;
    }
    //! `b_task`: the shrunk mean residual of the support ratings (0 without a support set)
    double task_offset(const data::task_split& task) const {
        double sum = 0;
        for (index k : task.support) {
            const auto& r = data_->interactions[std::size_t(k)];
            sum += r.rating - mu_ - known(r);
        }
        const double n = double(task.support.size()) + shrinkage_.task;
        return n > 0 ? sum / n : 0.0;
    }
    //! the mean training rating `mu`
    double mean() const noexcept { return mu_; }
    //! the training bias of an item row (0 for an item without training interactions)
    double item_bias(index item) const { return item_[std::size_t(item)]; }
    //! the training bias of a user row (0 for a user without training interactions)
    double user_bias(index user) const { return user_[std::size_t(user)]; }
    //! the shrinkage strengths in use
    const bias_shrinkage& shrinkage() const noexcept { return shrinkage_; }

private:
    double known(const data::interaction& r) const { return item_[std::size_t(r.item)] + user_[std::size_t(r.user)]; }

    // the shrunk mean residual per item (items) or per user (after the item biases)
    std::vector<double> fit(const data::dataset& data, std::span<const index> training, bool items, double lambda,
                            const std::vector<double>& item_bias) const {
        const auto n = std::size_t(items ? data.items.rows() : data.users.rows());
        std::vector<double> sum(n), count(n), out(n);
        for (index k : training) {
            const auto& r = data.interactions[std::size_t(k)];
            const auto e = std::size_t(items ? r.item : r.user);
            sum[e] += r.rating - mu_ - (items ? 0.0 : item_bias[std::size_t(r.item)]);
            ++count[e];
        }
        for (std::size_t e = 0; e < n; ++e) out[e] = count[e] + lambda > 0 ? sum[e] / (count[e] + lambda) : 0.0;
        return out;
    }

    const data::dataset* data_;
    bias_shrinkage shrinkage_;
    double mu_ = 0, lowest_ = 0, highest_ = 0;
    std::vector<double> item_, user_;
};

}  // namespace metarec::recsys
