// metarec: the baselines an e-commerce engineer tries first on clicks and purchases: global
// popularity, popularity in the user's scenario, recency-weighted popularity, item-kNN (its
// support optionally damped by basket recency); and item-kNN's and popularity's scores as a
// model's inputs.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../data/dataset.hpp"
#include "../data/split.hpp"

namespace metarec::recsys {

/// Every baseline scores candidate items for a task (a new user's support set; the query is
/// never read): `scores(task, candidates)` returns one score per candidate, higher is better.

/// Global popularity: the number of training interactions of each item.
class popularity {
public:
    //! counts over `training` (indices into `data.interactions`); `data` must outlive it
    popularity(const data::dataset& data, std::span<const index> training)
        : count_(std::size_t(data.items.rows()), 0.0) {
        for (index k : training) count_[std::size_t(data.interactions[std::size_t(k)].item)] += 1;
    }
    //! the count of each candidate
    std::vector<double> scores(const data::task_split&, std::span<const id_type> candidates) const {
        std::vector<double> out;
        out.reserve(candidates.size());
        for (id_type i : candidates) out.push_back(count_[std::size_t(i)]);
        return out;
    }
    //! training interactions of item `i`
    double count(id_type i) const { return count_[std::size_t(i)]; }

private:
    std::vector<double> count_;
};

/// Popularity within the new user's scenario, a categorical user field (e.g. country): the
/// share of the scenario's training interactions that went to the item, shrunk towards the
/// global share by `prior` pseudo-interactions,
///
///     score(i) = (c_{v,i} + prior g_i) / (n_v + prior),   g_i = c_i / N
///
/// with v the user's value, c_{v,i} the scenario's interactions with i and n_v all of them.
/// A scenario seen in no training interaction falls back to the global share.
class scenario_popularity {
public:
    /// @param data     the data set (must outlive the baseline)
    /// @param training the interactions counted
    /// @param field    the name of a categorical user field; std::invalid_argument if none
    /// @param prior    pseudo-interactions of the global share, >= 0; default 10
    scenario_popularity(const data::dataset& data, std::span<const index> training, const std::string& field,
                        double prior = 10.0)
        : data_(&data), prior_(prior), global_(std::size_t(data.items.rows()), 0.0) {
        for (const auto& f : data.users.categorical)
            if (f.name == field) field_ = &f;
        if (!field_) throw std::invalid_argument("metarec: scenario_popularity: no categorical user field '" + field + "'");
        if (prior < 0) throw std::invalid_argument("metarec: scenario_popularity: the prior must be >= 0");
        total_.assign(field_->vocabulary.size() + 1, 0.0);
        for (index k : training) {
            const auto& r = data.interactions[std::size_t(k)];
            const auto v = field_->ids[std::size_t(r.user)];
            counts_[key(v, r.item)] += 1;
            total_[std::size_t(v)] += 1;
            global_[std::size_t(r.item)] += 1;
            all_ += 1;
        }
    }
    //! the shrunk scenario share of each candidate
    std::vector<double> scores(const data::task_split& task, std::span<const id_type> candidates) const {
        if (task.support.empty()) throw std::invalid_argument("metarec: scenario_popularity: the task has no support set");
        const auto v = field_->ids[std::size_t(data_->interactions[std::size_t(task.support[0])].user)];
        std::vector<double> out;
        out.reserve(candidates.size());
        for (id_type i : candidates) {
            const auto it = counts_.find(key(v, i));
            const double c = it == counts_.end() ? 0.0 : it->second;
            const double g = all_ > 0 ? global_[std::size_t(i)] / all_ : 0.0;
            out.push_back((c + prior_ * g) / (total_[std::size_t(v)] + prior_ + (prior_ == 0 && total_[std::size_t(v)] == 0)));
        }
        return out;
    }

private:
    static std::uint64_t key(id_type v, id_type i) { return (std::uint64_t(std::uint32_t(v)) << 32) | std::uint32_t(i); }
    const data::dataset* data_;
    const data::categorical_field* field_ = nullptr;
    double prior_;
    std::vector<double> global_, total_;
    double all_ = 0;
    std::unordered_map<std::uint64_t, double> counts_;
};

/// Recency-weighted popularity: the training interactions of each item, each weighted by
/// `2^(-|t_u - t| / half_life)`, t_u the time of the new user's latest support interaction
/// (what was popular when the user shopped). The default half-life is a tenth of the
/// training interactions' time span (a data-set-relative choice, not a tuned constant).
/// Without timestamps it is global popularity.
class recent_popularity {
public:
    /// @param data      the data set (must outlive the baseline)
    /// @param training  the interactions counted
    /// @param half_life in the timestamps' unit; <= 0: a tenth of the training time span
    recent_popularity(const data::dataset& data, std::span<const index> training, double half_life = 0)
        : data_(&data), training_(training.begin(), training.end()) {
        std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
        for (index k : training) {
            lo = std::min(lo, data.interactions[std::size_t(k)].timestamp);
            hi = std::max(hi, data.interactions[std::size_t(k)].timestamp);
        }
        half_life_ = half_life > 0 ? half_life : std::max(1.0, double(hi - lo) / 10.0);
    }
    //! the recency-weighted count of each candidate
    std::vector<double> scores(const data::task_split& task, std::span<const id_type> candidates) const {
        std::int64_t now = std::numeric_limits<std::int64_t>::min();
        for (index k : task.support) now = std::max(now, data_->interactions[std::size_t(k)].timestamp);
        std::vector<double> weight(std::size_t(data_->items.rows()), 0.0);
        for (index k : training_) {
            const auto& r = data_->interactions[std::size_t(k)];
            weight[std::size_t(r.item)] += std::exp2(-std::abs(double(now - r.timestamp)) / half_life_);
        }
        std::vector<double> out;
        out.reserve(candidates.size());
        for (id_type i : candidates) out.push_back(weight[std::size_t(i)]);
        return out;
    }
    //! the half-life in use
    double half_life() const noexcept { return half_life_; }

private:
    const data::dataset* data_;
    std::vector<index> training_;
    double half_life_ = 1;
};

/// How much one training user counts in item co-occurrences (item_cooccurrence), by the number
/// n_u of distinct items the user has: `none`, 1 each; `inverse`, 1 / n_u (each user's row of the
/// user-item matrix scaled to unit length, as item-based top-N recommenders normalize it), so
/// that a reseller who bought a thousand items links them less than a customer who bought ten.
enum class user_weighting {
    none,     //!< every user counts 1
    inverse,  //!< user u counts 1 / n_u
};

/// The strength of each support interaction (its `rating`, or 1 with `weighted = false`)
/// damped by its recency within the support set: times 2^(-r / half_life), r the number of
/// distinct support timestamps later than its own (a basket's items share one r; 0 for the
/// latest); half_life <= 0: undamped.
inline std::vector<double> support_strengths(const data::dataset& data, std::span<const index> support, bool weighted,
                                             double half_life) {
    std::vector<double> out;
    out.reserve(support.size());
    for (index k : support) out.push_back(weighted ? double(data.interactions[std::size_t(k)].rating) : 1.0);
    if (half_life <= 0) return out;
    std::vector<std::int64_t> times;
    times.reserve(support.size());
    for (index k : support) times.push_back(data.interactions[std::size_t(k)].timestamp);
    std::sort(times.begin(), times.end(), std::greater<>());
    times.erase(std::unique(times.begin(), times.end()), times.end());
    for (std::size_t n = 0; n < out.size(); ++n) {
        const auto t = data.interactions[std::size_t(support[n])].timestamp;
        const auto later = std::lower_bound(times.begin(), times.end(), t, std::greater<>()) - times.begin();
        out[n] *= std::exp2(-double(later) / half_life);
    }
    return out;
}

/// Item co-occurrence over the training users: c_ij, the (weighted) training users who
/// interacted with both i and j, and c_i, those with i, each user u counting v_u
/// (user_weighting). The support-set score of item-kNN,
///
///     score(j) = sum_{s in support} w_s sim(s, j),   sim(s, j) = c_sj / sqrt(c_s c_j)
///
/// (cosine similarity; w_s the support interaction's strength, its `rating`, or 1), can be
/// taken with one user's own training interactions left out of every count: c_s and c_j lose
/// v_u when the user has the item, c_sj when it has both. That is the score the user would get
/// as a new user, so that a model trained on training users' scores (recsys::baseline_inputs)
/// does not learn to trust co-occurrences the user made itself. sim(j, j) is never counted.
/// Built eagerly (cost sum over training users of their items squared); const afterwards.
class item_cooccurrence {
public:
    static constexpr id_type nobody = -1;  //!< scores() and count() with no user left out

