// metarec: per-task metrics averaged over tasks, for any predictor (models and baselines alike).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "../config.hpp"

namespace metarec::eval {

/// Averages metrics (eval/metrics.hpp) over tasks, the way `algorithm::evaluate` does:
/// every task counts once whatever its size (MeLU's per-user average); a metric that is
/// undefined for a task (NaN, e.g. AUC with one class) leaves that task out of its mean,
/// unless the task diverged (non-finite predictions), which then shows as NaN.
/// @code
/// eval::task_average<eval::mae, eval::ndcg<3>> average;
/// for (const auto& task : test) average.add(pred.data(), target.data(), 1, n);
/// average.means();  // {MAE, nDCG@3}
/// average.values(0); // the MAE of each task, for intervals (eval/intervals.hpp)
/// @endcode
/// @tparam Metrics the metrics, callables `double(const S* pred, const S* target, index rows,
///         index n)` with a `name` (eval/metrics.hpp), one mean each
template <class... Metrics>
class task_average {
public:
    task_average() = default;
    //! with configured metrics, e.g. `task_average<hit_rate<10>>{{.threshold = 0.5}}`
    explicit task_average(Metrics... metrics)
        requires(sizeof...(Metrics) > 0)
        : metrics_(metrics...) {}

    //! adds one task: `rows x n` predictions and the matching targets (host memory)
    template <class S>
    void add(const S* pred, const S* target, index rows, index n) {
        bool diverged = false;
        for (index i = 0; i < rows * n; ++i) diverged = diverged || !std::isfinite(double(pred[i]));
        diverged_ += diverged;
        ++tasks_;
        std::size_t m = 0;
        std::apply([&](const auto&... metric) { ((record(m++, double(metric(pred, target, rows, n)), diverged)), ...); },
                   metrics_);
        interactions_ += n;
    }

    //! the mean of each metric over the tasks where it is defined (NaN if none)
    std::vector<double> means() const {
        std::vector<double> out;
        for (std::size_t m = 0; m < sizeof...(Metrics); ++m)
            out.push_back(counts_[m] ? sums_[m] / double(counts_[m]) : std::numeric_limits<double>::quiet_NaN());
        return out;
    }
    //! tasks in each metric's mean
    std::vector<index> counts() const { return {counts_.begin(), counts_.end()}; }
    //! metric `m`'s value on each task added, in order: NaN where it is undefined, infinite where the
    //! task diverged (so that intervals over them show NaN, as the mean does)
    const std::vector<double>& values(std::size_t m) const { return values_.at(m); }
    //! the metrics' names, in order
    std::vector<std::string> names() const {
        return std::apply([](const auto&... metric) { return std::vector<std::string>{std::string(metric.name)...}; },
                          metrics_);
    }
    //! tasks added
    index tasks() const noexcept { return tasks_; }
    //! samples (interactions) added
    index interactions() const noexcept { return interactions_; }
    //! tasks whose predictions were not all finite
    index diverged() const noexcept { return diverged_; }

private:
    void record(std::size_t m, double value, bool diverged) {
        values_[m].push_back(diverged && std::isnan(value) ? std::numeric_limits<double>::infinity() : value);
        if (!diverged && std::isnan(value)) return;
        sums_[m] += value;
        ++counts_[m];
    }

    std::tuple<Metrics...> metrics_;
    std::array<double, sizeof...(Metrics)> sums_{};
    std::array<index, sizeof...(Metrics)> counts_{};
    std::array<std::vector<double>, sizeof...(Metrics)> values_{};
    index tasks_ = 0, interactions_ = 0, diverged_ = 0;
};

}  // namespace metarec::eval
