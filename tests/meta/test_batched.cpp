// metarec tests: the task-batched meta-step of MAML and Meta-SGD (task_batching::batched)
// gives the meta-steps of the per-task path, and refuses what it cannot batch.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <limits>
#include <string>
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

namespace metarec::test::batched {
namespace {

using mlp = nn::model<nn::sequential<nn::dense<8>, nn::tanh, nn::dense<6>, nn::sigmoid, nn::dense<1>>, double>;
const nn::input_shape shape{.dense = 3};

// fit() for 2 epochs with each batching, from the same initialization: the same meta-parameters
// (to rounding: the batched path sums in another order), the same losses step by step
template <class Algorithm>
void check_same_training(meta::maml_options options, const task_pool& pool) {
    std::vector<double> losses[2];
    std::vector<double> parameters[2];
    for (const int batched : {0, 1}) {
        options.batching = batched ? meta::task_batching::batched : meta::task_batching::per_task;
        Algorithm algorithm(mlp{shape, 5}, options, mr::optim::adam{.lr = 0.01});
        struct record {
            std::vector<double>* out;
            void on_step_end(const mr::callbacks::step_info& s) { out->push_back(s.loss); }
        };
        algorithm.fit(pool.tasks, {.epochs = 2}, record{&losses[batched]});
        parameters[batched] = algorithm.snapshot();
    }
    REQUIRE(losses[0].size() == 8);
    REQUIRE(losses[1].size() == losses[0].size());
    for (std::size_t i = 0; i < losses[0].size(); ++i) CHECK(losses[1][i] == doctest::Approx(losses[0][i]).epsilon(1e-12));
    CHECK(relative_error(parameters[1], parameters[0]) < 1e-12);
    const mlp initial{shape, 5};  // and training moved them
    const std::vector<double> start(initial.parameters(), initial.parameters() + initial.parameter_count());
    CHECK(relative_error(std::vector<double>(parameters[1].begin(), parameters[1].begin() + initial.parameter_count()),
                         start) > 1e-3);
}

}  // namespace

TEST_CASE("task-batched meta-steps give the per-task meta-steps: MAML, ANIL, Meta-SGD, orders 1 and 2") {
    const task_pool pool(shape, 16, 6, 4, 11);
    SUBCASE("MAML, order 2, K = 3") {
        check_same_training<meta::maml<mlp, mr::loss::mse>>({.inner_lr = 0.3, .inner_steps = 3, .meta_batch = 4}, pool);
    }
    SUBCASE("MAML, order 1, K = 2, two threads (the batched step runs on one)") {
        check_same_training<meta::maml<mlp, mr::loss::mse>>(
            {.inner_lr = 0.3, .inner_steps = 2, .order = 1, .meta_batch = 4, .threads = 2}, pool);
    }
    SUBCASE("ANIL (the last layer adapts), order 2, K = 2, bce_with_logits") {
        check_same_training<meta::basic_maml<mlp, mr::loss::bce_with_logits, mr::optim::adam, meta::adapt_last>>(
            {.inner_lr = 0.5, .inner_steps = 2, .meta_batch = 4}, pool);
    }
    SUBCASE("Meta-SGD, order 2, K = 2") {
        check_same_training<meta::meta_sgd<mlp, mr::loss::mse>>({.inner_lr = 0.2, .inner_steps = 2, .meta_batch = 4},
                                                                pool);
    }
    SUBCASE("Meta-SGD, order 1, K = 3") {
        check_same_training<meta::meta_sgd<mlp, mr::loss::mse>>(
            {.inner_lr = 0.2, .inner_steps = 3, .order = 1, .meta_batch = 4}, pool);
    }
}

TEST_CASE("task-batched meta-steps: a meta-batch of unequal tasks, a model with embeddings, a NaN") {
    SUBCASE("tasks of different sizes: batched refuses and names them, automatic runs them one by one") {
        task_pool pool(shape, 4, 6, 4, 12);
        const task_pool longer(shape, 1, 7, 4, 13);
        auto tasks = pool.tasks;
        tasks[2] = longer.tasks[0];
        tasks[2].key = 42;
        meta::maml<mlp, mr::loss::mse> batched(mlp{shape, 5}, {.meta_batch = 4, .batching = meta::task_batching::batched});
        try {  // (the meta-batch's order is drawn: task 42 is named first or second)
            batched.fit(tasks, {.max_steps = 1});
            FAIL("fit() did not refuse");
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK(what.starts_with("metarec: maml: task-batched meta-steps need the tasks of a meta-batch to have the "
                                   "same support and query sizes: task key "));
            CHECK((what.find("task key 42 has 7 and 4") != std::string::npos ||
                   what.find("task key 42 7 and 4") != std::string::npos));
        }
        meta::maml<mlp, mr::loss::mse> automatic(mlp{shape, 5}, {.meta_batch = 4});
        CHECK(automatic.fit(tasks, {.max_steps = 1}).steps == 1);
    }
    SUBCASE("a network with embeddings, or a loss without batched members, has no batched path") {
        using recommender = nn::model<nn::sequential<nn::concat<nn::embedding<3, 0>, nn::dense<2>>, nn::dense<1>>, double>;
        static_assert(!mr::objective<recommender, mr::loss::mse>::task_batched);
        static_assert(!mr::objective<mlp, mr::loss::bpr>::task_batched);
        static_assert(mr::objective<mlp, mr::loss::mse>::task_batched);
        CHECK_THROWS_WITH_AS((meta::maml<recommender, mr::loss::mse>(recommender{{.dense = 2, .categorical = {4}}, 1},
                                                                     {.batching = meta::task_batching::batched})),
                             "metarec: maml: task_batching::batched needs a learner and a loss with task-batched "
                             "passes (an nn::model of dense layers and activations; mse or bce_with_logits)",
                             std::invalid_argument);
    }
    SUBCASE("a NaN target: stopped with the task's key, or the task skipped") {
        task_pool pool(shape, 8, 6, 4, 14);
        std::vector<double> poisoned(4, 0.5);
        poisoned[1] = std::numeric_limits<double>::quiet_NaN();
        auto tasks = pool.tasks;
        tasks[5].query_target = poisoned.data();
        const meta::maml_options options{.inner_steps = 2, .meta_batch = 8, .batching = meta::task_batching::batched};
        meta::maml<mlp, mr::loss::mse> stopped(mlp{shape, 5}, options);
        try {
            stopped.fit(tasks, {.max_steps = 1});
            FAIL("fit() did not stop");
        } catch (const meta::non_finite_error& e) {
            CHECK(e.task_key() == 5);
            CHECK(e.quantity() == "loss");
        }
        meta::maml<mlp, mr::loss::mse> skipping(mlp{shape, 5}, options);
        const auto result = skipping.fit(tasks, {.max_steps = 1, .on_non_finite = meta::non_finite::skip_task});
        CHECK(result.skipped_tasks == 1);
        // the step of the 7 finite tasks is the per-task path's
        auto finite = tasks;
        finite.erase(finite.begin() + 5);
        meta::maml<mlp, mr::loss::mse> reference(mlp{shape, 5}, {.inner_steps = 2, .meta_batch = 7});
        reference.fit(finite, {.max_steps = 1});
        CHECK(relative_error(skipping.snapshot(), reference.snapshot()) < 1e-12);
    }
}

}  // namespace metarec::test::batched
