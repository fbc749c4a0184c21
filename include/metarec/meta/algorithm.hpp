// metarec: the meta-algorithm: the loop (fit, adapt, evaluate, checkpoints) that calls a rule.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <any>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../callbacks/callbacks.hpp"
#include "../concepts/learner.hpp"
#include "../concepts/loss_function.hpp"
#include "../concepts/optimizer.hpp"
#include "../detail/thread_pool.hpp"
#include "../device/cpu.hpp"
#include "../dist/none.hpp"
#include "../io/archive.hpp"
#include "adapted.hpp"
#include "checkpoint.hpp"
#include "inner_loop.hpp"
#include "meta_batch.hpp"
#include "options.hpp"
#include "rule.hpp"
#include "sampler.hpp"
#include "stacked_tasks.hpp"
#include "task.hpp"

namespace metarec::meta {

/// A meta-algorithm: the loop over meta-batches, with a rule for what each task contributes
/// (rule.hpp), as ensmallen's `SGD<UpdatePolicy>` owns the loop and the policy one update.
///
///  - `fit(tasks, options, callbacks...)`: meta-training. Each meta-step draws a meta-batch
///    (task_sampler), has the rule compute every task's contribution in parallel (task i on
///    thread i mod T, each thread with a workspace allocated once), sums them in task order
///    (meta_batch_sum: the result does not depend on the thread count, bit for bit), and takes
///    one step of the outer optimizer on the meta-parameters: the learner's parameters, then
///    the rule's extras (Meta-SGD's rates);
///  - `update(stream, options, callbacks...)`: learning while serving: meta-steps of the same
///    outer optimizer on the tasks that completed since the last call, mixed with tasks
///    replayed from a bounded buffer (stream_options);
///  - `adapt(support, target)`: fast weights for one new user/item/scenario (the rule's
///    adapt()), leaving the meta-learned parameters untouched;
///  - `evaluate(tasks, options, metrics...)`: adapt on each support set, score its query set;
///  - `save`/`load`, `save_checkpoint`/`resume` (checkpoint.hpp).
///
/// The loop calls the rule with a meta::context (the objective, the adapted slice, the inner
/// steps and the inner-loop helpers); the rule never calls the loop. `meta::maml`,
/// `meta_sgd`, `anil`, `melu_maml`, `reptile` and `fine_tune` are this class with their rules.
/// @tparam Learner      a learner (concepts/learner.hpp)
/// @tparam Loss         a loss function (concepts/loss_function.hpp)
/// @tparam Optimizer    the outer optimizer (concepts/optimizer.hpp)
/// @tparam Rule         what a task contributes and how a task adapts (rule.hpp): maml_rule, reptile_rule, ...
/// @tparam Distribution one process (dist::none) or data-parallel over processes (dist::mpi):
///                      each rank computes its share of every meta-batch, the partial sums are
///                      added across ranks, and rank 0 alone runs the callbacks
template <class Learner, class Loss, class Optimizer, class Rule, class Distribution = dist::none>
class algorithm {
    static_assert(check_learner<Learner>());

public:
    using learner_type = Learner;                                            //!< the learner
    using loss_type = Loss;                                                  //!< the loss function
    using optimizer_type = Optimizer;                                        //!< the outer optimizer
    using rule_type = Rule;                                                  //!< the rule
    using scalar_type = typename Learner::scalar_type;                       //!< the learner's scalar
    using device_type = typename Learner::device_type;                       //!< the learner's device policy
    using input_type = typename Learner::input_type;                         //!< what the learner reads (a batch)
    using task_type = task<input_type, scalar_type>;                         //!< a task: support and query sets
    using vector_type = typename device_type::template vector<scalar_type>;  //!< a device buffer
    using context_type = context<Learner, Loss>;                             //!< what the rule sees of the algorithm
    static_assert(check_loss_function<Loss, scalar_type, device_type>());
    static_assert(check_optimizer<Optimizer, scalar_type, device_type>());
    static_assert(check_rule<Rule, Learner, Loss>());
    using options_type = typename Rule::options_type;  //!< options of the constructor (the rule's)
    using thread_workspace = typename Rule::workspace;  //!< scratch memory of one thread (the rule's)

