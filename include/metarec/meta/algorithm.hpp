// metarec: what every meta-algorithm shares: fit(), adapt(), evaluate() and the parallel meta-batch.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <any>
#include <array>
#include <chrono>
#include <concepts>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../callbacks/callbacks.hpp"
#include "../concepts/learner.hpp"
#include "../concepts/loss_function.hpp"
#include "../concepts/optimizer.hpp"
#include "../detail/kernels.hpp"
#include "../detail/ranges.hpp"
#include "../detail/thread_pool.hpp"
#include "../device/cpu.hpp"
#include "../dist/none.hpp"
#include "../io/archive.hpp"
#include "../io/configuration.hpp"
#include "../loss/objective.hpp"
#include "../nn/batch.hpp"
#include "../optim/state.hpp"
#include "adaptation.hpp"
#include "sampler.hpp"
#include "stacked_tasks.hpp"
#include "task.hpp"

namespace metarec::meta {

/// Whether fit() runs the tasks of a meta-batch task-batched (MAML and its variants,
/// Reptile): all of them through the learner's task-batched passes at once (every layer once
/// per meta-batch, as batched device operations), rather than one task after another. Tasks
/// of different sizes are padded to the largest (meta::stacked_tasks): the padding costs
/// computation, it changes no result.
enum class task_batching {
    automatic,  //!< batched where it pays and applies: on a device whose memory the host cannot read (a GPU), with a learner and loss that have task-batched passes
    per_task,   //!< never: one task after another (on the algorithm's threads)
    batched     //!< always (std::invalid_argument when it does not apply: see the algorithm)
};

/// What fit() does when a task's loss or meta-gradient is NaN or infinite.
enum class non_finite {
    stop,       //!< throw non_finite_error naming the step, the task and the quantity (default)
    skip_task,  //!< leave the task out of the meta-step and count it (fit_end_info::skipped_tasks)
};

/// Options of fit().
struct fit_options {
    int epochs = 1;               //!< passes over the training tasks
    std::int64_t max_steps = -1;  //!< stop after this many meta-steps (-1: no limit)
    non_finite on_non_finite = non_finite::stop;  //!< a NaN or infinite task loss or meta-gradient
};

/// A NaN or infinite number in meta-training, detected in the meta-step where it appears:
/// a task's loss or meta-gradient (non_finite::stop), or the meta-parameters after the
/// outer update (always).
class non_finite_error : public std::runtime_error {
public:
    /// @param step     the 1-based meta-step
    /// @param task_key the key of the first offending task (-1: none)
    /// @param quantity "loss", "meta-gradient" or "meta-parameters"
    /// @param message  the what() text
    non_finite_error(std::int64_t step, std::int64_t task_key, std::string quantity, const std::string& message)
        : std::runtime_error(message), step_(step), task_key_(task_key), quantity_(std::move(quantity)) {}
    //! the 1-based meta-step
    std::int64_t step() const noexcept { return step_; }
    //! the key of the first offending task (-1: none, or on another MPI rank)
    std::int64_t task_key() const noexcept { return task_key_; }
    //! "loss", "meta-gradient" or "meta-parameters"
    const std::string& quantity() const noexcept { return quantity_; }

private:
    std::int64_t step_, task_key_;
    std::string quantity_;
};

/// Options of adapt() and evaluate().
struct adapt_options {
    int steps = -1;  //!< inner steps at adaptation time (-1: the algorithm's inner_steps)
};

/// Result of evaluate(): means over tasks of the post-adaptation query loss and metrics.
struct evaluation {
    double loss = 0;              //!< mean query loss after adaptation
    std::vector<double> metrics;  //!< one mean per metric passed to evaluate()
    std::vector<index> metric_tasks;  //!< tasks in each metric's mean (a metric may be undefined for some)
    index tasks = 0;              //!< tasks evaluated
    index diverged = 0;           //!< tasks whose query loss is NaN or infinite (they make `loss` NaN/inf)
};

/// Scratch memory of one thread of a meta-algorithm, allocated once per fit() or
/// evaluate() and reused for every task: each algorithm sizes the parts it uses.
template <class Learner, class Loss>
struct workspace {
    using scalar_type = typename Learner::scalar_type;                       //!< the learner's scalar
    using device_type = typename Learner::device_type;                       //!< the learner's device policy
    using vector_type = typename device_type::template vector<scalar_type>;  //!< a device buffer
    typename objective<Learner, Loss>::workspace objective;  //!< the learner's passes
    vector_type fast;       //!< the task's parameters (full vector)
    vector_type gradient;   //!< a gradient (full vector)
    vector_type direction;  //!< an HVP direction, zero outside the adapted slice
    vector_type product;    //!< an HVP result
    vector_type auxiliary;  //!< a second gradient
    vector_type history;    //!< inner iterates of the adapted slice, K x |slice|
    vector_type history2;   //!< inner gradients of the adapted slice, K x |slice|
    /// @{
    /// @brief inner optimizer state on the adapted slice: the one in use, and the pristine copy
    /// that each adaptation starts from
    optim::state<scalar_type, device_type> inner_state, inner_state_initial;
    /// @}
    /// @{
    /// @brief where the gradients of the current batches can be nonzero, disjoint and sorted
    /// (algorithm::touch); `gradient`, `product` and `auxiliary` are zero elsewhere
    std::vector<parameter_range> touched{}, touched_support{}, touched_query{}, dirty{};
    /// @}
    //! task_gradient() wrote its meta-gradient only on `touched` (algorithm::touch_task)
    bool sparse_task = false;
    //! `dirty` is known: outside it the gradient buffers are zero (false: not cleared yet)
    bool clean = false;
    //! `fast` holds this meta-step's meta-parameters outside the adapted slice (begin_task())
    bool fast_current = false;
};

template <class Derived, class Learner, class Loss, class Optimizer, class Distribution>
class algorithm;

/// A learner with its own adapted parameters ("fast weights"): what adapt() returns. The
/// meta-learned parameters are untouched; the object owns a copy and a workspace, and the
/// adapting algorithm's workspace, so that `algorithm.adapt(support, target, personal)`
/// re-adapts it to the next request without allocating.
/// @tparam Learner the learner type
template <class Learner>
class adapted {
public:
    using scalar_type = typename Learner::scalar_type;                       //!< the learner's scalar
    using device_type = typename Learner::device_type;                       //!< the learner's device policy
    using input_type = typename Learner::input_type;                         //!< what the learner reads (a batch)
    using vector_type = typename device_type::template vector<scalar_type>;  //!< a device buffer

    //! the learner (by reference: it must outlive this object) with its adapted parameters
    adapted(const Learner& learner, vector_type parameters)
        : learner_(&learner), params_(std::move(parameters)), ws_(learner.make_workspace(1)) {}

    //! predictions for a batch, `learner().output_rows() x x.size()` (device memory)
    void predict(const input_type& x, scalar_type* pred) { learner_->forward(params_.data(), x, ws_, pred); }

    //! predictions for a batch, copied to the host
    std::vector<scalar_type> predict(const input_type& x) {
        vector_type out(learner_->output_rows() * x.size());
        predict(x, out.data());
        std::vector<scalar_type> host(std::size_t(out.size()));
        device_type::to_host(index(out.size()), out.data(), host.data());
        return host;
    }

    //! the adapted parameters (device memory)
    const scalar_type* parameters() const noexcept { return params_.data(); }
    //! the learner
    const Learner& learner() const noexcept { return *learner_; }

private:
    template <class, class, class, class, class>
    friend class algorithm;

