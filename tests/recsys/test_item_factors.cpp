// metarec tests: training tasks from whole histories, item factors of what the bias model
// leaves over (alternating least squares), the fold-in of a new user on them, and matrix
// factorization meta-learned from them.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <metarec/data/split.hpp>
#include <metarec/data/synthetic.hpp>
#include <metarec/eval/intervals.hpp>
#include <metarec/eval/metrics.hpp>
#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/optim/optim.hpp>
#include <metarec/recsys/item_factors.hpp>
#include <metarec/recsys/matrix_factorization.hpp>
#include <metarec/recsys/residual.hpp>

namespace mr = metarec;
namespace md = metarec::data;

namespace {

// the mean per-task MAE of `predict(task)` over `tasks`, and each task's value
template <class Predict>
std::vector<double> task_mae(const md::dataset& data, const std::vector<md::task_split>& tasks, Predict predict) {
    std::vector<double> out;
    for (const auto& t : tasks) {
        const auto pred = predict(t);
        double sum = 0;
        for (std::size_t q = 0; q < t.query.size(); ++q) sum += std::abs(pred[q] - data.interactions[std::size_t(t.query[q])].rating);
        out.push_back(sum / double(t.query.size()));
    }
    return out;
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
}

}  // namespace

TEST_CASE("make_split whole_history: every training interaction trains, heavy users too; test tasks unchanged") {
    const auto data = md::make_synthetic({.users = 200, .items = 120, .min_interactions = 15, .max_interactions = 60, .seed = 4});
    const md::split_options melu{.max_interactions = 40, .query = 5, .support = 5, .whole_history = false, .seed = 4};
    auto whole_options = melu;
    whole_options.whole_history = true;
    const auto task = md::make_split(data, melu), whole = md::make_split(data, whole_options);
    // the test tasks do not depend on how training is cut
    REQUIRE(task.test.size() == whole.test.size());
    for (std::size_t k = 0; k < task.test.size(); ++k) {
        CHECK(task.test[k].support == whole.test[k].support);
        CHECK(task.test[k].query == whole.test[k].query);
    }
    std::map<mr::index, int> count;
    for (const auto& r : data.interactions) ++count[r.user];
    // whole histories: every interaction of a non-new user is training data, cut into tasks
    // of support + query; users above max_interactions give tasks too
    std::size_t training_side = 0;
    for (const auto& r : data.interactions) training_side += !whole.new_user[std::size_t(r.user)];
    CHECK(whole.training_interactions.size() == training_side);
    CHECK(task.training_interactions.size() < training_side);
    std::map<mr::index, int> tasks_of;
    for (const auto& t : whole.train) {
        CHECK(t.support.size() == 5);
        CHECK(t.query.size() == 5);
        ++tasks_of[t.key];
    }
    bool heavy = false;
    for (const auto& [user, n] : tasks_of) {
        CHECK(n == count[user] / 10);  // disjoint tasks of 10; the rest (< 10) trains the baselines only
        heavy = heavy || count[user] > 40;
    }
    CHECK(heavy);
    for (const auto& t : task.train) CHECK(count[t.key] <= 40);  // MeLU's protocol drops them
    // validation: one task per validation user, none of whose tasks trains
    std::set<std::int64_t> train_keys, validation_keys;
    for (const auto& t : whole.train) train_keys.insert(t.key);
    for (const auto& t : whole.validation) CHECK(validation_keys.insert(t.key).second);
    for (auto k : validation_keys) CHECK(train_keys.count(k) == 0);
    CHECK(!whole.validation.empty());
}