    /// @param data      the data set (must outlive the counts)
    /// @param training  the interactions counted (indices into `data.interactions`)
    /// @param weighting what one user counts (default: 1 / its items)
    item_cooccurrence(const data::dataset& data, std::span<const index> training,
                      user_weighting weighting = user_weighting::inverse)
        : data_(&data), weighting_(weighting), items_of_(std::size_t(data.users.rows())), user_weight_(items_of_.size(), 0.0),
          rows_(std::size_t(data.items.rows())), count_(std::size_t(data.items.rows()), 0.0),
          weight_(count_.size(), 0.0) {
        std::vector<std::vector<id_type>> users_of(std::size_t(data.items.rows()));
        for (index k : training) {
            const auto& r = data.interactions[std::size_t(k)];
            items_of_[std::size_t(r.user)].push_back(r.item);
        }
        for (index u = 0; u < index(items_of_.size()); ++u) {
            auto& items = items_of_[std::size_t(u)];
            std::sort(items.begin(), items.end());
            items.erase(std::unique(items.begin(), items.end()), items.end());
            for (id_type i : items) users_of[std::size_t(i)].push_back(id_type(u));
            // a user with no training interaction (a new user) counts in nothing: 0, not 1 / 0
            user_weight_[std::size_t(u)] =
                weighting == user_weighting::none ? 1.0 : items.empty() ? 0.0 : 1.0 / double(items.size());
        }
        std::vector<float> together(std::size_t(data.items.rows()), 0.0f);
        std::vector<id_type> touched;
        for (std::size_t i = 0; i < rows_.size(); ++i) {
            count_[i] = double(users_of[i].size());
            for (id_type u : users_of[i]) {
                const double v = user_weight_[std::size_t(u)];
                weight_[i] += v;
                for (id_type j : items_of_[std::size_t(u)])
                    if (std::size_t(j) != i) {
                        if (together[std::size_t(j)] == 0.0f) touched.push_back(j);
                        together[std::size_t(j)] += float(v);
                    }
            }
            std::sort(touched.begin(), touched.end());
            for (id_type j : touched) {
                rows_[i].emplace_back(j, together[std::size_t(j)]);
                together[std::size_t(j)] = 0.0f;
            }
            touched.clear();
        }
    }

