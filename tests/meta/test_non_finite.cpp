// metarec tests: NaN and infinities in meta-training are caught the step they appear (stop or
// skip the task), and runtime misuse is a clear exception.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/optim/optim.hpp>

#include "../support/tasks.hpp"

namespace mr = metarec;
namespace nn = metarec::nn;
namespace meta = metarec::meta;
using metarec::test::task_pool;

// (a namespace of its own: test_reliability compiles this file with test_checkpoint.cpp as one
// unity translation unit in the test presets, and both name their model `net` and `shape`)
namespace metarec::test::non_finite {
namespace {

using net = nn::model<nn::sequential<nn::concat<nn::embedding<3, 0>, nn::dense<2>>, nn::dense<5>, nn::tanh, nn::dense<1>>, double>;
const nn::input_shape shape{.dense = 2, .categorical = {10}};
const meta::maml_options options{.inner_lr = 0.05, .inner_steps = 2, .order = 2, .meta_batch = 4, .threads = 2, .seed = 3};
constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

bool all_finite(const std::vector<double>& v) {
    for (const double x : v)
        if (!std::isfinite(x)) return false;
    return true;
}

}  // namespace

TEST_CASE("a NaN target stops fit() the step it is met, naming the step, the task and the quantity") {
    task_pool pool(shape, 16, 5, 5, 1, true);
    std::vector<double> poisoned(5, 0.5);
    poisoned[2] = not_a_number;
    for (const bool in_support : {false, true}) {
        CAPTURE(in_support);
        auto tasks = pool.tasks;
        (in_support ? tasks[7].support_target : tasks[7].query_target) = poisoned.data();
        meta::maml<net, mr::loss::mse> algorithm(net{shape, 1}, options);
        std::int64_t step = 0;
        try {
            algorithm.fit(tasks, {.epochs = 2});
            FAIL("fit() did not stop");
        } catch (const meta::non_finite_error& e) {
            step = e.step();
            CHECK(e.task_key() == 7);
            CHECK(e.quantity() == "loss");
            CHECK(std::string(e.what()).starts_with("metarec: fit: step " + std::to_string(step) +
                                                   ": the loss of task key 7 is NaN or infinite (1 of 4 tasks"));
        }
        // the failing step changed nothing: the parameters are those of the steps before it
        REQUIRE(step >= 1);
        CHECK(algorithm.steps() == step - 1);
        meta::maml<net, mr::loss::mse> before(net{shape, 1}, options);
        before.fit(tasks, {.epochs = 2, .max_steps = step - 1});
        const auto a = algorithm.snapshot(), b = before.snapshot();
        CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
    }
}

TEST_CASE("non_finite::skip_task leaves the task out of its meta-steps and counts it") {
    task_pool pool(shape, 16, 5, 5, 2, true);
    std::vector<double> poisoned(5, std::numeric_limits<double>::infinity());
    auto tasks = pool.tasks;
    tasks[3].query_target = poisoned.data();
    meta::meta_sgd<net, mr::loss::mse> algorithm(net{shape, 1}, options);
    const auto run = algorithm.fit(tasks, {.epochs = 3, .on_non_finite = meta::non_finite::skip_task});
    CHECK(run.skipped_tasks == 3);  // the task is drawn once per epoch
    CHECK(run.steps == 12);
    CHECK(all_finite(algorithm.snapshot()));
    // the other tasks are scored normally
    const auto clean = std::vector(pool.tasks.begin() + 4, pool.tasks.end());
    CHECK(std::isfinite(algorithm.evaluate(clean).loss));
}

TEST_CASE("meta-parameters that overflow in the outer update stop fit(), whatever the policy") {
    task_pool pool(shape, 8, 5, 5, 3, true);
    auto far = pool.tasks;  // targets of 1000: gradients of about 1e3, times a rate of 1e308
    const std::vector<double> thousand(5, 1000.0);
    for (auto& task : far) task.query_target = thousand.data();
    meta::maml<net, mr::loss::mse, mr::optim::sgd> algorithm(net{shape, 1}, options, mr::optim::sgd{.lr = 1e308});
    CHECK_THROWS_WITH_AS(algorithm.fit(far, {.epochs = 1, .on_non_finite = meta::non_finite::skip_task}),
                         doctest::Contains("step 1: the meta-parameters are NaN or infinite after the outer update"),
                         meta::non_finite_error);
    // the same with gradient clipping and a sane rate: finite
    meta::maml<net, mr::loss::mse, mr::optim::sgd> clipped(net{shape, 1}, options, mr::optim::sgd{.lr = 0.1, .clip_norm = 1});
    clipped.fit(pool.tasks, {.epochs = 2});
    CHECK(all_finite(clipped.snapshot()));
}

TEST_CASE("runtime misuse: empty support or query, meta-batch beyond the tasks, features of another schema") {
    task_pool pool(shape, 6, 5, 5, 4, true);
    meta::maml<net, mr::loss::mse> algorithm(net{shape, 1}, options);
    auto tasks = pool.tasks;
    tasks[2].query.samples = 0;
    CHECK_THROWS_WITH_AS(algorithm.fit(tasks), "metarec: fit: task 2 (key 2) has an empty support or query set",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(algorithm.evaluate(tasks), "metarec: evaluate: task 2 (key 2) has an empty support or query set",
                         std::invalid_argument);
    auto no_support = pool.tasks[0].support;
    no_support.samples = 0;
    CHECK_THROWS_WITH_AS(algorithm.adapt(no_support, pool.tasks[0].support_target), "metarec: adapt: the support set is empty",
                         std::invalid_argument);
    meta::maml<net, mr::loss::mse> large(net{shape, 1}, {.meta_batch = 7});
    CHECK_THROWS_WITH_AS(large.fit(pool.tasks), "metarec: fit: the meta-batch (7 tasks) is larger than the 6 training tasks",
                         std::invalid_argument);
    // serving with features encoded for another schema (one categorical field more)
    task_pool other(nn::input_shape{.dense = 2, .categorical = {10, 4}}, 2, 5, 5, 5, true);
    CHECK_THROWS_WITH_AS(algorithm.adapt(other.tasks[0].support, other.tasks[0].support_target),
                         doctest::Contains("the batch has 2 categorical and 0 multi-valued fields, the model expects 1 and 0"),
                         std::invalid_argument);
    // ids outside the vocabulary the model was trained with
    task_pool wider(nn::input_shape{.dense = 2, .categorical = {40}}, 2, 20, 5, 6, true);
    CHECK_THROWS_AS(algorithm.adapt(wider.tasks[0].support, wider.tasks[0].support_target), std::invalid_argument);
}

}  // namespace metarec::test::non_finite