    /// @param learner the learner; its parameters are the initialization theta
    /// @param options the rule's options: inner steps, meta-batch, threads, seed and its own
    /// @param outer   the outer optimizer (default: the rule's `outer_lr` when it has one)
    /// @param loss    the loss
    explicit algorithm(Learner learner, options_type options = {}, Optimizer outer = default_outer(), Loss loss = {})
        : learner_(std::move(learner)), loss_(std::move(loss)), outer_(std::move(outer)), options_(options),
          range_(checked_range(learner_, options_)), pool_(std::make_unique<detail::thread_pool>(options_.threads)),
          rule_(make_rule(options_, ctx())) {
        run_.theta_state = optim::make_state<scalar_type, device_type>(outer_, learner_.parameter_count());
        run_.stream.rng = detail::rng(stream_seed(options_.seed));
    }

    //! the learner, whose parameters() are the meta-learned initialization
    const Learner& learner() const noexcept { return learner_; }
    /// The learner, mutable (e.g. to load or set its parameters). Each call counts as a change
    /// of the meta-parameters (version()): change them through the reference of a call made
    /// after the last adapt(), not one kept from before it.
    Learner& learner() noexcept {
        ++version_;
        return learner_;
    }
    //! the loss
    const Loss& loss() const noexcept { return loss_; }
    //! the outer optimizer
    const Optimizer& outer_optimizer() const noexcept { return outer_; }
    //! the options
    const options_type& options() const noexcept { return options_; }
    //! the rule
    const Rule& rule() const noexcept { return rule_; }
    //! Meta-SGD's learned inner rates, one per adapted parameter (device memory); null for MAML
    const scalar_type* inner_rates() const noexcept requires requires(const Rule& r) { r.inner_rates(); }
    { return rule_.inner_rates(); }
    //! the adapted slice of the learner's parameters
    parameter_range adapted_range() const noexcept { return range_; }
    //! meta-steps taken so far (over every fit() call)
    std::int64_t steps() const noexcept { return run_.steps; }
    /// The version of the meta-parameters: it grows with every change (a meta-step, restore(),
    /// load(), resume(), a call of the mutable learner()). An `adapted` made at another
    /// version (adapted::version()) holds the adapted parameters of an older model; the next
    /// adapt() into it copies the whole current model again.
    std::uint64_t version() const noexcept { return version_; }
    //! the distribution policy (dist::none: one process)
    const Distribution& distribution() const noexcept { return dist_; }
    //! sets the distribution policy, e.g. `dist::mpi{communicator}`; before fit()
    void distribute(Distribution distribution) { dist_ = std::move(distribution); }
    //! number of meta-parameters: the learner's, then the rule's extras (Meta-SGD rates)
    index meta_parameter_count() const { return learner_.parameter_count() + extra_count(); }

    /// Meta-trains on `tasks`. Returns what happened; callbacks (see callbacks.hpp) observe
    /// every step and epoch and may stop training. After resume(), continues the run the
    /// checkpoint was taken from (same tasks, options and callbacks) where it stopped.
    template <class... Callbacks>
    callbacks::fit_end_info fit(std::span<const task_type> tasks, fit_options options = {}, Callbacks&&... cbs);

    //! fit() over a vector of tasks
    template <class... Callbacks>
    callbacks::fit_end_info fit(const std::vector<task_type>& tasks, fit_options options = {}, Callbacks&&... cbs) {
        return fit(std::span<const task_type>(tasks), options, std::forward<Callbacks>(cbs)...);
    }

    /// Learning while serving: meta-trains on the tasks of `stream` that completed since the
    /// last update(), as they arrive. `stream` is every task streamed so far, oldest first (a
    /// log the caller appends to; its views must stay valid as for fit()): positions
    /// 0 .. streamed()-1 were streamed by earlier calls, the rest are new. With B =
    /// meta_batch and n new tasks, takes `ceil(passes * n / k)` meta-steps of the outer
    /// optimizer (its state continues fit()'s), each on `k = B - floor(replay_share * B)` new
    /// tasks (cycling in arrival order) and up to `B - k` drawn without replacement from the
    /// replay buffer; then the new tasks enter the buffer, a uniform sample of `replay_capacity`
    /// of every task streamed (reservoir sampling). Only the new tasks and those in
    /// replay_buffer() are read: a caller bounding memory may release the others' data.
    ///
    /// Callbacks see every meta-step (on_step_end; true ends this update early, its new tasks
    /// still entering the buffer) and the end (on_fit_end): callbacks::checkpoint saves a
    /// checkpoint, and after resume() the next
    /// update() over the same stream finishes the interrupted one, ending with the
    /// meta-parameters of an uninterrupted run, bit for bit. Callbacks with a state
    /// (early_stopping) are refused: a stream has no epochs to watch.
    /// @code
    /// std::vector<task> log;                       // grows as users finish their sessions
    /// algo.fit(past, {.epochs = 20});
    /// for (auto day : days) {
    ///     log.insert(log.end(), day.begin(), day.end());
    ///     algo.update(log, {.replay_capacity = 512}, callbacks::checkpoint{"stream.ckpt", 50});
    /// }
    /// @endcode
    template <class... Callbacks>
    stream_result update(std::span<const task_type> stream, stream_options options = {}, Callbacks&&... cbs);

