// metarec: cold-start splits of an interaction data set into training, validation and test tasks.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/random.hpp"
#include "dataset.hpp"

namespace metarec::data {

/// What is new at test time.
enum class scenario {
    warm,                 //!< known users and items: each user's latest/random interactions are held out
    new_users,            //!< test users never appear in training
    new_items,            //!< test tasks rate only items never seen in training
    new_users_new_items,  //!< both: new users rating new items
};

/// What a task is about.
enum class task_group {
    user,     //!< one task per user (MeLU)
    item,     //!< one task per item (a new item's first ratings)
    feature,  //!< one scenario per value of a feature column (a category, a region...)
};

/// Options of make_split(). The defaults follow MeLU: users with 13..100 interactions,
/// 10 query interactions per task, the rest as support.
struct split_options {
    //! what is new at test time
    data::scenario scenario = scenario::new_users;
    double test_fraction = 0.2;        //!< share of users (items) that are new (warm: of each task held out)
    double validation_fraction = 0.1;  //!< share of the training side kept apart for early stopping
    bool by_time = false;              //!< new entities = those whose first interaction is latest; query = latest
    index min_interactions = 13;       //!< a task needs at least this many interactions ...
    index max_interactions = 100;      //!< ... and at most this many (feature groups: cut into chunks of this size)
    index query = 10;                  //!< query interactions per task
    index support = -1;                //!< support interactions per task (-1: all the rest)
    index train_draws = 1;             //!< training tasks per training group: independent random support/query draws
    /// training users (items) give tasks from their whole history: it is cut into tasks of
    /// `support + query` interactions (fixed support) or of at most `max_interactions`, so
    /// heavy users and the interactions beyond one task train too, and every interaction of
    /// the training side is in split::training_interactions. false: MeLU's protocol (one task
    /// per training group of min..max interactions; the rest of its history is unused).
    /// Test tasks are the same either way.
    bool whole_history = true;
    //! what a task is about
    task_group group = task_group::user;
    std::string feature{};             //!< task_group::feature: the user or item categorical field to group by
    std::uint64_t seed = 1;            //!< seed of every random choice (new entities, support/query draws, validation)
    /// the query is the latest interactions even when new entities are chosen at random
    /// (leave-last-N by time, implicit feedback's protocol); by_time implies it
    bool query_by_time = false;
    /// new-users or new-items: which user (item) rows are new, given instead of chosen (one
    /// flag per row, e.g. by make_new_values_split); empty: chosen at random or by time
    std::vector<char> new_entities{};
};

/// One task: interactions (indices into dataset::interactions) to adapt on and to be judged on.
struct task_split {
    std::int64_t key = -1;      //!< the user or item row, or the feature value id
    /// @{
    /// @brief interactions to adapt on (support) and to be judged on (query)
    std::vector<index> support, query;
    /// @}
};

/// A split: training tasks (meta-training), validation tasks (early stopping), test tasks.
struct split {
    /// @{
    /// @brief the training, validation and test tasks
    std::vector<task_split> train, validation, test;
    /// @}
    /// interactions the models and baselines may learn from: those of the training and
    /// validation tasks (warm: every interaction but the test queries)
    std::vector<index> training_interactions;
    /// @{
    /// @brief per user / item row: held out of training
    std::vector<char> new_user, new_item;
    /// @}
    /// @{
    /// @brief make_new_values_split: the categorical field whose values are held out, and those value ids
    std::string held_field;
    std::vector<id_type> held_values;
    /// @}
};

/// Parses a scenario name: `warm`, `new-users`, `new-items`, `new-users-new-items`.
inline scenario parse_scenario(std::string_view name) {
    if (name == "warm") return scenario::warm;
    if (name == "new-users") return scenario::new_users;
    if (name == "new-items") return scenario::new_items;
    if (name == "new-users-new-items") return scenario::new_users_new_items;
    throw std::invalid_argument("metarec: unknown scenario '" + std::string(name) +
                                "' (expected warm, new-users, new-items or new-users-new-items)");
}
//! the name parse_scenario() reads
inline const char* to_string(scenario s) noexcept {
    switch (s) {
        case scenario::warm: return "warm";
        case scenario::new_users: return "new-users";
        case scenario::new_items: return "new-items";
        case scenario::new_users_new_items: return "new-users-new-items";
    }
    return "?";
}

namespace detail {

inline void shuffle(std::vector<index>& v, metarec::detail::rng& g) {
    for (index i = index(v.size()) - 1; i > 0; --i) std::swap(v[std::size_t(i)], v[g.below(std::uint64_t(i + 1))]);
}

// marks round(fraction * n) of the entities that have interactions as new: a seeded
// random choice, or (by_time) those whose first interaction is latest
inline std::vector<char> choose_new(const dataset& data, bool users, double fraction, bool by_time,
                                    metarec::detail::rng& g) {
    const index n = users ? data.users.rows() : data.items.rows();
    std::vector<std::int64_t> first(static_cast<std::size_t>(n), std::numeric_limits<std::int64_t>::max());
    for (const auto& r : data.interactions) {
        auto& f = first[std::size_t(users ? r.user : r.item)];
        f = std::min(f, r.timestamp);
    }
    std::vector<index> active;
    for (index e = 0; e < n; ++e)
        if (first[std::size_t(e)] != std::numeric_limits<std::int64_t>::max()) active.push_back(e);
    if (by_time)
        std::stable_sort(active.begin(), active.end(),
                         [&](index a, index b) { return first[std::size_t(a)] > first[std::size_t(b)]; });
    else
        shuffle(active, g);
    std::vector<char> out(static_cast<std::size_t>(n), 0);
    const auto count = index(std::llround(fraction * double(active.size())));
    for (index k = 0; k < count; ++k) out[std::size_t(active[std::size_t(k)])] = 1;
    return out;
}

}  // namespace detail

/// Splits `data` into cold-start tasks.
///
///  1. Entities: a fraction of users (`new-users`), items (`new-items`) or both is new
///     (random, or by time: the latest arrivals). Interactions with new entities only form
///     test tasks; interactions with none form training tasks; the rest are dropped
///     (e.g. in new-items, a test user's ratings of old items are not evaluated).
///  2. Tasks: interactions grouped by user (default), item, or a feature value; a group
///     with fewer than `min_interactions` (or than `support + query` when the support size
///     is fixed) is left out, as is one with more than `max_interactions` (user and item
///     groups, as MeLU; feature groups are instead cut into random chunks of that size).
///     The query set is `query` random interactions (by time: the latest), the support the
///     rest (or the `support` interactions just before the query).
///  3. Warm: every group is a test task; everything but the test queries is training data,
///     and the training tasks are built from it.
///  4. Training tasks (`whole_history`, the default): a training group's shuffled history
///     is cut into tasks of `support + query` interactions (fixed support) or of at most
///     `max_interactions`, with no upper bound on the group, so all the warm data trains;
///     `train_draws` repeats it with independent shuffles (by time there is one draw).
///     Without `whole_history`: training groups are cut as test groups (MeLU's protocol).
///  5. Validation: one task of each of `validation_fraction` of the training groups (its
///     first task of the first draw, as a test user gives one task).
///
/// Deterministic for a given seed.
inline split make_split(const dataset& data, const split_options& o) {
    if (!(o.test_fraction > 0 && o.test_fraction < 1))
        throw std::invalid_argument("metarec: make_split: test_fraction must be in (0, 1)");
    if (!(o.validation_fraction >= 0 && o.validation_fraction < 1))
        throw std::invalid_argument("metarec: make_split: validation_fraction must be in [0, 1)");
    if (o.query < 1) throw std::invalid_argument("metarec: make_split: query must be >= 1");
    if (o.support == 0 || o.support < -1) throw std::invalid_argument("metarec: make_split: support must be >= 1 (or -1: the rest)");
    if (o.min_interactions < 2 || o.max_interactions < o.min_interactions)
        throw std::invalid_argument("metarec: make_split: need 2 <= min_interactions <= max_interactions");
    if (o.support > 0 && o.support + o.query > o.max_interactions)
        throw std::invalid_argument("metarec: make_split: support + query exceeds max_interactions");
    if (o.min_interactions <= o.query && o.support < 0)
        throw std::invalid_argument("metarec: make_split: min_interactions must exceed query (a task needs support)");
    if (data.interactions.empty()) throw std::invalid_argument("metarec: make_split: the data set has no interactions");

    metarec::detail::rng g(o.seed);
    split out;
    const bool users_new = o.scenario == scenario::new_users || o.scenario == scenario::new_users_new_items;
    const bool items_new = o.scenario == scenario::new_items || o.scenario == scenario::new_users_new_items;
    if (!o.new_entities.empty() &&
        (users_new == items_new ||
         o.new_entities.size() != std::size_t(users_new ? data.users.rows() : data.items.rows())))
        throw std::invalid_argument(
            "metarec: make_split: new_entities needs scenario new-users or new-items and one "
            "flag per user (item) row");
    const auto choose = [&](bool users) {
        return o.new_entities.empty() ? detail::choose_new(data, users, o.test_fraction, o.by_time, g) : o.new_entities;
    };
    out.new_user = users_new ? choose(true) : std::vector<char>(std::size_t(data.users.rows()), 0);
    out.new_item = items_new ? choose(false) : std::vector<char>(std::size_t(data.items.rows()), 0);

    // the group of each interaction
    const categorical_field* column = nullptr;
    bool column_of_users = false;
    if (o.group == task_group::feature) {
        for (const auto* table : {&data.users, &data.items})
            for (const auto& f : table->categorical)
                if (f.name == o.feature && !column) {
                    column = &f;
                    column_of_users = table == &data.users;
                }
        if (!column)
            throw std::invalid_argument("metarec: make_split: no categorical user or item field named '" + o.feature + "'");
    }
    const auto group_of = [&](const interaction& r) -> std::int64_t {
        switch (o.group) {
            case task_group::user: return r.user;
            case task_group::item: return r.item;
            case task_group::feature: return column->ids[std::size_t(column_of_users ? r.user : r.item)];
        }
        return 0;
    };
    index groups = 0;
    for (const auto& r : data.interactions) groups = std::max<index>(groups, group_of(r) + 1);

    // interactions per group, on each side (0: training, 1: test)
    std::vector<std::vector<index>> members[2] = {std::vector<std::vector<index>>(std::size_t(groups)),
                                                  std::vector<std::vector<index>>(std::size_t(groups))};
    for (index k = 0; k < index(data.interactions.size()); ++k) {
        const auto& r = data.interactions[std::size_t(k)];
        const bool nu = out.new_user[std::size_t(r.user)], ni = out.new_item[std::size_t(r.item)];
        const bool test = (users_new && nu) || (items_new && ni);
        const bool train = !nu && !ni;
        if (o.scenario == scenario::warm || (users_new && items_new ? nu && ni : test))
            members[1][std::size_t(group_of(r))].push_back(k);
        else if (train)
            members[0][std::size_t(group_of(r))].push_back(k);
    }

    const index needed = o.support > 0 ? std::max(o.min_interactions, o.support + o.query) : o.min_interactions;
    // cuts a group into tasks (chunks for feature groups and whole training histories),
    // support and query sets; `draws` independent random draws (by time there is one order:
    // one draw); first_of_group flags the first task of the first draw (validation's task)
    std::vector<char> first_of_group;
    const auto make_tasks = [&](std::int64_t key, std::vector<index> ks, std::vector<task_split>& into, index draws) {
        const bool training = &into == &out.train;
        const bool whole = training && o.whole_history && o.group != task_group::feature;
        // a whole history qualifies as a group does (min_interactions), its pieces by size
        if (whole && index(ks.size()) < needed) return;
        const index chunk_needed = whole && o.support > 0 ? o.support + o.query : needed;
        const bool time_order = o.by_time || o.query_by_time;
        for (index draw = 0; draw < (time_order ? 1 : draws); ++draw) {
            if (time_order)
                std::stable_sort(ks.begin(), ks.end(), [&](index a, index b) {
                    return data.interactions[std::size_t(a)].timestamp < data.interactions[std::size_t(b)].timestamp;
                });
            else
                detail::shuffle(ks, g);
            std::vector<std::vector<index>> chunks;
            if (o.group == task_group::feature || whole) {
                const auto size = std::size_t(whole && o.support > 0 ? o.support + o.query : o.max_interactions);
                for (std::size_t b = 0; b < ks.size(); b += size)
                    chunks.emplace_back(ks.begin() + std::ptrdiff_t(b), ks.begin() + std::ptrdiff_t(std::min(ks.size(), b + size)));
            } else if (index(ks.size()) <= o.max_interactions)
                chunks.push_back(ks);
            for (auto& c : chunks) {
                if (index(c.size()) < chunk_needed) continue;
                task_split t;
                t.key = key;
                // the last `query` are the query set (by time: the latest); the support just before
                const auto q = c.end() - std::ptrdiff_t(o.query);
                t.query.assign(q, c.end());
                const auto s = o.support > 0 ? q - std::ptrdiff_t(o.support) : c.begin();
                t.support.assign(s, q);
                if (training) first_of_group.push_back(draw == 0 && (into.empty() || into.back().key != key));
                into.push_back(std::move(t));
            }
        }
    };

    for (index key = 0; key < groups; ++key) make_tasks(key, members[1][std::size_t(key)], out.test, 1);
    if (o.scenario == scenario::warm) {
        // training data: every interaction but the test queries
        std::vector<char> held(data.interactions.size(), 0);
        for (const auto& t : out.test)
            for (index k : t.query) held[std::size_t(k)] = 1;
        for (index key = 0; key < groups; ++key) {
            std::vector<index> rest;
            for (index k : members[1][std::size_t(key)])
                if (!held[std::size_t(k)]) rest.push_back(k);
            out.training_interactions.insert(out.training_interactions.end(), rest.begin(), rest.end());
            make_tasks(key, std::move(rest), out.train, o.train_draws);
        }
    } else {
        for (index key = 0; key < groups; ++key) make_tasks(key, members[0][std::size_t(key)], out.train, o.train_draws);
    }

    // validation: the tasks of a random share of the training groups (their first draw only,
    // one task per user as in the test set); the other groups' tasks train
    std::vector<index> keys;
    for (const auto& t : out.train)
        if (keys.empty() || keys.back() != t.key) keys.push_back(index(t.key));
    detail::shuffle(keys, g);
    const auto held = std::size_t(std::llround(o.validation_fraction * double(keys.size())));
    std::vector<char> is_validation(static_cast<std::size_t>(groups), 0);
    for (std::size_t k = 0; k < held; ++k) is_validation[std::size_t(keys[k])] = 1;
    std::vector<task_split> train;
    for (std::size_t k = 0; k < out.train.size(); ++k) {
        if (!is_validation[std::size_t(out.train[k].key)])
            train.push_back(std::move(out.train[k]));
        else if (first_of_group[k])
            out.validation.push_back(std::move(out.train[k]));
    }
    out.train = std::move(train);

    if (o.scenario != scenario::warm && o.whole_history)
        for (const auto& group : members[0]) out.training_interactions.insert(out.training_interactions.end(), group.begin(), group.end());
    else if (o.scenario != scenario::warm)
        for (const auto* tasks : {&out.train, &out.validation})
            for (const auto& t : *tasks) {
                out.training_interactions.insert(out.training_interactions.end(), t.support.begin(), t.support.end());
                out.training_interactions.insert(out.training_interactions.end(), t.query.begin(), t.query.end());
            }
    std::sort(out.training_interactions.begin(), out.training_interactions.end());
    out.training_interactions.erase(std::unique(out.training_interactions.begin(), out.training_interactions.end()),
                                    out.training_interactions.end());
    return out;
}

/// The training interactions that leave the validation tasks as new as the scenario makes
/// the test tasks: `s.training_interactions` without every interaction of the validation
/// tasks' users (new users, new users and items, warm) and of their items (new items, new
/// users and items). What is fitted on them (biases, item factors, a model reading them)
/// meets the validation tasks as it will meet the test tasks, so that choices made on the
/// validation tasks (shrinkage, ridge strength, early stopping, tuning) are not made on
/// ratings it has seen. In `s.training_interactions`' order.
inline std::vector<index> training_without_validation(const dataset& data, const split& s, scenario sc) {
    const bool users_new = sc != scenario::new_items;
    const bool items_new = sc == scenario::new_items || sc == scenario::new_users_new_items;
    std::vector<char> user_held(std::size_t(data.users.rows()), 0), item_held(std::size_t(data.items.rows()), 0);
    for (const auto& t : s.validation)
        for (const auto* part : {&t.support, &t.query})
            for (index k : *part) {
                const auto& r = data.interactions[std::size_t(k)];
                if (users_new) user_held[std::size_t(r.user)] = 1;
                if (items_new) item_held[std::size_t(r.item)] = 1;
            }
    std::vector<index> out;
    for (index k : s.training_interactions) {
        const auto& r = data.interactions[std::size_t(k)];
        if (!user_held[std::size_t(r.user)] && !item_held[std::size_t(r.item)]) out.push_back(k);
    }
    return out;
}

/// The tasks in order of arrival, cut into `periods` consecutive periods of (nearly) equal
/// size: a task arrives with the earliest timestamp of its interactions (ties: by key). For
/// simulating learning while serving on a by-time split: the test tasks of period p are the
/// newcomers of "day" p, evaluated before the model learns from them (meta::algorithm::update).
/// @throws std::invalid_argument when periods < 1 or exceeds the number of tasks
inline std::vector<std::vector<task_split>> split_by_arrival(const dataset& data, std::vector<task_split> tasks,
                                                             index periods) {
    if (periods < 1 || periods > index(tasks.size()))
        throw std::invalid_argument("metarec: split_by_arrival: " + std::to_string(periods) + " periods for " +
                                    std::to_string(tasks.size()) + " tasks (need 1 <= periods <= tasks)");
    std::vector<std::pair<std::int64_t, std::size_t>> arrival;  // (first timestamp, task), sorted
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        std::int64_t first = std::numeric_limits<std::int64_t>::max();
        for (const auto* part : {&tasks[t].support, &tasks[t].query})
            for (const index k : *part) first = std::min(first, data.interactions[std::size_t(k)].timestamp);
        arrival.emplace_back(first, t);
    }
    std::stable_sort(arrival.begin(), arrival.end(), [&](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : tasks[a.second].key < tasks[b.second].key;
    });
    std::vector<std::vector<task_split>> out(static_cast<std::size_t>(periods));
    const index n = index(tasks.size());
    for (index r = 0; r < n; ++r)
        out[std::size_t(r * periods / n)].push_back(std::move(tasks[arrival[std::size_t(r)].second]));
    return out;
}

}  // namespace metarec::data
