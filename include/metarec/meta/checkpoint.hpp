// metarec: what a meta-algorithm writes and reads: model files, checkpoints of a run, callbacks' states.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../callbacks/callbacks.hpp"
#include "../config.hpp"
#include "../detail/random.hpp"
#include "../io/archive.hpp"
#include "../io/configuration.hpp"
#include "../optim/state.hpp"
#include "sampler.hpp"

namespace metarec::meta {

/// Where fit() stands in its run: what a checkpoint needs to continue it.
struct run_position {
    int epoch = 0;                      //!< the current epoch
    index batch = 0;                    //!< the next meta-batch of the epoch
    double epoch_loss = 0;              //!< the sum of the epoch's step losses so far
    std::int64_t epoch_steps = 0;       //!< the epoch's meta-steps so far
    bool shuffled = false;              //!< the epoch's task order is drawn
    bool finished = false;              //!< the run ended (on_fit_end was reached)
    callbacks::fit_end_info result{};   //!< what fit() returns, so far
};

//! the seed of update()'s generator, from the algorithm's seed (apart from the task sampler's)
constexpr std::uint64_t stream_seed(std::uint64_t seed) noexcept { return seed ^ 0x5deece66dull; }

/// What update() keeps between calls and a checkpoint saves: the replay buffer (positions in
/// the stream, a uniform sample of the tasks streamed so far), its generator, and, while an
/// update() runs, where it stands.
struct stream_state {
    detail::rng rng;                 //!< draws the replayed tasks and the reservoir's replacements
    std::vector<index> buffer;       //!< the replay buffer: positions in the stream
    index capacity = -1;             //!< the buffer's capacity (-1: before the first update())
    index seen = 0;                  //!< tasks streamed so far: positions 0 .. seen-1
    bool active = false;             //!< an update() is under way (a checkpoint taken during it)
    index first = 0;                 //!< the running update()'s new tasks: positions first .. last-1
    index last = 0;                  //!< one past its last new task
    std::int64_t step = 0;           //!< its meta-steps taken
    std::int64_t steps = 0;          //!< its meta-steps in all
    index replayed = 0;              //!< its replayed tasks so far
    double loss = 0;                 //!< the sum of its step losses so far
    std::int64_t skipped_tasks = 0;  //!< its tasks left out so far (non_finite::skip_task)
};

/// What a meta-training run keeps between meta-steps, and a checkpoint saves: the outer
/// optimizer's states, the step count, the task sampler and the position in the run.
/// @tparam S      the scalar
/// @tparam Device the device policy
template <class S, class Device>
struct run_state {
    optim::state<S, Device> theta_state;  //!< the outer optimizer's, on the learner's parameters
    optim::state<S, Device> extra_state;  //!< the outer optimizer's, on the rule's extras
    std::int64_t steps = 0;               //!< meta-steps taken (over every fit() call)
    std::unique_ptr<task_sampler> sampler;  //!< the meta-batches' sampler (null before the first fit())
    index sampler_count = 0;              //!< the tasks it samples from
    run_position position;                //!< where fit() stands
    stream_state stream;                  //!< update()'s replay buffer and position
};

/// What a file written by a meta-algorithm must agree on to be read back into it.
struct model_identity {
    std::string_view algorithm;  //!< the rule's name
    std::string_view optimizer;  //!< the outer optimizer's name (empty: none)
    index meta_batch = 0;        //!< tasks per meta-step
    int inner_steps = 0;         //!< inner steps at training time
    std::uint64_t seed = 0;      //!< the task sampler's seed
    parameter_range adapted{};   //!< the adapted slice
    index extras = 0;            //!< the rule's meta-parameters beyond the learner's
};

/// The configuration a file of `kind` ("model" or "checkpoint") holds for `learner` and
/// `id`: scalar type, parameter count, the learner's layers and shape, the adapted slice, the
/// extras, `extra` (e.g. the feature schema) and, for a checkpoint, what a run must keep to
/// continue identically.
template <class Learner>
io::configuration file_configuration(const Learner& learner, const model_identity& id, std::string_view kind,
                                     const io::configuration& extra) {
    io::configuration c;
    c.set("kind", std::string(kind));
    for (const auto& [key, value] : extra.entries()) c.set(key, value);  // first: e.g. the features explain a shape
    c.set("scalar", sizeof(typename Learner::scalar_type) == 4 ? "float32" : "float64");
    c.set("parameters", std::to_string(learner.parameter_count()));
    if constexpr (requires { learner.configuration(); })
        for (const auto& [key, value] : learner.configuration()) c.set("learner." + key, value);
    c.set("adapted", std::to_string(id.adapted.offset) + "+" + std::to_string(id.adapted.size));
    c.set("extras", std::to_string(id.extras));
    if (kind == "checkpoint") {
        c.set("algorithm", std::string(id.algorithm));
        if (!id.optimizer.empty()) c.set("optimizer", std::string(id.optimizer));
        c.set("meta_batch", std::to_string(id.meta_batch));
        c.set("inner_steps", std::to_string(id.inner_steps));
        c.set("seed", std::to_string(id.seed));
    }
    return c;
}

//! `n` values of device memory at `p`, on the host
template <class Device, class S>
std::vector<S> host_copy(const S* p, index n) {
    std::vector<S> out(static_cast<std::size_t>(n));
    if (n > 0) Device::to_host(n, p, out.data());
    return out;
}

/// Writes the configuration (`kind`: "model" or "checkpoint"), the learner's parameters and
/// the `e` extras (device memory) to `a`.
template <class Learner>
void write_model(io::archive& a, const Learner& learner, const typename Learner::scalar_type* extras, index e,
                 const io::configuration& configuration) {
    using D = typename Learner::device_type;
    a.put_text("config", configuration.text());
    a.put("parameters", host_copy<D>(learner.parameters(), learner.parameter_count()));
    a.put("extras", host_copy<D>(extras, e));
}

/// Checks the configuration of `a` against `mine` (without its `kind` unless `checkpoint`:
/// a model loads from a model file or from a checkpoint) and returns the meta-parameters it
/// holds (the learner's `p`, then the extras), all finite; a data_error otherwise.
template <class S>
std::vector<S> read_model(const io::archive& a, io::configuration mine, index p, index e, bool checkpoint) {
    const auto theirs = io::configuration::read(a);
    if (!checkpoint) {
        auto without_kind = io::configuration{};
        for (const auto& [key, value] : mine.entries())
            if (key != "kind") without_kind.set(key, value);
        mine = std::move(without_kind);
    }
    theirs.require_same(mine, a, "algorithm");
    std::vector<S> saved(static_cast<std::size_t>(p + e));
    a.get_into("parameters", std::span<S>(saved.data(), std::size_t(p)));
    a.get_into("extras", std::span<S>(saved.data() + p, saved.size() - std::size_t(p)));
    for (std::size_t i = 0; i < saved.size(); ++i)
        if (!std::isfinite(saved[i])) a.fail("meta-parameter " + std::to_string(i) + " is not finite");
    return saved;
}

/// Writes the run's state to a checkpoint: the outer optimizer's states, the step count, the
/// sampler's generator and order, and the position in the run.
template <class S, class Device>
void write_run(io::archive& a, const run_state<S, Device>& run) {
    a.put_scalar("optimizer.steps", std::int64_t(run.theta_state.steps));
    a.put("optimizer.state", host_copy<Device>(run.theta_state.buffer.data(), index(run.theta_state.buffer.size())));
    a.put_scalar("optimizer.extra_steps", std::int64_t(run.extra_state.steps));
    a.put("optimizer.extra_state",
          host_copy<Device>(run.extra_state.buffer.data(), index(run.extra_state.buffer.size())));
    a.put_scalar("steps", std::int64_t(run.steps));
    if (run.sampler) {
        const auto [words, order] = run.sampler->state();
        a.put("sampler.rng", std::span<const std::uint64_t>(words));
        a.put("sampler.order", std::vector<std::int64_t>(order.begin(), order.end()));
    }
    // the file keeps the position as one record (the layout of the files written so far)
    const auto& at = run.position;
    const auto& r = at.result;
    a.put("position", std::vector<std::int64_t>{at.epoch, at.batch, at.epoch_steps, at.shuffled, at.finished, r.steps,
                                                r.epochs, r.stopped_early, r.skipped_tasks});
    a.put_scalar("position.epoch_loss", at.epoch_loss);
    const auto& st = run.stream;
    if (st.capacity >= 0) {
        a.put("stream.rng", std::span<const std::uint64_t>(st.rng.state_words()));
        a.put("stream.buffer", std::vector<std::int64_t>(st.buffer.begin(), st.buffer.end()));
        a.put("stream.position", std::vector<std::int64_t>{st.capacity, st.seen, st.active, st.first, st.last, st.step,
                                                           st.steps, st.replayed, st.skipped_tasks});
        a.put_scalar("stream.loss", st.loss);
    }
}

/// The stream's state in a checkpoint written by write_run(): a fresh one (its generator
/// seeded from `seed`) when the run never streamed; a data_error when it is malformed.
inline stream_state read_stream(const io::archive& a, std::uint64_t seed) {
    stream_state st;
    st.rng = detail::rng(stream_seed(seed));
    if (!a.contains("stream.position")) return st;
    const auto record = a.get<std::int64_t>("stream.position");
    const auto words = a.get<std::uint64_t>("stream.rng");
    const auto buffer = a.get<std::int64_t>("stream.buffer");
    if (record.size() != 9 || words.size() != 4 || (words[0] | words[1] | words[2] | words[3]) == 0)
        a.fail("the stream's state is malformed");
    st.rng.set_state({words[0], words[1], words[2], words[3]});
    st.capacity = index(record[0]);
    st.seen = index(record[1]);
    st.active = record[2] != 0;
    st.first = index(record[3]);
    st.last = index(record[4]);
    st.step = record[5];
    st.steps = record[6];
    st.replayed = index(record[7]);
    st.skipped_tasks = record[8];
    st.buffer.assign(buffer.begin(), buffer.end());
    const bool positions_ok =
        std::all_of(st.buffer.begin(), st.buffer.end(), [&](index i) { return i >= 0 && i < st.seen; });
    if (st.capacity < 0 || index(st.buffer.size()) > st.capacity || !positions_ok || st.seen < 0 ||
        (st.active && (st.first != st.seen || st.last <= st.first || st.step < 0 || st.step > st.steps)))
        a.fail("the stream's position or replay buffer is malformed");
    st.loss = a.get_scalar<double>("stream.loss");
    return st;
}

/// Reads the run's state written by write_run() into a new run_state for `outer` over `p`
/// parameters and `e` extras, sampling `meta_batch` tasks with `seed`. Reads and checks
/// everything first: a data_error (nothing returned) when a part is missing or malformed.
template <class S, class Device, class Optimizer>
run_state<S, Device> read_run(const io::archive& a, const Optimizer& outer, index p, index e, index meta_batch,
                              std::uint64_t seed) {
    run_state<S, Device> run;
    run.theta_state = optim::make_state<S, Device>(outer, p);
    std::vector<S> theta_buffer(run.theta_state.buffer.size());
    a.get_into("optimizer.state", std::span<S>(theta_buffer));
    const auto extra_buffer = a.get<S>("optimizer.extra_state");
    if (e > 0 && index(extra_buffer.size()) != outer.state_size(e))
        a.fail("section 'optimizer.extra_state' has " + std::to_string(extra_buffer.size()) + " values, " +
               std::to_string(outer.state_size(e)) + " expected");
    const auto record = a.get<std::int64_t>("position");
    if (record.size() != 9) a.fail("section 'position' has " + std::to_string(record.size()) + " values, 9 expected");
    if (a.contains("sampler.order")) {
        const auto order = a.get<std::int64_t>("sampler.order");
        const auto words = a.get<std::uint64_t>("sampler.rng");
        if (order.empty() || words.size() != 4) a.fail("the sampler's state is malformed");
        run.sampler = std::make_unique<task_sampler>(index(order.size()), meta_batch, seed);
        if (!run.sampler->restore({words[0], words[1], words[2], words[3]},
                                  std::vector<index>(order.begin(), order.end())))
            a.fail("the sampler's task order is not a permutation");
    }
    run_position& at = run.position;
    at.epoch = int(record[0]);
    at.batch = index(record[1]);
    at.epoch_steps = record[2];
    at.shuffled = record[3] != 0;
    at.finished = record[4] != 0;
    at.result = {.steps = record[5], .epochs = int(record[6]), .seconds = 0.0, .stopped_early = record[7] != 0,
                 .skipped_tasks = record[8]};
    const index per_epoch = run.sampler ? run.sampler->batches_per_epoch() : 0;
    if (at.epoch < 0 || at.batch < 0 || at.batch > per_epoch || at.epoch_steps < 0 || at.result.steps < 0)
        a.fail("the run's position is malformed");
    at.epoch_loss = a.get_scalar<double>("position.epoch_loss");
    run.theta_state.steps = a.get_scalar<std::int64_t>("optimizer.steps");
    Device::to_device(index(theta_buffer.size()), theta_buffer.data(), run.theta_state.buffer.data());
    if (e > 0) {
        run.extra_state = optim::make_state<S, Device>(outer, e);
        Device::to_device(index(extra_buffer.size()), extra_buffer.data(), run.extra_state.buffer.data());
        run.extra_state.steps = a.get_scalar<std::int64_t>("optimizer.extra_steps");
    }
    run.steps = a.get_scalar<std::int64_t>("steps");
    run.stream = read_stream(a, seed);
    run.sampler_count = run.sampler ? run.sampler->count() : 0;
    return run;
}

//! a callback with a state that checkpoints save (save_state/load_state, and a state_name)
template <class Callback>
concept stateful_callback = requires(Callback& callback, io::archive& out, const io::archive& in) {
    callback.save_state(out, std::string());
    callback.load_state(in, std::string());
};

/// The state of callback `i` of fit() (when it has one: save_state/load_state and a
/// state_name), written to `out` or read from `in`; returns whether it has one.
template <class Callback>
bool callback_state(Callback& callback, int i, io::archive* out, const io::archive* in) {
    if constexpr (stateful_callback<Callback>) {
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

//! the number of callbacks whose state a checkpoint holds
inline int count_callback_sections(const io::archive& a) {
    int n = 0;
    for (const auto& name : a.names()) n += name.starts_with("callback.") && name.ends_with(".kind");
    return n;
}

}  // namespace metarec::meta
