// metarec tests: implicit feedback: sampled negatives (never a positive, seeded, the same for
// every method), tasks laid out for BCE and BPR, and the popularity and item-kNN baselines.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <metarec/data/negatives.hpp>
#include <metarec/data/split.hpp>
#include <metarec/data/synthetic.hpp>
#include <metarec/recsys/implicit_baselines.hpp>
#include <metarec/recsys/implicit_tasks.hpp>

namespace mr = metarec;
namespace md = metarec::data;
namespace rs = metarec::recsys;

namespace {

md::dataset implicit_shop() {
    auto data = md::make_synthetic({.users = 200, .items = 120, .min_interactions = 15, .max_interactions = 40, .seed = 5});
    for (auto& r : data.interactions) r.rating = 1;
    data.implicit = true;
    return data;
}

std::vector<mr::index> all_interactions(const md::dataset& data) {
    std::vector<mr::index> out(data.interactions.size());
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = mr::index(k);
    return out;
}

// users u0..u3 (region a, a, b, b); items i0..i3; u0: i0 i1; u1: i0 i1 i2; u2: i2 i3; u3: i3
// (times: u3's late)
md::dataset hand_shop() {
    md::dataset data;
    for (int u = 0; u < 4; ++u) data.users.add("u" + std::to_string(u));
    for (int i = 0; i < 4; ++i) data.items.add("i" + std::to_string(i));
    data.users.categorical = {{"region", {"a", "b"}, {0, 0, 1, 1}}};
    const int rows[][3] = {{0, 0, 10}, {0, 1, 11}, {1, 0, 12}, {1, 1, 13}, {1, 2, 14}, {2, 2, 15}, {2, 3, 16}, {3, 3, 100}};
    for (const auto& r : rows) data.interactions.push_back({mr::id_type(r[0]), mr::id_type(r[1]), 1.0f, r[2]});
    data.has_timestamps = true;
    return data;
}

}  // namespace

TEST_CASE("negative_sampler: never a positive of the user, distinct, seeded, uniform and popularity") {
    const auto data = implicit_shop();
    const auto training = all_interactions(data);
    const auto positives = md::items_of_users(data);
    for (const auto distribution : {md::negative_distribution::uniform, md::negative_distribution::popularity}) {
        const md::negative_sampler sampler(data, training, distribution, 42);
        for (mr::id_type u = 0; u < 200; ++u) {
            const auto& own = positives[std::size_t(u)];
            const auto drawn = sampler.draw(md::negative_sampler::stream_of(1, u), 50, own);
            REQUIRE(drawn.size() == 50);
            CHECK(std::set<mr::id_type>(drawn.begin(), drawn.end()).size() == 50);  // distinct
            for (const auto i : drawn) CHECK_FALSE(std::binary_search(own.begin(), own.end(), i));
            // the same seed and stream: the same negatives; another stream: others
            CHECK(sampler.draw(md::negative_sampler::stream_of(1, u), 50, own) == drawn);
            CHECK(sampler.draw(md::negative_sampler::stream_of(2, u), 50, own) != drawn);
        }
        // a user with almost every item: the rest are exactly the items left
        std::vector<mr::id_type> most;
        for (const auto i : sampler.catalogue()) most.push_back(i);
        most.erase(most.begin() + 3, most.begin() + 6);
        const auto rest = sampler.draw(9, 3, most);
        CHECK(std::set<mr::id_type>(rest.begin(), rest.end()) ==
              std::set<mr::id_type>(sampler.catalogue().begin() + 3, sampler.catalogue().begin() + 6));
        CHECK_THROWS_AS(sampler.draw(9, 4, most), std::invalid_argument);
    }
    // another seed: other negatives
    const md::negative_sampler a(data, training, md::negative_distribution::uniform, 1), b(data, training, md::negative_distribution::uniform, 2);
    CHECK(a.draw(5, 20, positives[0]) != b.draw(5, 20, positives[0]));
    // popularity draws follow the counts: the most popular items come up far more often
    const md::negative_sampler pop(data, training, md::negative_distribution::popularity, 3);
    const rs::popularity counts(data, training);
    std::vector<double> drawn(std::size_t(data.items.rows()), 0);
    for (std::uint64_t s = 0; s < 400; ++s)
        for (const auto i : pop.draw(s, 5, {})) drawn[std::size_t(i)] += 1;
    const auto top = std::max_element(drawn.begin(), drawn.end()) - drawn.begin();
    double mean_count = 0;
    for (const auto i : pop.catalogue()) mean_count += counts.count(i) / double(pop.catalogue().size());
    CHECK(counts.count(mr::id_type(top)) > 2 * mean_count);
}

