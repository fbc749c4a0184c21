// metarec tests: the task-batched meta-step of MAML, Meta-SGD and Reptile (task_batching::batched)
// gives the meta-steps of the per-task path, and refuses what it cannot batch.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
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

// MeLU-like: two categorical fields and a bag field embedded, the dense features beside, a head
using recommender_spec =
    nn::sequential<nn::concat<nn::field_embeddings<4>, nn::dense_features<>>, nn::dense<8>, nn::relu, nn::dense<1>>;
using recommender = nn::model<recommender_spec, double>;
const nn::input_shape recommender_shape{.dense = 2, .categorical = {5, 7}, .multi = {6}};

// device::cpu counting its copies to device memory, and the largest copy to the host
int copies_to_device = 0;
mr::index largest_to_host = 0;
struct counting_copies : mr::device::basic_cpu<counting_copies> {
    template <class S>
    static void to_device(mr::index n, const S* src, S* dst) {
        ++copies_to_device;
        basic_cpu::to_device(n, src, dst);
    }
    template <class S>
    static void to_host(mr::index n, const S* src, S* dst) {
        largest_to_host = std::max(largest_to_host, n);
        basic_cpu::to_host(n, src, dst);
    }
};

using host_task = meta::task<nn::batch<double>, double>;

// the MeLU-like recommender on counting_copies
using counted_recommender = nn::model<recommender_spec, double, counting_copies>;

// each step of a task-batched fit() over 2 epochs: its copies to the device, its largest
// copy to the host
template <class Algorithm, class Options>
std::vector<std::pair<int, mr::index>> copies_per_step(Options options, const std::vector<host_task>& tasks) {
    options.batching = meta::task_batching::batched;
    Algorithm algorithm(counted_recommender{recommender_shape, 5}, options);
    struct record {
        std::vector<std::pair<int, mr::index>>* out;
        void on_fit_begin(const mr::callbacks::fit_begin_info&) { copies_to_device = 0, largest_to_host = 0; }
        void on_step_end(const mr::callbacks::step_info&) {
            out->push_back({copies_to_device, largest_to_host});
            copies_to_device = 0, largest_to_host = 0;
        }
    };
    std::vector<std::pair<int, mr::index>> copies;
    algorithm.fit(tasks, {.epochs = 2}, record{&copies});
    return copies;
}

// a two-tower model: its dot layer has no task-batched passes
using two_tower = nn::model<nn::sequential<nn::concat<nn::embedding<3, 0>, nn::embedding<3, 1>>, nn::dot<3>>, double>;

// fit() for 2 epochs with each batching, from the same initialization: the same meta-parameters
// (to rounding: the batched path sums in another order), the same losses step by step
template <class Algorithm, class Model = mlp, class Options = meta::maml_options>
void check_same_training(Options options, const std::vector<meta::task<nn::batch<double>, double>>& tasks,
                         const nn::input_shape& input = shape) {
    std::vector<double> losses[2];
    std::vector<double> parameters[2];
    for (const int batched : {0, 1}) {
        options.batching = batched ? meta::task_batching::batched : meta::task_batching::per_task;
        Algorithm algorithm(Model{input, 5}, options, mr::optim::adam{.lr = 0.01});
        struct record {
            std::vector<double>* out;
            void on_step_end(const mr::callbacks::step_info& s) { out->push_back(s.loss); }
        };
        algorithm.fit(tasks, {.epochs = 2}, record{&losses[batched]});
        parameters[batched] = algorithm.snapshot();
    }
    REQUIRE(losses[0].size() == 2 * tasks.size() / std::size_t(options.meta_batch));
    REQUIRE(losses[1].size() == losses[0].size());
    for (std::size_t i = 0; i < losses[0].size(); ++i) CHECK(losses[1][i] == doctest::Approx(losses[0][i]).epsilon(1e-12));
    CHECK(relative_error(parameters[1], parameters[0]) < 1e-12);
    const Model initial{input, 5};  // and training moved them
    const std::vector<double> start(initial.parameters(), initial.parameters() + initial.parameter_count());
    CHECK(relative_error(std::vector<double>(parameters[1].begin(), parameters[1].begin() + initial.parameter_count()),
                         start) > 1e-3);
}