    /// The support-set score of every item (indexed by item row) given the support
    /// interactions `support`, with the training interactions of user `left_out` left out of
    /// the counts (`nobody`, or a user with none such as a new user: the plain score).
    /// `weighted = false`: every w_s = 1.
    std::vector<double> scores(std::span<const index> support, id_type left_out = nobody, bool weighted = true) const {
        return scores(support, support_strengths(*data_, support, weighted, 0), left_out);
    }
    //! the same with the strength w_s of each support interaction given
    std::vector<double> scores(std::span<const index> support, std::span<const double> strengths,
                               id_type left_out = nobody) const {
        if (strengths.size() != support.size())
            throw std::invalid_argument("metarec: item_cooccurrence: " + std::to_string(strengths.size()) +
                                        " strengths for " + std::to_string(support.size()) + " support interactions");
        const auto& own = left_out == nobody ? none_ : items_of_.at(std::size_t(left_out));
        const double v = left_out == nobody ? 0.0 : user_weight_.at(std::size_t(left_out));
        const auto has = [&](id_type i) { return double(std::binary_search(own.begin(), own.end(), i)); };
        // acc(j) = sum_s a_s c_sj with a_s = w_s / sqrt(c'_s); the user's own co-occurrences are
        // then taken back: every s it has contributed v a_s to each j it has (j != s)
        std::vector<double> acc(rows_.size(), 0.0), own_share(rows_.size(), 0.0);
        double own_total = 0;
        for (std::size_t n = 0; n < support.size(); ++n) {
            const auto& r = data_->interactions[std::size_t(support[n])];
            const double cs = weight_[std::size_t(r.item)] - v * has(r.item);
            if (cs <= 0) continue;
            const double a = strengths[n] / std::sqrt(cs);
            for (const auto& [j, c] : rows_[std::size_t(r.item)]) acc[std::size_t(j)] += a * double(c);
            if (has(r.item) != 0) {
                own_total += a;
                own_share[std::size_t(r.item)] += a;
            }
        }
        for (std::size_t j = 0; j < acc.size(); ++j) {
            const double mine = has(id_type(j));
            if (mine != 0) acc[j] -= v * (own_total - own_share[j]);
            const double cj = weight_[j] - v * mine;
            acc[j] = cj > 0 ? acc[j] / std::sqrt(cj) : 0.0;
        }
        return acc;
    }
    //! what one training user counts
    user_weighting weighting() const noexcept { return weighting_; }
    //! the training users of item `i` (unweighted: its popularity), user `left_out` left out
    double count(id_type i, id_type left_out = nobody) const {
        if (left_out == nobody) return count_[std::size_t(i)];
        const auto& own = items_of_.at(std::size_t(left_out));
        return count_[std::size_t(i)] - double(std::binary_search(own.begin(), own.end(), i));
    }

private:
    const data::dataset* data_;
    user_weighting weighting_;
    std::vector<std::vector<id_type>> items_of_;                   // per user: its training items, sorted
    std::vector<double> user_weight_;                              // v_u
    std::vector<std::vector<std::pair<id_type, float>>> rows_;     // per item i: (j, c_ij), j ascending
    std::vector<double> count_;                                    // the training users of item i
    std::vector<double> weight_;                                   // c_i: their weights' sum
    std::vector<id_type> none_;                                    // the items of `nobody`
};

/// The mean over `tasks` of each task's mean reciprocal rank of its query items among every
/// item outside its support and query set, ranked by `score(task)` (one score per item row):
/// how the baselines' settings are chosen on validation users (which `score` must rank with
/// the user's own training interactions left out, as a new user).
template <class Score>
double reciprocal_rank(const data::dataset& data, const std::vector<data::task_split>& tasks, Score&& score) {
    if (tasks.empty()) throw std::invalid_argument("metarec: reciprocal_rank: no task");
    double total = 0;
    std::vector<char> skip(std::size_t(data.items.rows()));
    for (const auto& t : tasks) {
        const std::vector<double> scores = score(t);
        std::fill(skip.begin(), skip.end(), 0);
        for (const auto* side : {&t.support, &t.query})
            for (index k : *side) skip[std::size_t(data.interactions[std::size_t(k)].item)] = 1;
        double user = 0;
        for (index k : t.query) {
            const double mine = scores[std::size_t(data.interactions[std::size_t(k)].item)];
            index above = 0;
            for (std::size_t j = 0; j < scores.size(); ++j) above += !skip[j] && scores[j] > mine;
            user += 1.0 / double(above + 1);
        }
        total += t.query.empty() ? 0.0 : user / double(t.query.size());
    }
    return total / double(tasks.size());
}

/// Item-to-item collaborative filtering from the support set: item_cooccurrence's score of
/// each candidate given the task's support items.
class item_knn {
public:
    //! the half-lives tuned() tries (0: no damping)
    static constexpr std::array<double, 6> default_half_lives{0.0, 1.0, 2.0, 4.0, 8.0, 16.0};
    /// @param data      the data set (must outlive the baseline)
    /// @param training  the interactions co-occurrences are counted over
    /// @param weighted  weight support items by their strength (default true)
    /// @param weighting what one training user counts in the co-occurrences
    /// @param half_life the support items' half-life in baskets (support_strengths; 0: none)
    item_knn(const data::dataset& data, std::span<const index> training, bool weighted = true,
             user_weighting weighting = user_weighting::inverse, double half_life = 0)
        : data_(&data), weighted_(weighted), half_life_(half_life), counts_(data, training, weighting) {}
    /// Item-kNN with the support items' recency half-life chosen on the split's validation users
    /// (reciprocal_rank, each user left out of the counts; the first half-life with none)
    /// @param data        the data set (must outlive the baseline)
    /// @param split       the split: counts over training_interactions, tuned on validation
    /// @param half_lives  the half-lives tried
    static item_knn tuned(const data::dataset& data, const data::split& split,
                          std::span<const double> half_lives = default_half_lives) {
        if (half_lives.empty()) throw std::invalid_argument("metarec: item_knn::tuned: no half-life to try");
        item_knn knn(data, split.training_interactions, true, user_weighting::inverse, half_lives.front());
        if (split.validation.empty()) return knn;
        double best = -1;
        for (double h : half_lives) {
            const double mrr = reciprocal_rank(data, split.validation, [&](const data::task_split& t) {
                return knn.counts_.scores(t.support, support_strengths(data, t.support, true, h), id_type(t.key));
            });
            if (mrr > best) best = mrr, knn.half_life_ = h;
        }
        return knn;
    }