TEST_CASE("implicit tasks: BCE layout (positive, its negatives) and BPR pairs; the same negatives for every method") {
    const auto data = implicit_shop();
    const auto split = md::make_split(data, {.seed = 3});
    const md::negative_sampler sampler(data, split.training_interactions, md::negative_distribution::uniform, 7);
    const auto positives = md::items_of_users(data);
    const auto& t = split.test.front();
    const rs::implicit_task_options bce{.objective = rs::implicit_objective::pointwise, .negatives = 3};
    const auto side = rs::implicit_samples(data, t.support, sampler, positives, bce, 0, 0);
    REQUIRE(side.items.size() == 4 * t.support.size());
    REQUIRE(side.targets.size() == side.items.size());
    for (std::size_t p = 0; p < t.support.size(); ++p) {
        const auto& r = data.interactions[std::size_t(t.support[p])];
        CHECK(side.items[4 * p] == r.item);
        CHECK(side.targets[4 * p] == 1.0f);
        for (std::size_t k = 1; k < 4; ++k) {
            CHECK(side.users[4 * p + k] == r.user);
            CHECK(side.targets[4 * p + k] == 0.0f);
            // never one of the user's positives, support or query
            const auto& own = positives[std::size_t(r.user)];
            CHECK_FALSE(std::binary_search(own.begin(), own.end(), side.items[4 * p + k]));
            for (const auto q : t.query) CHECK(data.interactions[std::size_t(q)].item != side.items[4 * p + k]);
        }
    }
    const rs::implicit_task_options bpr{.objective = rs::implicit_objective::pairwise, .negatives = 3};
    const auto pairs = rs::implicit_samples(data, t.support, sampler, positives, bpr, 0, 0);
    REQUIRE(pairs.items.size() == 6 * t.support.size());
    REQUIRE(pairs.targets.size() == pairs.items.size());  // labels 1, 0 (BPR reads none)
    CHECK(pairs.targets[0] == 1.0f);
    CHECK(pairs.targets[1] == 0.0f);
    for (std::size_t p = 0; p < t.support.size(); ++p)
        for (std::size_t k = 0; k < 3; ++k) {
            CHECK(pairs.items[6 * p + 2 * k] == data.interactions[std::size_t(t.support[p])].item);
            CHECK(pairs.items[6 * p + 2 * k + 1] == side.items[4 * p + 1 + k]);  // the same negatives as BCE's
        }
    // the same seed: the same tasks, built twice (for two methods)
    const md::negative_sampler again(data, split.training_interactions, md::negative_distribution::uniform, 7);
    CHECK(rs::implicit_samples(data, t.query, again, positives, bce, 5, 1).items ==
          rs::implicit_samples(data, t.query, sampler, positives, bce, 5, 1).items);
    // encoded: the task_data have the sizes and targets of the layout
    const rs::feature_encoder encoder(data);
    const auto tasks = rs::implicit_tasks<float>(encoder, split.test, sampler, positives, bce);
    REQUIRE(tasks.size() == split.test.size());
    CHECK(tasks[0].view().support.size() == mr::index(4 * t.support.size()));
    CHECK(tasks[0].view().query.size() == mr::index(4 * t.query.size()));
    const auto bpr_tasks = rs::implicit_tasks<float>(encoder, split.test, sampler, positives, bpr);
    CHECK(bpr_tasks[0].view().support.size() == mr::index(6 * t.support.size()));
}

