// metarec: implicit feedback (views, carts, purchases): event weights, repeated interactions
// collapsed or counted, and a minimum-count filter.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dataset.hpp"
#include "error.hpp"
#include "schema.hpp"

namespace metarec::data {

/// The weight of each event type of an interaction log's `event` column, e.g. parsed from
/// `view:1,cart:3,purchase:5`; the weight becomes the interaction's `rating` (its strength).
struct event_weights {
    std::vector<std::pair<std::string, float>> weights;  //!< event name and its weight, in the order given

    //! the weight of `event`, or NaN when it is not listed
    float weight(std::string_view event) const noexcept {
        for (const auto& [name, w] : weights)
            if (name == event) return w;
        return std::numeric_limits<float>::quiet_NaN();
    }
    //! the event names, comma-separated (for error messages)
    std::string names() const {
        std::string out;
        for (const auto& [name, w] : weights) out += (out.empty() ? "" : ", ") + name;
        return out;
    }
    //! whether no event is listed (then every event weighs 1)
    bool empty() const noexcept { return weights.empty(); }
};

/// Parses `name:weight,name:weight,...` (spaces around tokens ignored; a blank string lists
/// no event). Errors (an empty entry or name, a missing `:`, a weight that is not a finite
/// number > 0, a duplicate name) are data_error with `origin` as the file (e.g. "--events"),
/// line 1 and the 1-based character position as the column.
inline event_weights parse_events(std::string_view text, const std::string& origin) {
    event_weights out;
    const auto fail = [&](std::size_t at, const std::string& reason) -> void {
        throw data_error(origin, 1, std::int64_t(at) + 1, reason);
    };
    if (std::size_t ignored = 0; detail::trim_blanks(text, ignored).empty()) return out;
    for (std::size_t start = 0; start <= text.size();) {
        std::size_t end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        std::size_t at = start;
        const auto entry = detail::trim_blanks(text.substr(start, end - start), at);
        if (entry.empty()) fail(at, "empty event entry");
        const auto colon = entry.rfind(':');
        if (colon == std::string_view::npos) fail(at, "'" + std::string(entry) + "' has no ':weight' (e.g. purchase:5)");
        std::size_t name_at = at, weight_at = at + colon + 1;
        const auto name = detail::trim_blanks(entry.substr(0, colon), name_at);
        const auto weight = detail::trim_blanks(entry.substr(colon + 1), weight_at);
        if (name.empty()) fail(at, "empty event name");
        for (const auto& [seen, w] : out.weights)
            if (seen == name) fail(name_at, "duplicate event '" + std::string(name) + "'");
        double value = 0;
        const auto [ptr, error] = std::from_chars(weight.data(), weight.data() + weight.size(), value);
        if (weight.empty() || error != std::errc{} || ptr != weight.data() + weight.size() || !std::isfinite(value) ||
            value <= 0)
            fail(weight_at, "the weight of event '" + std::string(name) + "' must be a number > 0, found '" +
                                std::string(weight) + "'");
        out.weights.emplace_back(std::string(name), float(value));
        start = end + 1;
    }
    return out;
}

/// What to do with a user's repeated interactions with one item (a product bought again).
enum class repeats {
    keep,      //!< every interaction stays
    collapse,  //!< one interaction per (user, item): the strongest weight, at the first time
    count,     //!< one interaction per (user, item): the sum of the weights, at the first time
};

/// Options of prepare_implicit().
struct implicit_options {
    data::repeats repeats = data::repeats::collapse;  //!< repeated (user, item) interactions
    index min_user_count = 1;  //!< users with fewer (distinct) interactions are dropped
    index min_item_count = 1;  //!< items with fewer interactions (users) are dropped
};

/// What prepare_implicit() removed.
struct implicit_report {
    std::int64_t repeats_merged = 0;         //!< interactions merged into an earlier one of the same (user, item)
    std::int64_t dropped_by_min_count = 0;  //!< interactions of users or items under the minimum count
};

/// Prepares an implicit-feedback data set: repeated (user, item) interactions are merged
/// (options.repeats), then interactions of users with fewer than `min_user_count` and of
/// items with fewer than `min_item_count` interactions are dropped, repeatedly until every
/// remaining user and item has its minimum (the k-core of the interaction graph). Feature
/// tables keep every row. The interactions' order is kept (a merged group stands at its
/// first interaction). Deterministic.
inline implicit_report prepare_implicit(dataset& data, const implicit_options& options) {
    implicit_report report;
    auto& rows = data.interactions;
    if (options.repeats != repeats::keep) {
        std::unordered_map<std::uint64_t, std::size_t> first;  // (user, item) -> its kept interaction
        first.reserve(rows.size());
        std::vector<interaction> kept;
        kept.reserve(rows.size());
        for (const auto& r : rows) {
            const auto key = (std::uint64_t(std::uint32_t(r.user)) << 32) | std::uint32_t(r.item);
            const auto [it, added] = first.try_emplace(key, kept.size());
            if (added) {
                kept.push_back(r);
                continue;
            }
            ++report.repeats_merged;
            auto& k = kept[it->second];
            k.rating = options.repeats == repeats::count ? k.rating + r.rating : std::max(k.rating, r.rating);
            k.timestamp = std::min(k.timestamp, r.timestamp);
        }
        rows = std::move(kept);
    }
    if (options.min_user_count > 1 || options.min_item_count > 1) {
        std::vector<index> per_user(std::size_t(data.users.rows())), per_item(std::size_t(data.items.rows()));
        for (bool changed = true; changed;) {
            std::fill(per_user.begin(), per_user.end(), 0);
            std::fill(per_item.begin(), per_item.end(), 0);
            for (const auto& r : rows) {
                ++per_user[std::size_t(r.user)];
                ++per_item[std::size_t(r.item)];
            }
            const auto before = rows.size();
            std::erase_if(rows, [&](const interaction& r) {
                return per_user[std::size_t(r.user)] < options.min_user_count ||
                       per_item[std::size_t(r.item)] < options.min_item_count;
            });
            report.dropped_by_min_count += std::int64_t(before - rows.size());
            changed = rows.size() != before;
        }
    }
    return report;
}

}  // namespace metarec::data
