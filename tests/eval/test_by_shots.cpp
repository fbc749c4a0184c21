// metarec tests: eval::by_shots and eval::first_shots (accuracy against the number of shots)
// on the synthetic shop's cold-start split, with the baselines as methods.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include <metarec/data/split.hpp>
#include <metarec/data/synthetic.hpp>
#include <metarec/eval/average.hpp>
#include <metarec/eval/by_shots.hpp>
#include <metarec/eval/metrics.hpp>
#include <metarec/recsys/baselines.hpp>

namespace md = metarec::data;
namespace ev = metarec::eval;
using metarec::index;

namespace {

md::dataset shop() {
    return md::make_synthetic({.users = 300, .items = 150, .min_interactions = 15, .max_interactions = 50, .seed = 3});
}

using average = ev::task_average<ev::mae, ev::rmse>;

// a baseline's metrics on `tasks`, averaged per task
template <class Predictor>
average score(const md::dataset& data, const Predictor& predictor, const std::vector<md::task_split>& tasks) {
    average a;
    for (const auto& t : tasks) {
        const auto pred = predictor.predict(t);
        std::vector<double> target;
        for (index k : t.query) target.push_back(data.interactions[std::size_t(k)].rating);
        a.add(pred.data(), target.data(), 1, index(target.size()));
    }
    return a;
}

}  // namespace

TEST_CASE("first_shots: the tasks with enough support, cut to their first s, query untouched") {
    const auto data = shop();
    const auto split = md::make_split(data, {.scenario = md::scenario::new_users, .query = 5, .seed = 4});
    const index largest = 20;
    const auto cut = ev::first_shots(split.test, 3, largest);
    std::vector<const md::task_split*> kept;
    for (const auto& t : split.test)
        if (index(t.support.size()) >= largest) kept.push_back(&t);
    REQUIRE(!kept.empty());
    REQUIRE(kept.size() < split.test.size());  // some users have fewer than 20 support ratings: left out
    REQUIRE(cut.size() == kept.size());
    for (std::size_t k = 0; k < cut.size(); ++k) {
        CHECK(cut[k].key == kept[k]->key);
        CHECK(cut[k].query == kept[k]->query);
        REQUIRE(cut[k].support.size() == 3);
        CHECK(std::equal(cut[k].support.begin(), cut[k].support.end(), kept[k]->support.begin()));
    }
    CHECK_THROWS_AS(ev::first_shots(split.test, 0, largest), std::invalid_argument);
    CHECK_THROWS_AS(ev::first_shots(split.test, largest + 1, largest), std::invalid_argument);
}

TEST_CASE("first_shots by time: a new user's earliest support interactions") {
    const auto data = shop();
    const auto split =
        md::make_split(data, {.scenario = md::scenario::new_users, .by_time = true, .query = 5, .seed = 4});
    const auto cut = ev::first_shots(split.test, 4, 10);
    REQUIRE(!cut.empty());
    for (const auto& t : cut) {
        const auto time = [&](index k) { return data.interactions[std::size_t(k)].timestamp; };
        for (std::size_t i = 1; i < t.support.size(); ++i) CHECK(time(t.support[i - 1]) <= time(t.support[i]));
        CHECK(time(t.support.back()) <= time(t.query.front()));
    }
}

