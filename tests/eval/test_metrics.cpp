// metarec tests: ranking and rating metrics against hand-computed values.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <metarec/eval/average.hpp>
#include <metarec/eval/intervals.hpp>
#include <metarec/eval/metrics.hpp>

namespace ev = metarec::eval;

TEST_CASE("mae and rmse") {
    const std::vector<double> pred{1, 2, 3, 4}, target{2, 2, 5, 3};
    CHECK(ev::mae{}(pred.data(), target.data(), 1, 4) == doctest::Approx((1 + 0 + 2 + 1) / 4.0));
    CHECK(ev::rmse{}(pred.data(), target.data(), 1, 4) == doctest::Approx(std::sqrt((1 + 0 + 4 + 1) / 4.0)));
    const std::vector<float> fp{1.5f}, ft{1.0f};
    CHECK(ev::mae{}(fp.data(), ft.data(), 1, 1) == doctest::Approx(0.5));
}

TEST_CASE("ndcg@k with the ratings as gains") {
    const std::vector<double> pred{0.7, 0.1, 0.9, 0.5}, target{5, 3, 1, 4};
    // predicted ranking: 2 (gain 1), 0 (5), 3 (4), 1 (3); ideal: 0 (5), 3 (4), 1 (3), 2 (1)
    const double l2 = 1 / std::log2(3.0), l3 = 1 / std::log2(4.0), l4 = 1 / std::log2(5.0);
    CHECK(ev::ndcg<1>{}(pred.data(), target.data(), 1, 4) == doctest::Approx(1.0 / 5.0));
    CHECK(ev::ndcg<3>{}(pred.data(), target.data(), 1, 4) ==
          doctest::Approx((1 + 5 * l2 + 4 * l3) / (5 + 4 * l2 + 3 * l3)));
    CHECK(ev::ndcg<10>{}(pred.data(), target.data(), 1, 4) ==
          doctest::Approx((1 + 5 * l2 + 4 * l3 + 3 * l4) / (5 + 4 * l2 + 3 * l3 + 1 * l4)));
    // a perfect ranking scores 1; all-zero gains score 0
    CHECK(ev::ndcg<3>{}(target.data(), target.data(), 1, 4) == doctest::Approx(1.0));
    const std::vector<double> zeros(4, 0.0);
    CHECK(ev::ndcg<3>{}(pred.data(), zeros.data(), 1, 4) == 0.0);
    CHECK(ev::ndcg<3>::name == "ndcg@3");
}

TEST_CASE("hit rate, recall and AUC with a relevance threshold") {
    const std::vector<double> pred{0.7, 0.1, 0.9, 0.5}, target{5, 3, 1, 4};  // relevant: items 0 and 3
    CHECK(ev::hit_rate<1>{}(pred.data(), target.data(), 1, 4) == 0.0);  // top 1 is item 2
    CHECK(ev::hit_rate<2>{}(pred.data(), target.data(), 1, 4) == 1.0);
    CHECK(ev::recall<2>{}(pred.data(), target.data(), 1, 4) == doctest::Approx(0.5));
    CHECK(ev::recall<3>{}(pred.data(), target.data(), 1, 4) == doctest::Approx(1.0));
    // pairs (relevant, irrelevant): (0,1) yes, (0,2) no, (3,1) yes, (3,2) no -> 2 of 4
    CHECK(ev::auc{}(pred.data(), target.data(), 1, 4) == doctest::Approx(0.5));
    const std::vector<double> tied{0.5, 0.5, 0.5, 0.5};
    CHECK(ev::auc{}(tied.data(), target.data(), 1, 4) == doctest::Approx(0.5));
    CHECK(ev::auc{.threshold = 0.5}(pred.data(), std::vector<double>{1, 0, 0, 1}.data(), 1, 4) == doctest::Approx(0.5));
    // undefined without relevant (or irrelevant) items
    const std::vector<double> low(4, 1.0);
    CHECK(std::isnan(ev::auc{}(pred.data(), low.data(), 1, 4)));
    CHECK(std::isnan(ev::hit_rate<3>{}(pred.data(), low.data(), 1, 4)));
    CHECK(std::isnan(ev::recall<3>{}(pred.data(), low.data(), 1, 4)));
}

