// metarec: ranking metrics of implicit feedback (HR@k, nDCG@k, MRR, Recall@k, AUC): each of a
// user's held-out positives ranked against sampled negatives or the full catalogue, per-user
// means, and their average over users with 95 % intervals.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../config.hpp"
#include "intervals.hpp"

namespace metarec::eval {

/// The ranking metrics of one user, each a mean over the user's query positives. Positive i
/// with score s_i is ranked against its competitors C_i (its sampled negatives, or every
/// catalogue item outside the user's support and query items); with g_i competitors scored
/// above s_i and t_i tied with it, its rank r_i is g_i + U, U uniform on {0..t_i} (ties broken
/// at random, in expectation: a constant scorer gets chance-level values, not the best or the
/// worst), and
///
///     hr@k     = P(r_i < k)                       (hit rate of a leave-one-out ranking)
///     ndcg@k   = E[ [r_i < k] / log2(r_i + 2) ]   (one relevant item: IDCG = 1)
///     mrr      = E[ 1 / (r_i + 1) ]
///     auc      = (|{c : s_c < s_i}| + t_i / 2) / |C_i|
///     recall@k = P(r'_i < k), r'_i the rank of i among the other positives and the competitors
///                of every positive pooled: the share of the user's positives in the user's top k
///
/// Names and order as in the JSON report: hr@5, hr@10, hr@20, ndcg@5, ndcg@10, ndcg@20, mrr,
/// recall@20, auc.
struct ranking_metrics {
    static constexpr index count = 9;  //!< number of metrics
    static constexpr std::array<index, 3> cutoffs{5, 10, 20};  //!< the k of hr\@k and ndcg\@k
    //! the metrics' names, in order
    static std::array<std::string, count> names() {
        return {"hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr", "recall@20", "auc"};
    }
    std::array<double, count> values{};  //!< in names()' order

    /// The metrics of one user: `positives` are the scores of the user's query positives;
    /// `competitors` holds one list per positive (sampled negatives) or one list shared by
    /// every positive (the full catalogue minus the user's own items). std::invalid_argument
    /// when there is no positive, a list is empty, or the counts do not match.
    static ranking_metrics of_user(std::span<const double> positives, const std::vector<std::vector<double>>& competitors) {
        if (positives.empty()) throw std::invalid_argument("metarec: ranking_metrics: no positive");
        if (competitors.size() != positives.size() && competitors.size() != 1)
            throw std::invalid_argument("metarec: ranking_metrics: one competitor list per positive, or one shared list");
        for (const auto& c : competitors)
            if (c.empty()) throw std::invalid_argument("metarec: ranking_metrics: an empty competitor list");
        ranking_metrics out;
        const double n = double(positives.size());
        for (std::size_t i = 0; i < positives.size(); ++i) {
            const double s = positives[i];
            const auto& c = competitors.size() == 1 ? competitors[0] : competitors[i];
            index greater = 0, ties = 0;
            count_against(s, c, greater, ties);
            for (std::size_t k = 0; k < cutoffs.size(); ++k) {
                out.values[k] += hit(greater, ties, cutoffs[k]) / n;
                out.values[3 + k] += discounted(greater, ties, cutoffs[k]) / n;
            }
            out.values[6] += reciprocal(greater, ties) / n;
            out.values[8] += (double(index(c.size()) - greater - ties) + 0.5 * double(ties)) / double(c.size()) / n;
            // recall: against every list pooled (once if shared) and the other positives
            index pooled_greater = 0, pooled_ties = 0;
            for (std::size_t j = 0; j < competitors.size(); ++j) count_against(s, competitors[j], pooled_greater, pooled_ties);
            for (std::size_t j = 0; j < positives.size(); ++j)
                if (j != i) count_against(s, std::span<const double>(&positives[j], 1), pooled_greater, pooled_ties);
            out.values[7] += hit(pooled_greater, pooled_ties, cutoffs[2]) / n;
        }
        return out;
    }

private:
    static void count_against(double s, std::span<const double> c, index& greater, index& ties) {
        for (const double x : c) {
            greater += x > s;
            ties += x == s;
        }
    }
    // P(g + U < k), U uniform on {0..t}
    static double hit(index g, index t, index k) {
        const index inside = std::max<index>(0, std::min<index>(k - g, t + 1));
        return double(inside) / double(t + 1);
    }
    // E[[g + U < k] / log2(g + U + 2)]
    static double discounted(index g, index t, index k) {
        double sum = 0;
        for (index r = g; r < std::min<index>(k, g + t + 1); ++r) sum += 1.0 / std::log2(double(r) + 2.0);
        return sum / double(t + 1);
    }
    // E[1 / (g + U + 1)]
    static double reciprocal(index g, index t) {
        double sum = 0;
        for (index r = g; r <= g + t; ++r) sum += 1.0 / double(r + 1);
        return sum / double(t + 1);
    }
};

/// Per-user values of one method, averaged over users with eval::mean_interval's 95 %
/// normal-approximation interval (mean +- 1.96 sd / sqrt(n)); paired differences between two
/// methods evaluated on the same users in the same order. The implicit-feedback report's rows.
class user_average {
public:
    //! adds one user's metrics
    void add(const ranking_metrics& m) { users_.push_back(m.values); }
    //! users added
    index users() const noexcept { return index(users_.size()); }
    //! metric `m` of every user, in the order added
    std::vector<double> column(index m) const {
        std::vector<double> out;
        out.reserve(users_.size());
        for (const auto& u : users_) out.push_back(u[std::size_t(m)]);
        return out;
    }
    //! the mean of metric `m` over users with its 95 % interval (NaN if no user)
    interval summary(index m) const { return mean_interval(column(m)); }
    //! the mean of metric `m` over users (NaN if none)
    double mean(index m) const { return summary(m).mean; }
    //! half the width of the 95 % interval of metric `m`'s mean (0 with one user, NaN with none)
    double half_width(index m) const {
        const auto i = summary(m);
        return i.high - i.mean;
    }
    //! every metric's mean
    std::array<double, ranking_metrics::count> means() const {
        std::array<double, ranking_metrics::count> out{};
        for (index m = 0; m < ranking_metrics::count; ++m) out[std::size_t(m)] = mean(m);
        return out;
    }
    //! the value of metric `m` of user `u`
    double value(index u, index m) const { return users_[std::size_t(u)][std::size_t(m)]; }

    /// {mean, half width of the 95 % interval} of `a - b` on metric `m`, user by user;
    /// std::invalid_argument unless both hold the same number of users
    static std::array<double, 2> paired_difference(const user_average& a, const user_average& b, index m) {
        if (a.users() != b.users())
            throw std::invalid_argument("metarec: paired_difference: " + std::to_string(a.users()) + " and " +
                                        std::to_string(b.users()) + " users");
        auto diff = a.column(m);
        for (std::size_t u = 0; u < diff.size(); ++u) diff[u] -= b.users_[u][std::size_t(m)];
        const auto i = mean_interval(diff);
        return {i.mean, i.high - i.mean};
    }
    //! appends the users of `other` (pooling seeds: the same method on several splits)
    void append(const user_average& other) { users_.insert(users_.end(), other.users_.begin(), other.users_.end()); }

private:
    std::vector<std::array<double, ranking_metrics::count>> users_;
};

}  // namespace metarec::eval
