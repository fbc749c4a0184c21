// metarec: a callback that stops fit() when the validation loss stops improving, and keeps the best epoch.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../io/archive.hpp"
#include "../meta/options.hpp"
#include "callbacks.hpp"

namespace metarec::callbacks {

/// Options of early_stopping.
struct early_stopping_options {
    int patience = 5;             //!< epochs without improvement before stopping (>= 1)
    double min_delta = 0;         //!< an improvement must lower the best loss by more than this
    bool restore_best = true;     //!< at the end of fit(), put back the meta-parameters of the best epoch
    meta::adapt_options adapt{};  //!< how evaluate() adapts on the validation tasks
};

namespace detail {
//! the scalar type of a task (meta::task<Input, S>): the type its targets point to
template <class Task>
using task_scalar_t = std::remove_cvref_t<decltype(*std::declval<const Task&>().query_target)>;
}  // namespace detail

/// Early stopping on a set of validation tasks. After every epoch it adapts on each
/// validation task's support set and scores its query set,
/// `loss_e = algorithm.evaluate(validation, options.adapt).loss`; an epoch improves when
/// `loss_e < best - min_delta` (the first epoch always does), and then the algorithm's
/// meta-parameters are copied (`algorithm.snapshot()`). After `patience` consecutive epochs
/// without improvement, it stops training. When fit() ends (stopped or not) and
/// `restore_best` is set, the snapshot of the best epoch is restored, so the algorithm
/// holds the best meta-parameters seen by validation, not the last ones.
///
/// The state (best loss, history) starts afresh at each fit(). Pass the callback by
/// non-const reference to read it afterwards. Validation costs one evaluate() per epoch.
///
/// ```cpp
/// namespace cb = metarec::callbacks;
/// cb::early_stopping stop{validation_tasks, {.patience = 3, .min_delta = 1e-4}};
/// auto run = algo.fit(train_tasks, {.epochs = 100}, stop, cb::progress_bar{});
/// // run.stopped_early, stop.best_epoch(), stop.best_loss(), stop.history()
/// ```
///
/// @tparam Tasks how the validation tasks are held: `std::span<const T>` (the default from
///               a span or an lvalue vector: the caller keeps the vector alive) or
///               `std::vector<T>` (from an rvalue vector: a copy), with `T` the algorithm's
///               `task_type`
template <class Tasks>
class early_stopping {
public:
    using task_type = std::remove_cvref_t<decltype(*std::declval<const Tasks&>().data())>;  //!< the validation tasks' type
    using scalar_type = detail::task_scalar_t<task_type>;                                   //!< scalar type of the tasks' targets (the algorithm's scalar)

    /// @param validation the validation tasks (see Tasks for who owns them)
    /// @param options    patience (default 5), min_delta (0), restore_best (true), adapt ({})
    explicit early_stopping(Tasks validation, early_stopping_options options = {})
        : validation_(std::move(validation)), options_(options) {
        if (std::span<const task_type>(validation_).empty())
            throw std::invalid_argument("metarec: early_stopping: no validation tasks");
        if (options_.patience < 1) throw std::invalid_argument("metarec: early_stopping: patience must be >= 1");
        if (!(options_.min_delta >= 0)) throw std::invalid_argument("metarec: early_stopping: min_delta must be >= 0");
    }

    //! the options
    const early_stopping_options& options() const noexcept { return options_; }
    //! the validation tasks
    std::span<const task_type> validation() const noexcept { return validation_; }
    //! the lowest validation loss so far (+infinity before the first epoch)
    double best_loss() const noexcept { return best_loss_; }
    //! the 0-based epoch of best_loss() (-1 before the first epoch)
    int best_epoch() const noexcept { return best_epoch_; }
    //! validation loss after each epoch of the current (or last) fit()
    const std::vector<double>& history() const noexcept { return history_; }
    //! the meta-parameters at best_epoch() (empty before the first epoch)
    const std::vector<scalar_type>& best_snapshot() const noexcept { return best_; }
    //! epochs since the best one
    int epochs_without_improvement() const noexcept { return waited_; }
    //! whether this callback asked fit() to stop
    bool stopped() const noexcept { return stopped_; }