    //! the support items' half-life in baskets (0: none)
    double half_life() const noexcept { return half_life_; }

    //! the summed similarity of each candidate to the support items
    std::vector<double> scores(const data::task_split& task, std::span<const id_type> candidates) const {
        const auto score = counts_.scores(task.support, support_strengths(*data_, task.support, weighted_, half_life_));
        std::vector<double> out;
        out.reserve(candidates.size());
        for (id_type i : candidates) out.push_back(score[std::size_t(i)]);
        return out;
    }

private:
    const data::dataset* data_;
    bool weighted_;
    double half_life_;
    item_cooccurrence counts_;
};

/// One item-kNN input of recsys::baseline_inputs: the co-occurrence counts' weighting of the
/// training users and the support items' recency half-life (support_strengths; 0: none).
struct knn_input {
    user_weighting weighting = user_weighting::inverse;  //!< what one training user counts
    double half_life = 0;                                //!< the support items' half-life in baskets
};

/// The baselines as a model's inputs (the principle of the rating models' residual to the bias
/// model: the model contains the strongest baselines and learns beyond them). For each (user,
/// candidate) row of a task, width() numbers computed only from what the model may know:
///
///     log(1 + score_k(j))   item-kNN's support-set score of the candidate, one per knn_input k
///                           (item_cooccurrence with its weighting, support_strengths)
///     log(1 + c_j)          the candidate's popularity (training users with it)
///
/// all with the task's user's own training interactions left out, so a training user's rows
/// look like a new user's (encoder_options::pair_inputs carries them into the batches).
class baseline_inputs {
public:
    /// The default item-kNN inputs: the 1 / n_u counts, the support undamped and, where the
    /// data has timestamps, damped with half-lives of 1 and 4 baskets (the model learns how
    /// much the latest purchases say on the data at hand: on MovieLens 100K the last basket
    /// says most, on Online Retail the whole history; docs/results.md, "Implicit feedback")
    static std::vector<knn_input> default_knn(const data::dataset& data) {
        if (!data.has_timestamps) return {knn_input{}};
        return {knn_input{}, knn_input{.half_life = 1}, knn_input{.half_life = 4}};
    }