TEST_CASE("training_without_validation: nothing of a validation user (item) stays, everything else does") {
    const auto data = md::make_synthetic({.users = 200, .items = 120, .min_interactions = 15, .max_interactions = 60, .seed = 4});
    for (const auto sc : {md::scenario::new_users, md::scenario::new_items, md::scenario::new_users_new_items}) {
        CAPTURE(md::to_string(sc));
        const auto s = md::make_split(data, {.scenario = sc, .min_interactions = 6, .query = 3, .seed = 4});
        REQUIRE(!s.validation.empty());
        const bool users = sc != md::scenario::new_items, items = sc != md::scenario::new_users;
        std::set<mr::index> held_users, held_items;
        for (const auto& t : s.validation)
            for (const auto* part : {&t.support, &t.query})
                for (auto k : *part) {
                    if (users) held_users.insert(data.interactions[std::size_t(k)].user);
                    if (items) held_items.insert(data.interactions[std::size_t(k)].item);
                }
        const auto kept = md::training_without_validation(data, s, sc);
        CHECK(std::is_sorted(kept.begin(), kept.end()));
        CHECK(kept.size() < s.training_interactions.size());
        std::size_t expected = 0;
        for (auto k : s.training_interactions) {
            const auto& r = data.interactions[std::size_t(k)];
            expected += !held_users.count(r.user) && !held_items.count(r.item);
        }
        CHECK(kept.size() == expected);
        for (auto k : kept) {
            const auto& r = data.interactions[std::size_t(k)];
            CHECK(std::binary_search(s.training_interactions.begin(), s.training_interactions.end(), k));
            CHECK(!held_users.count(r.user));
            CHECK(!held_items.count(r.item));
        }
    }
}

TEST_CASE("item factors: ALS lowers its objective, fold-in on zero factors is the bias model, shapes are checked") {
    const auto data = md::make_synthetic({.users = 300, .items = 120, .min_interactions = 20, .max_interactions = 50, .seed = 6});
    const auto split = md::make_split(data, {.query = 10, .support = 10, .seed = 6});
    const auto bias = mr::recsys::bias_model::tuned(data, split);
    // sum of squared residuals + lambda |P|^2 + lambda |Q|^2 is what each half-sweep minimizes
    // exactly, so it cannot rise; the training error falls well below the bias model's
    const auto training_error = [&](const Eigen::MatrixXd& q) {
        // refit P for the given Q (one user half-sweep) and return the mean squared error
        std::map<mr::index, std::vector<mr::index>> of_user;
        for (auto k : split.training_interactions) of_user[data.interactions[std::size_t(k)].user].push_back(k);
        double sse = 0;
        for (const auto& [u, ks] : of_user) {
            const auto pred = mr::recsys::fold_in(data, bias, q, 10.0, {u, ks, ks});
            for (std::size_t k = 0; k < ks.size(); ++k) {
                const double e = pred[k] - data.interactions[std::size_t(ks[k])].rating;
                sse += e * e;
            }
        }
        return sse / double(split.training_interactions.size());
    };
    const auto one = mr::recsys::fit_item_factors(data, bias, split.training_interactions, {.factors = 8, .sweeps = 1});
    const auto ten = mr::recsys::fit_item_factors(data, bias, split.training_interactions, {.factors = 8, .sweeps = 10});
    CHECK(one.rows() == 8);
    CHECK(one.cols() == data.items.rows());
    const double zero_error = training_error(Eigen::MatrixXd::Zero(8, data.items.rows()));
    MESSAGE("training MSE: biases only " << zero_error << ", 1 sweep " << training_error(one) << ", 10 sweeps "
                                         << training_error(ten));
    CHECK(training_error(ten) < training_error(one));
    CHECK(training_error(ten) < 0.8 * zero_error);
    // fold-in on zero factors predicts the bias model exactly
    const Eigen::MatrixXd none = Eigen::MatrixXd::Zero(8, data.items.rows());
    for (const auto& t : split.test) {
        const auto a = mr::recsys::fold_in(data, bias, none, 10.0, t), b = bias.predict(t);
        for (std::size_t k = 0; k < a.size(); ++k) CHECK(a[k] == doctest::Approx(b[k]));
    }
    // items without training interactions have zero factors
    std::vector<char> trained(std::size_t(data.items.rows()), 0);
    for (auto k : split.training_interactions) trained[std::size_t(data.interactions[std::size_t(k)].item)] = 1;
    for (mr::index i = 0; i < data.items.rows(); ++i)
        if (!trained[std::size_t(i)]) CHECK(ten.col(i).norm() == 0.0);
    CHECK_THROWS_AS(mr::recsys::fit_item_factors(data, bias, split.training_interactions, {.factors = 0}), std::invalid_argument);
    CHECK_THROWS_AS(mr::recsys::fit_item_factors(data, bias, split.training_interactions, {.regularization = 0}),
                    std::invalid_argument);
    CHECK_THROWS_AS(mr::recsys::fit_item_factors(data, bias, {}, {}), std::invalid_argument);
    // a model of another dimension is refused
    const mr::recsys::feature_encoder ids(data, {.user_features = false, .item_features = false, .item_id = true});
    mr::recsys::matrix_factorization<4> small(ids.shape(), 1);
    CHECK_THROWS_AS(mr::recsys::initialize_item_factors(small, ids, ten, [](mr::index) { return 0.0; }, 0.0),
                    std::invalid_argument);
}

