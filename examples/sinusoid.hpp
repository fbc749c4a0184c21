// metarec example: few-shot sinusoid regression (the classic check of the MAML paper),
// shared by the sinusoid program and its test.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include <metarec/metarec.hpp>

namespace sinusoid {

namespace mr = metarec;

/// Tasks y = A sin(x - phi), A in [0.1, 5], phi in [0, pi], x in [-5, 5].
struct config {
    int iterations = 20000;      //!< meta-steps of every method
    mr::index meta_batch = 25;   //!< tasks per meta-step
    mr::index support = 10;      //!< shots
    mr::index query = 10;        //!< query points per training task
    int train_tasks = 20000;     //!< size of the training task pool (resampled each epoch)
    int test_tasks = 1000;       //!< fresh test tasks
    mr::index test_query = 100;  //!< query points per test task
    int threads = 1;
    std::uint64_t seed = 1;
};

/// One row of the comparison: query MSE after 1 and 10 adaptation steps.
struct row {
    std::string name;
    double mse_1 = 0, mse_10 = 0, train_seconds = 0;
    mr::index diverged_1 = 0, diverged_10 = 0;  //!< test tasks whose adapted loss is not finite
};

using net = mr::nn::model<mr::nn::sequential<mr::nn::dense<40>, mr::nn::relu, mr::nn::dense<40>, mr::nn::relu,
                                             mr::nn::dense<1>>,
                          double>;
using task_storage = std::vector<mr::meta::task_data<double>>;

//! `count` tasks of `support` + `query` points, from `seed`
inline task_storage make_tasks(int count, mr::index support, mr::index query, std::uint64_t seed) {
    mr::detail::rng g(seed);
    task_storage tasks;
    tasks.reserve(std::size_t(count));
    const auto points = [&](double amplitude, double phase, mr::index n, std::vector<double>& y) {
        std::vector<double> x(static_cast<std::size_t>(n));
        y.resize(std::size_t(n));
        for (std::size_t i = 0; i < x.size(); ++i) {
            x[i] = g.uniform(-5, 5);
            y[i] = amplitude * std::sin(x[i] - phase);
        }
        return mr::nn::batch_data<double>(n, x, 1);
    };
    for (int t = 0; t < count; ++t) {
        const double amplitude = g.uniform(0.1, 5.0), phase = g.uniform(0, std::numbers::pi);
        std::vector<double> ys, yq;
        auto s = points(amplitude, phase, support, ys);
        auto q = points(amplitude, phase, query, yq);
        tasks.emplace_back(std::move(s), ys, std::move(q), yq, t);
    }
    return tasks;
}

/// Trains every method on the same task pool and evaluates it on the same fresh test tasks.
/// `make_callbacks(name)` may return a callback object passed to fit() (e.g. a progress bar).
template <class Callback>
std::vector<row> run(const config& c, const std::function<Callback(const std::string&)>& make_callback) {
    const auto train_storage = make_tasks(c.train_tasks, c.support, c.query, c.seed);
    const auto test_storage = make_tasks(c.test_tasks, c.support, c.test_query, c.seed + 1);
    const auto train = mr::meta::views(train_storage);
    const auto test = mr::meta::views(test_storage);
    const int epochs = int((std::int64_t(c.iterations) * c.meta_batch + c.train_tasks - 1) / c.train_tasks);
    const mr::meta::fit_options fit{.epochs = epochs, .max_steps = c.iterations};
    const net initial{{.dense = 1}, c.seed};

    std::vector<row> rows;
    const auto measure = [&](const std::string& name, auto& algorithm) {
        const auto start = std::chrono::steady_clock::now();
        auto callback = make_callback(name);
        algorithm.fit(train, fit, callback);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto one = algorithm.evaluate(test, {.steps = 1}), ten = algorithm.evaluate(test, {.steps = 10});
        rows.push_back({name, one.loss, ten.loss, seconds, one.diverged, ten.diverged});
    };
    const mr::optim::adam outer{.lr = 1e-3};
    {
        // joint training on all tasks, then plain gradient descent on the support set
        mr::meta::fine_tune<net, mr::loss::mse> pretrained{
            initial, {.inner = {.lr = 0.01}, .inner_steps = 1, .meta_batch = c.meta_batch, .threads = c.threads, .seed = c.seed},
            outer};
        measure("pretrained", pretrained);
    }
    for (int order : {1, 2}) {
        mr::meta::maml<net, mr::loss::mse> maml{
            initial,
            {.inner_lr = 0.01, .inner_steps = 1, .order = order, .meta_batch = c.meta_batch, .threads = c.threads, .seed = c.seed},
            outer};
        measure("maml-" + std::to_string(order), maml);
    }
    {
        mr::meta::reptile<net, mr::loss::mse, mr::optim::adam> reptile{
            initial, {.inner = {.lr = 0.01}, .inner_steps = 5, .meta_batch = c.meta_batch, .threads = c.threads, .seed = c.seed},
            outer};
        measure("reptile", reptile);
    }
    {
        mr::meta::meta_sgd<net, mr::loss::mse> meta_sgd{
            initial, {.inner_lr = 0.01, .inner_steps = 1, .meta_batch = c.meta_batch, .threads = c.threads, .seed = c.seed},
            outer};
        measure("meta-sgd", meta_sgd);
    }
    return rows;
}

}  // namespace sinusoid
