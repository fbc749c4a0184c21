// metarec tests: the recommender models.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/recsys/melu.hpp>

namespace mr = metarec;

TEST_CASE("melu: embeddings first and global, the dense head last and adapted by melu_maml") {
    using model = mr::recsys::melu<mr::recsys::melu_head, double, mr::device::cpu, 8>;
    const mr::nn::input_shape shape{.categorical = {2, 7, 21}, .multi = {25}};
    model m{shape, 1};
    const mr::index tables = 8 * (2 + 7 + 21 + 25), head = (64 * 32 + 64) + (64 * 64 + 64) + (64 + 1);
    CHECK(m.parameter_count() == tables + head);
    CHECK(m.output_rows() == 1);
    mr::meta::melu_maml<model, mr::loss::mse> algo{std::move(m), {.inner_lr = 5e-3, .inner_steps = 5, .meta_batch = 1}};
    CHECK(algo.adapted_range().offset == tables);
    CHECK(algo.adapted_range().size == head);
    const auto& slices = algo.learner().slices();
    REQUIRE(slices.size() == 4 + 3);
    for (std::size_t i = 0; i < 4; ++i) CHECK(slices[i].name == "embedding");
}

// ---- MeLU with dense features; matrix factorization and two towers on a known latent model

#include <cmath>
#include <vector>

#include <metarec/nn/batch_data.hpp>
#include <metarec/optim/optim.hpp>
#include <metarec/recsys/matrix_factorization.hpp>
#include <metarec/recsys/two_tower.hpp>

namespace nn = metarec::nn;

TEST_CASE("melu: the head reads [field embeddings; dense features]; without dense features as before") {
    using model = mr::recsys::melu<mr::recsys::melu_head, double, mr::device::cpu, 4>;
    const nn::input_shape shape{.dense = 3, .categorical = {2, 5}, .multi = {6}};
    const model m{shape, 1};
    const mr::index tables = 4 * (2 + 5 + 6), head = (64 * (12 + 3) + 64) + (64 * 64 + 64) + (64 + 1);
    CHECK(m.parameter_count() == tables + head);
    const auto range = mr::meta::adapt_dense_head::select(m);
    CHECK(range.offset == tables);
    CHECK(range.size == head);
    // the dense features reach the prediction
    std::vector<double> dense(3 * 2, 0.5);
    const std::vector<std::vector<mr::id_type>> categorical{{0, 1}, {4, 2}};
    const std::vector<nn::host_bags> bags{{{0, 2, 3}, {1, 5, 0}}};
    auto ws = m.make_workspace(2);
    std::vector<double> before(2), after(2);
    m.forward(m.parameters(), nn::batch_data<double>(2, dense, 3, categorical, bags).view(), ws, before.data());
    dense[4] += 1;  // sample 1, dense row 1
    m.forward(m.parameters(), nn::batch_data<double>(2, dense, 3, categorical, bags).view(), ws, after.data());
    CHECK(after[0] == before[0]);
    CHECK(after[1] != before[1]);

    // no dense features: the same parameters and predictions as embeddings straight into the head
    const nn::input_shape ids_only{.categorical = {2, 5}, .multi = {6}};
    const model plain{ids_only, 2};
    const nn::model<nn::sequential<nn::field_embeddings<4>, mr::recsys::melu_head>, double> reference{ids_only, 2};
    REQUIRE(plain.parameter_count() == reference.parameter_count());
    CHECK(std::equal(plain.parameters(), plain.parameters() + plain.parameter_count(), reference.parameters()));
    const nn::batch_data<double> x(2, {}, 0, categorical, bags);
    auto ws2 = reference.make_workspace(2);
    plain.forward(plain.parameters(), x.view(), ws, before.data());
    reference.forward(reference.parameters(), x.view(), ws2, after.data());
    CHECK(before == after);
    CHECK(mr::meta::adapt_dense_head::select(plain).offset == 4 * (2 + 5 + 6));
}