    const Learner* learner_;
    vector_type params_;
    typename Learner::workspace_type ws_;
    std::any scratch_;  // the adapting algorithm's workspace (meta::workspace), kept between requests
};

/// The common surface of the meta-algorithms (CRTP base):
///
///  - `fit(tasks, options, callbacks...)`: meta-training. Each meta-step draws a meta-batch
///    (task_sampler), computes every task's contribution in parallel (task i on thread
///    i mod T, each thread with workspaces allocated once), sums them in task order (so the
///    result does not depend on the thread count, bit for bit), and takes one step of the
///    outer optimizer on the meta-parameters;
///  - `adapt(support, target)`: fast weights for one new user/item/scenario, leaving the
///    meta-learned parameters untouched;
///  - `evaluate(tasks, options, metrics...)`: adapt on each support set, score its query set.
///
/// A derived algorithm provides
///
///     thread_workspace make_thread_workspace() const;     // meta::workspace, sized for the algorithm
///     index extra_count() const;  [const] scalar_type* extras() [const];   // meta-parameters beyond the learner's (Meta-SGD rates)
///     std::pair<double, double> task_gradient(const task_type&, thread_workspace&, scalar_type* out);
///         // out (parameter_count + extra_count) = weight * the task's meta-gradient; returns {loss, weight}.
///         // After touch_task(task, ws) it may write `out` only on ws.touched (and the extras):
///         // fit() then zeroes, checks and sums only those ranges (sparse embedding gradients).
///     void adapt_into(const input_type&, const scalar_type* target, int steps, thread_workspace&, scalar_type* fast) const;
///         // fast holds the meta-parameters on entry, the adapted ones on return
///
/// @tparam Derived   the algorithm
/// @tparam Learner   a learner (concepts/learner.hpp)
/// @tparam Loss      a loss function (concepts/loss_function.hpp)
/// @tparam Optimizer the outer optimizer (concepts/optimizer.hpp)
/// @tparam Distribution one process (dist::none) or data-parallel over processes (dist::mpi):
///                   each rank computes its share of every meta-batch, the partial sums are
///                   added across ranks, and rank 0 alone runs the callbacks
template <class Derived, class Learner, class Loss, class Optimizer, class Distribution = dist::none>
class algorithm {
    static_assert(check_learner<Learner>());

public:
    using learner_type = Learner;                                            //!< the learner
    using loss_type = Loss;                                                  //!< the loss function
    using optimizer_type = Optimizer;                                        //!< the outer optimizer
    using scalar_type = typename Learner::scalar_type;                       //!< the learner's scalar
    using device_type = typename Learner::device_type;                       //!< the learner's device policy
    using input_type = typename Learner::input_type;                         //!< what the learner reads (a batch)
    using task_type = task<input_type, scalar_type>;                         //!< a task: support and query sets with targets
    using vector_type = typename device_type::template vector<scalar_type>;  //!< a device buffer
    using thread_workspace = workspace<Learner, Loss>;                       //!< scratch memory of one thread (meta::workspace)
    static_assert(check_loss_function<Loss, scalar_type, device_type>());
    static_assert(check_optimizer<Optimizer, scalar_type, device_type>());

    //! the learner, whose parameters() are the meta-learned initialization
    const Learner& learner() const noexcept { return learner_; }
    //! the learner, mutable (e.g. to load or set its parameters)
    Learner& learner() noexcept { return learner_; }
    //! the loss
    const Loss& loss() const noexcept { return loss_; }
    //! the outer optimizer
    const Optimizer& outer_optimizer() const noexcept { return outer_; }
    //! the adapted slice of the learner's parameters
    parameter_range adapted_range() const noexcept { return range_; }
    //! meta-steps taken so far (over every fit() call)
    std::int64_t steps() const noexcept { return steps_; }
    //! the distribution policy (dist::none: one process)
    const Distribution& distribution() const noexcept { return dist_; }
    //! sets the distribution policy, e.g. `dist::mpi{communicator}`; before fit()
    void distribute(Distribution distribution) { dist_ = std::move(distribution); }

    /// Meta-trains on `tasks`. Returns what happened; callbacks (see callbacks.hpp) observe
    /// every step and epoch and may stop training. After resume(), continues the run the
    /// checkpoint was taken from (same tasks, options and callbacks) where it stopped.
    template <class... Callbacks>
    callbacks::fit_end_info fit(std::span<const task_type> tasks, fit_options options = {}, Callbacks&&... cbs) {
        static_assert(callbacks::check_callbacks<Derived, std::remove_reference_t<Callbacks>...>());
        check_tasks(tasks, "fit");
        if (index(tasks.size()) < meta_batch_)
            throw std::invalid_argument("metarec: fit: the meta-batch (" + std::to_string(meta_batch_) +
                                        " tasks) is larger than the " + std::to_string(tasks.size()) +
                                        " training tasks");
        if (options.epochs < 0) throw std::invalid_argument("metarec: fit: epochs must be >= 0");
        const bool resumed = std::exchange(resuming_, false);
        if (resumed && sampler_count_ != index(tasks.size()))
            throw std::invalid_argument("metarec: fit: the checkpoint resumed from was taken on " +
                                        std::to_string(sampler_count_) + " training tasks, fit() got " +
                                        std::to_string(tasks.size()));
        if (!sampler_ || sampler_count_ != index(tasks.size())) {
            sampler_ = std::make_unique<task_sampler>(index(tasks.size()), meta_batch_, seed_);
            sampler_count_ = index(tasks.size());
        }
        if (!resumed) position_ = {};
        ++fit_generation_;  // the tasks may be new: a task-batched step prepares them again
        prepare_fit();
        // save_checkpoint() during this fit() also saves the callbacks' states
        save_callbacks_ = [&](io::archive& a) {
            int i = 0;
            (callback_state(cbs, i++, &a, nullptr), ...);
        };
        struct forget {
            std::function<void(io::archive&)>& f;
            ~forget() { f = nullptr; }
        } forget_saver{save_callbacks_};
        const auto load_callbacks = [&] {
            const io::archive a = std::move(*pending_);
            pending_.reset();
            int i = 0, stateful = 0;
            ((stateful += callback_state(cbs, i++, nullptr, &a)), ...);
            if (count_callback_sections(a) != stateful)
                a.fail("the checkpoint holds the state of " + std::to_string(count_callback_sections(a)) +
                       " callbacks, this fit() has " + std::to_string(stateful) +
                       " (resume with the callbacks of the run that wrote it)");
        };

        const auto start = std::chrono::steady_clock::now();
        const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
        const std::int64_t per_epoch = sampler_->batches_per_epoch();
        std::int64_t total = per_epoch * options.epochs;
        if (options.max_steps >= 0) total = std::min(total, options.max_steps);
        // distributed: rank 0 alone runs the callbacks; its stop decisions are broadcast
        const bool root = dist_.rank() == 0;
        const auto agreed = [&](bool asked) { return Distribution::distributed ? dist_.broadcast(asked) : asked; };
        auto& result = position_.result;
        if (resumed && position_.finished) {  // the run had ended: only its end again
            load_callbacks();
            if (root) (callbacks::detail::on_fit_end(cbs, result, derived()), ...);
            return result;
        }
        if (root) {
            [[maybe_unused]] const callbacks::fit_begin_info info{options.epochs, per_epoch, total, meta_batch_};
            (callbacks::detail::on_fit_begin(cbs, info, derived()), ...);
        }
        if (resumed) load_callbacks();
        bool stop = false;
        while (position_.epoch < options.epochs && !stop) {
            auto& at = position_;
            if (!at.shuffled) sampler_->shuffle();
            at.shuffled = true;
            while (at.batch < per_epoch && !stop) {
                if (result.steps == total) {
                    stop = true;
                    break;
                }
                const auto batch = sampler_->batch(at.batch);
                const double loss = meta_step(tasks, batch, options.on_non_finite, result.skipped_tasks);
                ++at.batch;
                ++result.steps;
                ++at.epoch_steps;
                at.epoch_loss += loss;
                [[maybe_unused]] const callbacks::step_info info{steps_, at.epoch, loss, index(batch.size()), elapsed()};
                // every callback sees the step, in the order given (a comma fold is sequenced)
                bool asked = false;
                if (root) ((asked = callbacks::detail::on_step_end(cbs, info, derived()) || asked), ...);
                if (agreed(asked)) stop = result.stopped_early = true;
            }
            if (at.epoch_steps == 0) break;
            result.epochs = at.epoch + 1;
            [[maybe_unused]] const callbacks::epoch_info info{at.epoch, at.epoch_loss / double(at.epoch_steps), steps_,
                                                              elapsed()};
            at = {at.epoch + 1, 0, 0.0, 0, false, false, result};
            bool asked = false;
            if (root) ((asked = callbacks::detail::on_epoch_end(cbs, info, derived()) || asked), ...);
            if (agreed(asked)) stop = result.stopped_early = true;
        }
        result.seconds = elapsed();
        position_.finished = true;
        if (root) (callbacks::detail::on_fit_end(cbs, result, derived()), ...);
        if constexpr (Distribution::distributed) {
            // a callback may have changed rank 0's meta-parameters (early stopping restores
            // the best epoch): every rank takes them
            auto saved = snapshot();
            dist_.broadcast(saved.data(), index(saved.size()));
            restore(saved);
        }
        return result;
    }

