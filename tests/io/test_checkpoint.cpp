// metarec tests: the archive format (checksum, truncation, corruption), atomic writes, model
// save/load with configuration checks, and checkpoints that resume a killed run bit for bit.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <metarec/callbacks/standard.hpp>
#include <metarec/io/archive.hpp>
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

using net = nn::model<nn::sequential<nn::concat<nn::embedding<3, 0>, nn::dense<2>>, nn::dense<5>, nn::tanh, nn::dense<1>>, double>;
using wider_net = nn::model<nn::sequential<nn::concat<nn::embedding<3, 0>, nn::dense<2>>, nn::dense<6>, nn::tanh, nn::dense<1>>, double>;
using float_net = nn::model<nn::sequential<nn::concat<nn::embedding<3, 0>, nn::dense<2>>, nn::dense<5>, nn::tanh, nn::dense<1>>, float>;
using sgd_algo = meta::meta_sgd<net, mr::loss::mse, mr::optim::adam>;

const nn::input_shape shape{.dense = 2, .categorical = {10}};
const meta::maml_options options{.inner_lr = 0.05, .inner_steps = 2, .order = 2, .meta_batch = 4, .threads = 1, .seed = 3};

/// a fresh directory under the system's temporary directory, removed at the end
struct scratch_dir {
    fs::path path;
    scratch_dir() {
        path = fs::temp_directory_path() / ("metarec-test-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::vector<std::byte> bytes_of(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

void write_bytes(const fs::path& p, const std::vector<std::byte>& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// the data_error message of `f`, or "" when it throws none
const auto data_error_of = [](auto&& f) { return mr::test::error_of<mr::data_error>(f); };

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

mr::io::archive sample_archive() {
    mr::io::archive a;
    a.put_text("config", "kind=test\n");
    a.put("f32", std::vector<float>{1.5f, -2.0f, 3.25f});
    a.put("f64", std::vector<double>{0.1, 1e300});
    a.put("i64", std::vector<std::int64_t>{-7, 0, 1LL << 62});
    a.put("u64", std::vector<std::uint64_t>{~0ULL});
    a.put("empty", std::vector<double>{});
    return a;
}

/// a callback that kills its own process (SIGKILL, no clean-up) at the end of meta-step `at`
struct kill_at_step {
    std::int64_t at;
    void on_step_end(const mr::callbacks::step_info& info) const {
        if (info.step == at) std::raise(SIGKILL);
    }
};

/// runs `body` in a child process and waits for it; returns its wait status
template <class F>
int in_child(F&& body) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        try {
            body();
        } catch (...) {
            ::_exit(3);
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

}  // namespace

TEST_CASE("crc32: the check value of CRC-32/ISO-HDLC") {
    const std::string text = "123456789";
    CHECK(mr::io::crc32(std::as_bytes(std::span(text.data(), text.size()))) == 0xCBF43926u);
    CHECK(mr::io::crc32({}) == 0u);
}

TEST_CASE("archive: every element type round-trips through the file format") {
    const auto a = sample_archive();
    const auto b = mr::io::archive::parse(a.serialize(), "x.ckpt");
    CHECK(b.names() == a.names());
    CHECK(b.get_text("config") == "kind=test\n");
    CHECK(b.get<float>("f32") == std::vector<float>{1.5f, -2.0f, 3.25f});
    CHECK(b.get<double>("f64") == std::vector<double>{0.1, 1e300});
    CHECK(b.get<std::int64_t>("i64") == std::vector<std::int64_t>{-7, 0, 1LL << 62});
    CHECK(b.get_scalar<std::uint64_t>("u64") == ~0ULL);
    CHECK(b.get<double>("empty").empty());
    CHECK(b.serialize() == a.serialize());
    CHECK(data_error_of([&] { b.get<double>("f32"); }) == "x.ckpt: section 'f32' holds float32, float64 expected");
    CHECK(data_error_of([&] { b.get<double>("missing"); }) == "x.ckpt: no section 'missing'");
    CHECK(data_error_of([&] { b.get_scalar<float>("f32"); }) == "x.ckpt: section 'f32' has 3 values, 1 expected");
}

TEST_CASE("archive: every truncation, every flipped bit of a sample and trailing bytes are rejected") {
    const auto bytes = sample_archive().serialize();
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const std::string message = data_error_of([&] { mr::io::archive::parse(std::span(bytes).first(n), "t"); });
        CHECK_MESSAGE(!message.empty(), "a prefix of " << n << " bytes was accepted");
    }
    for (std::size_t i = 0; i < bytes.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            auto corrupt = bytes;
            corrupt[i] ^= std::byte(1u << bit);
            const std::string message = data_error_of([&] { mr::io::archive::parse(corrupt, "c"); });
            REQUIRE_MESSAGE(!message.empty(), "flipping bit " << bit << " of byte " << i << " was not detected");
        }
    auto longer = bytes;
    longer.push_back(std::byte{0});
    CHECK(data_error_of([&] { mr::io::archive::parse(longer, "l"); }) == "l: the file has 1 bytes more than its header announces");
    CHECK(data_error_of([&] { mr::io::archive::parse(std::span(bytes).first(30), "s"); }).starts_with("s: truncated file"));
    auto flipped = bytes;
    flipped[40] ^= std::byte{1};
    CHECK(data_error_of([&] { mr::io::archive::parse(flipped, "f"); }) == "f: checksum mismatch: the file is corrupted");
    CHECK(data_error_of([] { mr::io::archive::parse({}, "e"); }) == "e: the file is empty");
    const std::string csv = "user,item,rating\n1,2,3\n1,3,4\n2,2,5\n";
    CHECK(data_error_of([&] { mr::io::archive::parse(std::as_bytes(std::span(csv.data(), csv.size())), "r.csv"); }) ==
          "r.csv: not a metarec model or checkpoint (no METAREC magic)");
}

TEST_CASE("archive: a newer format version is refused with both versions named") {
    auto bytes = sample_archive().serialize();
    bytes[8] = std::byte{2};  // version 2, checksum recomputed so that only the version is wrong
    const std::uint32_t crc = mr::io::crc32(std::span(bytes).first(bytes.size() - 4));
    std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
    CHECK(data_error_of([&] { mr::io::archive::parse(bytes, "v"); }) ==
          "v: format version 2 (this metarec reads version 1; the file was written by a newer metarec)");
}

TEST_CASE("archive: save() replaces the file atomically and leaves no temporary file; errors name the path") {
    scratch_dir dir;
    const auto path = dir.path / "a.ckpt";
    auto a = sample_archive();
    a.save(path);
    a.put("f64", std::vector<double>{42});
    a.save(path);
    CHECK(mr::io::archive::load(path).get<double>("f64") == std::vector<double>{42});
    int files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path)) ++files;
    CHECK(files == 1);
    CHECK_THROWS_WITH_AS(a.save(dir.path / "missing" / "a.ckpt"), doctest::Contains("cannot create"), std::system_error);
    CHECK(data_error_of([&] { mr::io::archive::load(dir.path / "none.ckpt"); }).ends_with("none.ckpt: cannot open file"));
    CHECK(data_error_of([&] { mr::io::archive::load(dir.path); }).ends_with(": cannot open file (it is a directory)"));
}

TEST_CASE("save/load: a meta-trained model and its learned rates load into a fresh algorithm, bit for bit") {
    scratch_dir dir;
    task_pool train(shape, 16, 5, 5, 1, true);
    sgd_algo trained(net{shape, 1}, options, {.lr = 1e-2});
    trained.fit(train.tasks, {.epochs = 2});
    trained.save(dir.path / "model.mrc", {});

    sgd_algo served(net{shape, 99}, options, {.lr = 1e-2});
    served.load(dir.path / "model.mrc");
    CHECK(same_bits(served.snapshot(), trained.snapshot()));
    const auto& task = train.tasks[0];
    CHECK(served.adapt(task.support, task.support_target).predict(task.query) ==
          trained.adapt(task.support, task.support_target).predict(task.query));

    // another model: the first difference is named, and nothing is changed
    const auto before = served.snapshot();
    meta::meta_sgd<wider_net, mr::loss::mse> wider(wider_net{shape, 1}, options);
    CHECK(data_error_of([&] { wider.load(dir.path / "model.mrc"); })
              .find("model.mrc: the file's parameters is '") != std::string::npos);
    meta::meta_sgd<float_net, mr::loss::mse> single(float_net{shape, 1}, options);
    CHECK(data_error_of([&] { single.load(dir.path / "model.mrc"); }).ends_with(
        "model.mrc: the file's scalar is 'float64', this algorithm's is 'float32'"));
    meta::maml<net, mr::loss::mse> no_rates(net{shape, 1}, options);
    CHECK(data_error_of([&] { no_rates.load(dir.path / "model.mrc"); }).ends_with(
        "the file's extras is '" + std::to_string(trained.meta_parameter_count() - trained.learner().parameter_count()) +
        "', this algorithm's is '0'"));
    const nn::input_shape other_vocabulary{.dense = 2, .categorical = {11}};
    sgd_algo other(net{other_vocabulary, 1}, options);
    CHECK(data_error_of([&] { other.load(dir.path / "model.mrc"); }).find("the file's parameters is") != std::string::npos);
    // a feature schema recorded by the caller must match at load time
    mr::io::configuration schema;
    schema.set("features.user", "age:cat,region:cat");
    trained.save(dir.path / "with-schema.mrc", schema);
    served.load(dir.path / "with-schema.mrc", schema);
    mr::io::configuration serving_schema;
    serving_schema.set("features.user", "age:num,region:cat");
    CHECK(data_error_of([&] { served.load(dir.path / "with-schema.mrc", serving_schema); }).ends_with(
        "the file's features.user is 'age:cat,region:cat', this algorithm's is 'age:num,region:cat'"));
    // a truncated or corrupted file on disk
    auto file = bytes_of(dir.path / "model.mrc");
    write_bytes(dir.path / "truncated.mrc", std::vector(file.begin(), file.end() - 9));
    CHECK(data_error_of([&] { served.load(dir.path / "truncated.mrc"); }).find("truncated.mrc: truncated file") !=
          std::string::npos);
    file[file.size() / 2] ^= std::byte{0x10};
    write_bytes(dir.path / "corrupt.mrc", file);
    CHECK(data_error_of([&] { served.load(dir.path / "corrupt.mrc"); }).ends_with(
        "corrupt.mrc: checksum mismatch: the file is corrupted"));
    CHECK(data_error_of([&] { served.resume(dir.path / "model.mrc"); }).ends_with(
        "not a checkpoint (a model written by save(): load() it instead)"));
    CHECK(same_bits(served.snapshot(), before));
}

TEST_CASE("checkpoints: a run killed with SIGKILL at any step resumes to the parameters of an uninterrupted run, bit for bit") {
    scratch_dir dir;
    task_pool train(shape, 24, 5, 5, 2, true), validation(shape, 6, 5, 5, 3, true);
    const meta::fit_options run{.epochs = 5};  // 6 steps per epoch
    const auto make = [] { return sgd_algo(net{shape, 1}, options, {.lr = 2e-2}); };

    auto reference = make();
    mr::callbacks::early_stopping reference_stop{validation.tasks, {.patience = 2}};
    const auto reference_run = reference.fit(train.tasks, run, reference_stop);
    REQUIRE(reference_run.steps > 12);

    // killed before or after the step's checkpoint; at the first step, mid-epoch, at an
    // epoch's last step (validation not yet run) and at the last step
    for (const std::int64_t step : {std::int64_t(1), std::int64_t(6), std::int64_t(9), reference_run.steps}) {
        for (const bool before_checkpoint : {true, false}) {
            CAPTURE(step);
            CAPTURE(before_checkpoint);
            const auto path = dir.path / "run.ckpt";
            fs::remove(path);
            const int status = in_child([&] {
                auto algorithm = make();
                mr::callbacks::early_stopping stop{validation.tasks, {.patience = 2}};
                mr::callbacks::checkpoint save{path, 1};
                if (before_checkpoint) algorithm.fit(train.tasks, run, stop, kill_at_step{step}, save);
                else algorithm.fit(train.tasks, run, stop, save, kill_at_step{step});
            });
            REQUIRE(WIFSIGNALED(status));
            CHECK(WTERMSIG(status) == SIGKILL);
            auto resumed = make();
            mr::callbacks::early_stopping stop{validation.tasks, {.patience = 2}};
            mr::callbacks::checkpoint save{path, 1};
            if (fs::exists(path)) resumed.resume(path);
            const auto resumed_run = resumed.fit(train.tasks, run, stop, save);
            CHECK(same_bits(resumed.snapshot(), reference.snapshot()));
            CHECK(resumed.steps() == reference.steps());
            CHECK(resumed_run.steps == reference_run.steps);
            CHECK(resumed_run.epochs == reference_run.epochs);
            CHECK(resumed_run.stopped_early == reference_run.stopped_early);
            CHECK(stop.history() == reference_stop.history());
            CHECK(stop.best_epoch() == reference_stop.best_epoch());
        }
    }
}

TEST_CASE("checkpoints: killed at random moments, even during a write, the last checkpoint resumes exactly") {
    scratch_dir dir;
    task_pool train(shape, 24, 5, 5, 4, true);
    const meta::fit_options run{.epochs = 40};
    const auto make = [] { return sgd_algo(net{shape, 1}, options, {.lr = 1e-2}); };
    auto reference = make();
    const auto begin = std::chrono::steady_clock::now();
    reference.fit(train.tasks, run, mr::callbacks::checkpoint{dir.path / "reference.ckpt", 1});
    const auto duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - begin);