TEST_CASE("implicit baselines: popularity, scenario popularity, recent popularity and item-kNN by hand") {
    auto data = hand_shop();
    const auto training = all_interactions(data);
    const std::vector<mr::id_type> candidates{0, 1, 2, 3};

    const rs::popularity pop(data, training);
    md::task_split task{0, {0}, {1}};  // u0's task: support i0
    CHECK(pop.scores(task, candidates) == std::vector<double>{2, 2, 2, 2});

    // region a: i0 2, i1 2, i2 1, i3 0 of 5; with prior 0 the plain shares
    const rs::scenario_popularity region(data, training, "region", 0.0);
    const auto shares = region.scores(task, candidates);
    CHECK(shares[0] == doctest::Approx(0.4));
    CHECK(shares[2] == doctest::Approx(0.2));
    CHECK(shares[3] == doctest::Approx(0.0));
    // prior 10: (c + 10 * 2/8) / (5 + 10)
    const rs::scenario_popularity shrunk(data, training, "region", 10.0);
    CHECK(shrunk.scores(task, candidates)[3] == doctest::Approx(2.5 / 15));
    CHECK_THROWS_AS(rs::scenario_popularity(data, training, "country"), std::invalid_argument);

    // recent: the task's time is 10 (u0's support); with a half-life of 1, i0 (times 10, 12)
    // weighs 1 + 1/4, i3 (16, 100) almost nothing
    const rs::recent_popularity recent(data, training, 1.0);
    const auto fresh = recent.scores(task, candidates);
    CHECK(fresh[0] == doctest::Approx(1.25));
    CHECK(fresh[3] == doctest::Approx(std::exp2(-6.0) + std::exp2(-90.0)));
    CHECK(rs::recent_popularity(data, training).half_life() == doctest::Approx(9.0));  // (100 - 10) / 10

    // item-kNN, every user counting 1: c(i0) = 2, c(i1) = 2, c(i2) = 2, c(i3) = 2; c(i0, i1) = 2,
    // c(i0, i2) = 1
    const auto none = rs::user_weighting::none;
    rs::item_knn knn(data, training, true, none);
    const auto sim = knn.scores(task, candidates);  // support i0
    CHECK(sim[0] == 0.0);
    CHECK(sim[1] == doctest::Approx(1.0));  // 2 / sqrt(2 * 2)
    CHECK(sim[2] == doctest::Approx(0.5));
    CHECK(sim[3] == 0.0);
    // the default: user u counts v_u = 1 / its items: v0 = v2 = 1 / 2, v1 = 1 / 3, so
    // c(i0) = c(i1) = c(i2) = c(i0, i1) = v0 + v1 = 5 / 6 and c(i0, i2) = v1
    const double v0 = 0.5, v1 = 1.0 / 3;
    const auto damped = rs::item_knn(data, training).scores(task, candidates);
    CHECK(damped[1] == doctest::Approx(1.0));
    CHECK(damped[2] == doctest::Approx(v1 / (v0 + v1)));
    CHECK(damped[3] == 0.0);
    // two support items add up; strengths weigh them
    data.interactions[1].rating = 3;  // u0's i1 counted three times
    rs::item_knn weighted(data, training, true, none);
    md::task_split both{0, {0, 1}, {2}};
    const auto sum = weighted.scores(both, candidates);
    CHECK(sum[2] == doctest::Approx(0.5 + 3 * 0.5));  // sim(i1, i2) = 1 / 2
    rs::item_knn unweighted(data, training, false, none);
    CHECK(unweighted.scores(both, candidates)[2] == doctest::Approx(1.0));
}