    //! fit() over a vector of tasks
    template <class... Callbacks>
    callbacks::fit_end_info fit(const std::vector<task_type>& tasks, fit_options options = {}, Callbacks&&... cbs) {
        return fit(std::span<const task_type>(tasks), options, std::forward<Callbacks>(cbs)...);
    }

    /// Fast weights for a new user (or item, or scenario) from its support set; the
    /// meta-learned parameters are not modified.
    adapted<Learner> adapt(const input_type& support, const scalar_type* target, adapt_options options = {}) const {
        if (support.size() <= 0) throw std::invalid_argument("metarec: adapt: the support set is empty");
        auto tw = derived().make_thread_workspace();
        vector_type fast(learner_.parameter_count());
        device_type::copy(learner_.parameter_count(), learner_.parameters(), fast.data());
        derived().adapt_into(support, target, steps_of(options), tw, fast.data());
        adapted<Learner> out(learner_, std::move(fast));
        out.scratch_ = std::move(tw);
        return out;
    }

    /// Re-adapts `personal` (returned by adapt() of this algorithm) to a new support set in
    /// place: the same parameters as `personal = adapt(support, target, options)`, without
    /// allocating once `personal` has served a request as large. For request-time serving:
    /// one `adapted` per serving thread, reused for every request.
    /// @code
    /// auto personal = algo.adapt(first.support, first.ratings);             // allocates
    /// for (const auto& r : requests) {
    ///     algo.adapt(r.support, r.ratings, personal);                       // no allocation
    ///     personal.predict(r.candidates, scores.data());
    /// }
    /// @endcode
    void adapt(const input_type& support, const scalar_type* target, adapted<Learner>& personal,
               adapt_options options = {}) const {
        if (support.size() <= 0) throw std::invalid_argument("metarec: adapt: the support set is empty");
        if (personal.learner_ != &learner_)
            throw std::invalid_argument("metarec: adapt: the adapted model comes from another algorithm");
        auto* tw = std::any_cast<thread_workspace>(&personal.scratch_);
        if (!tw) tw = &personal.scratch_.template emplace<thread_workspace>(derived().make_thread_workspace());
        device_type::copy(learner_.parameter_count(), learner_.parameters(), personal.params_.data());
        derived().adapt_into(support, target, steps_of(options), *tw, personal.params_.data());
    }

    /// Adapts on each task's support set and scores its query set: the mean query loss, and
    /// the mean of each metric, a callable `double(const S* pred, const S* target, index rows,
    /// index n)` reading host copies of the query predictions and targets (eval/metrics.hpp
    /// has MAE, RMSE, nDCG\@k, HR\@k, Recall\@k, AUC). A metric returning NaN for a task whose
    /// loss is finite is undefined there and left out of its mean (`metric_tasks` counts).
    template <class... Metrics>
    evaluation evaluate(std::span<const task_type> tasks, adapt_options options = {}, Metrics... metrics) const {
        static_assert((std::is_invocable_r_v<double, Metrics&, const scalar_type*, const scalar_type*, index, index> && ...),
                      "metarec: every argument of evaluate() after the adapt options must be a metric, callable as "
                      "double(const S* pred, const S* target, index rows, index n) on host copies of a task's query "
                      "predictions and targets (see docs/concepts/evaluation.md)");
        check_tasks(tasks, "evaluate");
        const index p = learner_.parameter_count(), rows = learner_.output_rows();
        const int threads = pool_->size();
        struct per_thread {
            thread_workspace tw;
            typename objective<Learner, Loss>::workspace ows;
            vector_type fast, pred;
            std::vector<scalar_type> host_pred, host_target;
        };
        std::vector<per_thread> local;
        for (int t = 0; t < threads; ++t)
            local.push_back({derived().make_thread_workspace(), objective_().make_workspace(1), vector_type(p), {}, {}, {}});
        std::vector<double> losses(tasks.size());
        std::vector<std::array<double, sizeof...(Metrics) + 1>> values(tasks.size());
        pool_->run(index(tasks.size()), [&](index i, int t) {
            auto& l = local[std::size_t(t)];
            const auto& task = tasks[std::size_t(i)];
            device_type::copy(p, learner_.parameters(), l.fast.data());
            derived().adapt_into(task.support, task.support_target, steps_of(options), l.tw, l.fast.data());
            auto& v = values[std::size_t(i)];
            v[0] = double(objective_().value(l.fast.data(), task.query, task.query_target, l.ows));
            if constexpr (sizeof...(Metrics) > 0) {
                const index n = task.query.size(), targets = loss_target_rows<Loss>(rows) * n;
                l.host_pred.resize(std::size_t(rows * n));
                l.host_target.resize(std::size_t(targets));
                device_type::to_host(rows * n, l.ows.pred.data(), l.host_pred.data());
                if (targets > 0) device_type::to_host(targets, task.query_target, l.host_target.data());
                std::size_t m = 1;
                ((v[m++] = double(metrics(std::as_const(l.host_pred).data(), std::as_const(l.host_target).data(), rows, n))), ...);
            }
        });
        evaluation result;
        result.tasks = index(tasks.size());
        result.metrics.assign(sizeof...(Metrics), 0.0);
        result.metric_tasks.assign(sizeof...(Metrics), 0);
        for (const auto& v : values) {
            result.loss += v[0];
            const bool diverged = !std::isfinite(v[0]);
            result.diverged += diverged;
            // NaN from a metric is "undefined for this task" (skipped), unless the task diverged
            for (std::size_t m = 0; m < sizeof...(Metrics); ++m)
                if (diverged || !std::isnan(v[m + 1])) {
                    result.metrics[m] += v[m + 1];
                    ++result.metric_tasks[m];
                }
        }
        result.loss /= double(tasks.size());
        for (std::size_t m = 0; m < sizeof...(Metrics); ++m)
            result.metrics[m] = result.metric_tasks[m] ? result.metrics[m] / double(result.metric_tasks[m])
                                                       : std::numeric_limits<double>::quiet_NaN();
        return result;
    }

    //! evaluate() over a vector of tasks
    template <class... Metrics>
    evaluation evaluate(const std::vector<task_type>& tasks, adapt_options options = {}, Metrics... metrics) const {
        return evaluate(std::span<const task_type>(tasks), options, metrics...);
    }

