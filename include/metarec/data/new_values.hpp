// metarec: the unseen-scenario split: whole values of a categorical field (a region, an occupation,
// a category) are held out of training, and their users or items are the test's newcomers.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "../detail/random.hpp"
#include "dataset.hpp"
#include "split.hpp"

namespace metarec::data {

/// Splits `data` so that a scenario (a value of the categorical field `field`) is never seen
/// in training: `round(test_fraction x V)` of the V values that have interactions (at least
/// one, at most V - 1; a seeded random choice) are held out, and the users (for a user
/// field, scenario new-users) or items (an item field, scenario new-items) that have one of
/// them are the new entities of make_split(). Training and validation tasks therefore hold
/// no interaction of a held-out value; the test tasks are those of its users (items),
/// grouped as `o.group` says (per user, per item, or per value with task_group::feature on
/// the same field: one scenario-level task list per held-out value). The split records the
/// field and the held-out value ids (split::held_field, split::held_values), so that the
/// feature encoder looks them up in the unseen-value row, as a model that never met them
/// would at serving time. `o.scenario` and `o.new_entities` are set here.
/// std::invalid_argument when no categorical user or item field is named `field` (the user
/// side is searched first) or it has fewer than two values with interactions.
inline split make_new_values_split(const dataset& data, const std::string& field, split_options o) {
    const categorical_field* column = nullptr;
    bool of_users = false;
    for (const auto* table : {&data.users, &data.items})
        for (const auto& f : table->categorical)
            if (f.name == field && !column) {
                column = &f;
                of_users = table == &data.users;
            }
    if (!column)
        throw std::invalid_argument("metarec: make_new_values_split: no categorical user or item field named '" +
                                    field + "'");
    std::vector<char> active(column->vocabulary.size(), 0);
    for (const auto& r : data.interactions)
        active[std::size_t(column->ids[std::size_t(of_users ? r.user : r.item)])] = 1;
    std::vector<index> values;
    for (index v = 0; v < index(active.size()); ++v)
        if (active[std::size_t(v)]) values.push_back(v);
    if (values.size() < 2)
        throw std::invalid_argument("metarec: make_new_values_split: field '" + field + "' has " +
                                    std::to_string(values.size()) +
                                    " value(s) with interactions; holding some out needs two");
    metarec::detail::rng g(o.seed ^ 0x6e65772d76616c75ull);  // its own stream: make_split's draws stay as they are
    detail::shuffle(values, g);
    const auto held =
        std::clamp<index>(index(std::llround(o.test_fraction * double(values.size()))), 1, index(values.size()) - 1);
    std::vector<char> is_held(column->vocabulary.size(), 0);
    for (index k = 0; k < held; ++k) is_held[std::size_t(values[std::size_t(k)])] = 1;
    o.scenario = of_users ? scenario::new_users : scenario::new_items;
    o.new_entities.assign(std::size_t(of_users ? data.users.rows() : data.items.rows()), 0);
    for (std::size_t e = 0; e < o.new_entities.size(); ++e) o.new_entities[e] = is_held[std::size_t(column->ids[e])];
    split out = make_split(data, o);
    out.held_field = field;
    for (index v = 0; v < index(is_held.size()); ++v)
        if (is_held[std::size_t(v)]) out.held_values.push_back(id_type(v));
    return out;
}

}  // namespace metarec::data