TEST_CASE("recent item-kNN: the support items damped by basket recency; the half-life chosen on validation users") {
    auto data = hand_shop();  // u0: i0 (t 10), i1 (t 11); u1: i0, i1, i2 (t 12..14)
    const auto training = all_interactions(data);

    // strengths: rating x 2^(-r / h), r the support's distinct timestamps later than its own
    data.interactions[2].rating = 3;
    data.interactions[3].timestamp = 12;  // u1's i0 and i1 in one basket
    const std::vector<mr::index> u1{2, 3, 4};
    CHECK(rs::support_strengths(data, u1, true, 0) == std::vector<double>{3, 1, 1});
    CHECK(rs::support_strengths(data, u1, false, 0) == std::vector<double>{1, 1, 1});
    CHECK(rs::support_strengths(data, u1, true, 1) == std::vector<double>{1.5, 0.5, 1});  // r = 1, 1, 0
    CHECK(rs::support_strengths(data, u1, false, 2) == std::vector<double>{std::exp2(-0.5), std::exp2(-0.5), 1});
    data.interactions[2].rating = 1;
    data.interactions[3].timestamp = 13;

    // u0's support i0 (t 10), i1 (t 11), every user counting 1: c(i0) = c(i1) = c(i2) = 2,
    // c(i0, i2) = c(i1, i2) = 1; with half-life 1, i0 weighs 1 / 2: score(i2) = 0.5 / 2 + 1 / 2
    const md::task_split task{0, {0, 1}, {}};
    const std::vector<mr::id_type> candidates{2, 3};
    const auto none = rs::user_weighting::none;
    CHECK(rs::item_knn(data, training, true, none).scores(task, candidates)[0] == doctest::Approx(1.0));
    CHECK(rs::item_knn(data, training, true, none, 1.0).scores(task, candidates)[0] == doctest::Approx(0.75));
    const rs::item_cooccurrence counts(data, training, none);
    CHECK(counts.scores(task.support, std::vector<double>{1, 1}) == counts.scores(task.support));
    CHECK_THROWS_AS(counts.scores(task.support, std::vector<double>{1}), std::invalid_argument);

    // reciprocal_rank: each query item against the items outside support and query
    const std::vector<md::task_split> tasks{{0, {0}, {4}}, {2, {6}, {0, 1}}};  // supports i0 and i3
    const auto fixed = [](const md::task_split& t) {
        return t.key == 0 ? std::vector<double>{9, 5, 3, 4} : std::vector<double>{1, 2, 0, 9};
    };
    // task 0: i2 (3) below i1 (5) and i3 (4): 1 / 3; task 1: i0 and i1 above i2: 1
    CHECK(rs::reciprocal_rank(data, tasks, fixed) == doctest::Approx((1.0 / 3 + 1.0) / 2));

    // tuned(): the half-life of the grid with the best validation reciprocal rank, every
    // validation user left out of the counts
    const auto shop = implicit_shop();
    const auto split = md::make_split(shop, {.seed = 3});
    REQUIRE_FALSE(split.validation.empty());
    const rs::item_cooccurrence shop_counts(shop, split.training_interactions);
    double best = -1, best_half_life = -1;
    for (const double h : rs::item_knn::default_half_lives) {
        const double mrr = rs::reciprocal_rank(shop, split.validation, [&](const md::task_split& t) {
            return shop_counts.scores(t.support, rs::support_strengths(shop, t.support, true, h), mr::id_type(t.key));
        });
        if (mrr > best) best = mrr, best_half_life = h;
    }
    CHECK(rs::item_knn::tuned(shop, split).half_life() == best_half_life);
    const std::vector<double> only{4.0};
    CHECK(rs::item_knn::tuned(shop, split, only).half_life() == 4.0);
}