    /// @param data      the data set (must outlive the inputs)
    /// @param training  the interactions counted (the split's training interactions)
    baseline_inputs(const data::dataset& data, std::span<const index> training)
        : baseline_inputs(data, training, default_knn(data)) {}
    /// @param data      the data set (must outlive the inputs)
    /// @param training  the interactions counted (the split's training interactions)
    /// @param knn       the item-kNN inputs, in order (at least one)
    baseline_inputs(const data::dataset& data, std::span<const index> training, std::vector<knn_input> knn)
        : data_(&data), knn_(std::move(knn)) {
        if (knn_.empty()) throw std::invalid_argument("metarec: baseline_inputs: no item-kNN input");
        for (const auto& k : knn_)
            if (!counts(k.weighting)) counts_.emplace_back(data, training, k.weighting);
    }

    //! inputs per row: one per item-kNN input, then the popularity
    index width() const noexcept { return index(knn_.size()) + 1; }
    //! the item-kNN inputs
    const std::vector<knn_input>& knn() const noexcept { return knn_; }

    /// Appends width() inputs per item of `items` (row after row) to `out`, for `user` with the
    /// support interactions `support` (indices into the data set's interactions).
    void append(id_type user, std::span<const index> support, std::span<const id_type> items,
                std::vector<float>& out) const {
        std::vector<std::vector<double>> scores;
        for (const auto& k : knn_)
            scores.push_back(counts(k.weighting)->scores(support, support_strengths(*data_, support, true, k.half_life), user));
        for (id_type j : items) {
            for (const auto& score : scores) out.push_back(float(std::log1p(std::max(0.0, score[std::size_t(j)]))));
            out.push_back(float(std::log1p(std::max(0.0, counts_.front().count(j, user)))));
        }
    }
    //! the data set
    const data::dataset& dataset() const noexcept { return *data_; }

private:
    // the counts with weighting `w`, or null before the constructor made them
    const item_cooccurrence* counts(user_weighting w) const {
        const auto found =
            std::find_if(counts_.begin(), counts_.end(), [&](const item_cooccurrence& c) { return c.weighting() == w; });
        return found == counts_.end() ? nullptr : &*found;
    }

    const data::dataset* data_;
    std::vector<knn_input> knn_;
    std::vector<item_cooccurrence> counts_;  // one per weighting in use
};

}  // namespace metarec::recsys