    //! number of meta-parameters: the learner's, then the algorithm's extras (Meta-SGD rates)
    index meta_parameter_count() const { return learner_.parameter_count() + derived().extra_count(); }

    /// One task's contribution to the meta-gradient, as fit() computes it: `out` (of
    /// meta_parameter_count()) receives the gradient of the task's meta-objective (MAML: the
    /// query loss after adaptation; Reptile: theta - phi; fine_tune: the pooled loss) with
    /// respect to the meta-parameters. Returns the task's loss. For custom training loops
    /// and for checking the algorithms.
    double meta_gradient(const task_type& task, scalar_type* out) {
        check_tasks(std::span<const task_type>(&task, 1), "meta_gradient");
        auto ws = derived().make_thread_workspace();
        device_type::fill(meta_parameter_count(), scalar_type(0), out);  // a sparse task_gradient writes only its ranges
        const auto [loss, weight] = derived().task_gradient(task, ws, out);
        device_type::scal(meta_parameter_count(), scalar_type(1.0 / weight), out);
        return loss;
    }

    /// The meta-parameters (learner parameters, then the algorithm's extras), on the host:
    /// what early stopping keeps of the best epoch.
    std::vector<scalar_type> snapshot() const {
        const index p = learner_.parameter_count(), e = derived().extra_count();
        std::vector<scalar_type> out(std::size_t(p + e));
        device_type::to_host(p, learner_.parameters(), out.data());
        if (e > 0) device_type::to_host(e, derived().extras(), out.data() + p);
        return out;
    }
    //! restores meta-parameters taken by snapshot()
    void restore(const std::vector<scalar_type>& saved) {
        const index p = learner_.parameter_count(), e = derived().extra_count();
        if (index(saved.size()) != p + e)
            throw std::invalid_argument("metarec: restore: the snapshot has " + std::to_string(saved.size()) +
                                        " values, the algorithm " + std::to_string(p + e));
        device_type::to_device(p, saved.data(), learner_.parameters());
        if (e > 0) device_type::to_device(e, saved.data() + p, derived().extras());
    }

    /// Saves the meta-learned model to `path`: the learner's parameters, the algorithm's
    /// learned extras (Meta-SGD rates) and the configuration they belong to (scalar type,
    /// the learner's layers and input shape, the adapted slice, and `extra`: e.g. the
    /// feature schema). What a serving program load()s. Written atomically (io/archive.hpp).
    void save(const std::filesystem::path& path, const io::configuration& extra = {}) const {
        if (dist_.rank() != 0) return;
        io::archive a(path.string());
        write_model(a, "model", extra);
        a.save(path);
    }

    /// Loads a model written by save() (or the model part of a checkpoint) into this
    /// algorithm. A data_error names the file and the reason when it is missing, truncated,
    /// corrupted, or describes another model (scalar type, layers, shape, adapted slice,
    /// extras, or a key of `extra` that differs); nothing is changed then.
    void load(const std::filesystem::path& path, const io::configuration& extra = {}) {
        const auto a = io::archive::load(path);
        read_model(a, extra, false);
    }

    /// Saves everything a meta-training run needs to continue bit for bit: the model, the
    /// outer optimizer's state, the task sampler's generator and order, the step and epoch
    /// counters and, during fit(), the position in the run and the state of the callbacks
    /// that have one (early_stopping). See callbacks::checkpoint to take one every n steps.
    void save_checkpoint(const std::filesystem::path& path) const {
        if (dist_.rank() != 0) return;
        io::archive a(path.string());
        write_model(a, "checkpoint", {});
        a.put_scalar("optimizer.steps", std::int64_t(theta_state_.steps));
        a.put("optimizer.state", host_copy(theta_state_.buffer));
        a.put_scalar("optimizer.extra_steps", std::int64_t(extra_state_.steps));
        a.put("optimizer.extra_state", host_copy(extra_state_.buffer));
        a.put_scalar("steps", std::int64_t(steps_));
        if (sampler_) {
            const auto [words, order] = sampler_->state();
            a.put("sampler.rng", std::span<const std::uint64_t>(words));
            a.put("sampler.order", std::vector<std::int64_t>(order.begin(), order.end()));
        }
        const auto& at = position_;
        const auto& r = at.result;
        a.put("position", std::vector<std::int64_t>{at.epoch, at.batch, at.epoch_steps, at.shuffled, at.finished, r.steps,
                                                    r.epochs, r.stopped_early, r.skipped_tasks});
        a.put_scalar("position.epoch_loss", at.epoch_loss);
        if (save_callbacks_) save_callbacks_(a);
        a.save(path);
    }

    /// Loads a checkpoint written by save_checkpoint(): the next fit(), given the same tasks,
    /// options and callbacks, continues that run where the checkpoint was taken and ends with
    /// the meta-parameters an uninterrupted run would have (bit for bit). A data_error when
    /// the file is not a complete checkpoint of this algorithm; nothing is changed then.
    void resume(const std::filesystem::path& path) {
        auto a = io::archive::load(path);
        if (configuration_of(a).find("kind") == nullptr || *configuration_of(a).find("kind") != "checkpoint")
            a.fail("not a checkpoint (a model written by save(): load() it instead)");
        configuration_of(a).require_same(configuration("checkpoint", {}), a, "algorithm");
        // read everything before changing anything
        std::vector<scalar_type> theta_buffer(theta_state_.buffer.size());
        a.get_into("optimizer.state", std::span<scalar_type>(theta_buffer));
        const auto extra_buffer = a.get<scalar_type>("optimizer.extra_state");
        const index extras = derived().extra_count();
        if (extras > 0 && index(extra_buffer.size()) != outer_.state_size(extras))
            a.fail("section 'optimizer.extra_state' has " + std::to_string(extra_buffer.size()) + " values, " +
                   std::to_string(outer_.state_size(extras)) + " expected");
        const auto position = a.get<std::int64_t>("position");
        if (position.size() != 9) a.fail("section 'position' has " + std::to_string(position.size()) + " values, 9 expected");
        std::unique_ptr<task_sampler> sampler;
        if (a.contains("sampler.order")) {
            const auto order = a.get<std::int64_t>("sampler.order");
            const auto words = a.get<std::uint64_t>("sampler.rng");
            if (order.empty() || words.size() != 4) a.fail("the sampler's state is malformed");
            sampler = std::make_unique<task_sampler>(index(order.size()), meta_batch_, seed_);
            if (!sampler->restore({words[0], words[1], words[2], words[3]}, std::vector<index>(order.begin(), order.end())))
                a.fail("the sampler's task order is not a permutation");
        }
        const index per_epoch = sampler ? sampler->batches_per_epoch() : 0;
        if (position[0] < 0 || position[1] < 0 || position[1] > per_epoch || position[2] < 0 || position[5] < 0)
            a.fail("the run's position is malformed");
        read_model(a, {}, true);

        device_type::to_device(index(theta_buffer.size()), theta_buffer.data(), theta_state_.buffer.data());
        theta_state_.steps = a.get_scalar<std::int64_t>("optimizer.steps");
        if (extras > 0) {
            extra_state_ = optim::make_state<scalar_type, device_type>(outer_, extras);
            device_type::to_device(index(extra_buffer.size()), extra_buffer.data(), extra_state_.buffer.data());
            extra_state_.steps = a.get_scalar<std::int64_t>("optimizer.extra_steps");
        }
        steps_ = a.get_scalar<std::int64_t>("steps");
        sampler_count_ = sampler ? sampler->count() : 0;
        sampler_ = std::move(sampler);
        position_ = {int(position[0]), index(position[1]), a.get_scalar<double>("position.epoch_loss"), position[2],
                     position[3] != 0, position[4] != 0,
                     {position[5], int(position[6]), 0.0, position[7] != 0, position[8]}};
        pending_ = std::move(a);
        resuming_ = true;
    }

protected:
    /// @param learner   the learner, whose parameters are the initialization
    /// @param select    the adaptation policy's choice of the adapted slice
    /// @param outer     the outer optimizer
    /// @param loss      the loss
    /// @param meta_batch tasks per meta-step
    /// @param threads   worker threads, the caller included
    /// @param seed      seed of the task sampler
    /// @param inner_steps inner steps of adapt() and evaluate() when adapt_options::steps is -1
    algorithm(Learner learner, parameter_range (*select)(const Learner&), Optimizer outer, Loss loss, index meta_batch,
              int threads, std::uint64_t seed, int inner_steps)
        : learner_(std::move(learner)), loss_(loss), outer_(outer), range_(select(learner_)), meta_batch_(meta_batch),
          seed_(seed), inner_steps_(inner_steps), pool_(std::make_unique<detail::thread_pool>(threads)) {
        static_assert(check_hooks());  // here Derived is complete (its constructor calls this one)
        if (meta_batch < 1) throw std::invalid_argument("metarec: the meta-batch size must be >= 1");
        if (threads < 1) throw std::invalid_argument("metarec: the thread count must be >= 1");
        if (inner_steps < 0) throw std::invalid_argument("metarec: inner_steps must be >= 0");
        if (range_.offset < 0 || range_.size <= 0 || range_.offset + range_.size > learner_.parameter_count())
            throw std::invalid_argument("metarec: the adapted slice is empty or outside the parameters");
        theta_state_ = optim::make_state<scalar_type, device_type>(outer_, learner_.parameter_count());
    }