// A NaN in task 5's query targets: fit() stops naming the task, or (skip_task) leaves it out
// and makes the step of the 7 others, as the per-task path does on them alone
template <class Algorithm, class Model = mlp>
void check_non_finite(std::vector<meta::task<nn::batch<double>, double>> tasks, const nn::input_shape& input = shape) {
    std::vector<double> poisoned(4, 0.5);
    poisoned[1] = std::numeric_limits<double>::quiet_NaN();
    tasks[5].query_target = poisoned.data();
    const meta::maml_options options{.inner_steps = 2, .meta_batch = 8, .batching = meta::task_batching::batched};
    Algorithm stopped(Model{input, 5}, options);
    try {
        stopped.fit(tasks, {.max_steps = 1});
        FAIL("fit() did not stop");
    } catch (const meta::non_finite_error& e) {
        CHECK(e.task_key() == 5);
        CHECK(e.quantity() == "loss");
    }
    Algorithm skipping(Model{input, 5}, options);
    const auto result = skipping.fit(tasks, {.max_steps = 1, .on_non_finite = meta::non_finite::skip_task});
    CHECK(result.skipped_tasks == 1);
    auto finite = tasks;
    finite.erase(finite.begin() + 5);
    Algorithm reference(Model{input, 5}, {.inner_steps = 2, .meta_batch = 7});
    reference.fit(finite, {.max_steps = 1});
    CHECK(relative_error(skipping.snapshot(), reference.snapshot()) < 1e-12);
    const Algorithm untrained(Model{input, 5}, options);
    CHECK(relative_error(skipping.snapshot(), untrained.snapshot()) > 1e-6);  // a step was made
}

}  // namespace

TEST_CASE("task-batched meta-steps give the per-task meta-steps: MAML, ANIL, Meta-SGD, orders 1 and 2") {
    const task_pool pool(shape, 16, 6, 4, 11);
    SUBCASE("MAML, order 2, K = 3") {
        check_same_training<meta::maml<mlp, mr::loss::mse>>({.inner_lr = 0.3, .inner_steps = 3, .meta_batch = 4}, pool.tasks);
    }
    SUBCASE("MAML, order 1, K = 2, two threads (the batched step runs on one)") {
        check_same_training<meta::maml<mlp, mr::loss::mse>>(
            {.inner_lr = 0.3, .inner_steps = 2, .order = 1, .meta_batch = 4, .threads = 2}, pool.tasks);
    }
    SUBCASE("ANIL (the last layer adapts), order 2, K = 2, bce_with_logits") {
        check_same_training<meta::basic_maml<mlp, mr::loss::bce_with_logits, mr::optim::adam, meta::adapt_last>>(
            {.inner_lr = 0.5, .inner_steps = 2, .meta_batch = 4}, pool.tasks);
    }
    SUBCASE("Meta-SGD, order 2, K = 2") {
        check_same_training<meta::meta_sgd<mlp, mr::loss::mse>>({.inner_lr = 0.2, .inner_steps = 2, .meta_batch = 4},
                                                                pool.tasks);
    }
    SUBCASE("Meta-SGD, order 1, K = 3") {
        check_same_training<meta::meta_sgd<mlp, mr::loss::mse>>(
            {.inner_lr = 0.2, .inner_steps = 3, .order = 1, .meta_batch = 4}, pool.tasks);
    }
}

TEST_CASE("task-batched meta-steps of a MeLU-like model (embeddings, a bag field) give the per-task meta-steps") {
    const task_pool pool(recommender_shape, 16, 6, 4, 15);
    SUBCASE("MeLU: the dense head adapts, order 2, K = 2") {
        check_same_training<meta::melu_maml<recommender, mr::loss::mse>, recommender>(
            {.inner_lr = 0.3, .inner_steps = 2, .meta_batch = 4}, pool.tasks, recommender_shape);
    }
    SUBCASE("MAML: everything adapts, embeddings included, order 2, K = 2") {
        check_same_training<meta::maml<recommender, mr::loss::mse>, recommender>(
            {.inner_lr = 0.3, .inner_steps = 2, .meta_batch = 4}, pool.tasks, recommender_shape);
    }
    SUBCASE("Meta-SGD on the head, order 1, K = 3") {
        check_same_training<meta::basic_maml<recommender, mr::loss::mse, mr::optim::adam, meta::adapt_dense_head, true>,
                            recommender>({.inner_lr = 0.2, .inner_steps = 3, .order = 1, .meta_batch = 4},
                                         pool.tasks, recommender_shape);
    }
}