TEST_CASE("by_shots: every method's point at s is over the same tasks, a per-task mean") {
    const auto data = shop();
    const auto split = md::make_split(data, {.scenario = md::scenario::new_users, .query = 5, .seed = 4});
    const metarec::recsys::support_mean support(data);
    const metarec::recsys::global_mean global(data, split.training_interactions);
    const std::vector<index> shots{1, 2, 5, 10};
    std::vector<std::vector<index>> keys_seen;  // the task keys each evaluation received
    const auto curve_of = [&](const auto& predictor) {
        return ev::by_shots(split.test, shots, [&](const std::vector<md::task_split>& tasks) {
            std::vector<index> keys;
            for (const auto& t : tasks) keys.push_back(index(t.key));
            keys_seen.push_back(keys);
            return score(data, predictor, tasks);
        });
    };
    const auto by_support = curve_of(support), by_global = curve_of(global);
    REQUIRE(by_support.size() == shots.size());
    REQUIRE(by_global.size() == shots.size());
    REQUIRE(keys_seen.size() == 2 * shots.size());
    for (const auto& keys : keys_seen) CHECK(keys == keys_seen.front());  // the same users at every s, every method

    // the users with at least 10 support ratings
    std::vector<const md::task_split*> users;
    for (const auto& t : split.test)
        if (t.support.size() >= 10) users.push_back(&t);
    REQUIRE(users.size() > 10);
    for (std::size_t p = 0; p < shots.size(); ++p) {
        const index s = shots[p];
        CHECK(by_support[p].shots == s);
        CHECK(by_support[p].tasks == index(users.size()));
        CHECK(by_global[p].tasks == index(users.size()));
        // MAE of the user's mean of their first s ratings, then averaged over users (per-task mean)
        double support_mae = 0, global_mae = 0;
        for (const auto* t : users) {
            double mean = 0;
            for (index i = 0; i < s; ++i) mean += data.interactions[std::size_t(t->support[std::size_t(i)])].rating;
            mean /= double(s);
            double a = 0, g = 0;
            for (index k : t->query) {
                a += std::abs(mean - data.interactions[std::size_t(k)].rating);
                g += std::abs(global.mean() - data.interactions[std::size_t(k)].rating);
            }
            support_mae += a / double(t->query.size());
            global_mae += g / double(t->query.size());
        }
        CHECK(by_support[p].result.means()[0] == doctest::Approx(support_mae / double(users.size())).epsilon(1e-12));
        CHECK(by_global[p].result.means()[0] == doctest::Approx(global_mae / double(users.size())).epsilon(1e-12));
    }
    // more shots help the user's own mean; the global mean does not read the support
    CHECK(by_support.back().result.means()[0] < by_support.front().result.means()[0]);
    CHECK(by_global.back().result.means()[0] == by_global.front().result.means()[0]);
}

TEST_CASE("by_shots: s = the split's support size reproduces the single-size evaluation") {
    const auto data = shop();
    const auto split = md::make_split(data, {.scenario = md::scenario::new_users, .query = 5, .support = 8, .seed = 4});
    const metarec::recsys::support_mean support(data);
    const auto single = score(data, support, split.test);
    const auto curve =
        ev::by_shots(split.test, std::vector<index>{2, 8},
                     [&](const std::vector<md::task_split>& tasks) { return score(data, support, tasks); });
    REQUIRE(curve.size() == 2);
    CHECK(curve[1].tasks == index(split.test.size()));
    CHECK(curve[1].result.means() == single.means());
    CHECK(curve[1].result.counts() == single.counts());
    CHECK(curve[0].result.means()[0] != single.means()[0]);
}

TEST_CASE("by_shots: no shots, a shot below 1, or more shots than any task has: std::invalid_argument") {
    const auto data = shop();
    const auto split = md::make_split(data, {.scenario = md::scenario::new_users, .query = 5, .support = 8, .seed = 4});
    const auto count = [](const std::vector<md::task_split>& tasks) { return tasks.size(); };
    CHECK_THROWS_AS(ev::by_shots(split.test, std::vector<index>{}, count), std::invalid_argument);
    CHECK_THROWS_AS(ev::by_shots(split.test, std::vector<index>{0, 2}, count), std::invalid_argument);
    CHECK_THROWS_WITH_AS(ev::by_shots(split.test, std::vector<index>{2, 9}, count),
                         "metarec: by_shots: no task has 9 support interactions (the largest number of shots)",
                         std::invalid_argument);
    CHECK(ev::by_shots(split.test, std::vector<index>{5, 1}, count).front().shots == 5);  // in the order given
}