    /// The hooks a derived algorithm defines (the list above), each checked by a static_assert
    /// whose message names it and its signature; they may be private, with this base a friend.
    static constexpr bool check_hooks() {
        static_assert(requires { { Derived::name } -> std::convertible_to<std::string_view>; },
                      "metarec: a meta-algorithm lacks `static constexpr std::string_view name` (written in "
                      "checkpoints; see docs/concepts/meta_algorithm.md, \"Writing your own algorithm\")");
        static_assert(requires(const Derived& d) { { d.make_thread_workspace() } -> std::same_as<thread_workspace>; },
                      "metarec: a meta-algorithm lacks `thread_workspace make_thread_workspace() const` (see "
                      "docs/concepts/meta_algorithm.md, \"Writing your own algorithm\")");
        static_assert(requires(const Derived& c, Derived& d) {
                          { c.extra_count() } -> std::convertible_to<index>;
                          { c.extras() } -> std::convertible_to<const scalar_type*>;
                          { d.extras() } -> std::convertible_to<scalar_type*>;
                      },
                      "metarec: a meta-algorithm lacks `index extra_count() const` and `scalar_type* extras()` (const "
                      "and not): its meta-parameters beyond the learner's, 0 and nullptr when none (see "
                      "docs/concepts/meta_algorithm.md, \"Writing your own algorithm\")");
        static_assert(requires(Derived& d, const task_type& t, thread_workspace& ws, scalar_type* out) {
                          { d.task_gradient(t, ws, out) } -> std::convertible_to<std::pair<double, double>>;
                      },
                      "metarec: a meta-algorithm lacks `std::pair<double, double> task_gradient(const task_type&, "
                      "thread_workspace&, scalar_type* out)` returning {loss, weight} (see "
                      "docs/concepts/meta_algorithm.md, \"Writing your own algorithm\")");
        static_assert(requires(const Derived& d, const input_type& x, const scalar_type* y, int steps, thread_workspace& ws,
                               scalar_type* fast) { d.adapt_into(x, y, steps, ws, fast); },
                      "metarec: a meta-algorithm lacks `void adapt_into(const input_type&, const scalar_type* target, "
                      "int steps, thread_workspace&, scalar_type* fast) const` (see docs/concepts/meta_algorithm.md, "
                      "\"Writing your own algorithm\")");
        return true;
    }

    //! the objective (learner + loss) the algorithms differentiate
    objective<Learner, Loss> objective_() const { return objective<Learner, Loss>(learner_, loss_); }

    /// Whether a task-batched meta-step can exist: a learner with task-batched passes reading
    /// nn::batch inputs (meta::stacked_tasks stacks those) and a loss with task-batched members.
    static constexpr bool task_batchable =
        objective<Learner, Loss>::task_batched && std::is_same_v<input_type, nn::batch<scalar_type>>;

    /// The parameters the tasks of a task-batched meta-step keep once (task_layout::shared):
    /// those below the adapted slice when it is the trailing one (MeLU's embeddings under its
    /// head, ANIL's layers under the last), which no inner step moves; otherwise none.
    index batch_shared() const noexcept {
        return range_.offset + range_.size == learner_.parameter_count() ? range_.offset : 0;
    }
    /// Every task of a task-batched meta-step at theta: `fast` = the s = batch_shared() shared
    /// parameters once, then each task's own p - s (task_layout{p - s, s}).
    void batch_start(index tasks, scalar_type* fast) const {
        const index s = batch_shared(), own = learner_.parameter_count() - s;
        device_type::copy(s, learner_.parameters(), fast);
        device_type::copy_block(own, tasks, learner_.parameters() + s, 0, fast + s, own);
    }
    /// The `tasks` losses of a task-batched meta-step (device memory) into `out`: the step's
    /// one copy to the host, for the log.
    void batch_losses(index tasks, const scalar_type* losses, double* out) {
        batch_host_losses_.resize(std::size_t(tasks));
        device_type::to_host(tasks, losses, batch_host_losses_.data());
        for (index t = 0; t < tasks; ++t) out[t] = double(batch_host_losses_[std::size_t(t)]);
    }
    //! inner steps at adaptation time
    int steps_of(adapt_options options) const { return options.steps >= 0 ? options.steps : inner_steps_; }
    //! inner steps at training time
    int inner_steps() const noexcept { return inner_steps_; }

    /// A workspace for an inner loop driven by an optimizer (Reptile, fine-tuning): the full
    /// fast and gradient vectors, an optional second gradient, and the optimizer's state
    /// for the adapted slice with a pristine copy to reset it from.
    template <class InnerOptimizer>
    thread_workspace optimizer_workspace(const InnerOptimizer& inner, bool second_gradient) const {
        const index p = learner_.parameter_count(), m = range_.size;
        auto state = optim::make_state<scalar_type, device_type>(inner, m);
        auto initial = optim::make_state<scalar_type, device_type>(inner, m);
        return thread_workspace{objective_().make_workspace(1), vector_type(p), vector_type(p), {}, {},
                                vector_type(second_gradient ? p : 0), {}, {}, std::move(state), std::move(initial)};
    }

    /// `steps` steps of `inner` on the support loss, on the adapted slice of `fast`, from a
    /// fresh optimizer state (copied from the pristine one, not allocated).
    template <class InnerOptimizer>
    void optimizer_adapt(const InnerOptimizer& inner, const input_type& support, const scalar_type* target, int steps,
                         thread_workspace& ws, scalar_type* fast) const {
        const auto objective = objective_();
        const auto [a, m] = range_;
        device_type::copy(index(ws.inner_state.buffer.size()), ws.inner_state_initial.buffer.data(),
                          ws.inner_state.buffer.data());
        ws.inner_state.steps = 0;
        touch(ws, support);  // the gradient only where the support set reaches (zero elsewhere)
        for (int k = 0; k < steps; ++k) {
            // the gradient on the adapted slice only
            objective.gradient(fast, support, target, ws.objective, ws.gradient.data(), ws.touched, a);
            inner.step(ws.inner_state, fast + a, ws.gradient.data() + a, m);
        }
    }

