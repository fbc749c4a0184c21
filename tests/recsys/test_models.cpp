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