TEST_CASE("ties in the scores keep the query order") {
    const std::vector<double> pred{1, 1, 1}, target{1, 5, 1};
    // ranking 0, 1, 2: the relevant item is second
    CHECK(ev::hit_rate<1>{}(pred.data(), target.data(), 1, 3) == 0.0);
    CHECK(ev::hit_rate<2>{}(pred.data(), target.data(), 1, 3) == 1.0);
}

TEST_CASE("ndcg gains on rating scales with zero or negative values") {
    const std::vector<double> pred{0.7, 0.1, 0.9, 0.5};
    const double l2 = 1 / std::log2(3.0), l3 = 1 / std::log2(4.0);
    // thumbs: -1 / +1, gains 1 / 3; predicted ranking 2 (-1), 0 (+1), 3 (+1); ideal 0, 3, 1
    const std::vector<double> thumbs{1, -1, -1, 1};
    const auto thumbs_scale = ev::rating_scale::of(thumbs);
    CHECK(thumbs_scale.lowest == -1);
    CHECK(thumbs_scale.highest == 1);
    const ev::ndcg<3> on_thumbs{.lowest = thumbs_scale.lowest};
    CHECK(on_thumbs.gain(-1) == 1.0);
    CHECK(on_thumbs.gain(1) == 3.0);
    const double thumbs_value = on_thumbs(pred.data(), thumbs.data(), 1, 4);
    CHECK(thumbs_value == doctest::Approx((1 + 3 * l2 + 3 * l3) / (3 + 3 * l2 + 1 * l3)));
    CHECK(thumbs_value > 0);
    CHECK(thumbs_value < 1);
    // raw ratings as gains (lowest 1 on a -1/+1 scale clamps -1 to 0): never negative
    CHECK(ev::ndcg<3>{}(pred.data(), thumbs.data(), 1, 4) >= 0);
    // -3..2: gains 1..6; every ranking of a query set scores within [0, 1], the ideal one 1
    const std::vector<double> shifted{2, -3, 0, -1};  // gains 6, 1, 4, 3
    const ev::ndcg<3> on_shifted{.lowest = -3};
    CHECK(on_shifted(pred.data(), shifted.data(), 1, 4) ==
          doctest::Approx((4 + 6 * l2 + 3 * l3) / (6 + 4 * l2 + 3 * l3)));
    CHECK(on_shifted(shifted.data(), shifted.data(), 1, 4) == doctest::Approx(1.0));
    const std::vector<double> worst{-2, 2, 1, 0};
    const double low = on_shifted(worst.data(), shifted.data(), 1, 4);
    CHECK(low > 0);
    CHECK(low < 1);
    // shifting a scale (and its lowest rating with it) does not change nDCG
    std::vector<double> plus(shifted);
    for (auto& v : plus) v += 10;
    const ev::ndcg<3> on_plus{.lowest = 7};
    CHECK(on_plus(pred.data(), plus.data(), 1, 4) == doctest::Approx(on_shifted(pred.data(), shifted.data(), 1, 4)));
    // relevance threshold three quarters up the scale
    CHECK(ev::rating_scale{1, 5}.threshold() == 4.0);
    CHECK(thumbs_scale.threshold() == 0.5);
    CHECK(ev::rating_scale{-3, 2}.threshold() == doctest::Approx(0.75));
    CHECK_THROWS_AS(ev::rating_scale::of(std::vector<double>{}), std::invalid_argument);
    CHECK_THROWS_AS(ev::rating_scale::of(std::vector<double>{1, std::numeric_limits<double>::quiet_NaN()}),
                    std::invalid_argument);
}

