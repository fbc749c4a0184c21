// metarec tests: ranking and rating metrics against hand-computed values.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

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
