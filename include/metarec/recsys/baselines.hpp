// metarec: the simple alternatives every meta-learned recommender must beat.
// SPDX-License-Identifier: Apache-2.0
#pragma once

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

}  // namespace metarec::recsys
