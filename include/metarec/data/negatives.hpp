// metarec: sampled negatives for implicit feedback: items a user never interacted with,
// uniform or popularity-proportional, seeded so that every method sees the same ones.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "../detail/random.hpp"
#include "dataset.hpp"

namespace metarec::data {

/// How negatives are drawn from the catalogue.
enum class negative_distribution {
    uniform,     //!< every catalogue item alike
    popularity,  //!< in proportion to the item's training interactions (items never bought are never drawn)
};

/// The items of each user's interactions (every one in the data set, training or test),
/// sorted and distinct: what a negative must never be.
inline std::vector<std::vector<id_type>> items_of_users(const dataset& data) {
    std::vector<std::vector<id_type>> out(std::size_t(data.users.rows()));
    for (const auto& r : data.interactions) out[std::size_t(r.user)].push_back(r.item);
    for (auto& items : out) {
        std::sort(items.begin(), items.end());
        items.erase(std::unique(items.begin(), items.end()), items.end());
    }
    return out;
}

/// Draws negatives for a user: distinct catalogue items outside the user's interactions. The
/// catalogue is every item with at least one interaction in the data set. Uniform draws pick
/// any of them alike; popularity draws pick item i with probability proportional to its
/// count among the `training` interactions, `c_i / sum_j c_j` (rejection of the user's own
/// items, then of repeats; when that fails too often, the rest is drawn uniformly among the
/// items left).
///
/// Reproducible: draw() depends only on the seed, the `stream` (e.g. a hash of the task and
/// its role) and the arguments, never on earlier calls or on threads, so every method
/// evaluated on the same tasks meets the same negatives.
class negative_sampler {
public:
    /// @param data         the data set (must outlive the sampler)
    /// @param training     the interactions the popularity counts come from (indices into data.interactions)
    /// @param distribution uniform (default) or popularity-proportional
    /// @param seed         seed of every draw
    negative_sampler(const dataset& data, std::span<const index> training,
                     negative_distribution distribution = negative_distribution::uniform, std::uint64_t seed = 1)
        : distribution_(distribution), seed_(seed) {
        std::vector<char> seen(std::size_t(data.items.rows()), 0);
        for (const auto& r : data.interactions) seen[std::size_t(r.item)] = 1;
        for (index i = 0; i < index(seen.size()); ++i)
            if (seen[std::size_t(i)]) catalogue_.push_back(id_type(i));
        if (catalogue_.empty()) throw std::invalid_argument("metarec: negative_sampler: the data set has no items");
        if (distribution == negative_distribution::popularity) {
            std::vector<double> count(std::size_t(data.items.rows()), 0.0);
            for (index k : training) count[std::size_t(data.interactions[std::size_t(k)].item)] += 1;
            double total = 0;
            for (id_type i : catalogue_) cumulative_.push_back(total += count[std::size_t(i)]);
            if (total <= 0)
                throw std::invalid_argument("metarec: negative_sampler: popularity draws need training interactions");
        }
    }

    //! the catalogue: every item with an interaction, ascending
    std::span<const id_type> catalogue() const noexcept { return catalogue_; }
    //! the distribution
    negative_distribution distribution() const noexcept { return distribution_; }

    /// `count` distinct items outside `excluded` (sorted ascending, e.g. items_of_users()[u]),
    /// appended to `out`; deterministic in (seed, stream, count, excluded, within). With
    /// `within` (sorted, e.g. scenario_pools::pool()), hard negatives: drawn uniformly among
    /// those items first, the rest from the catalogue (by the distribution) when `within` has
    /// fewer than `count` left. Throws std::invalid_argument when fewer than `count` catalogue
    /// items are left.
    void draw(std::uint64_t stream, index count, std::span<const id_type> excluded, std::vector<id_type>& out,
              std::span<const id_type> within = {}) const {
        if (count <= 0) return;
        const auto is_excluded = [&](id_type i) { return std::binary_search(excluded.begin(), excluded.end(), i); };
        index outside = 0;
        for (id_type i : excluded) outside += std::binary_search(catalogue_.begin(), catalogue_.end(), i);
        const index available = index(catalogue_.size()) - outside;
        if (available < count)
            throw std::invalid_argument("metarec: negative_sampler: " + std::to_string(count) + " negatives wanted, " +
                                        std::to_string(available) + " items left outside the user's interactions");
        metarec::detail::rng g(seed_ ^ (0x9e3779b97f4a7c15ULL * (stream + 1)));
        std::unordered_set<id_type> taken;
        const std::size_t until = out.size() + std::size_t(count);
        if (!within.empty())
            fill(until, within, [&] { return within[g.below(within.size())]; }, is_excluded, g, taken, out);
        fill(until, catalogue_, [&] { return pick(g); }, is_excluded, g, taken, out);
    }
    //! draw() into a new vector
    std::vector<id_type> draw(std::uint64_t stream, index count, std::span<const id_type> excluded,
                              std::span<const id_type> within = {}) const {
        std::vector<id_type> out;
        draw(stream, count, excluded, out, within);
        return out;
    }