namespace {

// A cold-start problem with a known structure: items have latent vectors q_i and biases b_i,
// users p_u and b_u, and a rating is 3 + <p_u, q_i> + b_u + b_i + noise. One task per user:
// 10 support and 10 query ratings of distinct random items. The features of a sample:
//   ids only (matrix factorization): categorical [item id] (item_group)
//   with side features: categorical [user band (user_group; the sign of p_u[0], a weak hint),
//                                    item id (item_group)], dense [q_i + noise (item_group)]
struct latent_problem {
    nn::input_shape shape;
    std::vector<mr::meta::task_data<float>> train, test;
};

latent_problem make_latent_problem(bool side_features, std::uint64_t seed) {
    constexpr mr::index latent = 3, items = 40, train_users = 160, test_users = 40, support = 10, query = 10;
    mr::detail::rng g(seed);
    const auto gauss = [&g] { return g.uniform(-1.7320508, 1.7320508); };  // unit variance
    std::vector<double> q(static_cast<std::size_t>(latent * items)), item_bias(static_cast<std::size_t>(items));
    for (auto& v : q) v = gauss();
    for (auto& b : item_bias) b = 0.5 * gauss();

    latent_problem out;
    out.shape = side_features ? nn::input_shape{.dense = latent, .categorical = {2, items},
                                                .dense_group = std::vector<int>(std::size_t(latent), mr::recsys::item_group),
                                                .categorical_group = {mr::recsys::user_group, mr::recsys::item_group}}
                              : nn::input_shape{.categorical = {items}, .categorical_group = {mr::recsys::item_group}};
    for (mr::index u = 0; u < train_users + test_users; ++u) {
        double p[latent];
        for (auto& v : p) v = gauss();
        const double user_bias = 0.5 * gauss();
        // distinct items: a partial shuffle
        std::vector<mr::id_type> order(std::size_t{items});
        for (mr::index i = 0; i < items; ++i) order[std::size_t(i)] = mr::id_type(i);
        for (mr::index k = 0; k < support + query; ++k)
            std::swap(order[std::size_t(k)], order[std::size_t(k + mr::index(g.below(std::uint64_t(items - k))))]);
        const auto make = [&](mr::index first, mr::index count, std::vector<float>& target) {
            std::vector<float> dense;
            std::vector<std::vector<mr::id_type>> categorical(side_features ? 2 : 1);
            for (mr::index k = first; k < first + count; ++k) {
                const auto i = order[std::size_t(k)];
                double r = 3 + user_bias + item_bias[std::size_t(i)] + 0.1 * gauss();
                for (mr::index d = 0; d < latent; ++d) r += p[d] * q[std::size_t(latent * i + d)];
                target.push_back(float(r));
                if (side_features) {
                    categorical[0].push_back(p[0] > 0 ? 1 : 0);
                    for (mr::index d = 0; d < latent; ++d) dense.push_back(float(q[std::size_t(latent * i + d)] + 0.1 * gauss()));
                }
                categorical.back().push_back(i);
            }
            return nn::batch_data<float>(count, dense, side_features ? latent : 0, categorical);
        };
        std::vector<float> support_target, query_target;
        auto s = make(0, support, support_target);
        auto qb = make(support, query, query_target);
        (u < train_users ? out.train : out.test).emplace_back(std::move(s), support_target, std::move(qb), query_target, u);
    }
    return out;
}

// meta-trains Model with MAML (order 2) adapting the user side, returns the mean query MSE on
// the new users without adaptation (0 steps) and after the inner steps
template <class Model>
std::pair<double, double> latent_cold_start(const latent_problem& problem, double inner_lr, int epochs, double lr) {
    const auto train = mr::meta::views(problem.train), test = mr::meta::views(problem.test);
    mr::meta::maml<Model, mr::loss::mse, mr::optim::adam, mr::recsys::adapt_user> algo{
        Model{problem.shape, 3}, {.inner_lr = inner_lr, .inner_steps = 5, .order = 2, .meta_batch = 16, .seed = 3},
        mr::optim::adam{.lr = lr}};
    algo.fit(train, {.epochs = epochs});
    return {algo.evaluate(test, {.steps = 0}).loss, algo.evaluate(test).loss};
}

}  // namespace

TEST_CASE("matrix factorization on a latent model: adapting the user vector to 10 ratings") {
    const auto problem = make_latent_problem(false, 11);
    const auto [before, after] = latent_cold_start<mr::recsys::matrix_factorization<4>>(problem, 0.1, 20, 1e-2);
    MESSAGE("matrix factorization, query MSE on new users: " << before << " without adaptation, " << after << " after 5 steps");
    CHECK(std::isfinite(after));
    CHECK(after < 0.5 * before);  // measured: 0.35 (seed 21: 0.22)
}

TEST_CASE("two towers on a latent model: adapting the user tower to 10 ratings" * doctest::test_suite("accuracy")) {
    const auto problem = make_latent_problem(true, 12);
    const auto [before, after] = latent_cold_start<mr::recsys::two_tower<4>>(problem, 0.02, 10, 3e-3);
    MESSAGE("two towers, query MSE on new users: " << before << " without adaptation, " << after << " after 5 steps");
    CHECK(std::isfinite(after));
    CHECK(after < 0.25 * before);  // measured: 0.055 (seed 22: 0.049)
}

TEST_CASE("every meta-algorithm takes MeLU, two towers and matrix factorization") {
    const auto ids = make_latent_problem(false, 13), features = make_latent_problem(true, 13);
    const mr::meta::fit_options one{.max_steps = 1};
    const auto all = [&one]<class Model, class Adapt>(const latent_problem& problem) {
        using namespace mr::meta;
        const auto train = views(problem.train);
        const Model model{problem.shape, 1};
        const double before = maml<Model, mr::loss::mse, mr::optim::adam, Adapt>{model, {.meta_batch = 4}}.evaluate(train).loss;
        CHECK(std::isfinite(before));
        maml<Model, mr::loss::mse, mr::optim::adam, Adapt>{model, {.order = 2, .meta_batch = 4}}.fit(train, one);
        maml<Model, mr::loss::mse, mr::optim::adam, Adapt>{model, {.order = 1, .meta_batch = 4}}.fit(train, one);
        meta_sgd<Model, mr::loss::mse, mr::optim::adam, Adapt>{model, {.meta_batch = 4}}.fit(train, one);
        reptile<Model, mr::loss::mse, mr::optim::adam, mr::optim::sgd, Adapt>{model, {.meta_batch = 4}}.fit(train, one);
        fine_tune<Model, mr::loss::mse, mr::optim::adam, mr::optim::sgd, Adapt>{model, {.meta_batch = 4}}.fit(train, one);
        const auto range = Adapt::select(model);
        CHECK(range.size > 0);
        CHECK(range.offset + range.size <= model.parameter_count());
    };
    all.template operator()<mr::recsys::matrix_factorization<4>, mr::recsys::adapt_user>(ids);
    all.template operator()<mr::recsys::two_tower<4>, mr::recsys::adapt_user>(features);
    all.template operator()<mr::recsys::two_tower<4, mr::recsys::mlp_score>, mr::recsys::adapt_user>(features);
    all.template operator()<mr::recsys::melu<mr::recsys::melu_head, float, mr::device::cpu, 8>, mr::meta::adapt_dense_head>(features);
}