TEST_CASE("item factors: the fold-in of new users beats the bias model; matrix factorization started from them "
          "predicts the biases, then adapts beyond them" * doctest::test_suite("accuracy")) {
    const auto data = md::make_synthetic({.users = 500, .items = 150, .min_interactions = 20, .max_interactions = 60, .seed = 7});
    const auto split = md::make_split(data, {.query = 10, .support = 10, .seed = 7});
    const auto bias = mr::recsys::bias_model::tuned(data, split);
    const auto [factors, lambda] = mr::recsys::tuned_item_factors(data, split, bias, {.factors = 8, .seed = 7});
    const auto bias_mae = task_mae(data, split.test, [&](const md::task_split& t) { return bias.predict(t); });
    const auto fold_mae =
        task_mae(data, split.test, [&](const md::task_split& t) { return mr::recsys::fold_in(data, bias, factors, lambda, t); });
    const auto fold = mr::eval::paired_bootstrap(fold_mae, bias_mae, 7);
    MESSAGE("new users' MAE: bias " << mean(bias_mae) << ", ALS fold-in (lambda " << lambda << ") " << mean(fold_mae)
                                    << ", paired difference " << fold.mean << " [" << fold.low << ", " << fold.high << "]");
    CHECK(fold.high < 0);
    CHECK(fold.mean < -0.1);  // measured -0.218

    // matrix factorization on the residuals, started from the factors: before adaptation it
    // is the bias model; FOMAML's few inner steps fold the new user in
    using model = mr::recsys::matrix_factorization<8>;
    const mr::recsys::feature_encoder ids(data, {.user_features = false, .item_features = false, .item_id = true}, split);
    const auto cold = bias.for_scenario(md::scenario::new_users);
    model start(ids.shape(), 7);
    mr::recsys::initialize_item_factors(start, ids, factors, [](mr::index) { return 0.0; }, 0.0);
    const auto train_data = mr::recsys::residual_tasks<float>(ids, cold, split.train),
               test_data = mr::recsys::residual_tasks<float>(ids, cold, split.test);
    const auto train = mr::meta::views(train_data), test = mr::meta::views(test_data);
    mr::meta::maml<model, mr::loss::mse, mr::optim::adam, mr::recsys::adapt_user> fomaml{
        start, {.inner_lr = 0.1, .inner_steps = 5, .order = 1, .meta_batch = 16, .threads = 2, .seed = 7},
        mr::optim::adam{.lr = 1e-4}};
    const auto learned_mae = [&](int steps) {
        std::vector<double> out;
        for (std::size_t i = 0; i < test.size(); ++i) {
            auto personal = fomaml.adapt(test[i].support, test[i].support_target, {.steps = steps});
            const auto residual = personal.predict(test[i].query);
            const auto base = mr::recsys::residual_base(cold, split.test[i]);
            double sum = 0;
            for (std::size_t k = 0; k < base.size(); ++k)
                sum += std::abs(cold.clip(base[k] + residual[k]) -
                                data.interactions[std::size_t(split.test[i].query[k])].rating);
            out.push_back(sum / double(base.size()));
        }
        return out;
    };
    const auto unadapted = learned_mae(0);
    CHECK(mean(unadapted) == doctest::Approx(mean(bias_mae)).epsilon(1e-4));  // p = 0: the bias model
    fomaml.fit(train, {.epochs = 3});
    const auto adapted = learned_mae(-1);
    const auto gain = mr::eval::paired_bootstrap(adapted, bias_mae, 7);
    MESSAGE("matrix factorization from the item factors, FOMAML: " << mean(adapted) << ", paired difference to the bias model "
                                                                     << gain.mean << " [" << gain.low << ", " << gain.high << "]");
    CHECK(gain.high < 0);
    CHECK(gain.mean < -0.08);  // measured -0.155
}