    //! update() over a vector of tasks
    template <class... Callbacks>
    stream_result update(const std::vector<task_type>& stream, stream_options options = {}, Callbacks&&... cbs) {
        return update(std::span<const task_type>(stream), options, std::forward<Callbacks>(cbs)...);
    }
    //! tasks streamed by update() so far (the stream's positions 0 .. streamed()-1)
    index streamed() const noexcept { return run_.stream.seen; }
    //! the replay buffer: positions in the stream of the tasks update() may replay
    std::span<const index> replay_buffer() const noexcept { return run_.stream.buffer; }

    /// Fast weights for a new user (or item, or scenario) from its support set; the
    /// meta-learned parameters are not modified.
    adapted<Learner> adapt(const input_type& support, const scalar_type* target, adapt_options options = {}) const {
        return adapt(learner_.parameters(), support, target, options);
    }

    /// As adapt(), starting from `initial` (learner().parameter_count() numbers, device
    /// memory) instead of the meta-learned parameters: e.g. those with a new item's generated id embedding written in
    /// (recsys::meta_embedding::initialize).
    adapted<Learner> adapt(const scalar_type* initial, const input_type& support, const scalar_type* target,
                           adapt_options options = {}) const {
        if (support.size() <= 0) throw std::invalid_argument("metarec: adapt: the support set is empty");
        const context_type c = ctx();
        auto tw = adapt_workspace(c);
        vector_type fast(learner_.parameter_count());
        device_type::copy(learner_.parameter_count(), initial, fast.data());
        rule_.adapt(c, support, target, steps_of(options), tw, fast.data());
        adapted<Learner> out(learner_, std::move(fast));
        out.scratch_ = std::move(tw);
        out.version_ = initial == learner_.parameters() ? version_ : unversioned;
        return out;
    }

    /// Re-adapts `personal` (returned by adapt() of this algorithm) to a new support set in
    /// place: the same parameters as `personal = adapt(support, target, options)`, without
    /// allocating once `personal` has served a request as large. For request-time serving:
    /// one `adapted` per serving thread, reused for every request. Only the adapted slice is
    /// copied from the meta-parameters (the rest of `personal` already holds them) while
    /// `personal.version() == version()`; after a change of the model, the whole vector.
    /// @code
    /// auto personal = algo.adapt(first.support, first.ratings);             // allocates
    /// for (const auto& r : requests) {
    ///     algo.adapt(r.support, r.ratings, personal);                       // no allocation
    ///     personal.predict(r.candidates, scores.data());
    /// }
    /// @endcode
    void adapt(const input_type& support, const scalar_type* target, adapted<Learner>& personal,
               adapt_options options = {}) const {
        adapt(learner_.parameters(), support, target, personal, options);
    }

    //! re-adapts `personal` in place from `initial`, as adapt(initial, support, target, options)
    void adapt(const scalar_type* initial, const input_type& support, const scalar_type* target,
               adapted<Learner>& personal, adapt_options options = {}) const {
        if (support.size() <= 0) throw std::invalid_argument("metarec: adapt: the support set is empty");
        if (personal.learner_ != &learner_)
            throw std::invalid_argument("metarec: adapt: the adapted model comes from another algorithm");
        const context_type c = ctx();
        auto* tw = std::any_cast<thread_workspace>(&personal.scratch_);
        if (!tw) tw = &personal.scratch_.template emplace<thread_workspace>(adapt_workspace(c));
        if (initial != learner_.parameters()) {  // another starting point: all of it, and no version
            device_type::copy(learner_.parameter_count(), initial, personal.params_.data());
            personal.version_ = unversioned;
        } else if (personal.version_ == version_) {  // outside the slice, personal holds these meta-parameters
            device_type::copy(range_.size, learner_.parameters() + range_.offset, personal.params_.data() + range_.offset);
        } else {
            device_type::copy(learner_.parameter_count(), learner_.parameters(), personal.params_.data());
            personal.version_ = version_;
        }
        rule_.adapt(c, support, target, steps_of(options), *tw, personal.params_.data());
    }