TEST_CASE("baseline inputs: item-kNN and popularity with the user's own interactions left out, as for a new user") {
    // user 3 left out of the counts: exactly the counts over the other users' interactions;
    // two of its items (one in the support set, one a candidate) no other user has, whose
    // counts are then 0 up to the rounding of the 1 / n_u weights' sums
    const mr::id_type user = 3;
    const auto data = [&] {
        auto shop = implicit_shop();
        std::vector<mr::id_type> items;
        for (const auto& r : shop.interactions)
            if (r.user == user) items.push_back(r.item);
        const mr::id_type first = items.front(), last = items.back();
        std::erase_if(shop.interactions, [&](const md::interaction& r) {
            return r.user != user && (r.item == first || r.item == last);
        });
        return shop;
    }();
    const auto training = all_interactions(data);
    std::vector<mr::index> support, others;
    for (const auto k : training) (data.interactions[std::size_t(k)].user == user ? support : others).push_back(k);
    REQUIRE(support.size() >= 15);
    support.resize(10);  // the first 10 as a support set: the rest of the user's items are candidates too
    const auto own = md::items_of_users(data)[std::size_t(user)];  // a copy: the table is a temporary
    for (const auto weighting : {rs::user_weighting::none, rs::user_weighting::inverse}) {
        CAPTURE(int(weighting));
        const rs::item_cooccurrence counts(data, training, weighting), without(data, others, weighting);
        const auto left_out = counts.scores(support, user), plain = without.scores(support);
        // a user with no training interaction left out (a new user's row): the plain scores
        CHECK(without.scores(support, user) == plain);
        const auto leaky = counts.scores(support);
        REQUIRE(left_out.size() == std::size_t(data.items.rows()));
        double leak = 0;
        for (std::size_t j = 0; j < plain.size(); ++j) {
            // c_ij are float sums of the users' weights: equal up to their rounding
            CHECK(left_out[j] == doctest::Approx(plain[j]).epsilon(1e-5));
            CHECK(counts.count(mr::id_type(j), user) == without.count(mr::id_type(j)));
            if (std::binary_search(own.begin(), own.end(), mr::id_type(j))) leak += leaky[j] - plain[j];
        }
        // without leaving the user out, its own co-purchases inflate the scores of its other items
        CHECK(leak > (weighting == rs::user_weighting::none ? 0.5 : 0.05));
    }
    const rs::item_cooccurrence without(data, others, rs::user_weighting::none);  // the inputs' counts
    const auto plain = without.scores(support);

    // the inputs of rows: log(1 + score), log(1 + count), row after row
    const rs::baseline_inputs inputs(data, training, {{rs::user_weighting::none, 0}});
    const std::vector<mr::id_type> items{0, 7, 42};
    std::vector<float> values;
    inputs.append(user, support, items, values);
    REQUIRE(values.size() == items.size() * std::size_t(inputs.width()));
    for (std::size_t r = 0; r < items.size(); ++r) {
        CHECK(values[2 * r] == doctest::Approx(std::log1p(plain[std::size_t(items[r])])));
        CHECK(values[2 * r + 1] == doctest::Approx(std::log1p(without.count(items[r]))));
    }
    // the defaults: the 1 / n_u counts undamped, and damped at 1 and 4 baskets with timestamps
    using knn_list = std::vector<std::pair<rs::user_weighting, double>>;
    const auto listed = [](const std::vector<rs::knn_input>& knn) {
        knn_list out;
        for (const auto& k : knn) out.emplace_back(k.weighting, k.half_life);
        return out;
    };
    const auto inverse = rs::user_weighting::inverse;
    CHECK(listed(rs::baseline_inputs::default_knn(data)) == knn_list{{inverse, 0.0}, {inverse, 1.0}, {inverse, 4.0}});
    auto timeless = data;
    timeless.has_timestamps = false;
    CHECK(listed(rs::baseline_inputs::default_knn(timeless)) == knn_list{{inverse, 0.0}});
    CHECK(rs::baseline_inputs(data, training).width() == 4);
    CHECK_THROWS_AS(rs::baseline_inputs(data, training, {}), std::invalid_argument);
    // one kNN score per weighting, in the order given, then the popularity
    const rs::baseline_inputs both(data, training, {{rs::user_weighting::none, 0}, {rs::user_weighting::inverse, 0}});
    REQUIRE(both.width() == 3);
    const auto damped = rs::item_cooccurrence(data, others, rs::user_weighting::inverse).scores(support);
    values.clear();
    both.append(user, support, items, values);
    REQUIRE(values.size() == 3 * items.size());
    for (std::size_t r = 0; r < items.size(); ++r) {
        CHECK(values[3 * r] == doctest::Approx(std::log1p(plain[std::size_t(items[r])])));
        CHECK(values[3 * r + 1] == doctest::Approx(std::log1p(damped[std::size_t(items[r])])));
        CHECK(values[3 * r + 2] == doctest::Approx(std::log1p(without.count(items[r]))));
    }

    // the tasks carry them as the last dense rows (pair_group); the encoder then wants them
    const auto split = md::make_split(data, {.seed = 3});
    const md::negative_sampler sampler(data, split.training_interactions, md::negative_distribution::uniform, 7);
    const auto positives = md::items_of_users(data);
    const rs::baseline_inputs split_inputs(data, split.training_interactions, {{rs::user_weighting::none, 0}});
    const rs::feature_encoder plain_encoder(data), encoder(data, {.pair_inputs = split_inputs.width()});
    CHECK(encoder.shape().dense == plain_encoder.shape().dense + 2);
    CHECK(encoder.shape().dense_group.back() == rs::pair_group);
    const rs::implicit_task_options bce{.negatives = 3};
    const auto tasks = rs::implicit_tasks<float>(encoder, split.train, sampler, positives, bce, &split_inputs);
    const auto& t = split.train.front();
    const auto side = rs::implicit_samples(data, t.query, sampler, positives, {.negatives = 3, .role = 0}, 0, 1);
    std::vector<float> expected;
    split_inputs.append(side.users.front(), t.support, side.items, expected);
    const auto query = tasks.front().view().query;
    REQUIRE(query.size() == mr::index(side.items.size()));
    const auto dense = encoder.shape().dense;
    std::vector<float> host(std::size_t(dense * query.size()));
    std::copy(query.dense, query.dense + host.size(), host.begin());
    for (std::size_t r = 0; r < side.items.size(); ++r) {
        CHECK(host[r * std::size_t(dense) + std::size_t(dense) - 2] == expected[2 * r]);
        CHECK(host[r * std::size_t(dense) + std::size_t(dense) - 1] == expected[2 * r + 1]);
    }
    CHECK_THROWS_AS(rs::implicit_tasks<float>(encoder, split.train, sampler, positives, bce), std::invalid_argument);
    CHECK_THROWS_AS(rs::implicit_tasks<float>(plain_encoder, split.train, sampler, positives, bce, &split_inputs),
                    std::invalid_argument);
    const std::vector<mr::id_type> one_user{0};
    CHECK_THROWS_AS(encoder.encode_pairs<float>(one_user, one_user), std::invalid_argument);
    CHECK_THROWS_AS(encoder.encode_pairs<float>(one_user, one_user, std::vector<float>{1.0f}), std::invalid_argument);
}