    mr::detail::rng g(7);
    int resumed_runs = 0;
    for (int trial = 0; trial < 6; ++trial) {
        const auto path = dir.path / ("killed" + std::to_string(trial) + ".ckpt");
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            auto algorithm = make();
            algorithm.fit(train.tasks, run, mr::callbacks::checkpoint{path, 1});
            ::_exit(0);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(std::int64_t(g.uniform(0.05, 0.9) * double(duration.count()))));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        auto resumed = make();
        if (fs::exists(path)) {
            resumed.resume(path);
            ++resumed_runs;
        }
        resumed.fit(train.tasks, run, mr::callbacks::checkpoint{path, 1});
        CHECK(same_bits(resumed.snapshot(), reference.snapshot()));
    }
    CHECK(resumed_runs >= 3);
}

TEST_CASE("checkpoints: resume refuses another model, another run's tasks and other callbacks, clearly") {
    scratch_dir dir;
    task_pool train(shape, 12, 5, 5, 5, true), validation(shape, 4, 5, 5, 6, true);
    auto algorithm = sgd_algo(net{shape, 1}, options);
    mr::callbacks::early_stopping stop{validation.tasks, {.patience = 2}};
    algorithm.fit(train.tasks, {.epochs = 1}, stop, mr::callbacks::checkpoint{dir.path / "run.ckpt", 1});

    meta::meta_sgd<net, mr::loss::mse, mr::optim::sgd> other_optimizer(net{shape, 1}, options);
    CHECK(data_error_of([&] { other_optimizer.resume(dir.path / "run.ckpt"); }).ends_with(
        "the file's optimizer is 'adam', this algorithm's is 'sgd'"));
    auto other_batch = options;
    other_batch.meta_batch = 3;
    sgd_algo batch3(net{shape, 1}, other_batch);
    CHECK(data_error_of([&] { batch3.resume(dir.path / "run.ckpt"); }).ends_with(
        "the file's meta_batch is '4', this algorithm's is '3'"));

    auto resumed = sgd_algo(net{shape, 1}, options);
    resumed.resume(dir.path / "run.ckpt");
    CHECK_THROWS_WITH_AS(resumed.fit(train.tasks, {.epochs = 1}), doctest::Contains("the state of 1 callbacks, this fit() has 0"),
                         mr::data_error);
    resumed.resume(dir.path / "run.ckpt");
    task_pool fewer(shape, 8, 5, 5, 5, true);
    CHECK_THROWS_WITH_AS(resumed.fit(fewer.tasks, {.epochs = 1}, stop),
                         "metarec: fit: the checkpoint resumed from was taken on 12 training tasks, fit() got 8",
                         std::invalid_argument);

    // a checkpoint also loads as a model (its parameters), for serving
    auto served = sgd_algo(net{shape, 5}, options);
    served.load(dir.path / "run.ckpt");
    CHECK(same_bits(served.snapshot(), algorithm.snapshot()));
}