TEST_CASE("mean_interval: normal 95 % interval over tasks, undefined values skipped, divergence NaN") {
    const std::vector<double> values{1, 2, 3, 4, std::numeric_limits<double>::quiet_NaN()};
    const auto i = ev::mean_interval(values);
    // mean 2.5, s = sqrt(5/3), half-width 1.96 s / 2
    CHECK(i.n == 4);
    CHECK(i.mean == doctest::Approx(2.5));
    CHECK(i.high - i.mean == doctest::Approx(1.96 * std::sqrt(5.0 / 3.0) / 2.0));
    CHECK(i.mean - i.low == doctest::Approx(1.96 * std::sqrt(5.0 / 3.0) / 2.0));
    CHECK(i.sign() == 1);
    const std::vector<double> one{3.0};
    CHECK(ev::mean_interval(one).low == 3.0);
    const std::vector<double> diverged{1, std::numeric_limits<double>::infinity()};
    CHECK(std::isnan(ev::mean_interval(diverged).mean));
    CHECK(ev::mean_interval(std::vector<double>{}).n == 0);
}

TEST_CASE("paired_bootstrap: seeded, paired, a consistent small gain is not a tie, noise is") {
    // b = a + 0.1 on every task: the paired difference is exactly -0.1 whatever the users' spread
    std::vector<double> a, b, c;
    for (int k = 0; k < 100; ++k) {
        const double user = double((k * 37) % 100) / 25.0;  // spread 0..4 across users
        a.push_back(user);
        b.push_back(user + 0.1);
        c.push_back(user + ((k % 2) ? 0.5 : -0.5));  // no gain on average, much noise
    }
    const auto d = ev::paired_bootstrap(a, b, 7);
    CHECK(d.mean == doctest::Approx(-0.1));
    CHECK(d.low == doctest::Approx(-0.1));
    CHECK(d.high == doctest::Approx(-0.1));
    CHECK(d.sign() == -1);
    // unpaired, the same gain is buried in the users' spread
    CHECK(ev::mean_interval(a).high > ev::mean_interval(b).low);
    const auto tie = ev::paired_bootstrap(a, c, 7);
    CHECK(tie.mean == doctest::Approx(0.0));
    CHECK(tie.low < 0);
    CHECK(tie.high > 0);
    CHECK(tie.sign() == 0);
    CHECK(tie.high - tie.low == doctest::Approx(2 * 1.96 * 0.5 / 10).epsilon(0.15));  // close to the normal width
    // seeded: same seed, same interval; NaN pairs skipped; mismatched lengths rejected
    CHECK(ev::paired_bootstrap(a, c, 7).low == tie.low);
    c[3] = std::numeric_limits<double>::quiet_NaN();
    CHECK(ev::paired_bootstrap(a, c, 7).n == 99);
    CHECK_THROWS_AS(ev::paired_bootstrap(a, std::vector<double>{1.0}, 7), std::invalid_argument);
}

TEST_CASE("task_average keeps each task's values for the intervals") {
    ev::task_average<ev::mae, ev::auc> average;
    const double p1[] = {1, 2}, t1[] = {1, 4};
    const double p2[] = {3, 3}, t2[] = {5, 5};
    average.add(p1, t1, 1, 2);
    average.add(p2, t2, 1, 2);
    CHECK(average.values(0) == std::vector<double>{1.0, 2.0});
    CHECK(average.values(1)[0] == 1.0);
    CHECK(std::isnan(average.values(1)[1]));
    CHECK(ev::mean_interval(average.values(0)).mean == doctest::Approx(average.means()[0]));
    const double bad[] = {std::numeric_limits<double>::quiet_NaN(), 1};
    average.add(bad, t1, 1, 2);
    CHECK(std::isinf(average.values(0)[2]));
    CHECK(std::isnan(ev::mean_interval(average.values(0)).mean));
}