    //! starts afresh
    template <class Algorithm>
    void on_fit_begin(const fit_begin_info&, Algorithm&) {
        static_assert(std::is_same_v<typename Algorithm::task_type, task_type>,
                      "metarec: early_stopping: the validation tasks are not the algorithm's task_type "
                      "(see docs/callbacks.md)");
        best_loss_ = std::numeric_limits<double>::infinity();
        best_epoch_ = -1;
        waited_ = 0;
        stopped_ = false;
        history_.clear();
        best_.clear();
    }

    //! evaluates on the validation tasks; returns true to stop after `patience` epochs without improvement
    template <class Algorithm>
    bool on_epoch_end(const epoch_info& info, Algorithm& algorithm) {
        const double loss = algorithm.evaluate(std::span<const task_type>(validation_), options_.adapt).loss;
        history_.push_back(loss);
        if (best_epoch_ < 0 ? !std::isnan(loss) : loss < best_loss_ - options_.min_delta) {
            best_loss_ = loss;
            best_epoch_ = info.epoch;
            best_ = algorithm.snapshot();
            waited_ = 0;
            return false;
        }
        ++waited_;
        stopped_ = waited_ >= options_.patience;
        return stopped_;
    }

    //! the name of its state in checkpoints
    static constexpr std::string_view state_name = "early_stopping";
    //! writes its state into a checkpoint (sections `prefix` + name)
    void save_state(io::archive& a, const std::string& prefix) const {
        a.put(prefix + "counters", std::vector<std::int64_t>{best_epoch_, waited_, stopped_});
        a.put_scalar(prefix + "best_loss", best_loss_);
        a.put(prefix + "history", history_);
        a.put(prefix + "best", best_);
    }
    //! reads what save_state() wrote
    void load_state(const io::archive& a, const std::string& prefix) {
        const auto counters = a.get<std::int64_t>(prefix + "counters");
        if (counters.size() != 3) a.fail("section '" + prefix + "counters' has " + std::to_string(counters.size()) +
                                         " values, 3 expected");
        best_epoch_ = int(counters[0]);
        waited_ = int(counters[1]);
        stopped_ = counters[2] != 0;
        best_loss_ = a.get_scalar<double>(prefix + "best_loss");
        history_ = a.get<double>(prefix + "history");
        best_ = a.get<scalar_type>(prefix + "best");
    }

    //! restores the best epoch's meta-parameters if restore_best
    template <class Algorithm>
    void on_fit_end(const fit_end_info&, Algorithm& algorithm) {
        if (options_.restore_best && !best_.empty()) algorithm.restore(best_);
    }

private:
    Tasks validation_;
    early_stopping_options options_;
    double best_loss_ = std::numeric_limits<double>::infinity();
    int best_epoch_ = -1;
    int waited_ = 0;
    bool stopped_ = false;
    std::vector<double> history_;
    std::vector<scalar_type> best_;
};

/// @{
/// @brief Deduction: a span or an lvalue vector is viewed (not copied); an rvalue vector is kept.
template <class T, std::size_t N>
early_stopping(std::span<T, N>, early_stopping_options = {}) -> early_stopping<std::span<const std::remove_const_t<T>>>;
template <class T, class A>
early_stopping(std::vector<T, A>&, early_stopping_options = {}) -> early_stopping<std::span<const T>>;
template <class T, class A>
early_stopping(const std::vector<T, A>&, early_stopping_options = {}) -> early_stopping<std::span<const T>>;
template <class T, class A>
early_stopping(std::vector<T, A>&&, early_stopping_options = {}) -> early_stopping<std::vector<T, A>>;
/// @}

/// Helper for `early_stopping{validation, options}`, the same deduction.
/// @tparam Tasks a span or a vector of the algorithm's task_type
/// @param validation the validation tasks (a vector lvalue or a span is viewed, a vector rvalue kept)
/// @param options    patience, min_delta, restore_best, adapt
template <class Tasks>
auto early_stopping_on(Tasks&& validation, early_stopping_options options = {}) {
    return early_stopping{std::forward<Tasks>(validation), options};
}

}  // namespace metarec::callbacks
