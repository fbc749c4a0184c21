// metarec: lists of parameter ranges (where a gradient can be nonzero), and operations on them.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
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

/// The union of many lists of ranges within [0, n) through a bitmap of n bits (reused): mark()
/// each list, then take() the union as coalesce() gives it, disjoint, maximal and sorted. Linear
/// in the marked values / 64 and in n / 64, where coalescing the lists end to end sorts them
/// (a meta-batch's tasks: thousands of embedding columns).
class range_union {
public:
    //! an empty union within [0, n)
    void reset(index n) { bits_.assign(std::size_t((n + 63) / 64), 0); }
    //! adds `ranges`, within [0, n)
    void mark(std::span<const parameter_range> ranges) {
        for (const auto& r : ranges) {
            if (r.size <= 0) continue;
            const index first = r.offset / 64, last = (r.offset + r.size - 1) / 64;
            const std::uint64_t head = ~std::uint64_t(0) << (r.offset % 64),
                                tail = ~std::uint64_t(0) >> (63 - (r.offset + r.size - 1) % 64);
            if (first == last) {
                bits_[std::size_t(first)] |= head & tail;
                continue;
            }
            bits_[std::size_t(first)] |= head;
            std::fill(bits_.begin() + first + 1, bits_.begin() + last, ~std::uint64_t(0));
            bits_[std::size_t(last)] |= tail;
        }
    }
    //! `out` = the union of the ranges marked since reset()
    void take(std::vector<parameter_range>& out) const {
        out.clear();
        index start = -1;  // of the run being read
        for (std::size_t w = 0; w < bits_.size(); ++w) {
            const std::uint64_t x = bits_[w];
            for (int bit = 0; bit < 64;) {
                const std::uint64_t rest = (start < 0 ? x : ~x) >> bit;  // the next change of state
                if (rest == 0) break;
                bit += std::countr_zero(rest);
                const index at = index(w) * 64 + bit;
                if (start < 0) {
                    start = at;
                } else {
                    out.push_back({start, at - start});
                    start = -1;
                }
            }
        }
        if (start >= 0) out.push_back({start, index(bits_.size()) * 64 - start});
    }

private:
    std::vector<std::uint64_t> bits_;
};

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
