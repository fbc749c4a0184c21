// metarec: the baselines an e-commerce engineer tries first on clicks and purchases: global
// popularity, popularity in the user's scenario, recency-weighted popularity, item-kNN.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
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

/// Item-to-item collaborative filtering from the support set: cosine similarity of item
/// co-occurrence over the training users,
///
///     sim(i, j) = c_ij / sqrt(c_i c_j),   score(i) = sum_{s in support} w_s sim(s, i)
///
/// with c_ij the training users who interacted with both i and j, c_i those with i, and w_s
/// the support interaction's strength (its `rating`: 1, an event weight, or a repeat count;
/// `weighted = false`: 1). Similarity rows are computed on first use and cached
/// (not thread-safe: one instance per thread).
class item_knn {
public:
    /// @param data     the data set (must outlive the baseline)
    /// @param training the interactions co-occurrences are counted over
    /// @param weighted weight support items by their strength (default true)
    item_knn(const data::dataset& data, std::span<const index> training, bool weighted = true)
        : data_(&data), weighted_(weighted), users_of_(std::size_t(data.items.rows())),
          items_of_(std::size_t(data.users.rows())), rows_(std::size_t(data.items.rows())),
          ready_(std::size_t(data.items.rows()), 0) {
        for (index k : training) {
            const auto& r = data.interactions[std::size_t(k)];
            items_of_[std::size_t(r.user)].push_back(r.item);
        }
        for (index u = 0; u < index(items_of_.size()); ++u) {
            auto& items = items_of_[std::size_t(u)];
            std::sort(items.begin(), items.end());
            items.erase(std::unique(items.begin(), items.end()), items.end());
            for (id_type i : items) users_of_[std::size_t(i)].push_back(id_type(u));
        }
    }
    //! the summed similarity of each candidate to the support items
    std::vector<double> scores(const data::task_split& task, std::span<const id_type> candidates) {
        std::vector<double> score(std::size_t(data_->items.rows()), 0.0);
        for (index k : task.support) {
            const auto& r = data_->interactions[std::size_t(k)];
            const double w = weighted_ ? double(r.rating) : 1.0;
            for (const auto& [j, s] : row(r.item)) score[std::size_t(j)] += w * s;
        }
        std::vector<double> out;
        out.reserve(candidates.size());
        for (id_type i : candidates) out.push_back(score[std::size_t(i)]);
        return out;
    }

private:
    const std::vector<std::pair<id_type, double>>& row(id_type i) {
        auto& row = rows_[std::size_t(i)];
        if (ready_[std::size_t(i)]) return row;
        std::unordered_map<id_type, double> together;
        for (id_type u : users_of_[std::size_t(i)])
            for (id_type j : items_of_[std::size_t(u)])
                if (j != i) together[j] += 1;
        const double ci = double(users_of_[std::size_t(i)].size());
        for (const auto& [j, c] : together) row.emplace_back(j, c / std::sqrt(ci * double(users_of_[std::size_t(j)].size())));
        std::sort(row.begin(), row.end());
        ready_[std::size_t(i)] = 1;
        return row;
    }

    const data::dataset* data_;
    bool weighted_;
    std::vector<std::vector<id_type>> users_of_, items_of_;
    std::vector<std::vector<std::pair<id_type, double>>> rows_;
    std::vector<char> ready_;
};

}  // namespace metarec::recsys