    /// `ws.touched` = where gradients on `x` (and `y`) can be nonzero: the learner's
    /// touched_parameters() (sparse embedding gradients), or every parameter for a learner
    /// without it. The workspace's gradient buffers are zero outside it afterwards (what the
    /// previous ranges left there is cleared), so that objective::gradient and hvp with these
    /// ranges, and updates of a whole adapted slice, read zeros elsewhere.
    void touch(thread_workspace& ws, const input_type& x, const input_type* y = nullptr) const {
        ws.touched.clear();
        if constexpr (requires { learner_.touched_parameters(x, ws.touched); }) {
            if (y) {
                learner_.touched_parameters(x, ws.touched_support);
                learner_.touched_parameters(*y, ws.touched_query);
                detail::unite(ws.touched_support, ws.touched_query, ws.touched);
            } else {
                learner_.touched_parameters(x, ws.touched);
            }
        } else {
            ws.touched.push_back({0, learner_.parameter_count()});
        }
        const auto same = [](const parameter_range& u, const parameter_range& v) { return u.offset == v.offset && u.size == v.size; };
        if (ws.clean && std::ranges::equal(ws.dirty, ws.touched, same)) return;
        const index p = learner_.parameter_count();
        if (!ws.clean) ws.dirty.assign(1, {0, p});  // a new workspace: clear everything once
        for (auto* buffer : {&ws.gradient, &ws.product, &ws.auxiliary})
            if (index(buffer->size()) == p)
                for (const auto& r : ws.dirty) device_type::fill(r.size, scalar_type(0), buffer->data() + r.offset);
        ws.dirty.assign(ws.touched.begin(), ws.touched.end());
        ws.clean = true;
    }

    /// touch() for the support and query sets of `task`, and marks the task's meta-gradient
    /// as written only there: the meta-step then checks and sums only those ranges.
    void touch_task(const task_type& task, thread_workspace& ws) const {
        touch(ws, task.support, &task.query);
        ws.sparse_task = true;
    }

    /// Sets `fast` (the workspace's) to the meta-parameters for a new task: the whole vector
    /// at the first task of a meta-step on this thread, then only the adapted slice (the only
    /// part an inner loop changes).
    void begin_task(thread_workspace& ws) const {
        if (ws.fast_current) {
            device_type::copy(range_.size, learner_.parameters() + range_.offset, ws.fast.data() + range_.offset);
        } else {
            device_type::copy(learner_.parameter_count(), learner_.parameters(), ws.fast.data());
            ws.fast_current = true;
        }
    }

private:
    Derived& derived() noexcept { return static_cast<Derived&>(*this); }
    const Derived& derived() const noexcept { return static_cast<const Derived&>(*this); }

    static void check_tasks(std::span<const task_type> tasks, const char* where) {
        if (tasks.empty()) throw std::invalid_argument(std::string("metarec: ") + where + ": no tasks");
        for (std::size_t i = 0; i < tasks.size(); ++i)
            if (tasks[i].support.size() <= 0 || tasks[i].query.size() <= 0)
                throw std::invalid_argument(std::string("metarec: ") + where + ": task " + std::to_string(i) +
                                            " (key " + std::to_string(tasks[i].key) +
                                            ") has an empty support or query set");
            else if (!tasks[i].support_target || !tasks[i].query_target)
                throw std::invalid_argument(std::string("metarec: ") + where + ": task " + std::to_string(i) +
                                            " (key " + std::to_string(tasks[i].key) + ") has no support or query targets");
    }

    // where fit() stands in its run: what a checkpoint needs to continue it
    struct run_position {
        int epoch = 0;               // current epoch
        index batch = 0;             // next meta-batch of the epoch
        double epoch_loss = 0;       // sum of the epoch's step losses so far
        std::int64_t epoch_steps = 0;
        bool shuffled = false;       // the epoch's order is drawn
        bool finished = false;       // the run ended (on_fit_end was reached)
        callbacks::fit_end_info result{};
    };

    static const char* scalar_name() { return sizeof(scalar_type) == 4 ? "float32" : "float64"; }

    template <class V>
    static std::vector<scalar_type> host_copy(const V& v) {
        return host_copy_of(v.data(), index(v.size()));
    }

    // what a file written for this algorithm must agree on; `kind` "model" or "checkpoint"
    io::configuration configuration(std::string_view kind, const io::configuration& extra) const {
        io::configuration c;
        c.set("kind", std::string(kind));
        for (const auto& [key, value] : extra.entries()) c.set(key, value);  // first: e.g. the features explain a shape
        c.set("scalar", scalar_name());
        c.set("parameters", std::to_string(learner_.parameter_count()));
        if constexpr (requires { learner_.configuration(); })
            for (const auto& [key, value] : learner_.configuration()) c.set("learner." + key, value);
        c.set("adapted", std::to_string(range_.offset) + "+" + std::to_string(range_.size));
        c.set("extras", std::to_string(derived().extra_count()));
        if (kind == "checkpoint") {  // what a run must keep to continue identically
            c.set("algorithm", std::string(Derived::name));
            if constexpr (requires { Optimizer::name; }) c.set("optimizer", std::string(Optimizer::name));
            c.set("meta_batch", std::to_string(meta_batch_));
            c.set("inner_steps", std::to_string(inner_steps_));
            c.set("seed", std::to_string(seed_));
        }
        return c;
    }
    static io::configuration configuration_of(const io::archive& a) { return io::configuration::read(a); }

    void write_model(io::archive& a, std::string_view kind, const io::configuration& extra) const {
        a.put_text("config", configuration(kind, extra).text());
        a.put("parameters", host_copy_of(learner_.parameters(), learner_.parameter_count()));
        a.put("extras", host_copy_of(derived().extras(), derived().extra_count()));
    }
    static std::vector<scalar_type> host_copy_of(const scalar_type* p, index n) {
        std::vector<scalar_type> out(static_cast<std::size_t>(n));
        if (n > 0) device_type::to_host(n, p, out.data());
        return out;
    }

    // checks the file's configuration, then loads the parameters and extras
    void read_model(const io::archive& a, const io::configuration& extra, bool checkpoint) {
        const auto theirs = configuration_of(a);
        auto mine = configuration(checkpoint ? "checkpoint" : "model", extra);
        if (!checkpoint) {  // a model loads from a model file or from a checkpoint
            auto without_kind = io::configuration{};
            for (const auto& [key, value] : mine.entries())
                if (key != "kind") without_kind.set(key, value);
            mine = std::move(without_kind);
        }
        theirs.require_same(mine, a, "algorithm");
        std::vector<scalar_type> saved(static_cast<std::size_t>(meta_parameter_count()));
        const index p = learner_.parameter_count();
        a.get_into("parameters", std::span<scalar_type>(saved.data(), std::size_t(p)));
        a.get_into("extras", std::span<scalar_type>(saved.data() + p, saved.size() - std::size_t(p)));
        for (std::size_t i = 0; i < saved.size(); ++i)
            if (!std::isfinite(saved[i])) a.fail("meta-parameter " + std::to_string(i) + " is not finite");
        restore(saved);
    }

