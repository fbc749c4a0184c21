// metarec: per-user ranking and rating metrics (MAE, RMSE, nDCG@k, HR@k, Recall@k, AUC).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"

/// @namespace metarec::eval
/// Per-task metrics (MAE, RMSE, nDCG\@K, hit rate\@K, recall\@K, AUC) and their average over
/// tasks, for models and baselines alike.
namespace metarec::eval {

/// Metrics of one task's query set (one user's held-out interactions, as MeLU evaluates):
/// callables `double(const S* pred, const S* target, index rows, index n)` on host data,
/// `rows == 1` (one score per interaction). Pass them to `algorithm.evaluate(tasks, options,
/// metrics...)`, which averages them over tasks. A metric that is undefined for a task
/// (AUC with only relevant or only irrelevant items) returns NaN, and evaluate() leaves that
/// task out of that metric's mean (it reports how many tasks each mean covers).
///
/// Rankings sort the query items by predicted score, best first; ties keep the query order
/// (a stable sort), so results are deterministic.

namespace detail {

template <class S>
std::vector<index> ranking(const S* pred, index n) {
    std::vector<index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), index{0});
    std::stable_sort(order.begin(), order.end(), [&](index a, index b) { return pred[a] > pred[b]; });
    return order;
}

//! {relevant items among the top k predicted, relevant items} with relevant: target >= threshold
template <class S>
std::pair<index, index> relevant_in_top(const S* pred, const S* target, index n, index k, double threshold) {
    index relevant = 0, found = 0;
    for (index i = 0; i < n; ++i) relevant += double(target[i]) >= threshold;
    if (relevant == 0) return {0, 0};
    const auto order = ranking(pred, n);
    for (index i = 0; i < std::min(k, n); ++i) found += double(target[order[std::size_t(i)]]) >= threshold;
    return {found, relevant};
}

}  // namespace detail

/// Mean absolute error `mean |pred - target|`.
struct mae {
    static constexpr const char* name = "mae";  //!< column name in evaluation reports
    //! the MAE over the `rows x n` predictions and targets (host memory)
    template <class S>
    double operator()(const S* pred, const S* target, index rows, index n) const {
        double sum = 0;
        for (index i = 0; i < rows * n; ++i) sum += std::abs(double(pred[i]) - double(target[i]));
        return sum / double(rows * n);
    }
};

/// Root mean squared error `sqrt(mean (pred - target)^2)`.
struct rmse {
    static constexpr const char* name = "rmse";  //!< column name in evaluation reports
    //! the RMSE over the `rows x n` predictions and targets (host memory)
    template <class S>
    double operator()(const S* pred, const S* target, index rows, index n) const {
        double sum = 0;
        for (index i = 0; i < rows * n; ++i) sum += (double(pred[i]) - double(target[i])) * (double(pred[i]) - double(target[i]));
        return std::sqrt(sum / double(rows * n));
    }
};

/// nDCG\@K over the predicted ranking: `DCG = sum_{i<K} gain(target[rank_i]) / log2(i + 2)`,
/// divided by the DCG of the ideal ranking (by true rating); 0 when every gain is 0. K larger
/// than the query set uses the whole set.
///
/// Gains on any rating scale: `gain(r) = max(0, r - lowest + 1)`, the rating's position on
/// its scale counted from 1, with `lowest` the scale's lowest rating (rating_scale::lowest).
/// On a 1..5 scale (lowest 1, the default) the gains are the raw ratings, as MeLU reports;
/// on a -1/+1 scale they are 1 and 3, on -3..2 they are 1..6, so nDCG stays in [0, 1]
/// whatever the scale (raw negative gains would make it negative or above 1).
/// @tparam K the cutoff: the top K predicted items count (K >= 1)
template <index K>
struct ndcg {
    static_assert(K >= 1, "metarec: ndcg<K> needs K >= 1");
    static inline const std::string name = "ndcg@" + std::to_string(K);  //!< column name in evaluation reports, e.g. "ndcg@3"
    double lowest = 1.0;  //!< the lowest rating of the scale: it gains 1 (see rating_scale)
    //! the gain of a rating: `max(0, rating - lowest + 1)`
    double gain(double rating) const noexcept { return std::max(0.0, rating - lowest + 1.0); }
    //! the nDCG of one query set: n scores `pred` and ratings `target` (host memory)
    template <class S>
    double operator()(const S* pred, const S* target, index, index n) const {
        const auto predicted = detail::ranking(pred, n), ideal = detail::ranking(target, n);
        double dcg = 0, best = 0;
        for (index i = 0; i < std::min(K, n); ++i) {
            const double discount = 1.0 / std::log2(double(i) + 2.0);
            dcg += gain(double(target[predicted[std::size_t(i)]])) * discount;
            best += gain(double(target[ideal[std::size_t(i)]])) * discount;
        }
        return best > 0 ? dcg / best : 0.0;
    }
};