template <class Model, class Inner, class Adaptation = meta::adapt_all>
using reptile_adam = meta::reptile<Model, mr::loss::mse, mr::optim::adam, Inner, Adaptation>;

TEST_CASE("task-batched Reptile gives the per-task Reptile: inner SGD, momentum and Adam, shared layers, mixed sizes") {
    const task_pool pool(shape, 16, 6, 4, 21);
    SUBCASE("everything adapts, inner SGD, K = 3") {
        check_same_training<reptile_adam<mlp, mr::optim::sgd>>(
            meta::reptile_options<mr::optim::sgd>{.inner = {.lr = 0.2}, .inner_steps = 3, .meta_batch = 4}, pool.tasks);
    }
    SUBCASE("the last layer adapts (the rest shared), inner Nesterov momentum with weight decay, K = 4") {
        using inner = mr::optim::momentum;
        check_same_training<reptile_adam<mlp, inner, meta::adapt_last>>(
            meta::reptile_options<inner>{.inner = {.lr = 0.1, .mu = 0.9, .nesterov = true, .weight_decay = 0.01},
                                         .inner_steps = 4,
                                         .meta_batch = 4},
            pool.tasks);
    }
    SUBCASE("MeLU-like, the head adapts, inner Adam (a state per task), tasks of two sizes") {
        const task_pool small(recommender_shape, 6, 2, 6, 22), large(recommender_shape, 6, 7, 3, 23);
        auto tasks = small.tasks;
        tasks.insert(tasks.end(), large.tasks.begin(), large.tasks.end());
        check_same_training<reptile_adam<recommender, mr::optim::adam, meta::adapt_dense_head>, recommender>(
            meta::reptile_options<mr::optim::adam>{.inner = {.lr = 0.05}, .inner_steps = 3, .meta_batch = 4}, tasks,
            recommender_shape);
    }
    SUBCASE("what cannot be batched: a clipping inner optimizer, a learner without batched passes") {
        using sgd_options = meta::reptile_options<mr::optim::sgd>;
        CHECK(mr::optim::elementwise(mr::optim::adam{}));
        CHECK_FALSE(mr::optim::elementwise(mr::optim::adam{.clip_norm = 1}));
        const std::string message =
            "metarec: reptile: task_batching::batched needs a learner and a loss with task-batched passes (an "
            "nn::model of dense layers, activations, embeddings; mse or bce_with_logits), an adapted slice that ends "
            "the parameters, and an inner optimizer that steps element-wise (optim::elementwise: no clip_norm)";
        CHECK_THROWS_WITH_AS((meta::reptile<mlp, mr::loss::mse>(
                                 mlp{shape, 5}, sgd_options{.inner = {.lr = 0.1, .clip_norm = 1},
                                                            .batching = meta::task_batching::batched})),
                             message.c_str(), std::invalid_argument);
        const sgd_options batched{.batching = meta::task_batching::batched};
        CHECK_THROWS_WITH_AS((meta::reptile<two_tower, mr::loss::mse>(two_tower{{.categorical = {4, 5}}, 1}, batched)),
                             message.c_str(), std::invalid_argument);
        // a clipping inner optimizer under `automatic` runs per task (and on the CPU, automatic is per task anyway)
        meta::reptile<mlp, mr::loss::mse> clipped(mlp{shape, 5},
                                                  sgd_options{.inner = {.lr = 0.1, .clip_norm = 1}, .meta_batch = 4});
        CHECK(clipped.fit(pool.tasks, {.max_steps = 2}).steps == 2);
    }
}

TEST_CASE("a task-batched meta-step copies nothing to the device: the tasks once a fit(), their order once an epoch") {
    const task_pool small(recommender_shape, 8, 2, 6, 24), large(recommender_shape, 8, 7, 3, 25);
    auto tasks = small.tasks;  // of two sizes: the padded path
    tasks.insert(tasks.end(), large.tasks.begin(), large.tasks.end());
    const auto check = [](const std::vector<std::pair<int, mr::index>>& copies) {
        REQUIRE(copies.size() == 8);
        // the first step: the tasks' addresses, their sizes (support, query) and the epoch's order
        // to the device; the 16 tasks' numbers of bag ids (per side) to the host
        CHECK(copies[0].first == 4);
        CHECK(copies[0].second == 16);
        for (std::size_t step = 1; step < 8; ++step) {
            CAPTURE(step);
            CHECK(copies[step].first == (step == 4 ? 1 : 0));  // the second epoch's order
            // to the host, scalars only: the 4 tasks' losses (for the log) and the validation's checks
            CHECK(copies[step].second == 4);
        }
    };
    SUBCASE("MeLU") {
        check(copies_per_step<meta::melu_maml<counted_recommender, mr::loss::mse>>(
            meta::maml_options{.inner_steps = 2, .meta_batch = 4}, tasks));
    }
    SUBCASE("Reptile on the head, inner Adam") {
        using inner = mr::optim::adam;
        using algorithm =
            meta::reptile<counted_recommender, mr::loss::mse, mr::optim::sgd, inner, meta::adapt_dense_head>;
        check(copies_per_step<algorithm>(
            meta::reptile_options<inner>{.inner = {.lr = 0.01}, .inner_steps = 2, .meta_batch = 4}, tasks));
    }
}