    /// Adapts on each task's support set and scores its query set: the mean query loss, and
    /// the mean of each metric, a callable `double(const S* pred, const S* target, index rows,
    /// index n)` reading host copies of the query predictions and targets (eval/metrics.hpp
    /// has MAE, RMSE, nDCG\@k, HR\@k, Recall\@k, AUC). A metric returning NaN for a task whose
    /// loss is finite is undefined there and left out of its mean (`metric_tasks` counts).
    template <class... Metrics>
    evaluation evaluate(std::span<const task_type> tasks, adapt_options options = {}, Metrics... metrics) const;

    //! evaluate() over a vector of tasks
    template <class... Metrics>
    evaluation evaluate(const std::vector<task_type>& tasks, adapt_options options = {}, Metrics... metrics) const {
        return evaluate(std::span<const task_type>(tasks), options, metrics...);
    }

    /// One task's contribution to the meta-gradient, as fit() computes it: `out` (of
    /// meta_parameter_count()) receives the gradient of the task's meta-objective (MAML: the
    /// query loss after adaptation; Reptile: theta - phi; fine_tune: the pooled loss) with
    /// respect to the meta-parameters. Returns the task's loss. For custom training loops
    /// and for checking the rules.
    double meta_gradient(const task_type& task, scalar_type* out) {
        check_tasks(std::span<const task_type>(&task, 1), "meta_gradient");
        const context_type c = ctx();
        auto ws = rule_.make_workspace(c);
        device_type::fill(meta_parameter_count(), scalar_type(0), out);  // a sparse task_gradient writes its ranges
        const task_result r = rule_.task_gradient(c, task, ws, out);
        device_type::scal(meta_parameter_count(), scalar_type(1.0 / r.weight), out);
        return r.loss;
    }

    /// The meta-parameters (learner parameters, then the rule's extras), on the host: what
    /// early stopping keeps of the best epoch.
    std::vector<scalar_type> snapshot() const {
        const index p = learner_.parameter_count(), e = extra_count();
        std::vector<scalar_type> out(std::size_t(p + e));
        device_type::to_host(p, learner_.parameters(), out.data());
        if (e > 0) device_type::to_host(e, extras(), out.data() + p);
        return out;
    }
    //! restores meta-parameters taken by snapshot()
    void restore(const std::vector<scalar_type>& saved) {
        const index p = learner_.parameter_count(), e = extra_count();
        if (index(saved.size()) != p + e)
            throw std::invalid_argument("metarec: restore: the snapshot has " + std::to_string(saved.size()) +
                                        " values, the algorithm " + std::to_string(p + e));
        device_type::to_device(p, saved.data(), learner_.parameters());
        if (e > 0) device_type::to_device(e, saved.data() + p, extras());
        ++version_;
    }

    /// Saves the meta-learned model to `path`: the learner's parameters, the rule's learned
    /// extras (Meta-SGD rates) and the configuration they belong to (scalar type, the
    /// learner's layers and input shape, the adapted slice, and `extra`: e.g. the feature
    /// schema). What a serving program load()s. Written atomically (io/archive.hpp).
    void save(const std::filesystem::path& path, const io::configuration& extra = {}) const {
        if (dist_.rank() != 0) return;
        io::archive a(path.string());
        write_model(a, learner_, extras(), extra_count(), file_configuration(learner_, identity(), "model", extra));
        a.save(path);
    }

    /// Loads a model written by save() (or the model part of a checkpoint) into this
    /// algorithm. A data_error names the file and the reason when it is missing, truncated,
    /// corrupted, or describes another model (scalar type, layers, shape, adapted slice,
    /// extras, or a key of `extra` that differs); nothing is changed then.
    void load(const std::filesystem::path& path, const io::configuration& extra = {}) {
        const auto a = io::archive::load(path);
        const auto mine = file_configuration(learner_, identity(), "model", extra);
        restore(read_model<scalar_type>(a, mine, learner_.parameter_count(), extra_count(), false));
    }

