// metarec tests: the built-in callbacks (print_loss, log_csv, progress_bar, early_stopping)
// and user-defined callbacks driving fit().
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <metarec/callbacks/standard.hpp>
#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/optim/optim.hpp>

#include "../support/numeric.hpp"

#if __has_include(<unistd.h>)
#include <fcntl.h>
#include <unistd.h>
#define METAREC_TEST_POSIX 1
#endif

namespace mr = metarec;
namespace nn = metarec::nn;
namespace meta = metarec::meta;
namespace cb = metarec::callbacks;

namespace {

using small_net = nn::model<nn::sequential<nn::dense<6>, nn::tanh, nn::dense<5>, nn::sigmoid, nn::dense<1>>, double>;
using task_t = meta::task<nn::batch<double>, double>;
using small_maml = meta::maml<small_net, mr::loss::mse>;
const nn::input_shape shape{.dense = 3};

/// Random regression tasks on dense inputs, owned: y = a_t (x_0 - x_1 / 2) + c_t + noise.
struct task_pool {
    std::vector<meta::task_data<double>> data;
    std::vector<task_t> tasks;

    task_pool(int count, mr::index support, mr::index query, std::uint64_t seed) {
        mr::detail::rng g(seed);
        for (int t = 0; t < count; ++t) {
            const double scale = g.uniform(0.5, 1.5), offset = g.uniform(-1, 1);
            const auto make = [&](mr::index n, std::vector<double>& target) {
                mr::test::random_batch<double> b{shape, n, g.next()};
                target = mr::test::random_vector(g, std::size_t(n), -0.1, 0.1);
                for (mr::index j = 0; j < n; ++j)
                    target[std::size_t(j)] +=
                        scale * (b.dense[std::size_t(3 * j)] - 0.5 * b.dense[std::size_t(3 * j + 1)]) + offset;
                return nn::batch_data<double>(n, b.dense, shape.dense);
            };
            std::vector<double> support_target, query_target;
            auto s = make(support, support_target);
            auto q = make(query, query_target);
            data.emplace_back(std::move(s), support_target, std::move(q), query_target, t);
        }
        tasks = meta::views(data);
    }
};

//! 8 tasks, meta-batch 2: 4 steps per epoch
small_maml make_maml(double outer_lr = 1e-2) {
    return small_maml{small_net{shape, 3}, {.inner_lr = 0.1, .inner_steps = 1, .meta_batch = 2, .seed = 5},
                      mr::optim::adam{.lr = outer_lr}};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

//! records what fit() reports to the hooks
struct recorder {
    std::vector<cb::step_info> steps;
    std::vector<cb::epoch_info> epochs;
    void on_step_end(const cb::step_info& info) { steps.push_back(info); }
    void on_epoch_end(const cb::epoch_info& info) { epochs.push_back(info); }
};

//! a file name under the temporary directory, unique to this process
std::filesystem::path temp_file(const std::string& name) {
#if defined(METAREC_TEST_POSIX)
    const std::string process = std::to_string(::getpid());
#else
    const std::string process = "0";
#endif
    return std::filesystem::temp_directory_path() / ("metarec_test_" + process + "_" + name);
}

//! a hook with the algorithm as a generic second argument (a member template: not a local class)
struct inspector {
    const void* address = nullptr;
    std::vector<std::int64_t> steps;
    std::vector<double> losses;
    const std::vector<task_t>* validation = nullptr;
    void on_epoch_end(const cb::epoch_info& info, auto& algorithm) {
        address = &algorithm;
        CHECK(algorithm.steps() == info.step);
        steps.push_back(algorithm.steps());
        losses.push_back(algorithm.evaluate(*validation).loss);
    }
};

}  // namespace

TEST_CASE("print_loss: one line per `every` steps, one per epoch, in the documented format") {
    task_pool pool(8, 5, 5, 11);
    auto maml = make_maml();
    std::ostringstream text;
    recorder seen;
    const auto result = maml.fit(pool.tasks, {.epochs = 3}, cb::print_loss{.every = 1, .out = &text}, seen);
    REQUIRE(result.steps == 12);
    const auto lines = lines_of(text.str());
    REQUIRE(lines.size() == 12 + 3);
    int step_lines = 0, epoch_lines = 0;
    for (const auto& line : lines) {
        CAPTURE(line);
        std::istringstream in(line);
        std::string word;
        in >> word;
        if (word == "step") {
            long long step = 0;
            int epoch = 0;
            double loss = 0;
            std::string w1, w2;
            in >> step >> w1 >> epoch >> w2 >> loss;
            REQUIRE(!in.fail());
            CHECK(w1 == "epoch");
            CHECK(w2 == "loss");
            const auto& info = seen.steps[std::size_t(step_lines)];
            CHECK(step == info.step);
            CHECK(epoch == info.epoch + 1);  // printed 1-based
            CHECK(loss == doctest::Approx(info.loss).epsilon(1e-5));
            ++step_lines;
        } else {
            CHECK(word == "epoch");
            int epoch = 0;
            double loss = 0, seconds = -1;
            char open = 0;
            std::string w1, unit;
            in >> epoch >> w1 >> loss >> open >> seconds >> unit;
            REQUIRE(!in.fail());
            CHECK(w1 == "loss");
            CHECK(open == '(');
            CHECK(unit == "s)");
            CHECK(seconds >= 0);
            const auto& info = seen.epochs[std::size_t(epoch_lines)];
            CHECK(epoch == info.epoch + 1);
            CHECK(loss == doctest::Approx(info.loss).epsilon(1e-5));
            ++epoch_lines;
        }
    }
    CHECK(step_lines == 12);
    CHECK(epoch_lines == 3);
    // the epoch line follows the epoch's last step line
    CHECK(lines[4].rfind("epoch 1 loss ", 0) == 0);
    CHECK(lines[14].rfind("epoch 3 loss ", 0) == 0);

    // every = 5: steps 5 and 10, and the 3 epoch lines
    std::ostringstream sparse;
    auto again = make_maml();
    again.fit(pool.tasks, {.epochs = 3}, cb::print_loss{.every = 5, .out = &sparse});
    const auto few = lines_of(sparse.str());
    REQUIRE(few.size() == 5);
    CHECK(few[0].rfind("epoch 1 loss ", 0) == 0);
    CHECK(few[1].rfind("step 5 epoch 2 loss ", 0) == 0);
    CHECK(few[3].rfind("step 10 epoch 3 loss ", 0) == 0);

    // every = 0: epoch lines only
    std::ostringstream quiet;
    auto third = make_maml();
    third.fit(pool.tasks, {.epochs = 2}, cb::print_loss{.every = 0, .out = &quiet});
    CHECK(lines_of(quiet.str()).size() == 2);
}

TEST_CASE("log_csv: a header and one flushed row per step, numbers at full precision") {
    task_pool pool(8, 5, 5, 12);
    const auto path = temp_file("log.csv");
    auto maml = make_maml();
    cb::log_csv csv{path};
    recorder seen;
    // what a reader sees after each epoch: the rows were flushed, not buffered
    struct peek {
        std::filesystem::path path;
        std::vector<std::size_t> lines;
        void on_epoch_end(const cb::epoch_info&) {
            std::ifstream in(path);
            std::size_t n = 0;
            for (std::string line; std::getline(in, line);) ++n;
            lines.push_back(n);
        }
    } reader{path, {}};
    const auto result = maml.fit(pool.tasks, {.epochs = 3}, csv, seen, reader);
    REQUIRE(result.steps == 12);
    CHECK(reader.lines == std::vector<std::size_t>{1 + 4, 1 + 8, 1 + 12});
    CHECK(csv.rows() == 12);
    CHECK(csv.path() == path);

    std::ifstream in(path);
    std::string header;
    std::getline(in, header);
    CHECK(header == "step,epoch,meta_loss,seconds");
    std::vector<std::string> rows;
    for (std::string line; std::getline(in, line);) rows.push_back(line);
    REQUIRE(rows.size() == 12);
    double previous_seconds = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        CAPTURE(rows[i]);
        std::vector<std::string> fields;
        std::istringstream row(rows[i]);
        for (std::string field; std::getline(row, field, ',');) fields.push_back(field);
        REQUIRE(fields.size() == 4);
        CHECK(std::stoll(fields[0]) == (long long)(i + 1));
        CHECK(std::stoi(fields[1]) == int(i / 4) + 1);
        // full precision: the text reads back to the very double fit() reported
        CHECK(std::stod(fields[2]) == seen.steps[i].loss);
        const double seconds = std::stod(fields[3]);
        CHECK(seconds == seen.steps[i].seconds);
        CHECK(seconds >= previous_seconds);
        previous_seconds = seconds;
    }
    in.close();