TEST_CASE("hard negatives: from the positive's category or the user's region, never a positive, seeded") {
    const auto data = implicit_shop();
    const auto split = md::make_split(data, {.seed = 3});
    const md::negative_sampler sampler(data, split.training_interactions, md::negative_distribution::uniform, 7);
    const auto positives = md::items_of_users(data);
    const auto& category = data.items.categorical[0];
    const md::scenario_pools by_category(data, split.training_interactions, "category");
    const md::scenario_pools by_region(data, split.training_interactions, "region");
    CHECK_FALSE(by_category.by_user());
    CHECK(by_region.by_user());
    CHECK_THROWS_AS(md::scenario_pools(data, split.training_interactions, "colour"), std::invalid_argument);
    mr::index same_category = 0, drawn = 0;
    for (const auto* tasks : {&split.train, &split.test})
        for (std::size_t t = 0; t < tasks->size(); ++t) {
            const auto& task = (*tasks)[t];
            for (const auto* pools : {&by_category, &by_region}) {
                const rs::implicit_task_options hard{.negatives = 4, .role = 1, .scenario = pools};
                const auto side = rs::implicit_samples(data, task.query, sampler, positives, hard, t, 1);
                REQUIRE(side.items.size() == 5 * task.query.size());
                // the same seed: the same negatives for every method
                CHECK(rs::implicit_samples(data, task.query, sampler, positives, hard, t, 1).items == side.items);
                for (std::size_t p = 0; p < task.query.size(); ++p) {
                    const auto& r = data.interactions[std::size_t(task.query[p])];
                    const auto& own = positives[std::size_t(r.user)];
                    const auto pool = pools->pool(r.user, r.item);
                    std::set<mr::id_type> distinct;
                    for (std::size_t k = 1; k < 5; ++k) {
                        const auto n = side.items[5 * p + k];
                        CHECK_FALSE(std::binary_search(own.begin(), own.end(), n));
                        distinct.insert(n);
                        // in the pool unless the pool has too few items outside the user's
                        const bool in_pool = std::binary_search(pool.begin(), pool.end(), n);
                        mr::index pool_left = 0;
                        for (const auto i : pool) pool_left += !std::binary_search(own.begin(), own.end(), i);
                        CHECK((in_pool || pool_left < 4));
                        if (pools == &by_category) {
                            same_category += category.ids[std::size_t(n)] == category.ids[std::size_t(r.item)];
                            ++drawn;
                        }
                    }
                    CHECK(distinct.size() == 4);
                }
            }
        }
    CHECK(double(same_category) > 0.9 * double(drawn));
    // the region's pool: the items its training users bought
    const auto& region = data.users.categorical[2];
    const auto user = data.interactions[std::size_t(split.test.front().query.front())].user;
    for (const auto i : by_region.pool(user, 0)) {
        bool bought = false;
        for (const auto k : split.training_interactions) {
            const auto& r = data.interactions[std::size_t(k)];
            bought = bought || (r.item == i && region.ids[std::size_t(r.user)] == region.ids[std::size_t(user)]);
        }
        CHECK(bought);
    }
}
