// metarec: 95 % intervals over tasks (users) and paired bootstrap differences between two methods.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include "../config.hpp"
#include "../detail/random.hpp"

namespace metarec::eval {

/// A mean with its 95 % interval, over the tasks where the value is defined.
struct interval {
    double mean = std::numeric_limits<double>::quiet_NaN();  //!< the mean
    double low = std::numeric_limits<double>::quiet_NaN();   //!< lower end of the 95 % interval
    double high = std::numeric_limits<double>::quiet_NaN();  //!< upper end of the 95 % interval
    index n = 0;                                             //!< tasks (pairs) counted
    //! whether the interval lies entirely above (1) or below (-1) zero, else 0 (a tie)
    int sign() const noexcept { return low > 0 ? 1 : high < 0 ? -1 : 0; }
};

/// The mean of per-task values and its 95 % interval by the normal approximation,
/// `mean +- 1.96 s / sqrt(n)` with `s` the sample standard deviation (n - 1). NaN values
/// (a metric undefined for a task) are left out; an infinite value (a diverged task) makes
/// every field NaN. One value gives a zero-width interval.
/// @param values one value per task (user)
inline interval mean_interval(std::span<const double> values) {
    interval out;
    double sum = 0;
    index n = 0;
    for (double v : values) {
        if (std::isinf(v)) return out;
        if (std::isnan(v)) continue;
        sum += v;
        ++n;
    }
    out.n = n;
    if (n == 0) return out;
    out.mean = sum / double(n);
    double square = 0;
    for (double v : values)
        if (!std::isnan(v)) square += (v - out.mean) * (v - out.mean);
    const double half = n > 1 ? 1.96 * std::sqrt(square / double(n - 1) / double(n)) : 0.0;
    out.low = out.mean - half;
    out.high = out.mean + half;
    return out;
}

/// The mean paired difference `a[i] - b[i]` over the tasks where both are defined, with its
/// 95 % percentile interval from a seeded bootstrap over tasks: `resamples` draws of n tasks
/// with replacement, the 2.5 % and 97.5 % quantiles of their mean differences. Pairing
/// (the same users for both methods) removes the users' own spread from the comparison, so
/// a small but consistent gain shows; an interval that contains 0 is a tie.
/// std::invalid_argument when the lengths differ or resamples < 1.
/// @param a         one value per task for the first method
/// @param b         the second method's values on the same tasks, in the same order
/// @param seed      seed of the resampling
/// @param resamples bootstrap draws, default 2000
inline interval paired_bootstrap(std::span<const double> a, std::span<const double> b, std::uint64_t seed,
                                 index resamples = 2000) {
    if (a.size() != b.size())
        throw std::invalid_argument("metarec: paired_bootstrap: the two methods have different task counts");
    if (resamples < 1) throw std::invalid_argument("metarec: paired_bootstrap: resamples must be >= 1");
    std::vector<double> d;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::isinf(a[i]) || std::isinf(b[i])) return {};
        if (!std::isnan(a[i]) && !std::isnan(b[i])) d.push_back(a[i] - b[i]);
    }
    interval out;
    out.n = index(d.size());
    if (d.empty()) return out;
    double sum = 0;
    for (double v : d) sum += v;
    out.mean = sum / double(d.size());
    metarec::detail::rng g(seed);
    std::vector<double> means(static_cast<std::size_t>(resamples));
    for (auto& m : means) {
        double s = 0;
        for (std::size_t k = 0; k < d.size(); ++k) s += d[g.below(d.size())];
        m = s / double(d.size());
    }
    std::sort(means.begin(), means.end());
    const auto at = [&](double q) {  // linear interpolation between order statistics
        const double pos = q * double(means.size() - 1);
        const auto lo = std::size_t(std::floor(pos));
        const auto hi = std::min(lo + 1, means.size() - 1);
        return means[lo] + (pos - double(lo)) * (means[hi] - means[lo]);
    };
    out.low = at(0.025);
    out.high = at(0.975);
    return out;
}

}  // namespace metarec::eval