    // a second fit() truncates the file
    auto again = make_maml();
    again.fit(pool.tasks, {.epochs = 1}, csv);
    std::ifstream second(path);
    std::size_t n = 0;
    for (std::string line; std::getline(second, line);) ++n;
    CHECK(n == 1 + 4);
    second.close();
    std::filesystem::remove(path);
}

TEST_CASE("log_csv: a path that cannot be opened is a runtime_error naming the path and the reason") {
    task_pool pool(8, 5, 5, 13);
    const auto path = temp_file("no_such_directory") / "log.csv";
    auto maml = make_maml();
    cb::log_csv csv{path};
    CHECK_THROWS_WITH_AS(maml.fit(pool.tasks, {.epochs = 1}, csv), doctest::Contains(path.string().c_str()),
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(maml.fit(pool.tasks, {.epochs = 1}, csv), doctest::Contains("No such file"), std::runtime_error);
    CHECK(maml.steps() == 0);  // it failed before training
}

TEST_CASE("progress_bar: draws on the given stream, throttled, and ends the line") {
    task_pool pool(8, 5, 5, 14);
    std::ostringstream text;
    auto maml = make_maml();
    maml.fit(pool.tasks, {.epochs = 3}, cb::progress_bar{.out = &text, .min_interval = 0});
    const std::string all = text.str();
    CHECK(all.find("epoch") != std::string::npos);
    CHECK(all.find("epoch 3/3 step 12/12 [") != std::string::npos);
    CHECK(all.find("epoch 1/3 step 1/12 [") != std::string::npos);
    CHECK(all.find("tasks/s") != std::string::npos);
    CHECK(all.find("(epoch ") != std::string::npos);  // the last epoch's mean
    REQUIRE(!all.empty());
    CHECK(all.back() == '\n');
    CHECK(std::count(all.begin(), all.end(), '\n') == 1);  // one line, redrawn in place
    // min_interval 0: every step, every epoch and the end
    CHECK(std::count(all.begin(), all.end(), '\r') == 12 + 3 + 1);
    // the final line has a full bar
    const auto last = all.substr(all.rfind('\r'));
    CHECK(last.find(std::string(24, '#')) != std::string::npos);
    CHECK(last.find('<') == std::string::npos);                           // no ETA once done
    CHECK(all.substr(0, all.find('\r', 1)).find('<') != std::string::npos);  // an ETA while running

    // a long interval: the first step, then only the end
    std::ostringstream slow;
    auto again = make_maml();
    again.fit(pool.tasks, {.epochs = 3}, cb::progress_bar{.out = &slow, .min_interval = 1e9});
    const std::string s = slow.str();
    CHECK(std::count(s.begin(), s.end(), '\r') == 2);
    CHECK(s.back() == '\n');
    CHECK(s.find("step 12/12") != std::string::npos);
}

TEST_CASE("progress_bar: on when given a stream or forced, else only if stderr is a terminal") {
    std::ostringstream text;
    CHECK(cb::progress_bar{.out = &text}.enabled());
    CHECK(cb::progress_bar{.force = true}.enabled());
    CHECK(cb::progress_bar{}.enabled() == cb::detail::stderr_is_terminal());
    // quiet wins over everything
    CHECK_FALSE(cb::progress_bar{.out = &text, .force = true, .quiet = true}.enabled());
    {
        task_pool pool(8, 5, 5, 16);
        auto maml = make_maml();
        maml.fit(pool.tasks, {.epochs = 1}, cb::progress_bar{.out = &text, .quiet = true});
        CHECK(text.str().empty());
    }
#if defined(METAREC_TEST_POSIX)
    CHECK(cb::detail::stderr_is_terminal() == (::isatty(::fileno(stderr)) != 0));
    // stderr redirected to a file, which is no terminal: the bar stays silent
    task_pool pool(8, 5, 5, 15);
    const auto path = temp_file("stderr.txt");
    std::fflush(stderr);
    const int saved = ::dup(2);
    REQUIRE(saved >= 0);
    const int fd = ::open(path.string().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    ::dup2(fd, 2);
    ::close(fd);
    bool was_enabled = true;
    {
        auto maml = make_maml();
        cb::progress_bar bar{.min_interval = 0};
        was_enabled = bar.enabled();
        maml.fit(pool.tasks, {.epochs = 2}, bar);
        std::cerr << std::flush;
    }
    std::fflush(stderr);
    // and forced, it draws there all the same
    {
        auto maml = make_maml();
        maml.fit(pool.tasks, {.epochs = 1}, cb::progress_bar{.force = true});
        std::cerr << std::flush;
    }
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    CHECK_FALSE(was_enabled);
    std::ifstream in(path);
    const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    std::filesystem::remove(path);
    // only the forced bar's single epoch: nothing from the first, unforced one
    CHECK(written.find("epoch 1/2") == std::string::npos);
    CHECK(written.find("epoch 1/1 step 4/4") != std::string::npos);
#endif
}

TEST_CASE("early_stopping: construction by deduction, and misuse") {
    task_pool pool(4, 5, 5, 16);
    cb::early_stopping viewed{pool.tasks, {.patience = 3}};
    static_assert(std::is_same_v<decltype(viewed), cb::early_stopping<std::span<const task_t>>>);
    CHECK(viewed.validation().data() == pool.tasks.data());  // a view, no copy
    CHECK(viewed.options().patience == 3);
    CHECK(viewed.options().restore_best);
    cb::early_stopping kept{std::vector<task_t>(pool.tasks)};
    static_assert(std::is_same_v<decltype(kept), cb::early_stopping<std::vector<task_t>>>);
    CHECK(kept.validation().size() == 4);
    CHECK(kept.validation().data() != pool.tasks.data());
    CHECK(kept.options().patience == 5);
    const std::span<const task_t> span(pool.tasks);
    auto from_span = cb::early_stopping_on(span, {.min_delta = 0.5});
    static_assert(std::is_same_v<decltype(from_span), cb::early_stopping<std::span<const task_t>>>);
    CHECK(from_span.options().min_delta == 0.5);
    CHECK(from_span.best_epoch() == -1);
    CHECK_THROWS_AS(cb::early_stopping(std::vector<task_t>{}), std::invalid_argument);
    CHECK_THROWS_AS((cb::early_stopping{pool.tasks, {.patience = 0}}), std::invalid_argument);
    CHECK_THROWS_AS((cb::early_stopping{pool.tasks, {.min_delta = -1}}), std::invalid_argument);
}

TEST_CASE("early_stopping: stops after `patience` epochs without an improvement larger than min_delta") {
    task_pool train(8, 5, 5, 17), validation(4, 5, 5, 18);
    for (int patience : {1, 3}) {
        CAPTURE(patience);
        auto maml = make_maml();
        // no epoch can beat the first by more than 1e9: epochs 2 .. patience + 1 do not improve
        cb::early_stopping stop{validation.tasks, {.patience = patience, .min_delta = 1e9}};
        const auto result = maml.fit(train.tasks, {.epochs = 20}, stop);
        CHECK(result.stopped_early);
        CHECK(stop.stopped());
        CHECK(result.epochs == patience + 1);
        CHECK(result.steps == 4 * (patience + 1));
        CHECK(stop.history().size() == std::size_t(patience + 1));
        CHECK(stop.best_epoch() == 0);
        CHECK(stop.best_loss() == stop.history()[0]);
        CHECK(stop.epochs_without_improvement() == patience);
        // restored to the end of epoch 0
        CHECK(maml.snapshot() == stop.best_snapshot());
    }
    // without a stop condition it runs every epoch
    auto maml = make_maml();
    cb::early_stopping stop{validation.tasks, {.patience = 100}};
    const auto result = maml.fit(train.tasks, {.epochs = 4}, stop);
    CHECK_FALSE(result.stopped_early);
    CHECK_FALSE(stop.stopped());
    CHECK(result.epochs == 4);
    CHECK(stop.history().size() == 4);
}

TEST_CASE("early_stopping: the validation losses it sees, and restore_best puts back the best epoch") {
    task_pool train(8, 5, 5, 19), validation(6, 5, 5, 20);
    // a deliberately too-high outer learning rate: the validation loss falls, then wanders up
    constexpr double outer_lr = 0.3;
    // independent record: validation loss and meta-parameters after every epoch
    struct watch {
        const std::vector<task_t>* validation;
        std::vector<double> losses;
        std::vector<std::vector<double>> snapshots;
        void on_epoch_end(const cb::epoch_info& info, small_maml& algorithm) {
            CHECK(info.epoch == int(losses.size()));
            losses.push_back(algorithm.evaluate(*validation).loss);
            snapshots.push_back(algorithm.snapshot());
        }
    };
    const int patience = 2;
    watch seen{&validation.tasks, {}, {}};
    auto maml = make_maml(outer_lr);
    cb::early_stopping stop{validation.tasks, {.patience = patience}};
    const auto result = maml.fit(train.tasks, {.epochs = 60}, stop, seen);
    MESSAGE("validation losses: ", doctest::toString(seen.losses.size()), " epochs, best ", stop.best_loss(), " at ",
            stop.best_epoch());
    REQUIRE(result.stopped_early);
    CHECK(stop.history() == seen.losses);
    const int epochs = result.epochs;
    REQUIRE(epochs >= patience + 2);
    // the rule, checked against the recorded losses
    const auto best = std::min_element(seen.losses.begin(), seen.losses.end());
    CHECK(stop.best_epoch() == int(best - seen.losses.begin()));
    CHECK(stop.best_loss() == *best);
    CHECK(stop.best_epoch() == epochs - 1 - patience);
    // the rule replayed on the recorded losses: the first stop falls on the last epoch
    {
        double best_so_far = seen.losses[0];
        int waited = 0, stop_at = -1;
        for (int e = 1; e < epochs && stop_at < 0; ++e) {
            if (seen.losses[std::size_t(e)] < best_so_far) {
                best_so_far = seen.losses[std::size_t(e)];
                waited = 0;
            } else if (++waited == patience) {
                stop_at = e;
            }
        }
        CHECK(stop_at == epochs - 1);
    }
    // the best epoch is not the last: restoring changes the parameters back
    const auto& at_best = seen.snapshots[std::size_t(stop.best_epoch())];
    CHECK(stop.best_snapshot() == at_best);
    CHECK(maml.snapshot() == at_best);
    CHECK(maml.snapshot() != seen.snapshots.back());
    CHECK(maml.evaluate(validation.tasks).loss == stop.best_loss());

    // restore_best = false: the last epoch's parameters stay, the same run otherwise
    watch seen2{&validation.tasks, {}, {}};
    auto same = make_maml(outer_lr);
    cb::early_stopping keep_last{validation.tasks, {.patience = patience, .restore_best = false}};
    const auto result2 = same.fit(train.tasks, {.epochs = 60}, keep_last, seen2);
    CHECK(result2.epochs == epochs);
    CHECK(keep_last.history() == stop.history());
    CHECK(same.snapshot() == seen2.snapshots.back());
    CHECK(same.snapshot() != keep_last.best_snapshot());
}

TEST_CASE("a user callback with only on_step_end stops fit() after 3 steps") {
    task_pool pool(8, 5, 5, 21);
    struct stop_after_three {
        int calls = 0;
        bool on_step_end(const cb::step_info&) { return ++calls >= 3; }
    } stopper;
    recorder seen;
    auto maml = make_maml();
    const auto result = maml.fit(pool.tasks, {.epochs = 5}, stopper, seen);
    CHECK(result.stopped_early);
    CHECK(result.steps == 3);
    CHECK(maml.steps() == 3);
    CHECK(stopper.calls == 3);
    CHECK(seen.steps.size() == 3);   // every callback saw every step
    CHECK(result.epochs == 1);       // the partial first epoch
    CHECK(seen.epochs.size() == 1);
    // a hook returning void never stops
    struct counter {
        int calls = 0;
        void on_step_end(const cb::step_info&) { ++calls; }
    } count;
    auto again = make_maml();
    const auto full = again.fit(pool.tasks, {.epochs = 2}, count);
    CHECK_FALSE(full.stopped_early);
    CHECK(count.calls == 8);
}

TEST_CASE("a hook taking (info, auto& algorithm) receives the algorithm") {
    task_pool pool(8, 5, 5, 22), validation(3, 5, 5, 23);
    inspector look;
    look.validation = &validation.tasks;
    auto maml = make_maml();
    maml.fit(pool.tasks, {.epochs = 3}, look);
    CHECK(look.address == static_cast<const void*>(&maml));
    CHECK(look.steps == std::vector<std::int64_t>{4, 8, 12});
    CHECK(look.losses.size() == 3);
    CHECK(look.losses.back() == maml.evaluate(validation.tasks).loss);
}