    // the state of callback `i` of fit() (when it has one: save_state/load_state and a
    // state_name), written to `out` or read from `in`; returns whether it has one
    template <class Callback>
    static bool callback_state(Callback& callback, int i, io::archive* out, const io::archive* in) {
        if constexpr (requires { callback.save_state(*out, std::string()); callback.load_state(*in, std::string()); }) {
            const std::string prefix = "callback." + std::to_string(i) + ".";
            const std::string kind(std::remove_cvref_t<Callback>::state_name);
            if (out) {
                out->put_text(prefix + "kind", kind);
                callback.save_state(*out, prefix);
            } else {
                if (!in->contains(prefix + "kind") || in->get_text(prefix + "kind") != kind)
                    in->fail("the checkpoint holds no state of callback " + std::to_string(i) + " (" + kind +
                             "): resume with the callbacks, in the order, of the run that wrote it");
                callback.load_state(*in, prefix);
            }
            return true;
        } else {
            return false;
        }
    }
    static int count_callback_sections(const io::archive& a) {
        int n = 0;
        for (const auto& name : a.names())
            n += name.starts_with("callback.") && name.ends_with(".kind");
        return n;
    }

    void prepare_fit() {
        const index width = learner_.parameter_count() + derived().extra_count();
        if (index(workspaces_.size()) != pool_->size())
            for (int t = int(workspaces_.size()); t < pool_->size(); ++t) workspaces_.push_back(derived().make_thread_workspace());
        slots_.resize(std::size_t(meta_batch_));
        task_outputs_.resize(std::size_t(pool_->size()));
        if (index(meta_gradient_.size()) != width) {
            meta_gradient_ = vector_type(width);
            device_type::fill(width, scalar_type(0), meta_gradient_.data());
            meta_touched_.clear();
        }
        slot_touched_.resize(std::size_t(meta_batch_));
        if (derived().extra_count() > 0 && extra_state_.buffer.size() == 0)
            extra_state_ = optim::make_state<scalar_type, device_type>(outer_, derived().extra_count());
        losses_.resize(std::size_t(meta_batch_));
        weights_.resize(std::size_t(meta_batch_));
    }

    // one outer update from the tasks `batch`; returns the mean task loss. This rank computes
    // the tasks i = rank, rank + size, ... (all of them in one process), in parallel on its
    // threads; their contributions are summed in task order (so the result does not depend on
    // the thread count), then across ranks. A task whose loss or meta-gradient is NaN or
    // infinite stops the run (non_finite::stop, on every rank) or is left out (skip_task).
    double meta_step(std::span<const task_type> tasks, std::span<const index> batch, non_finite policy,
                     std::int64_t& skipped) {
        const index p = learner_.parameter_count(), e = derived().extra_count(), width = p + e;
        const index rank = dist_.rank(), ranks = dist_.size();
        const index mine = rank < index(batch.size()) ? (index(batch.size()) - rank + ranks - 1) / ranks : 0;
        const auto task_of = [&](index m) -> const task_type& { return tasks[std::size_t(batch[std::size_t(rank + m * ranks)])]; };
        for (auto& ws : workspaces_) ws.fast_current = false;  // the meta-parameters changed
        double totals[3] = {0, 0, 0};  // loss, weight, tasks with a NaN/inf
        index first_bad = -1;
        bool bad_loss = false;
        if (!batched_contributions(tasks, batch, mine, width, totals)) {  // one task at a time
            pool_->run(mine, [&](index m, int t) {
                auto& ws = workspaces_[std::size_t(t)];
                auto& out = task_outputs_[std::size_t(t)];
                if (out.size() < width) out = vector_type(width);
                ws.sparse_task = false;
                const auto [loss, weight] = derived().task_gradient(task_of(m), ws, out.data());
                losses_[std::size_t(m)] = loss;
                weights_[std::size_t(m)] = weight;
                // where `out` holds the task's meta-gradient: what touch_task() found, or all of it
                auto& touched = slot_touched_[std::size_t(m)];
                if (ws.sparse_task) touched.assign(ws.touched.begin(), ws.touched.end());
                else touched.assign(1, {0, p});
                if (e > 0) touched.push_back({p, e});
                // the slot keeps those ranges, one after another: a dense meta-gradient changes places
                // with the thread's buffer (no copy), a sparse one's few columns are copied
                auto& slot = slots_[std::size_t(m)];
                if (!ws.sparse_task) {
                    std::swap(slot, out);
                    return;
                }
                index total = 0;
                for (const auto& r : touched) total += r.size;
                if (slot.size() < total) slot = vector_type(std::min(width, total + total / 4));  // room for the next tasks
                index at = 0;
                for (const auto& r : touched) {
                    device_type::copy(r.size, out.data() + r.offset, slot.data() + at);
                    at += r.size;
                }
            });
            find_non_finite(mine, [&](index m) {
                index total = 0;
                for (const auto& r : slot_touched_[std::size_t(m)]) total += r.size;
                return device_type::all_finite(total, slots_[std::size_t(m)].data());
            }, totals, first_bad, bad_loss);
            // the sum over the tasks, in task order, of each slot's touched ranges; meta_gradient_
            // is zero outside meta_touched_ (the last step's ranges are cleared first)
            for (const auto& r : meta_touched_) device_type::fill(r.size, scalar_type(0), meta_gradient_.data() + r.offset);
            meta_touched_.clear();
            for (index m = 0; m < mine; ++m) {
                if (non_finite_[std::size_t(m)]) continue;
                index at = 0;  // where range r starts in the slot
                for (const auto& r : slot_touched_[std::size_t(m)]) {
                    device_type::axpy(r.size, scalar_type(1), slots_[std::size_t(m)].data() + at, meta_gradient_.data() + r.offset);
                    meta_touched_.push_back(r);
                    at += r.size;
                }
                totals[0] += losses_[std::size_t(m)];
                totals[1] += weights_[std::size_t(m)];
            }
        }
        detail::coalesce(meta_touched_);
        if constexpr (Distribution::distributed) {
            host_gradient_.resize(std::size_t(width));
            device_type::to_host(width, meta_gradient_.data(), host_gradient_.data());
            dist_.sum(host_gradient_.data(), width);
            device_type::to_device(width, host_gradient_.data(), meta_gradient_.data());
            dist_.sum(totals, 3);
            meta_touched_.assign(1, {0, width});  // the other ranks' ranges are not known here
        }
        const std::int64_t step = steps_ + 1;
        if (totals[2] > 0 && policy == non_finite::stop) {
            const std::string quantity = first_bad < 0 ? "loss or meta-gradient" : bad_loss ? "loss" : "meta-gradient";
            const std::int64_t key = first_bad < 0 ? -1 : task_of(first_bad).key;
            throw non_finite_error(
                step, key, quantity,
                "metarec: fit: step " + std::to_string(step) + ": the " + quantity + " of " +
                    (first_bad < 0 ? std::string("a task on another rank") : "task key " + std::to_string(key)) +
                    " is NaN or infinite (" + std::to_string(std::int64_t(totals[2])) + " of " +
                    std::to_string(batch.size()) + " tasks in the step); lower the learning rates, clip the gradients "
                    "(the optimizers' clip_norm), or pass fit_options{.on_non_finite = non_finite::skip_task}");
        }
        skipped += std::int64_t(totals[2]);
        ++steps_;
        const double kept = double(batch.size()) - totals[2];
        if (kept == 0) return std::numeric_limits<double>::quiet_NaN();  // every task skipped: no update
        theta_touched_.clear();  // meta_touched_ within the learner's parameters (not the extras)
        for (const auto& r : meta_touched_) {
            device_type::scal(r.size, scalar_type(1.0 / totals[1]), meta_gradient_.data() + r.offset);
            if (r.offset < p) theta_touched_.push_back({r.offset, std::min(r.size, p - r.offset)});
        }
        outer_step(theta_state_, learner_.parameters(), meta_gradient_.data(), p, theta_touched_);
        if (e > 0) outer_.step(extra_state_, derived().extras(), meta_gradient_.data() + p, e);
        if (!device_type::all_finite(p, learner_.parameters()) || (e > 0 && !device_type::all_finite(e, derived().extras())))
            throw non_finite_error(step, -1, "meta-parameters",
                                   "metarec: fit: step " + std::to_string(step) +
                                       ": the meta-parameters are NaN or infinite after the outer update (the "
                                       "meta-gradient was finite: lower the outer learning rate or clip it)");
        return totals[0] / kept;
    }