/// Hit rate \@K: 1 when at least one relevant item (target >= threshold) is among the top K
/// predicted, else 0; NaN when the query set has no relevant item.
/// @tparam K the cutoff: the top K predicted items count (K >= 1)
template <index K>
struct hit_rate {
    static_assert(K >= 1, "metarec: hit_rate<K> needs K >= 1");
    static inline const std::string name = "hr@" + std::to_string(K);  //!< column name in evaluation reports, e.g. "hr@10"
    double threshold = 4.0;  //!< a target at least this large is relevant
    //! the hit rate of one query set: n scores `pred` and targets `target` (host memory)
    template <class S>
    double operator()(const S* pred, const S* target, index, index n) const {
        const auto [found, relevant] = detail::relevant_in_top(pred, target, n, K, threshold);
        return relevant == 0 ? std::numeric_limits<double>::quiet_NaN() : found > 0 ? 1.0 : 0.0;
    }
};

/// Recall \@K: relevant items (target >= threshold) among the top K predicted, over all
/// relevant items; NaN when the query set has none.
/// @tparam K the cutoff: the top K predicted items count (K >= 1)
template <index K>
struct recall {
    static_assert(K >= 1, "metarec: recall<K> needs K >= 1");
    static inline const std::string name = "recall@" + std::to_string(K);  //!< column name in evaluation reports, e.g. "recall@10"
    double threshold = 4.0;  //!< a target at least this large is relevant
    //! the recall of one query set: n scores `pred` and targets `target` (host memory)
    template <class S>
    double operator()(const S* pred, const S* target, index, index n) const {
        const auto [found, relevant] = detail::relevant_in_top(pred, target, n, K, threshold);
        return relevant == 0 ? std::numeric_limits<double>::quiet_NaN() : double(found) / double(relevant);
    }
};

/// Area under the ROC curve of the scores separating relevant (target >= threshold) from
/// irrelevant items: the fraction of (relevant, irrelevant) pairs ordered correctly, ties
/// counting one half. NaN when either class is empty.
struct auc {
    static constexpr const char* name = "auc";  //!< column name in evaluation reports
    double threshold = 4.0;  //!< a target at least this large is relevant (0/1 labels: use 0.5)
    //! the AUC of one query set: n scores `pred` and targets `target` (host memory), O(n^2)
    template <class S>
    double operator()(const S* pred, const S* target, index, index n) const {
        double correct = 0;
        index positives = 0, negatives = 0;
        for (index i = 0; i < n; ++i) {
            if (double(target[i]) < threshold) {
                ++negatives;
                continue;
            }
            ++positives;
            for (index j = 0; j < n; ++j)
                if (double(target[j]) < threshold) correct += pred[i] > pred[j] ? 1.0 : pred[i] == pred[j] ? 0.5 : 0.0;
        }
        if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
        return correct / (double(positives) * double(negatives));
    }
};

/// A rating scale, found from the ratings a model learns from: where nDCG's gains start
/// (ndcg::lowest) and which ratings are relevant to the hit rate, recall and AUC
/// (`threshold()`: three quarters up the scale, 4 on 1..5, +1 on -1/+1, 1 and 2 on -3..2).
struct rating_scale {
    double lowest = 1;   //!< the lowest rating
    double highest = 5;  //!< the highest rating
    //! the scale of `ratings` (std::invalid_argument when there are none or one is not finite)
    template <class Range>
    static rating_scale of(const Range& ratings) {
        rating_scale out{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
        for (double r : ratings) {
            if (!std::isfinite(r)) throw std::invalid_argument("metarec: rating_scale: a rating is not finite");
            out.lowest = std::min(out.lowest, r);
            out.highest = std::max(out.highest, r);
        }
        if (out.lowest > out.highest) throw std::invalid_argument("metarec: rating_scale: no ratings");
        return out;
    }
    //! a rating at least this large is relevant: `lowest + 0.75 (highest - lowest)`
    double threshold() const noexcept { return lowest + 0.75 * (highest - lowest); }
};

}  // namespace metarec::eval
