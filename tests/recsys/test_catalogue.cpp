// metarec tests: recsys::catalogue scores a fixed set of candidates as adapted::predict does.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <metarec/detail/random.hpp>
#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/batch_data.hpp>
#include <metarec/recsys/catalogue.hpp>
#include <metarec/recsys/melu.hpp>

namespace mr = metarec;
namespace nn = metarec::nn;

namespace {

// users: gender (3), age band (5); items: id (40), genres (a bag of 12), two dense features
const nn::input_shape shape{.dense = 2, .categorical = {3, 5, 40}, .multi = {12}};

struct user {
    mr::id_type gender, age;
};

// the samples (u, item) for each item of `items`, with the items' fixed features
template <class S>
nn::batch_data<S> rows(user u, const std::vector<mr::id_type>& items) {
    const auto n = mr::index(items.size());
    std::vector<S> dense;
    std::vector<std::vector<mr::id_type>> categorical(3);
    nn::host_bags genres{{0}, {}};
    for (const auto item : items) {
        dense.push_back(S(0.1) * S(item % 7));
        dense.push_back(S(1) - S(0.05) * S(item));
        categorical[0].push_back(u.gender);
        categorical[1].push_back(u.age);
        categorical[2].push_back(item);
        for (mr::id_type g = 0; g < 1 + item % 3; ++g) genres.ids.push_back((item + 5 * g) % 12);
        genres.offsets.push_back(mr::id_type(genres.ids.size()));
    }
    return nn::batch_data<S>(n, dense, 2, categorical, {genres});
}

std::vector<mr::id_type> all_items() {
    std::vector<mr::id_type> items(40);
    for (mr::id_type i = 0; i < 40; ++i) items[std::size_t(i)] = i;
    return items;
}

// the largest |a - b| relative to the largest |b|
template <class S>
double relative_gap(const std::vector<S>& a, const std::vector<S>& b) {
    double gap = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        gap = std::max(gap, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return gap / scale;
}

template <class Algorithm>
void train(Algorithm& algo, int steps) {
    // tasks: users with 8 support and 8 query ratings of random items
    mr::detail::rng g(3);
    std::vector<nn::batch_data<typename Algorithm::scalar_type>> inputs;
    std::vector<std::vector<typename Algorithm::scalar_type>> targets;
    std::vector<mr::meta::task<nn::batch<typename Algorithm::scalar_type>, typename Algorithm::scalar_type>> tasks;
    for (int t = 0; t < 16; ++t) {
        const user u{mr::id_type(g.below(3)), mr::id_type(g.below(5))};
        for (int side = 0; side < 2; ++side) {
            std::vector<mr::id_type> items;
            std::vector<typename Algorithm::scalar_type> y;
            for (int k = 0; k < 8; ++k) {
                items.push_back(mr::id_type(g.below(40)));
                y.push_back(typename Algorithm::scalar_type(1 + (items.back() % 5) + (u.age % 2)));
            }
            inputs.push_back(rows<typename Algorithm::scalar_type>(u, items));
            targets.push_back(std::move(y));
        }
    }
    for (std::size_t t = 0; t < 16; ++t)
        tasks.push_back({inputs[2 * t].view(), targets[2 * t].data(), inputs[2 * t + 1].view(), targets[2 * t + 1].data()});
    algo.fit(tasks, {.epochs = steps});
}

}  // namespace

TEST_CASE_TEMPLATE("catalogue: MAML's adaptation is a low-rank change; the scores are adapted::predict's", S, float,
                   double) {
    using model = mr::recsys::melu<mr::recsys::melu_head, S, mr::device::cpu, 4>;
    mr::meta::melu_maml<model, mr::loss::mse> algo{model{shape, 1},
                                                   {.inner_lr = 0.05, .inner_steps = 3, .meta_batch = 4}};
    train(algo, 2);
    const auto items = all_items();
    const auto catalogue_rows = rows<S>({0, 0}, items);
    const mr::recsys::catalogue<model> shop{algo, catalogue_rows.view()};
    CHECK(shop.size() == 40);
    CHECK(shop.varying_rows() == 4 + 4 + 2);  // the item id's and genres' embeddings, the dense features
    auto ws = shop.make_workspace();
    const double tolerance = std::is_same_v<S, float> ? 2e-5 : 1e-12;

    for (const user u : {user{1, 3}, user{2, 0}}) {
        const auto support = rows<S>(u, {3, 17, 17, 29, 8});  // a repeated item: a singular Gram matrix
        const std::vector<S> ratings{5, 1, 2, 4, 3};
        auto personal = algo.adapt(support.view(), ratings.data(), {.steps = 3});
        const auto candidates = rows<S>(u, items);
        const auto expected = personal.predict(candidates.view());
        std::vector<S> scores(40);
        CHECK(shop.predict(personal, support.view(), candidates.view(), scores.data(), ws) ==
              mr::recsys::catalogue_path::low_rank);
        CHECK(relative_gap(scores, expected) < tolerance);
        // the adaptation moved the scores by far more than that
        const auto& learner = std::as_const(algo).learner();  // (the mutable learner() would change the version)
        typename model::vector_type meta_parameters(learner.parameter_count());
        mr::device::cpu::copy(learner.parameter_count(), learner.parameters(), meta_parameters.data());
        const auto before = mr::meta::adapted<model>(learner, std::move(meta_parameters)).predict(candidates.view());
        CHECK(relative_gap(before, expected) > 1e3 * tolerance);

        // another support set than the one adapted on: not a change of its rank, the cached features
        const auto other = rows<S>(u, {1, 2, 4});
        CHECK(shop.predict(personal, other.view(), candidates.view(), scores.data(), ws) ==
              mr::recsys::catalogue_path::cached_features);
        CHECK(relative_gap(scores, expected) < tolerance);

        // a support set so large that the low-rank form costs more: s (m + N) = 9 x 74 >= N m = 640
        const auto many = rows<S>(u, {0, 1, 2, 3, 4, 5, 6, 7, 8});
        const std::vector<S> nine(9, S(4));
        auto heavy = algo.adapt(many.view(), nine.data(), {.steps = 3});
        CHECK(shop.predict(heavy, many.view(), candidates.view(), scores.data(), ws) ==
              mr::recsys::catalogue_path::cached_features);
        CHECK(relative_gap(scores, heavy.predict(candidates.view())) < tolerance);
    }
}

TEST_CASE("catalogue: Meta-SGD's per-parameter rates take the cached features; other candidates or model, predict") {
    using model = mr::recsys::melu<mr::recsys::melu_head, double, mr::device::cpu, 4>;
    mr::meta::meta_sgd<model, mr::loss::mse, mr::optim::adam, mr::meta::adapt_dense_head> algo{
        model{shape, 2}, {.inner_lr = 0.05, .inner_steps = 2, .meta_batch = 4}};
    train(algo, 2);
    const auto items = all_items();
    const mr::recsys::catalogue<model> shop{algo, rows<double>({0, 0}, items).view()};
    auto ws = shop.make_workspace();
    const user u{2, 4};
    const auto support = rows<double>(u, {5, 6, 7, 30});
    const std::vector<double> ratings{1, 5, 2, 4};
    auto personal = algo.adapt(support.view(), ratings.data(), {.steps = 2});
    const auto candidates = rows<double>(u, items);
    std::vector<double> scores(40);
    CHECK(shop.predict(personal, support.view(), candidates.view(), scores.data(), ws) ==
          mr::recsys::catalogue_path::cached_features);
    CHECK(relative_gap(scores, personal.predict(candidates.view())) < 1e-12);

    // candidates other than the catalogue's: one item changed, or in another order
    auto changed = items;
    changed[7] = 8;
    const auto other = rows<double>(u, changed);
    CHECK(shop.predict(personal, support.view(), other.view(), scores.data(), ws) == mr::recsys::catalogue_path::direct);
    CHECK(scores == personal.predict(other.view()));
    std::reverse(changed.begin(), changed.end());
    CHECK(shop.predict(personal, support.view(), rows<double>(u, changed).view(), scores.data(), ws) ==
          mr::recsys::catalogue_path::direct);

    // the model changed since the catalogue was built: never the stale cache
    train(algo, 1);
    personal = algo.adapt(support.view(), ratings.data(), {.steps = 2});
    CHECK(shop.predict(personal, support.view(), candidates.view(), scores.data(), ws) ==
          mr::recsys::catalogue_path::direct);
    CHECK(scores == personal.predict(candidates.view()));
    const mr::recsys::catalogue<model> rebuilt{algo, rows<double>({1, 1}, items).view()};
    auto ws2 = rebuilt.make_workspace();
    CHECK(rebuilt.predict(personal, support.view(), candidates.view(), scores.data(), ws2) ==
          mr::recsys::catalogue_path::cached_features);
    CHECK(relative_gap(scores, personal.predict(candidates.view())) < 1e-12);
}

TEST_CASE("catalogue: refuses an empty or malformed candidate set") {
    using model = mr::recsys::melu<mr::recsys::melu_head, double, mr::device::cpu, 4>;
    mr::meta::melu_maml<model, mr::loss::mse> algo{model{shape, 1}, {.inner_steps = 1}};
    CHECK_THROWS_WITH_AS(mr::recsys::catalogue<model>(algo, rows<double>({0, 0}, {}).view()),
                         "metarec: catalogue: no candidate", std::invalid_argument);
    CHECK_THROWS_AS(mr::recsys::catalogue<model>(algo, rows<double>({0, 0}, {3, 41}).view()), std::invalid_argument);
    CHECK_THROWS_AS(mr::recsys::catalogue<model>(algo, rows<double>({3, 0}, {3, 4}).view()), std::invalid_argument);
}

TEST_CASE("catalogue_server: a batch of users over threads, each scored as catalogue::predict scores it alone") {
    using model = mr::recsys::melu<mr::recsys::melu_head, float, mr::device::cpu, 4>;
    using algorithm = mr::meta::melu_maml<model, mr::loss::mse>;
    algorithm algo{model{shape, 4}, {.inner_lr = 0.05, .inner_steps = 3, .meta_batch = 4}};
    train(algo, 1);
    const auto items = all_items();
    const mr::recsys::catalogue<model> shop{algo, rows<float>({0, 0}, items).view()};

    // five users with supports of different sizes; the fourth's candidates are not the catalogue's
    std::vector<nn::batch_data<float>> supports, candidates;
    std::vector<std::vector<float>> ratings;
    for (mr::id_type u = 0; u < 5; ++u) {
        std::vector<mr::id_type> rated;
        std::vector<float> y;
        for (mr::id_type k = 0; k < 2 + u; ++k) {
            rated.push_back((7 * u + 3 * k) % 40);
            y.push_back(float(1 + (u + k) % 5));
        }
        supports.push_back(rows<float>({u % 3, u}, rated));
        ratings.push_back(y);
        auto shown = items;
        if (u == 3) std::swap(shown[0], shown[1]);
        candidates.push_back(rows<float>({u % 3, u}, shown));
    }
    std::vector<mr::recsys::catalogue_server<algorithm>::request> requests;
    for (std::size_t u = 0; u < 5; ++u) requests.push_back({supports[u].view(), ratings[u].data(), candidates[u].view()});

    std::vector<float> alone(5 * 40);
    auto ws = shop.make_workspace();
    std::vector<mr::recsys::catalogue_path> paths;
    for (std::size_t u = 0; u < 5; ++u) {
        auto personal = algo.adapt(supports[u].view(), ratings[u].data());
        paths.push_back(shop.predict(personal, supports[u].view(), candidates[u].view(), alone.data() + 40 * u, ws));
    }
    CHECK(paths[0] == mr::recsys::catalogue_path::low_rank);
    CHECK(paths[3] == mr::recsys::catalogue_path::direct);
    for (const int threads : {1, 2, 3}) {
        mr::recsys::catalogue_server server{algo, shop, threads};
        CHECK(server.threads() == threads);
        std::vector<float> scores(5 * 40);
        for (int batch = 0; batch < 2; ++batch) {  // the second batch re-adapts each thread's model in place
            std::fill(scores.begin(), scores.end(), 0.0f);
            CHECK(server.serve(requests, scores.data()) == paths);
            CHECK(scores == alone);
        }
    }
    // a malformed request is reported, not served from garbage
    const auto bad = rows<float>({0, 9}, {1, 2});
    requests[2].support = bad.view();
    mr::recsys::catalogue_server server{algo, shop, 2};
    std::vector<float> scores(5 * 40);
    CHECK_THROWS_AS(server.serve(requests, scores.data()), std::invalid_argument);
}