    // The task-batched meta-step (an algorithm with batch_gradient(), when its batched_step()
    // says so: MAML's and Reptile's task_batching): the `mine` tasks' meta-gradients at once,
    // the sum over the tasks on the batch_shared() parameters they keep once, then each task's
    // own parameters and extras, whose sum over the tasks is one batched column sum. A NaN or
    // infinity anywhere (a loss, or any part of the result: the shared part cannot tell whose
    // it is) makes the per-task path compute the meta-step again, which finds, names and, under
    // skip_task, leaves out the tasks concerned. Returns false when the per-task path is to run.
    // The tasks reach batch_gradient() as a task_selection: their indices in fit()'s tasks,
    // on the host and where the device holds the epoch's task order (uploaded once an epoch),
    // so that the step copies nothing to the device.
    bool batched_contributions(std::span<const task_type> tasks, std::span<const index> batch, index mine, index width,
                               double (&totals)[3]) {
        if constexpr (!requires(Derived& d, const task_selection<task_type>& s, scalar_type* out, double* l) {
                          { d.batched_step() } -> std::convertible_to<bool>;
                          d.batch_gradient(s, out, l);
                      }) {
            (void)tasks, (void)batch, (void)mine, (void)width, (void)totals;
            return false;
        } else {
            if (mine == 0) return false;
            if (!derived().batched_step()) return false;
            const auto order = sampler_->state().second;
            if (order_generation_ != fit_generation_ || order_epoch_ != position_.epoch) {
                const index N = index(order.size());
                if (index(device_order_.size()) != N) device_order_ = index_vector(N);
                device_type::to_device(N, order.data(), device_order_.data());
                order_generation_ = fit_generation_;
                order_epoch_ = position_.epoch;
            }
            const index rank = dist_.rank(), ranks = dist_.size();
            batch_indices_.clear();
            for (index m = 0; m < mine; ++m) batch_indices_.push_back(batch[std::size_t(rank + m * ranks)]);
            const task_selection<task_type> selection{
                tasks, batch_indices_, device_order_.data() + (batch.data() - order.data()) + rank, ranks,
                fit_generation_};
            const index shared = derived().batch_shared(), own = width - shared, size = shared + own * mine;
            if (index(batch_output_.size()) < size) batch_output_ = vector_type(size);
            scalar_type* out = batch_output_.data();
            derived().batch_gradient(selection, out, losses_.data());
            for (index m = 0; m < mine; ++m)
                if (!std::isfinite(losses_[std::size_t(m)])) return false;
            if (!device_type::all_finite(size, out)) return false;
            for (const auto& r : meta_touched_) device_type::fill(r.size, scalar_type(0), meta_gradient_.data() + r.offset);
            meta_touched_.assign(1, {0, width});
            device_type::copy(shared, out, meta_gradient_.data());
            device_type::sum_columns(own, mine, out + shared, meta_gradient_.data() + shared);
            for (index m = 0; m < mine; ++m) totals[0] += losses_[std::size_t(m)];
            totals[1] += double(mine);
            return true;
        }
    }

    // Marks the tasks of the meta-step whose loss, or meta-gradient (`gradient_finite(m)` false),
    // is NaN or infinite: non_finite_, their count in totals[2], and the first of them.
    void find_non_finite(index mine, const auto& gradient_finite, double (&totals)[3], index& first_bad,
                         bool& bad_loss) {
        non_finite_.assign(std::size_t(mine), 0);
        for (index m = 0; m < mine; ++m) {
            const bool loss_bad = !std::isfinite(losses_[std::size_t(m)]);
            if (loss_bad || !gradient_finite(m)) {
                non_finite_[std::size_t(m)] = 1;
                totals[2] += 1;
                if (first_bad < 0) first_bad = m, bad_loss = loss_bad;
            }
        }
    }

    // One step of the outer optimizer. One that takes the touched ranges (optim::adam{.lazy =
    // true}: only those change) gets them; any other sees the whole, zero elsewhere, gradient.
    // On the CPU, one that takes `parts` (optim::one_part) runs its update on the threads,
    // each on its own blocks of the vector (the update reads and writes several arrays as
    // long as the parameters: about 1.3 ms a step for MeLU on one Xeon core).
    void outer_step(optim::state<scalar_type, device_type>& st, scalar_type* theta, const scalar_type* grad, index n,
                    std::span<const parameter_range> touched) {
        const auto parts = [this](index size, const auto& update) {
            const index blocks = (size + optim::part_granularity - 1) / optim::part_granularity;
            const index count = std::min(index(pool_->size()), blocks);
            if (count <= 1) return update(index(0), size);
            pool_->run(count, [&](index c, int) {
                const index begin = blocks * c / count * optim::part_granularity;
                update(begin, std::min(size, blocks * (c + 1) / count * optim::part_granularity) - begin);
            });
        };
        constexpr bool on_cpu = std::is_base_of_v<device::basic_cpu<device_type>, device_type>;
        if constexpr (on_cpu && requires { outer_.step(st, theta, grad, n, touched, parts); })
            outer_.step(st, theta, grad, n, touched, parts);
        else if constexpr (requires { outer_.step(st, theta, grad, n, touched); })
            outer_.step(st, theta, grad, n, touched);
        else
            outer_.step(st, theta, grad, n);
    }

    Learner learner_;
    Loss loss_;
    Optimizer outer_;
    parameter_range range_;
    index meta_batch_;
    std::uint64_t seed_;
    int inner_steps_;
    std::unique_ptr<detail::thread_pool> pool_;
    std::unique_ptr<task_sampler> sampler_;
    index sampler_count_ = 0;
    std::int64_t steps_ = 0;
    optim::state<scalar_type, device_type> theta_state_, extra_state_;
    std::vector<thread_workspace> workspaces_;
    vector_type meta_gradient_;
    // per task of the meta-step: its meta-gradient on the ranges slot_touched_[m], stored one
    // after another (a MeLU task: the head and the embedding columns it read)
    std::vector<vector_type> slots_;
    std::vector<std::vector<parameter_range>> slot_touched_;
    std::vector<vector_type> task_outputs_;  // per thread: the full-width meta-gradient task_gradient() writes
    // a task-batched meta-step: this rank's tasks' indices, their meta-gradients and losses;
    // the epoch's task order on the device, and the fit() and epoch it is for
    using index_vector = typename device_type::template vector<index>;
    std::vector<index> batch_indices_;
    std::vector<scalar_type> batch_host_losses_;
    vector_type batch_output_;
    index_vector device_order_;
    std::uint64_t fit_generation_ = 0, order_generation_ = 0;
    std::int64_t order_epoch_ = -1;
    std::vector<parameter_range> meta_touched_, theta_touched_;  // where meta_gradient_ is nonzero; within theta
    std::vector<double> losses_, weights_;
    Distribution dist_{};
    std::vector<scalar_type> host_gradient_;  // distributed: the meta-gradient on its way through MPI
    std::vector<char> non_finite_;            // per task of the meta-step: its loss or gradient is NaN/inf
    run_position position_;
    bool resuming_ = false;                   // resume() was called: the next fit() continues
    std::optional<io::archive> pending_;      // resume(): the checkpoint, for the callbacks' states
    std::function<void(io::archive&)> save_callbacks_;  // during fit(): saves the callbacks' states
};

}  // namespace metarec::meta