    /// Saves everything a meta-training run needs to continue bit for bit: the model, the
    /// outer optimizer's state, the task sampler's generator and order, the step and epoch
    /// counters and, during fit(), the position in the run and the state of the callbacks
    /// that have one (early_stopping). See callbacks::checkpoint to take one every n steps.
    void save_checkpoint(const std::filesystem::path& path) const {
        if (dist_.rank() != 0) return;
        io::archive a(path.string());
        write_model(a, learner_, extras(), extra_count(), file_configuration(learner_, identity(), "checkpoint", {}));
        write_run(a, run_);
        if (save_callbacks_) save_callbacks_(a);
        a.save(path);
    }

    /// Loads a checkpoint written by save_checkpoint(): the next fit(), given the same tasks,
    /// options and callbacks, continues that run where the checkpoint was taken and ends with
    /// the meta-parameters an uninterrupted run would have (bit for bit). A data_error when
    /// the file is not a complete checkpoint of this algorithm; nothing is changed then.
    void resume(const std::filesystem::path& path);

private:
    static Optimizer default_outer() {
        Optimizer outer{};
        if constexpr (requires { Rule::outer_lr; outer.lr = Rule::outer_lr; }) outer.lr = Rule::outer_lr;
        return outer;
    }
    // the adapted slice, after checking the options the loop reads
    static parameter_range checked_range(const Learner& learner, const options_type& options) {
        if (options.meta_batch < 1) throw std::invalid_argument("metarec: the meta-batch size must be >= 1");
        if (options.threads < 1) throw std::invalid_argument("metarec: the thread count must be >= 1");
        if (options.inner_steps < 0) throw std::invalid_argument("metarec: inner_steps must be >= 0");
        const parameter_range range = rule_adaptation<Rule>::type::select(learner);
        if (range.offset < 0 || range.size <= 0 || range.offset + range.size > learner.parameter_count())
            throw std::invalid_argument("metarec: the adapted slice is empty or outside the parameters");
        return range;
    }
    static Rule make_rule(const options_type& options, const context_type& c) {
        if constexpr (std::is_constructible_v<Rule, const options_type&, const context_type&>) return Rule(options, c);
        else return Rule(options);
    }
    context_type ctx() const { return context_type(learner_, loss_, range_, options_.inner_steps); }
    // the workspace of adapt(): the rule's make_adapt_workspace() where it has one (no buffers
    // of meta-training's backward sweep), else its make_workspace()
    thread_workspace adapt_workspace(const context_type& c) const {
        if constexpr (requires { rule_.make_adapt_workspace(c); })
            return rule_.make_adapt_workspace(c);
        else
            return rule_.make_workspace(c);
    }
    model_identity identity() const {
        std::string_view optimizer;
        if constexpr (requires { Optimizer::name; }) optimizer = Optimizer::name;
        return {Rule::name, optimizer, options_.meta_batch, options_.inner_steps, options_.seed, range_,
                extra_count()};
    }
    index extra_count() const noexcept {
        if constexpr (requires { rule_.extra_count(); }) return rule_.extra_count();
        else return 0;
    }
    scalar_type* extras() noexcept {
        if constexpr (requires { rule_.extras(); }) return rule_.extras();
        else return nullptr;
    }
    const scalar_type* extras() const noexcept {
        if constexpr (requires { rule_.extras(); }) return rule_.extras();
        else return nullptr;
    }
    int steps_of(adapt_options options) const { return options.steps >= 0 ? options.steps : options_.inner_steps; }

    // `first`: the position of tasks[0] in what the caller passed (update(): the new tasks)
    static void check_tasks(std::span<const task_type> tasks, const char* where, index first = 0) {
        if (tasks.empty()) throw std::invalid_argument(std::string("metarec: ") + where + ": no tasks");
        for (std::size_t i = 0; i < tasks.size(); ++i)
            if (tasks[i].support.size() <= 0 || tasks[i].query.size() <= 0)
                throw std::invalid_argument(std::string("metarec: ") + where + ": task " +
                                            std::to_string(first + index(i)) + " (key " + std::to_string(tasks[i].key) +
                                            ") has an empty support or query set");
            else if (!tasks[i].support_target || !tasks[i].query_target)
                throw std::invalid_argument(std::string("metarec: ") + where + ": task " +
                                            std::to_string(first + index(i)) + " (key " + std::to_string(tasks[i].key) +
                                            ") has no support or query targets");
    }

