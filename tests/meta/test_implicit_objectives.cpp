// metarec tests: BCE (pointwise) and BPR (pairwise) as the inner and outer loss of the
// meta-algorithms: meta-gradients against central finite differences of the true objective.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/optim/optim.hpp>

#include "../support/numeric.hpp"

namespace mr = metarec;
namespace nn = metarec::nn;
namespace meta = metarec::meta;

namespace {

using implicit_net = nn::model<
    nn::sequential<nn::concat<nn::embedding<3, 0>, nn::embedding_bag<3, 0>, nn::dense<2>>, nn::dense<5>, nn::tanh, nn::dense<1>>,
    double>;

// a task on random inputs: BCE targets 1, 0, 0, 1, 0, 0... (a positive and two negatives);
// BPR: (positive, negative) pairs, labels 1, 0, 1, 0... that the loss does not read
meta::task_data<double> implicit_task(const nn::input_shape& shape, bool pairwise, std::uint64_t seed) {
    mr::detail::rng g(seed);
    const auto make = [&](mr::index n, std::vector<double>& target) {
        mr::test::random_batch<double> b{shape, n, g.next()};
        target.clear();
        for (mr::index j = 0; j < n; ++j) target.push_back(j % (pairwise ? 2 : 3) == 0 ? 1.0 : 0.0);
        std::vector<nn::host_bags> bags;
        for (std::size_t f = 0; f < b.ids.size(); ++f) bags.push_back({b.offsets[f], b.ids[f]});
        return nn::batch_data<double>(n, b.dense, shape.dense, b.categorical, bags);
    };
    std::vector<double> support_target, query_target;
    auto s = make(6, support_target);
    auto q = make(6, query_target);
    return meta::task_data<double>(std::move(s), support_target, std::move(q), query_target, 0);
}

// the MAML objective computed independently: K SGD steps on the support loss over the
// parameters from `a` on, then the query loss
template <class Loss>
double adapted_query_loss(const implicit_net& learner, const meta::task<nn::batch<double>, double>& task,
                          std::vector<double> theta, double rate, mr::index a, int steps) {
    mr::objective<implicit_net, Loss> objective{learner};
    auto ws = objective.make_workspace(1);
    std::vector<double> grad(theta.size());
    for (int k = 0; k < steps; ++k) {
        objective.gradient(theta.data(), task.support, task.support_target, ws, grad.data());
        for (std::size_t i = std::size_t(a); i < theta.size(); ++i) theta[i] -= rate * grad[i];
    }
    return objective.value(theta.data(), task.query, task.query_target, ws);
}

template <class Loss, class Adaptation = meta::adapt_all>
void check_meta_gradient(bool pairwise, int order) {
    const nn::input_shape shape{.dense = 2, .categorical = {5}, .multi = {6}};
    const auto data = implicit_task(shape, pairwise, 303 + std::uint64_t(order));
    const auto task = data.view();
    for (int steps = 1; steps <= 3; ++steps) {
        CAPTURE(steps);
        meta::maml<implicit_net, Loss, mr::optim::adam, Adaptation> maml{
            implicit_net{shape, 11}, {.inner_lr = 0.4, .inner_steps = steps, .order = order, .meta_batch = 1}};
        const auto& learner = maml.learner();
        const std::vector<double> theta(learner.parameters(), learner.parameters() + learner.parameter_count());
        const mr::index a = maml.adapted_range().offset;
        std::vector<double> exact(std::size_t(maml.meta_parameter_count()));
        maml.meta_gradient(task, exact.data());
        if (order == 2) {
            const auto numeric = mr::test::numeric_gradient(
                [&](const std::vector<double>& t) { return adapted_query_loss<Loss>(learner, task, t, 0.4, a, steps); },
                theta);
            CHECK(mr::test::relative_error(exact, numeric) < 1e-6);
        } else {
            // first order: the query gradient at the adapted parameters
            std::vector<double> adapted = theta;
            mr::objective<implicit_net, Loss> objective{learner};
            auto ws = objective.make_workspace(1);
            std::vector<double> grad(theta.size());
            for (int k = 0; k < steps; ++k) {
                objective.gradient(adapted.data(), task.support, task.support_target, ws, grad.data());
                for (std::size_t i = std::size_t(a); i < theta.size(); ++i) adapted[i] -= 0.4 * grad[i];
            }
            objective.gradient(adapted.data(), task.query, task.query_target, ws, grad.data());
            CHECK(mr::test::relative_error(exact, grad) < 1e-9);
        }
    }
}

}  // namespace

TEST_CASE("BCE with logits as the meta-objective: MAML's meta-gradient, orders 2 and 1, K = 1..3") {
    check_meta_gradient<mr::loss::bce_with_logits>(false, 2);
    check_meta_gradient<mr::loss::bce_with_logits>(false, 1);
}

TEST_CASE("BPR as the meta-objective: MAML's meta-gradient on (positive, negative) pairs, orders 2 and 1, K = 1..3") {
    check_meta_gradient<mr::loss::bpr>(true, 2);
    check_meta_gradient<mr::loss::bpr>(true, 1);
}

TEST_CASE("BCE and BPR with partial adaptation (the head adapts, embeddings get their meta-gradient)") {
    check_meta_gradient<mr::loss::bce_with_logits, meta::adapt_dense_head>(false, 2);
    check_meta_gradient<mr::loss::bpr, meta::adapt_dense_head>(true, 2);
}
