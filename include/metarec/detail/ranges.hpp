// metarec: lists of parameter ranges (where a gradient can be nonzero), and operations on them.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "../config.hpp"

namespace metarec::detail {

/// Merges overlapping and adjacent ranges of a list sorted by offset, in place (linear).
inline void coalesce_sorted(std::vector<parameter_range>& ranges) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        if (ranges[i].size <= 0) continue;
        if (out > 0 && ranges[i].offset <= ranges[out - 1].offset + ranges[out - 1].size) {
            auto& last = ranges[out - 1];
            last.size = std::max(last.offset + last.size, ranges[i].offset + ranges[i].size) - last.offset;
        } else {
            ranges[out++] = ranges[i];
        }
    }
    ranges.resize(out);
}

/// Sorts `ranges` by offset and merges overlapping and adjacent ones, in place: the result
/// is the same set of parameters as disjoint ranges in increasing order (no allocation).
inline void coalesce(std::vector<parameter_range>& ranges) {
    std::sort(ranges.begin(), ranges.end(), [](const parameter_range& a, const parameter_range& b) { return a.offset < b.offset; });
    coalesce_sorted(ranges);
}

/// `out` = the union of two disjoint sorted lists, disjoint and sorted (linear; reuses
/// `out`'s capacity).
inline void unite(const std::vector<parameter_range>& a, const std::vector<parameter_range>& b,
                  std::vector<parameter_range>& out) {
    out.resize(a.size() + b.size());
    std::merge(a.begin(), a.end(), b.begin(), b.end(), out.begin(),
               [](const parameter_range& u, const parameter_range& v) { return u.offset < v.offset; });
    coalesce_sorted(out);
}

/// Calls `f(offset, size)` for every range.
template <class F>
void for_each_range(std::span<const parameter_range> ranges, F&& f) {
    for (const auto& r : ranges) f(r.offset, r.size);
}

/// The number of parameters in disjoint `ranges`.
inline index covered(std::span<const parameter_range> ranges) {
    index n = 0;
    for (const auto& r : ranges) n += r.size;
    return n;
}

}  // namespace metarec::detail