TEST_CASE("task-batched meta-steps: tasks of unequal sizes, a learner or loss without batched passes, a NaN") {
    SUBCASE("tasks of different sizes: padded, the same meta-steps as one by one") {
        const task_pool small(shape, 8, 3, 5, 12), large(shape, 8, 6, 2, 13);
        auto tasks = small.tasks;
        tasks.insert(tasks.end(), large.tasks.begin(), large.tasks.end());
        check_same_training<meta::maml<mlp, mr::loss::mse>>({.inner_lr = 0.3, .inner_steps = 2, .meta_batch = 4}, tasks);
        const task_pool small_melu(recommender_shape, 6, 2, 6, 14), large_melu(recommender_shape, 6, 7, 3, 15);
        auto melu_tasks = small_melu.tasks;
        melu_tasks.insert(melu_tasks.end(), large_melu.tasks.begin(), large_melu.tasks.end());
        check_same_training<meta::melu_maml<recommender, mr::loss::bce_with_logits>, recommender>(
            {.inner_lr = 0.3, .inner_steps = 2, .meta_batch = 4}, melu_tasks, recommender_shape);
    }
    SUBCASE("a network with a layer without batched passes, or a loss without batched members, has no batched path") {
        static_assert(!mr::objective<two_tower, mr::loss::mse>::task_batched);
        static_assert(!mr::objective<mlp, mr::loss::bpr>::task_batched);
        static_assert(mr::objective<mlp, mr::loss::mse>::task_batched);
        static_assert(mr::objective<recommender, mr::loss::bce_with_logits>::task_batched);
        CHECK_THROWS_WITH_AS((meta::maml<two_tower, mr::loss::mse>(two_tower{{.categorical = {4, 5}}, 1},
                                                                   {.batching = meta::task_batching::batched})),
                             "metarec: maml: task_batching::batched needs a learner and a loss with task-batched "
                             "passes (an nn::model of dense layers, activations, embeddings; mse or bce_with_logits)",
                             std::invalid_argument);
    }
    SUBCASE("a set without the data the stacking reads: an error naming the task, not a crash") {
        const task_pool pool(recommender_shape, 4, 3, 2, 16);
        auto tasks = pool.tasks;
        const mr::id_type* no_ids[2] = {nullptr, nullptr};
        tasks[3].query.categorical = no_ids;
        meta::melu_maml<recommender, mr::loss::mse> melu(recommender{recommender_shape, 5},
                                                          {.meta_batch = 4, .batching = meta::task_batching::batched});
        CHECK_THROWS_WITH_AS(melu.fit(tasks, {.max_steps = 1}),
                             "metarec: stacked_tasks: task key 3: the query set has no ids for a categorical field",
                             std::invalid_argument);
        tasks = pool.tasks;
        tasks[1].support_target = nullptr;
        CHECK_THROWS_WITH_AS(melu.fit(tasks, {.max_steps = 1}),
                             "metarec: fit: task 1 (key 1) has no support or query targets", std::invalid_argument);
    }
    SUBCASE("a NaN target: stopped with the task's key, or the task skipped (MAML: nothing shared)") {
        check_non_finite<meta::maml<mlp, mr::loss::mse>>(task_pool(shape, 8, 6, 4, 14).tasks);
    }
    SUBCASE("a NaN target under MeLU: the shared embeddings' summed gradient is NaN, the step is redone per task") {
        check_non_finite<meta::melu_maml<recommender, mr::loss::mse>, recommender>(
            task_pool(recommender_shape, 8, 6, 4, 17).tasks, recommender_shape);
    }
}

}  // namespace metarec::test::batched
