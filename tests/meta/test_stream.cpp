// metarec tests: learning while serving (meta::algorithm::update): the meta-batches it takes,
// its replay buffer, its refusals, and checkpoints that resume a killed stream bit for bit.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <metarec/callbacks/standard.hpp>
#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/optim/optim.hpp>

#include "../support/error_of.hpp"
#include "../support/tasks.hpp"

namespace mr = metarec;
namespace nn = metarec::nn;
namespace meta = metarec::meta;
namespace fs = std::filesystem;
using metarec::test::task_pool;

namespace {

using net =
    nn::model<nn::sequential<nn::concat<nn::embedding<3, 0>, nn::dense<2>>, nn::dense<5>, nn::tanh, nn::dense<1>>,
              double>;
using sgd_algo = meta::meta_sgd<net, mr::loss::mse, mr::optim::adam>;
using task_view = sgd_algo::task_type;

const nn::input_shape shape{.dense = 2, .categorical = {10}};
const meta::maml_options options{
    .inner_lr = 0.05, .inner_steps = 2, .order = 2, .meta_batch = 4, .threads = 1, .seed = 3};
// 4 tasks a meta-batch: 2 new, 2 replayed; a buffer of 6 (replacements from the second period on)
const meta::stream_options streaming{.replay_capacity = 6, .replay_share = 0.5};

sgd_algo make() { return sgd_algo(net{shape, 1}, options, {.lr = 2e-2}); }

/// a fresh directory under the system's temporary directory, removed at the end
struct scratch_dir {
    fs::path path;
    scratch_dir() {
        path =
            fs::temp_directory_path() / ("metarec-stream-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

/// a callback that kills its own process (SIGKILL, no clean-up) at the end of meta-step `at`
struct kill_at_step {
    std::int64_t at;
    void on_step_end(const mr::callbacks::step_info& info) const {
        if (info.step == at) std::raise(SIGKILL);
    }
};

/// records the tasks of every meta-step's batch (through the losses it cannot see them:
/// the steps' task counts)
struct step_sizes {
    std::vector<mr::index> tasks;
    void on_step_end(const mr::callbacks::step_info& info) { tasks.push_back(info.tasks); }
};

/// The serving loop: meta-train on the past (unless the checkpoint resumed from was taken
/// after it), then stream the periods' tasks, each period a longer prefix of `stream`.
template <class... Callbacks>
void serve(sgd_algo& algorithm, std::span<const task_view> past, std::span<const task_view> stream,
           std::span<const mr::index> period_ends, Callbacks&&... cbs) {
    algorithm.fit(past, {.epochs = 2}, cbs...);
    for (const mr::index end : period_ends)
        if (end > algorithm.streamed()) algorithm.update(stream.first(std::size_t(end)), streaming, cbs...);
}

}  // namespace

TEST_CASE("update: ceil(passes * n / k) meta-steps of new and replayed tasks; the buffer a sample of the stream") {
    task_pool past(shape, 12, 5, 5, 11, true), stream(shape, 30, 5, 5, 12, true);
    auto algorithm = make();
    algorithm.fit(past.tasks, {.epochs = 1});
    const auto after_fit = algorithm.steps();
    const std::span<const task_view> all(stream.tasks);

    step_sizes first;
    const auto r1 = algorithm.update(all.first(10), streaming, first);
    CHECK(r1.steps == 5);  // 10 new tasks, 2 a step
    CHECK(r1.new_tasks == 10);
    CHECK(r1.replayed == 0);  // nothing streamed before
    CHECK(first.tasks == std::vector<mr::index>(5, 2));
    CHECK(std::isfinite(r1.loss));
    CHECK(algorithm.steps() == after_fit + 5);
    CHECK(algorithm.streamed() == 10);
    const auto buffer1 = algorithm.replay_buffer();  // the first 6 fill it; 6..9 replace entries at random
    CHECK(buffer1.size() == 6);
    CHECK(std::set<mr::index>(buffer1.begin(), buffer1.end()).size() == 6);
    for (const auto i : buffer1) CHECK(i < 10);

    step_sizes second;
    const auto r2 = algorithm.update(all.first(13), {.replay_capacity = 6, .replay_share = 0.5, .passes = 2}, second);
    CHECK(r2.steps == 3);                                 // ceil(2 * 3 / 2)
    CHECK(second.tasks == std::vector<mr::index>(3, 4));  // 2 new, 2 replayed
    CHECK(r2.replayed == 6);
    const auto buffer = algorithm.replay_buffer();
    CHECK(buffer.size() == 6);
    CHECK(std::set<mr::index>(buffer.begin(), buffer.end()).size() == 6);
    for (const auto i : buffer) CHECK(i < 13);

    // nothing new: no step; the same calls give the same parameters, bit for bit
    CHECK(algorithm.update(all.first(13), streaming).steps == 0);
    auto again = make();
    again.fit(past.tasks, {.epochs = 1});
    again.update(all.first(10), streaming);
    again.update(all.first(13), {.replay_capacity = 6, .replay_share = 0.5, .passes = 2});
    CHECK(same_bits(again.snapshot(), algorithm.snapshot()));
    CHECK(std::vector<mr::index>(again.replay_buffer().begin(), again.replay_buffer().end()) ==
          std::vector<mr::index>(buffer.begin(), buffer.end()));
}

TEST_CASE("update: refuses a shrinking stream, another buffer capacity, bad options and empty tasks, clearly") {
    task_pool stream(shape, 12, 5, 5, 13, true);
    auto algorithm = make();
    const std::span<const task_view> all(stream.tasks);
    algorithm.update(all.first(8), streaming);
    const auto invalid = [](auto&& f) { return mr::test::error_of<std::invalid_argument>(f); };
    CHECK(invalid([&] { algorithm.update(all.first(5), streaming); }) ==
          "metarec: update: the stream has 5 tasks, 8 were streamed before (a stream only grows)");
    CHECK(invalid([&] { algorithm.update(all, {.replay_capacity = 7}); }) ==
          "metarec: update: replay_capacity 7 differs from the buffer's, 6 (fixed by the first update())");
    CHECK(invalid([&] { algorithm.update(all, {.replay_capacity = 6, .replay_share = 1}); }) ==
          "metarec: update: replay_share must be in [0, 1)");
    CHECK(invalid([&] { algorithm.update(all, {.replay_capacity = 6, .passes = 0}); }) ==
          "metarec: update: passes must be > 0");
    std::vector<task_view> with_empty(all.begin(), all.end());
    with_empty.push_back(task_view{});
    CHECK(invalid([&] { algorithm.update(with_empty, streaming); }) ==
          "metarec: update: task 12 (key -1) has an empty support or query set");
    CHECK(algorithm.streamed() == 8);
}

TEST_CASE(
    "update: a stream killed with SIGKILL at any step resumes to the parameters of an uninterrupted run, bit for bit") {
    scratch_dir dir;
    task_pool past(shape, 12, 5, 5, 21, true), stream(shape, 30, 5, 5, 22, true);
    const std::vector<mr::index> ends{10, 20, 30};  // three periods: 5 meta-steps each

    auto reference = make();
    serve(reference, past.tasks, stream.tasks, ends);
    REQUIRE(reference.steps() == 6 + 15);  // fit: 3 steps an epoch, 2 epochs

    // during fit(), at the first step of the stream, mid-period, at a period's last step
    // (its tasks not yet in the buffer) and at the last step
    for (const std::int64_t step :
         {std::int64_t(4), std::int64_t(7), std::int64_t(9), std::int64_t(16), std::int64_t(21)}) {
        for (const bool before_checkpoint : {true, false}) {
            CAPTURE(step);
            CAPTURE(before_checkpoint);
            const auto path = dir.path / "stream.ckpt";
            fs::remove(path);
            const pid_t pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0) {
                auto algorithm = make();
                mr::callbacks::checkpoint save{path, 1};
                if (before_checkpoint) serve(algorithm, past.tasks, stream.tasks, ends, kill_at_step{step}, save);
                else
                    serve(algorithm, past.tasks, stream.tasks, ends, save, kill_at_step{step});
                ::_exit(0);
            }
            int status = 0;
            ::waitpid(pid, &status, 0);
            REQUIRE(WIFSIGNALED(status));
            CHECK(WTERMSIG(status) == SIGKILL);
            auto resumed = make();
            REQUIRE(fs::exists(path));
            resumed.resume(path);
            serve(resumed, past.tasks, stream.tasks, ends, mr::callbacks::checkpoint{path, 1});
            CHECK(same_bits(resumed.snapshot(), reference.snapshot()));
            CHECK(resumed.steps() == reference.steps());
            CHECK(resumed.streamed() == 30);
            CHECK(std::vector<mr::index>(resumed.replay_buffer().begin(), resumed.replay_buffer().end()) ==
                  std::vector<mr::index>(reference.replay_buffer().begin(), reference.replay_buffer().end()));
        }
    }
}

TEST_CASE("update: a checkpoint taken mid-update refuses another stream") {
    scratch_dir dir;
    task_pool stream(shape, 20, 5, 5, 31, true);
    const std::span<const task_view> all(stream.tasks);
    const auto path = dir.path / "mid.ckpt";
    {
        auto algorithm = make();
        struct save_at_step {
            fs::path path;
            std::int64_t at;
            bool on_step_end(const mr::callbacks::step_info& info, sgd_algo& a) {
                if (info.step == at) a.save_checkpoint(path);
                return info.step == at;  // and stop there: the update is left under way in the file
            }
        } save{path, 2};
        const auto r = algorithm.update(all.first(10), streaming, save);
        CHECK(r.stopped_early);
    }
    auto resumed = make();
    resumed.resume(path);
    CHECK(resumed.streamed() == 0);
    CHECK(mr::test::error_of<std::invalid_argument>([&] { resumed.update(all.first(12), streaming); }) ==
          "metarec: update: the update under way (resumed from a checkpoint) is over the stream's first 10 "
          "tasks, this one has 12: call update() with the stream it was given");
    CHECK(resumed.update(all.first(10), streaming).steps == 5);  // 3 left, of 5
    CHECK(resumed.streamed() == 10);
}