    /// A stream id from parts (e.g. a role, a task's ordinal, a position): mixes them so that
    /// neighbouring parts give unrelated streams.
    static std::uint64_t stream_of(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) noexcept {
        std::uint64_t x = a * 0xbf58476d1ce4e5b9ULL ^ (b + 0x94d049bb133111ebULL) * 0x9e3779b97f4a7c15ULL ^
                          (c + 0x2545f4914f6cdd1dULL) * 0xd6e8feb86659fd93ULL;
        x ^= x >> 31;
        return x;
    }

private:
    // appends draws of `next()` outside `is_excluded` and `taken` until `out` holds `until`
    // items or `candidates` (which `next` draws from) has none left
    template <class Next, class Excluded>
    static void fill(std::size_t until, std::span<const id_type> candidates, Next next, Excluded is_excluded,
                     metarec::detail::rng& g, std::unordered_set<id_type>& taken, std::vector<id_type>& out) {
        // rejection: cheap while the user's items and the draws so far are a small share
        const index attempts = 20 * index(until - out.size()) + 64;
        for (index a = 0; a < attempts && out.size() < until; ++a) {
            const id_type i = next();
            if (is_excluded(i) || !taken.insert(i).second) continue;
            out.push_back(i);
        }
        if (out.size() == until) return;
        // the rest uniformly among the candidates left (a partial Fisher-Yates over them)
        std::vector<id_type> left;
        for (id_type i : candidates)
            if (!is_excluded(i) && !taken.count(i)) left.push_back(i);
        for (std::size_t k = 0; out.size() < until && k < left.size(); ++k) {
            std::swap(left[k], left[k + g.below(left.size() - k)]);
            taken.insert(left[k]);
            out.push_back(left[k]);
        }
    }
    id_type pick(metarec::detail::rng& g) const {
        if (distribution_ == negative_distribution::uniform) return catalogue_[g.below(catalogue_.size())];
        const double r = g.uniform() * cumulative_.back();
        const auto at = std::upper_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin();
        return catalogue_[std::min<std::size_t>(std::size_t(at), catalogue_.size() - 1)];
    }

    negative_distribution distribution_;
    std::uint64_t seed_;
    std::vector<id_type> catalogue_;
    std::vector<double> cumulative_;  // popularity: running sums of the catalogue's counts
};

/// Hard negatives from the positive's scenario: the items that share the positive item's value
/// of a categorical item field (its category), or, for a categorical user field (the user's
/// market), the items that training users of the user's value interacted with.
/// negative_sampler::draw() takes pool() as `within`.
class scenario_pools {
public:
    /// @param data     the data set (must outlive the pools)
    /// @param training the interactions a user field's pools come from
    /// @param field    a categorical item field, else a categorical user field, of that name;
    ///                 std::invalid_argument when neither exists
    scenario_pools(const dataset& data, std::span<const index> training, const std::string& field) {
        for (const auto& f : data.items.categorical)
            if (f.name == field && !field_) {
                field_ = &f;
                pools_.resize(f.vocabulary.size());
                std::vector<char> seen(std::size_t(data.items.rows()), 0);
                for (const auto& r : data.interactions) seen[std::size_t(r.item)] = 1;
                for (index i = 0; i < data.items.rows(); ++i)
                    if (seen[std::size_t(i)] && f.ids[std::size_t(i)] >= 0)
                        pools_[std::size_t(f.ids[std::size_t(i)])].push_back(id_type(i));
            }
        if (!field_)
            for (const auto& f : data.users.categorical)
                if (f.name == field && !field_) {
                    field_ = &f;
                    by_user_ = true;
                    pools_.resize(f.vocabulary.size());
                    for (index k : training) {
                        const auto& r = data.interactions[std::size_t(k)];
                        if (f.ids[std::size_t(r.user)] >= 0) pools_[std::size_t(f.ids[std::size_t(r.user)])].push_back(r.item);
                    }
                    for (auto& pool : pools_) {
                        std::sort(pool.begin(), pool.end());
                        pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
                    }
                }
        if (!field_)
            throw std::invalid_argument("metarec: scenario_pools: no categorical item or user field '" + field + "'");
    }
    //! the scenario's items (sorted) of `user`'s positive `item` (none for a missing value)
    std::span<const id_type> pool(id_type user, id_type item) const {
        const id_type v = field_->ids[std::size_t(by_user_ ? user : item)];
        return v < 0 ? std::span<const id_type>() : std::span<const id_type>(pools_[std::size_t(v)]);
    }
    //! whether the field is a user field (else an item field)
    bool by_user() const noexcept { return by_user_; }

private:
    const categorical_field* field_ = nullptr;
    bool by_user_ = false;
    std::vector<std::vector<id_type>> pools_;  // per value of the field
};

}  // namespace metarec::data
