// metarec: a synthetic e-commerce data set with a known structure, for examples and tests.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../detail/random.hpp"
#include "dataset.hpp"

namespace metarec::data {

/// Options of make_synthetic().
struct synthetic_options {
    index users = 1000;              //!< number of users
    index items = 400;               //!< number of items
    index min_interactions = 15;     //!< interactions per user, drawn uniformly in [min, max]
    index max_interactions = 60;     //!< at most this many interactions per user (at most `items`)
    int taste_dim = 8;               //!< dimension of the latent tastes
    double demographic_share = 0.5;  //!< share of a user's taste explained by their features (0..1)
    double noise = 0.35;             //!< standard deviation of the rating noise
    std::uint64_t seed = 1;          //!< seed of metarec's generator: the same seed gives the same data set
    /// implicit feedback: purchases instead of ratings (every interaction a positive of
    /// strength 1, `dataset::implicit`), drawn from the same latent tastes
    bool implicit = false;
    /// drifting tastes: a user arriving at time `tau = u / users` (in [0, 1): later users arrive
    /// later) has `taste_drift * tau * w` added to their taste, `w` one random direction: a
    /// trend every later user follows further (0: no drift, the same data as without it)
    double taste_drift = 0;
};

/// A shop with users, items and 1..5 star ratings generated from a latent model:
///
///  - users have a gender, an age group and a region (categorical); their taste is
///    `t_u = sqrt(s) * T[segment(u)] + sqrt(1 - s) * z_u`, a part shared by every user of
///    the same (gender, age, region) segment and a personal part z_u that only the user's
///    own ratings reveal (s = demographic_share); plus a personal rating bias; with
///    `taste_drift`, plus a trend `taste_drift * tau * w` that grows with the user's arrival
///    time tau in [0, 1) (the shop's tastes drift: a model frozen at some time falls behind);
///  - items have a category, a brand, a price bucket (categorical) and tags (multi-valued);
///    their profile is `v_i = C[category] + 0.5 B[brand] + 0.3 e_i`, and a quality bias from
///    brand and price;
///  - the rating of user u for item i is `clamp(round(3.3 + b_u + b_i + 1.2 <t_u, v_i> /
///    sqrt(d) + noise), 1, 5)`, with items chosen by a popularity-weighted draw, and
///    timestamps increasing with the user's rank (later users arrive later).
///
/// With `implicit`, the user buys instead of rating: an item drawn by popularity is bought
/// with probability `sigmoid(2 (b_i + 1.2 <t_u, v_i> / sqrt(1.5 d)))` (else another is drawn),
/// so that purchases follow the same tastes; every interaction is then a positive of strength 1.
///
/// A model that reads the features learns the segment part; adapting to a new user's
/// support set recovers the personal part and bias: the structure meta-learning is for.
/// Deterministic for a given seed on every platform (metarec's own generator).
inline dataset make_synthetic(const synthetic_options& o = {}) {
    if (o.users < 1 || o.items < 1 || o.min_interactions < 1 || o.max_interactions < o.min_interactions ||
        o.max_interactions > o.items || o.taste_dim < 1 || o.demographic_share < 0 || o.demographic_share > 1 ||
        o.noise < 0 || !std::isfinite(o.taste_drift))
        throw std::invalid_argument(
            "metarec: make_synthetic: invalid options (need users, items >= 1, "
            "1 <= min_interactions <= max_interactions <= items, taste_dim >= 1, "
            "demographic_share in [0, 1], noise >= 0, a finite taste_drift)");
    metarec::detail::rng g(o.seed);
    const auto normal = [&] {  // Box-Muller, portable
        const double u1 = 1.0 - g.uniform(), u2 = g.uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    };
    const int d = o.taste_dim;
    const auto gaussian_rows = [&](index rows) {
        std::vector<double> m(static_cast<std::size_t>(rows * d));
        for (auto& x : m) x = normal();
        return m;
    };

    dataset out;
    out.name = o.implicit ? "synthetic-purchases" : "synthetic";
    out.has_timestamps = true;
    out.implicit = o.implicit;

    // categorical field with a fixed vocabulary
    const auto vocabulary = [](const std::string& prefix, index n) {
        std::vector<std::string> v;
        for (index i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
        return v;
    };
    constexpr index genders = 2, ages = 6, regions = 8, categories = 12, brands = 30, prices = 5, tags = 20;

    // users
    auto& users = out.users;
    users.categorical = {{"gender", vocabulary("g", genders), {}},
                         {"age", vocabulary("age", ages), {}},
                         {"region", vocabulary("r", regions), {}}};
    const auto segment_taste = gaussian_rows(genders * ages * regions);
    const auto trend = o.taste_drift != 0 ? gaussian_rows(1) : std::vector<double>(std::size_t(d), 0.0);
    std::vector<double> taste(static_cast<std::size_t>(o.users * d)), user_bias(static_cast<std::size_t>(o.users));
    const double shared = std::sqrt(o.demographic_share), personal = std::sqrt(1.0 - o.demographic_share);
    for (index u = 0; u < o.users; ++u) {
        users.add("u" + std::to_string(u));
        const auto gender = id_type(g.below(genders)), age = id_type(g.below(ages)), region = id_type(g.below(regions));
        users.categorical[0].ids.push_back(gender);
        users.categorical[1].ids.push_back(age);
        users.categorical[2].ids.push_back(region);
        const index segment = (gender * ages + age) * regions + region;
        const double tau = double(u) / double(o.users);
        for (int k = 0; k < d; ++k)
            taste[std::size_t(u * d + k)] = shared * segment_taste[std::size_t(segment * d + k)] + personal * normal() +
                                            o.taste_drift * tau * trend[std::size_t(k)];
        user_bias[std::size_t(u)] = 0.45 * normal() + 0.1 * (double(age) - 2.5) / 2.5;
    }

    // items
    auto& items = out.items;
    items.categorical = {{"category", vocabulary("c", categories), {}},
                         {"brand", vocabulary("b", brands), {}},
                         {"price", vocabulary("p", prices), {}}};
    items.multi = {{"tags", vocabulary("t", tags), {0}, {}}};
    const auto category_profile = gaussian_rows(categories), brand_profile = gaussian_rows(brands);
    std::vector<double> brand_quality(static_cast<std::size_t>(brands));
    for (auto& q : brand_quality) q = 0.3 * normal();
    std::vector<double> profile(static_cast<std::size_t>(o.items * d)), item_bias(static_cast<std::size_t>(o.items)),
        popularity(static_cast<std::size_t>(o.items));
    for (index i = 0; i < o.items; ++i) {
        items.add("i" + std::to_string(i));
        const auto category = id_type(g.below(categories)), brand = id_type(g.below(brands)),
                   price = id_type(g.below(prices));
        items.categorical[0].ids.push_back(category);
        items.categorical[1].ids.push_back(brand);
        items.categorical[2].ids.push_back(price);
        // 1..3 distinct tags, the first tied to the category
        std::vector<id_type> bag{id_type(category % tags)};
        for (std::uint64_t extra = g.below(3); extra > 0; --extra) {
            const auto tag = id_type(g.below(tags));
            if (std::find(bag.begin(), bag.end(), tag) == bag.end()) bag.push_back(tag);
        }
        auto& field = items.multi[0];
        field.ids.insert(field.ids.end(), bag.begin(), bag.end());
        field.offsets.push_back(id_type(field.ids.size()));
        for (int k = 0; k < d; ++k)
            profile[std::size_t(i * d + k)] = category_profile[std::size_t(category * d + k)] +
                                              0.5 * brand_profile[std::size_t(brand * d + k)] + 0.3 * normal();
        item_bias[std::size_t(i)] = brand_quality[std::size_t(brand)] + 0.08 * (double(price) - 2.0) + 0.15 * normal();
        popularity[std::size_t(i)] = std::exp(0.8 * normal());  // log-normal: a long tail
    }

    // interactions: each user rates distinct items drawn by popularity
    double total = 0;
    for (double p : popularity) total += p;
    std::vector<char> taken(static_cast<std::size_t>(o.items));
    std::int64_t clock = 1'700'000'000;
    for (index u = 0; u < o.users; ++u) {
        const index count = o.min_interactions + index(g.below(std::uint64_t(o.max_interactions - o.min_interactions + 1)));
        std::fill(taken.begin(), taken.end(), 0);
        for (index n = 0; n < count;) {
            double r = g.uniform() * total;
            index i = 0;
            while (i < o.items - 1 && r >= popularity[std::size_t(i)]) r -= popularity[std::size_t(i++)];
            if (taken[std::size_t(i)]) continue;
            double dot = 0;
            for (int k = 0; k < d; ++k) dot += taste[std::size_t(u * d + k)] * profile[std::size_t(i * d + k)];
            if (o.implicit) {
                const double z = 2.0 * (item_bias[std::size_t(i)] + 1.2 * dot / std::sqrt(double(d) * 1.5));
                if (g.uniform() >= 1.0 / (1.0 + std::exp(-z))) continue;  // not bought: draw another
                taken[std::size_t(i)] = 1;
                ++n;
                clock += 1 + std::int64_t(g.below(600));
                out.interactions.push_back({id_type(u), id_type(i), 1.0f, clock});
                continue;
            }
            taken[std::size_t(i)] = 1;
            ++n;
            const double score = 3.3 + user_bias[std::size_t(u)] + item_bias[std::size_t(i)] +
                                 1.2 * dot / std::sqrt(double(d) * 1.5) + o.noise * normal();
            clock += 1 + std::int64_t(g.below(600));
            out.interactions.push_back({id_type(u), id_type(i), float(std::clamp(std::round(score), 1.0, 5.0)), clock});
        }
    }
    return out;
}

}  // namespace metarec::data
