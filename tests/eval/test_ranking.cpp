// metarec tests: the ranking metrics of implicit feedback on small cases computed by hand.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <metarec/eval/ranking.hpp>

namespace me = metarec::eval;

namespace {
// metric indices in ranking_metrics' order
enum { hr5, hr10, hr20, ndcg5, ndcg10, ndcg20, mrr, recall20, auc };
}  // namespace

TEST_CASE("ranking_metrics: one positive against sampled negatives, by hand") {
    // the positive (0.5) below 2 of 6 negatives: rank 2 (0-based)
    const std::vector<double> positive{0.5};
    const auto m = me::ranking_metrics::of_user(positive, {{0.9, 0.1, 0.7, 0.2, 0.3, 0.0}});
    CHECK(m.values[hr5] == 1.0);
    CHECK(m.values[hr10] == 1.0);
    CHECK(m.values[ndcg5] == doctest::Approx(1.0 / std::log2(4.0)));  // 0.5
    CHECK(m.values[mrr] == doctest::Approx(1.0 / 3.0));
    CHECK(m.values[auc] == doctest::Approx(4.0 / 6.0));
    CHECK(m.values[recall20] == 1.0);
    // ranked 7th of 12: outside the top 5, inside the top 10
    const auto low = me::ranking_metrics::of_user(positive, {{1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}});
    CHECK(low.values[hr5] == 0.0);
    CHECK(low.values[hr10] == 1.0);
    CHECK(low.values[ndcg5] == 0.0);
    CHECK(low.values[ndcg10] == doctest::Approx(1.0 / std::log2(8.0)));
    CHECK(low.values[mrr] == doctest::Approx(1.0 / 7.0));
    CHECK(low.values[auc] == doctest::Approx(5.0 / 11.0));
}

TEST_CASE("ranking_metrics: ties are broken at random, in expectation") {
    // the positive ties with 3 competitors, 4 above: rank uniform on {4, 5, 6, 7}
    const std::vector<double> positive{1.0};
    const auto m = me::ranking_metrics::of_user(positive, {{2, 2, 2, 2, 1, 1, 1, 0}});
    CHECK(m.values[hr5] == doctest::Approx(0.25));  // only rank 4 is in the top 5
    CHECK(m.values[hr10] == 1.0);
    CHECK(m.values[ndcg5] == doctest::Approx(0.25 / std::log2(6.0)));
    CHECK(m.values[mrr] == doctest::Approx((1.0 / 5 + 1.0 / 6 + 1.0 / 7 + 1.0 / 8) / 4));
    CHECK(m.values[auc] == doctest::Approx((1 + 0.5 * 3) / 8.0));
    // a constant scorer is at chance: AUC 1/2, HR@k = k / (n + 1)
    const auto flat = me::ranking_metrics::of_user(positive, {std::vector<double>(99, 1.0)});
    CHECK(flat.values[auc] == doctest::Approx(0.5));
    CHECK(flat.values[hr10] == doctest::Approx(0.1));
    CHECK(flat.values[hr20] == doctest::Approx(0.2));
}

TEST_CASE("ranking_metrics: several positives, per-positive means, recall against the pooled list") {
    // two positives with their own negatives: ranks 0 and 1
    const std::vector<double> positives{0.9, 0.5};
    const auto m = me::ranking_metrics::of_user(positives, {{0.1, 0.2}, {0.7, 0.1}});
    CHECK(m.values[hr5] == 1.0);
    CHECK(m.values[ndcg5] == doctest::Approx((1.0 + 1.0 / std::log2(3.0)) / 2));
    CHECK(m.values[mrr] == doctest::Approx((1.0 + 0.5) / 2));
    CHECK(m.values[auc] == doctest::Approx((1.0 + 0.5) / 2));
    // recall@20: both in the pooled list of 6 items (top 20): 1
    CHECK(m.values[recall20] == 1.0);
    // a shared list (the full catalogue): 25 competitors above 0.5, below 0.9
    std::vector<double> catalogue(25, 0.6);
    catalogue.push_back(0.0);
    const auto full = me::ranking_metrics::of_user(positives, {catalogue});
    CHECK(full.values[hr20] == doctest::Approx(0.5));    // 0.9 at rank 0; 0.5 at rank 25
    CHECK(full.values[recall20] == doctest::Approx(0.5));  // among 28 items, 0.5 is 27th
    CHECK(full.values[auc] == doctest::Approx((1.0 + 1.0 / 26) / 2));
    CHECK_THROWS_AS(me::ranking_metrics::of_user({}, {{1.0}}), std::invalid_argument);
    CHECK_THROWS_AS(me::ranking_metrics::of_user(positives, {{1.0}, {1.0}, {1.0}}), std::invalid_argument);
    CHECK_THROWS_AS(me::ranking_metrics::of_user(positives, {{}}), std::invalid_argument);
}

TEST_CASE("user_average: means, 95 % intervals and paired differences over users") {
    me::user_average a, b;
    const double hits_a[] = {1, 1, 0, 1}, hits_b[] = {0, 1, 0, 0};
    for (int u = 0; u < 4; ++u) {
        me::ranking_metrics m;
        m.values[hr10] = hits_a[u];
        a.add(m);
        m.values[hr10] = hits_b[u];
        b.add(m);
    }
    CHECK(a.mean(hr10) == doctest::Approx(0.75));
    // sd of {1,1,0,1} = 0.5 (n - 1 in the denominator): 1.96 * 0.5 / 2
    CHECK(a.half_width(hr10) == doctest::Approx(0.49));
    CHECK(a.summary(hr10).low == doctest::Approx(0.75 - 0.49));  // eval::mean_interval's interval
    const auto d = me::user_average::paired_difference(a, b, hr10);  // differences {1, 0, 0, 1}
    CHECK(d[0] == doctest::Approx(0.5));
    CHECK(d[1] == doctest::Approx(1.96 * std::sqrt(1.0 / 3.0) / 2));
    me::user_average c;
    CHECK(std::isnan(c.mean(hr10)));
    CHECK_THROWS_AS(me::user_average::paired_difference(a, c, hr10), std::invalid_argument);
    c.append(a);
    c.append(b);
    CHECK(c.users() == 8);
    CHECK(c.mean(hr10) == doctest::Approx(0.5));
}
