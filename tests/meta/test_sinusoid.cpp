// metarec tests: the few-shot sinusoid check, short: meta-learning must beat pre-training
// plus fine-tuning by a wide margin after one adaptation step (seeded, deterministic).
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <metarec/callbacks/progress_bar.hpp>

#include "sinusoid.hpp"

TEST_CASE("sinusoid, short run: MAML and Meta-SGD adapt far better than the pre-trained baseline") {
    sinusoid::config c;
    c.iterations = 2000;
    c.train_tasks = 10000;
    c.test_tasks = 300;
    c.threads = 2;
    using quiet_bar = metarec::callbacks::progress_bar;
    const auto rows = sinusoid::run<quiet_bar>(c, [](const std::string&) { return quiet_bar{.quiet = true}; });
    REQUIRE(rows.size() == 5);
    const auto& pretrained = rows[0];
    CHECK(pretrained.name == "pretrained");
    for (const auto& r : rows) {
        INFO(r.name, ": mse@1 ", r.mse_1, ", mse@10 ", r.mse_10, " (pretrained ", pretrained.mse_1, ")");
        CHECK(r.diverged_1 == 0);
        CHECK(std::isfinite(r.mse_1));
        if (r.name == "pretrained") continue;
        // mse@1 measured at this seed, relative to the baseline: maml-1 0.43, maml-2 0.33,
        // reptile 0.43, meta-sgd 0.13; the margins leave room for other compilers only
        const double margin = r.name == "maml-2" ? 0.45 : r.name == "meta-sgd" ? 0.25 : 0.6;
        CHECK(r.mse_1 < margin * pretrained.mse_1);
        if (r.name != "meta-sgd") CHECK(r.mse_10 < r.mse_1);  // more steps keep helping (learned rates may not)
    }
    CHECK(rows[2].mse_1 < rows[1].mse_1);  // second order beats first order at one step
}
