// metarec: the definitions of meta::algorithm: fit(), evaluate(), resume() and the meta-step.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "algorithm.hpp"

namespace metarec::meta {

template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
template <class... Callbacks>
callbacks::fit_end_info algorithm<Learner, Loss, Optimizer, Rule, Distribution>::fit(std::span<const task_type> tasks,
                                                                             fit_options options, Callbacks&&... cbs) {
    static_assert(callbacks::check_callbacks<algorithm, std::remove_reference_t<Callbacks>...>());
    check_tasks(tasks, "fit");
    const index meta_batch = options_.meta_batch;
    if (index(tasks.size()) < meta_batch)
        throw std::invalid_argument("metarec: fit: the meta-batch (" + std::to_string(meta_batch) +
                                    " tasks) is larger than the " + std::to_string(tasks.size()) +
                                    " training tasks");
    if (options.epochs < 0) throw std::invalid_argument("metarec: fit: epochs must be >= 0");
    const bool resumed = std::exchange(resuming_, false);
    if (resumed && run_.sampler && run_.sampler_count != index(tasks.size()))
        throw std::invalid_argument("metarec: fit: the checkpoint resumed from was taken on " +
                                    std::to_string(run_.sampler_count) + " training tasks, fit() got " +
                                    std::to_string(tasks.size()));
    if (!run_.sampler || run_.sampler_count != index(tasks.size())) {
        run_.sampler = std::make_unique<task_sampler>(index(tasks.size()), meta_batch, options_.seed);
        run_.sampler_count = index(tasks.size());
    }
    if (!resumed) run_.position = {};
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
    const auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    const std::int64_t per_epoch = run_.sampler->batches_per_epoch();
    std::int64_t total = per_epoch * options.epochs;
    if (options.max_steps >= 0) total = std::min(total, options.max_steps);
    // distributed: rank 0 alone runs the callbacks; its stop decisions are broadcast
    const bool root = dist_.rank() == 0;
    const auto agreed = [&](bool asked) { return Distribution::distributed ? dist_.broadcast(asked) : asked; };
    auto& at = run_.position;
    auto& result = at.result;
    if (resumed && at.finished) {  // the run had ended: only its end again
        load_callbacks();
        if (root) (callbacks::detail::on_fit_end(cbs, result, *this), ...);
        return result;
    }
    if (root) {
        [[maybe_unused]] const callbacks::fit_begin_info info{options.epochs, per_epoch, total, meta_batch};
        (callbacks::detail::on_fit_begin(cbs, info, *this), ...);
    }
    if (resumed) load_callbacks();
    bool stop = false;
    while (at.epoch < options.epochs && !stop) {
        if (!at.shuffled) run_.sampler->shuffle();
        at.shuffled = true;
        while (at.batch < per_epoch && !stop) {
            if (result.steps == total) {
                stop = true;
                break;
            }
            const auto batch = run_.sampler->batch(at.batch);
            const double loss =
                meta_step(tasks, batch, run_.sampler->state().second, options.on_non_finite, result.skipped_tasks);
            ++at.batch;
            ++result.steps;
            ++at.epoch_steps;
            at.epoch_loss += loss;
            [[maybe_unused]] const callbacks::step_info info{run_.steps, at.epoch, loss, index(batch.size()),
                                                             elapsed()};
            // every callback sees the step, in the order given (a comma fold is sequenced)
            bool asked = false;
            if (root) ((asked = callbacks::detail::on_step_end(cbs, info, *this) || asked), ...);
            if (agreed(asked)) stop = result.stopped_early = true;
        }
        if (at.epoch_steps == 0) break;
        result.epochs = at.epoch + 1;
        [[maybe_unused]] const callbacks::epoch_info info{at.epoch, at.epoch_loss / double(at.epoch_steps),
                                                          run_.steps, elapsed()};
        at = run_position{.epoch = at.epoch + 1, .result = result};
        bool asked = false;
        if (root) ((asked = callbacks::detail::on_epoch_end(cbs, info, *this) || asked), ...);
        if (agreed(asked)) stop = result.stopped_early = true;
    }
    result.seconds = elapsed();
    at.finished = true;
    if (root) (callbacks::detail::on_fit_end(cbs, result, *this), ...);
    if constexpr (Distribution::distributed) {
        // a callback may have changed rank 0's meta-parameters (early stopping restores
        // the best epoch): every rank takes them
        auto saved = snapshot();
        dist_.broadcast(saved.data(), index(saved.size()));
        restore(saved);
    }
    return result;
}

template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
template <class... Callbacks>
stream_result algorithm<Learner, Loss, Optimizer, Rule, Distribution>::update(std::span<const task_type> stream,
                                                                              stream_options options,
                                                                              Callbacks&&... cbs) {
    static_assert(callbacks::check_callbacks<algorithm, std::remove_reference_t<Callbacks>...>());
    static_assert(!(stateful_callback<std::remove_cvref_t<Callbacks>> || ...),
                  "metarec: update() takes no callback with a state (early_stopping): a stream has no epochs "
                  "to watch; evaluate the streamed model on the next period's tasks instead (docs/meta.md, \"Learning "
                  "while serving\")");
    if (options.replay_capacity < 0) throw std::invalid_argument("metarec: update: replay_capacity must be >= 0");
    if (!(options.replay_share >= 0 && options.replay_share < 1))
        throw std::invalid_argument("metarec: update: replay_share must be in [0, 1)");
    if (!(options.passes > 0) || !std::isfinite(options.passes))
        throw std::invalid_argument("metarec: update: passes must be > 0");
    auto& st = run_.stream;
    if (st.capacity >= 0 && st.capacity != options.replay_capacity)
        throw std::invalid_argument("metarec: update: replay_capacity " + std::to_string(options.replay_capacity) +
                                    " differs from the buffer's, " + std::to_string(st.capacity) +
                                    " (fixed by the first update())");
    resuming_ = false;  // a checkpoint taken during update() continues here; one of fit() leaves nothing to do
    pending_.reset();
    const index size = index(stream.size());
    if (size < st.seen)
        throw std::invalid_argument("metarec: update: the stream has " + std::to_string(size) + " tasks, " +
                                    std::to_string(st.seen) + " were streamed before (a stream only grows)");
    if (st.active && size != st.last)
        throw std::invalid_argument(
            "metarec: update: the update under way (resumed from a checkpoint) is over the "
            "stream's first " +
            std::to_string(st.last) + " tasks, this one has " + std::to_string(size) +
            ": call update() with the stream it was given");
    const index slots = options_.meta_batch, replay_slots = index(std::floor(options.replay_share * double(slots)));
    if (!st.active) {
        if (size == st.seen) return {};
        check_tasks(stream.subspan(std::size_t(st.seen)), "update", st.seen);
        const index fresh = size - st.seen;
        st.capacity = options.replay_capacity;
        st.active = true;
        st.first = st.seen;
        st.last = size;
        st.step = 0;
        st.steps = std::int64_t(std::ceil(options.passes * double(fresh) / double(slots - replay_slots)));
        st.replayed = 0;
        st.loss = 0;
        st.skipped_tasks = 0;
    }
    ++fit_generation_;  // the stream grew: a task-batched step prepares its tasks again
    prepare_fit();
    save_callbacks_ = nullptr;
    const auto start = std::chrono::steady_clock::now();
    const bool root = dist_.rank() == 0;
    const auto agreed = [&](bool asked) { return Distribution::distributed ? dist_.broadcast(asked) : asked; };
    bool stop = false;
    while (st.step < st.steps && !stop) {
        stream_batch(replay_slots);
        order_epoch_ = -1;  // a task-batched step uploads this step's tasks
        const double loss = meta_step(stream, stream_batch_, stream_batch_, options.on_non_finite, st.skipped_tasks);
        ++st.step;
        st.loss += loss;
        [[maybe_unused]] const callbacks::step_info info{
            run_.steps, 0, loss, index(stream_batch_.size()),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
        bool asked = false;
        if (root) ((asked = callbacks::detail::on_step_end(cbs, info, *this) || asked), ...);
        stop = agreed(asked);
    }
    const stream_result result{
        .steps = st.step,
        .new_tasks = st.last - st.first,
        .replayed = st.replayed,
        .loss = st.step > 0 ? st.loss / double(st.step) : std::numeric_limits<double>::quiet_NaN(),
        .stopped_early = stop,
        .skipped_tasks = st.skipped_tasks,
        .seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
    stream_finish();
    if (root) {
        [[maybe_unused]] const callbacks::fit_end_info end{result.steps, 0, result.seconds, result.stopped_early,
                                                           result.skipped_tasks};
        (callbacks::detail::on_fit_end(cbs, end, *this), ...);
    }
    return result;
}

// update()'s next meta-batch, in stream_batch_: the running update's new tasks k at a time
// in arrival order (cycling), then up to `replay_slots` buffer entries drawn without
// replacement (a partial Fisher-Yates shuffle of the slots, from the stream's generator).
template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
void algorithm<Learner, Loss, Optimizer, Rule, Distribution>::stream_batch(index replay_slots) {
    auto& st = run_.stream;
    const index fresh = st.last - st.first, k = std::min(options_.meta_batch - replay_slots, fresh);
    stream_batch_.clear();
    for (index j = 0; j < k; ++j) stream_batch_.push_back(st.first + (st.step * k + j) % fresh);
    const index m = index(st.buffer.size()), r = std::min(replay_slots, m);
    stream_draw_.resize(std::size_t(m));
    std::iota(stream_draw_.begin(), stream_draw_.end(), index(0));
    for (index j = 0; j < r; ++j) {
        std::swap(stream_draw_[std::size_t(j)],
                  stream_draw_[std::size_t(j + index(st.rng.below(std::uint64_t(m - j))))]);
        stream_batch_.push_back(st.buffer[std::size_t(stream_draw_[std::size_t(j)])]);
    }
    st.replayed += r;
}

// The end of an update(): its new tasks enter the replay buffer by reservoir sampling (the
// t-th task streamed, 0-based, replaces a uniformly drawn entry with probability
// capacity / (t + 1)), so the buffer is a uniform sample of every task streamed.
template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
void algorithm<Learner, Loss, Optimizer, Rule, Distribution>::stream_finish() {
    auto& st = run_.stream;
    for (index t = st.first; t < st.last; ++t) {
        if (index(st.buffer.size()) < st.capacity) {
            st.buffer.push_back(t);
            continue;
        }
        const auto j = index(st.rng.below(std::uint64_t(t + 1)));
        if (j < st.capacity) st.buffer[std::size_t(j)] = t;
    }
    st.seen = st.last;
    st.active = false;
}

template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
template <class... Metrics>
evaluation algorithm<Learner, Loss, Optimizer, Rule, Distribution>::evaluate(std::span<const task_type> tasks,
                                                                       adapt_options options,
                                                                       Metrics... metrics) const {
    static_assert(
        (std::is_invocable_r_v<double, Metrics&, const scalar_type*, const scalar_type*, index, index> && ...),
        "metarec: every argument of evaluate() after the adapt options must be a metric, callable as "
        "double(const S* pred, const S* target, index rows, index n) on host copies of a task's query "
        "predictions and targets (see docs/concepts/evaluation.md)");
    check_tasks(tasks, "evaluate");
    const context_type c = ctx();
    const index p = learner_.parameter_count(), rows = learner_.output_rows();
    struct per_thread {
        thread_workspace tw;
        typename objective<Learner, Loss>::workspace passes;
        vector_type fast;
        std::vector<scalar_type> host_pred, host_target;
    };
    std::vector<per_thread> local;
    for (int t = 0; t < pool_->size(); ++t)
        local.push_back({rule_.make_workspace(c), c.objective().make_workspace(1), vector_type(p), {}, {}});
    std::vector<std::array<double, sizeof...(Metrics) + 1>> values(tasks.size());  // the loss, the metrics
    pool_->run(index(tasks.size()), [&](index i, int t) {
        auto& l = local[std::size_t(t)];
        const auto& task = tasks[std::size_t(i)];
        device_type::copy(p, learner_.parameters(), l.fast.data());
        rule_.adapt(c, task.support, task.support_target, steps_of(options), l.tw, l.fast.data());
        auto& v = values[std::size_t(i)];
        v[0] = double(c.objective().value(l.fast.data(), task.query, task.query_target, l.passes));
        if constexpr (sizeof...(Metrics) > 0) {
            const index n = task.query.size(), targets = loss_target_rows<Loss>(rows) * n;
            l.host_pred.resize(std::size_t(rows * n));
            l.host_target.resize(std::size_t(targets));
            device_type::to_host(rows * n, l.passes.pred.data(), l.host_pred.data());
            if (targets > 0) device_type::to_host(targets, task.query_target, l.host_target.data());
            const scalar_type* pred = l.host_pred.data();
            const scalar_type* target = l.host_target.data();
            std::size_t m = 1;
            ((v[m++] = double(metrics(pred, target, rows, n))), ...);
        }
    });
    return evaluation::of(values);
}

template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
void algorithm<Learner, Loss, Optimizer, Rule, Distribution>::resume(const std::filesystem::path& path) {
    auto a = io::archive::load(path);
    const auto theirs = io::configuration::read(a);
    if (theirs.find("kind") == nullptr || *theirs.find("kind") != "checkpoint")
        a.fail("not a checkpoint (a model written by save(): load() it instead)");
    const auto mine = file_configuration(learner_, identity(), "checkpoint", {});
    theirs.require_same(mine, a, "algorithm");
    // read everything before changing anything
    const index p = learner_.parameter_count(), e = extra_count();
    auto run = read_run<scalar_type, device_type>(a, outer_, p, e, options_.meta_batch, options_.seed);
    restore(read_model<scalar_type>(a, mine, p, e, true));
    run_ = std::move(run);
    pending_ = std::move(a);
    resuming_ = true;
}

// One outer update from the tasks `batch`; returns the mean task loss. This rank computes
// the tasks i = rank, rank + size, ... (all of them in one process), in parallel on its
// threads; their contributions are summed in task order (so the result does not depend on
// the thread count), then across ranks. A task whose loss or meta-gradient is NaN or
// infinite stops the run (non_finite::stop, on every rank) or is left out (skip_task).
template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
double algorithm<Learner, Loss, Optimizer, Rule, Distribution>::meta_step(std::span<const task_type> tasks,
                                                                          std::span<const index> batch,
                                                                          std::span<const index> order,
                                                                          non_finite policy, std::int64_t& skipped) {
    const index p = learner_.parameter_count(), e = extra_count(), width = p + e;
    const index rank = dist_.rank(), ranks = dist_.size();
    const index mine = rank < index(batch.size()) ? (index(batch.size()) - rank + ranks - 1) / ranks : 0;
    const auto task_of = [&](index m) -> const task_type& {
        return tasks[std::size_t(batch[std::size_t(rank + m * ranks)])];
    };
    for (auto& ws : workspaces_) ws.fast_current = false;  // the meta-parameters changed
    step_totals totals;
    first_non_finite first;
    if (!batched_step(tasks, batch, order, mine, width, totals)) {  // one task at a time
        const context_type c = ctx();
        pool_->run(mine, [&](index m, int t) {
            scalar_type* out = sum_.output(t, width);
            sum_.store(m, t, rule_.task_gradient(c, task_of(m), workspaces_[std::size_t(t)], out), p, e);
        });
        first = sum_.sum(mine, totals, parts());
    }
    if constexpr (Distribution::distributed) sum_.all_reduce(dist_, totals);
    const std::int64_t step = run_.steps + 1;
    if (totals.non_finite > 0 && policy == non_finite::stop) {
        const std::string quantity = first.task < 0 ? "loss or meta-gradient" : first.loss ? "loss" : "meta-gradient";
        const std::int64_t key = first.task < 0 ? -1 : task_of(first.task).key;
        throw non_finite_error(
            step, key, quantity,
            "metarec: fit: step " + std::to_string(step) + ": the " + quantity + " of " +
                (first.task < 0 ? std::string("a task on another rank") : "task key " + std::to_string(key)) +
                " is NaN or infinite (" + std::to_string(std::int64_t(totals.non_finite)) + " of " +
                std::to_string(batch.size()) + " tasks in the step); lower the learning rates, clip the gradients "
                "(the optimizers' clip_norm), or pass fit_options{.on_non_finite = non_finite::skip_task}");
    }
    skipped += std::int64_t(totals.non_finite);
    ++run_.steps;
    const double kept = double(batch.size()) - totals.non_finite;
    if (kept == 0) return std::numeric_limits<double>::quiet_NaN();  // every task skipped: no update
    const auto theta_touched = sum_.scale(totals.weight, p, parts());
    ++version_;  // the meta-parameters change
    outer_step(run_.theta_state, learner_.parameters(), sum_.meta_gradient(), p, theta_touched);
    if (e > 0) outer_.step(run_.extra_state, extras(), sum_.meta_gradient() + p, e);
    std::atomic<bool> finite{true};
    parts()(p, [&](index begin, index size) {
        if (!device_type::all_finite(size, learner_.parameters() + begin)) finite.store(false, std::memory_order_relaxed);
    });
    if (!finite.load() || (e > 0 && !device_type::all_finite(e, extras())))
        throw non_finite_error(step, -1, "meta-parameters",
                               "metarec: fit: step " + std::to_string(step) +
                                   ": the meta-parameters are NaN or infinite after the outer update (the "
                                   "meta-gradient was finite: lower the outer learning rate or clip it)");
    return totals.loss / kept;
}

// The task-batched meta-step (a rule with batched() and batch_gradient(), when batched()
// says so: MAML's and Reptile's task_batching): the `mine` tasks' meta-gradients at once, the
// sum over the tasks on the ctx.batch_shared() parameters they keep once, then each task's
// own parameters and extras, whose sum over the tasks is one batched column sum. A NaN or
// infinity anywhere (a loss, or any part of the result: the shared part cannot tell whose
// it is) makes the per-task path compute the meta-step again, which finds, names and, under
// skip_task, leaves out the tasks concerned. Returns false when the per-task path is to run.
// The tasks reach batch_gradient() as a task_selection: their indices in fit()'s tasks, on
// the host and where the device holds `order`, the host array that `batch` lies in (fit():
// the epoch's task order, uploaded once an epoch, so that the step copies nothing to the
// device; update(): the step's own tasks, uploaded every step); its losses come back in one copy.
template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
bool algorithm<Learner, Loss, Optimizer, Rule, Distribution>::batched_step(std::span<const task_type> tasks,
                                                                           std::span<const index> batch,
                                                                           std::span<const index> order, index mine,
                                                                           index width, step_totals& totals) {
    if constexpr (!requires(Rule& r, const context_type& c, const task_selection<task_type>& s, scalar_type* out) {
                      { r.batched(c) } -> std::convertible_to<bool>;
                      { r.batch_gradient(c, s, out) } -> std::convertible_to<const scalar_type*>;
                  }) {
        (void)tasks, (void)batch, (void)order, (void)mine, (void)width, (void)totals;
        return false;
    } else {
        if (mine == 0) return false;
        const context_type c = ctx();
        if (!rule_.batched(c)) return false;
        if (order_generation_ != fit_generation_ || order_epoch_ != run_.position.epoch) {
            const index N = index(order.size());
            if (index(device_order_.size()) != N) device_order_ = index_vector(N);
            device_type::to_device(N, order.data(), device_order_.data());
            order_generation_ = fit_generation_;
            order_epoch_ = run_.position.epoch;
        }
        const index rank = dist_.rank(), ranks = dist_.size();
        batch_indices_.clear();
        for (index m = 0; m < mine; ++m) batch_indices_.push_back(batch[std::size_t(rank + m * ranks)]);
        const task_selection<task_type> selection{
            tasks, batch_indices_, device_order_.data() + (batch.data() - order.data()) + rank, ranks, fit_generation_};
        const index shared = c.batch_shared(), own = width - shared, size = shared + own * mine;
        if (index(batch_output_.size()) < size) batch_output_ = vector_type(size);
        scalar_type* out = batch_output_.data();
        const scalar_type* device_losses = rule_.batch_gradient(c, selection, out);
        batch_host_losses_.resize(std::size_t(mine));
        device_type::to_host(mine, device_losses, batch_host_losses_.data());
        double* losses = sum_.losses();
        for (index m = 0; m < mine; ++m) losses[m] = double(batch_host_losses_[std::size_t(m)]);
        for (index m = 0; m < mine; ++m)
            if (!std::isfinite(losses[m])) return false;
        if (!device_type::all_finite(size, out)) return false;
        sum_.take_batched(shared, own, mine, out, totals);
        return true;
    }
}

// One step of the outer optimizer. One that takes the touched ranges (optim::adam{.lazy =
// true}: only those change) gets them; any other sees the whole, zero elsewhere, gradient.
// On the CPU, one that takes `parts` (optim::one_part) runs its update on the threads, each
// on its own blocks of the vector (the update reads and writes several arrays as long as the
// parameters).
template <class Learner, class Loss, class Optimizer, class Rule, class Distribution>
void algorithm<Learner, Loss, Optimizer, Rule, Distribution>::outer_step(optim::state<scalar_type, device_type>& st,
                                                                         scalar_type* theta, const scalar_type* grad,
                                                                         index n,
                                                                         std::span<const parameter_range> touched) {
    constexpr bool on_cpu = std::is_base_of_v<device::basic_cpu<device_type>, device_type>;
    if constexpr (on_cpu && requires { outer_.step(st, theta, grad, n, touched, parts()); })
        outer_.step(st, theta, grad, n, touched, parts());
    else if constexpr (requires { outer_.step(st, theta, grad, n, touched); })
        outer_.step(st, theta, grad, n, touched);
    else
        outer_.step(st, theta, grad, n);
}

}  // namespace metarec::meta