    void prepare_fit() {
        const index e = extra_count();
        const context_type c = ctx();
        for (int t = int(workspaces_.size()); t < pool_->size(); ++t) workspaces_.push_back(rule_.make_workspace(c));
        sum_.prepare(options_.meta_batch, learner_.parameter_count() + e, pool_->size());
        if (e > 0 && run_.extra_state.buffer.size() == 0)
            run_.extra_state = optim::make_state<scalar_type, device_type>(outer_, e);
    }

    double meta_step(std::span<const task_type> tasks, std::span<const index> batch, std::span<const index> order,
                     non_finite policy, std::int64_t& skipped);
    bool batched_step(std::span<const task_type> tasks, std::span<const index> batch, std::span<const index> order,
                      index mine, index width, step_totals& totals);
    void stream_batch(index replay_slots);
    void stream_finish();
    void outer_step(optim::state<scalar_type, device_type>& st, scalar_type* theta, const scalar_type* grad, index n,
                    std::span<const parameter_range> touched);
    // The element-wise work of a meta-step over the parameter axis (optim::one_part's
    // protocol: `parts(n, update[, work])` calls `update(offset, size)` on disjoint parts
    // covering [0, n)): on the CPU, one part per thread, each whole blocks of
    // optim::part_granularity values (the CPU kernels' blocks, so that every value is
    // computed as the whole vector computes it, bit for bit), of equal size or, given the
    // cumulative `work` of the blocks, of about equal work; on another device, one part.
    auto parts() const {
        if constexpr (std::is_base_of_v<device::basic_cpu<device_type>, device_type>) {
            return [this](index size, const auto& update, std::span<const index> work = {}) {
                constexpr index granularity = optim::part_granularity;
                const index blocks = (size + granularity - 1) / granularity;
                const index count = std::min(index(pool_->size()), blocks);
                if (count <= 1) return update(index(0), size);
                const auto start = [&](index c) {  // the first value of part c (c = count: size)
                    if (work.empty()) return std::min(size, blocks * c / count * granularity);
                    const auto block = std::lower_bound(work.begin(), work.end(), work.back() * c / count);
                    return std::min(size, index(block - work.begin()) * granularity);
                };
                pool_->run(count, [&](index c, int) {
                    const index begin = start(c), end = c + 1 == count ? size : start(c + 1);
                    if (end > begin) update(begin, end - begin);
                });
            };
        } else {
            return optim::one_part{};
        }
    }

    Learner learner_;
    Loss loss_;
    Optimizer outer_;
    options_type options_;
    parameter_range range_;
    std::unique_ptr<detail::thread_pool> pool_;
    Rule rule_;
    run_state<scalar_type, device_type> run_;        // what a checkpoint saves
    std::vector<thread_workspace> workspaces_;        // per thread
    meta_batch_sum<scalar_type, device_type> sum_;        // the tasks' meta-gradients and their sum
    // a task-batched meta-step: this rank's tasks' indices, their meta-gradients and losses;
    // the epoch's task order on the device, and the fit() and epoch it is for
    using index_vector = typename device_type::template vector<index>;
    std::vector<index> batch_indices_;
    std::vector<index> stream_batch_, stream_draw_;  // update(): the step's tasks; the buffer slots drawn
    std::vector<scalar_type> batch_host_losses_;
    vector_type batch_output_;
    index_vector device_order_;
    std::uint64_t fit_generation_ = 0, order_generation_ = 0;
    std::int64_t order_epoch_ = -1;
    Distribution dist_{};
    std::uint64_t version_ = 0;                         // of the meta-parameters: see version()
    // the version of an adapted started from other parameters (never the model's)
    static constexpr std::uint64_t unversioned = std::numeric_limits<std::uint64_t>::max();
    bool resuming_ = false;                             // resume() was called: the next fit() continues
    std::optional<io::archive> pending_;                // resume(): the checkpoint, for the callbacks' states
    std::function<void(io::archive&)> save_callbacks_;  // during fit(): saves the callbacks' states
};

}  // namespace metarec::meta

#include "algorithm_impl.hpp"
