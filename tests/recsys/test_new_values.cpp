// metarec tests: the unseen-scenario split (whole values of a categorical field held out of
// training) and the encoder that looks the held-out values up in the unseen-value row.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include <metarec/data/new_values.hpp>
#include <metarec/data/synthetic.hpp>
#include <metarec/recsys/features.hpp>

namespace mr = metarec;
namespace md = metarec::data;

TEST_CASE("make_new_values_split: no interaction of a held-out value reaches training or validation") {
    const auto data =
        md::make_synthetic({.users = 300, .items = 150, .min_interactions = 15, .max_interactions = 50, .seed = 3});
    for (const bool users : {true, false}) {
        CAPTURE(users);
        const std::string field = users ? "region" : "category";
        const auto& column = users ? data.users.categorical[2] : data.items.categorical[0];
        REQUIRE(column.name == field);
        const auto split = md::make_new_values_split(data, field, {.query = 5, .support = 5, .seed = 9});
        CHECK(split.held_field == field);
        REQUIRE(!split.held_values.empty());
        CHECK(split.held_values.size() < column.vocabulary.size());
        const std::set<mr::id_type> held(split.held_values.begin(), split.held_values.end());
        const auto value_of = [&](mr::index k) {
            const auto& r = data.interactions[std::size_t(k)];
            return column.ids[std::size_t(users ? r.user : r.item)];
        };
        CHECK(!split.train.empty());
        CHECK(!split.test.empty());
        for (const auto* tasks : {&split.train, &split.validation})
            for (const auto& t : *tasks) {
                for (auto k : t.support) CHECK(held.count(value_of(k)) == 0);
                for (auto k : t.query) CHECK(held.count(value_of(k)) == 0);
            }
        for (auto k : split.training_interactions) CHECK(held.count(value_of(k)) == 0);
        for (const auto& t : split.test) {
            for (auto k : t.support) CHECK(held.count(value_of(k)) == 1);
            for (auto k : t.query) CHECK(held.count(value_of(k)) == 1);
        }
        // every value is held out or seen in training
        std::set<mr::id_type> seen;
        for (auto k : split.training_interactions) seen.insert(value_of(k));
        CHECK(seen.size() + held.size() == column.vocabulary.size());
        // the same seed, the same split; another seed, other values (for this data)
        CHECK(md::make_new_values_split(data, field, {.query = 5, .support = 5, .seed = 9}).held_values ==
              split.held_values);
    }
    // tasks per held-out value: grouped by the same field
    const auto per_value = md::make_new_values_split(data, "category",
                                                     {.max_interactions = 60,
                                                      .query = 5,
                                                      .support = 5,
                                                      .group = md::task_group::feature,
                                                      .feature = "category",
                                                      .seed = 2});
    for (const auto& t : per_value.test)
        CHECK(std::count(per_value.held_values.begin(), per_value.held_values.end(), mr::id_type(t.key)) == 1);
    CHECK_THROWS_AS(md::make_new_values_split(data, "colour", {}), std::invalid_argument);
    auto one_value = data;
    for (auto& id : one_value.users.categorical[0].ids) id = 0;
    CHECK_THROWS_AS(md::make_new_values_split(one_value, "gender", {}), std::invalid_argument);
}

TEST_CASE("feature_encoder over a new-values split: held-out values go to the unseen-value row") {
    const auto data =
        md::make_synthetic({.users = 200, .items = 100, .min_interactions = 15, .max_interactions = 40, .seed = 5});
    const auto split = md::make_new_values_split(data, "region", {.query = 5, .support = 5, .seed = 1});
    const mr::recsys::feature_encoder plain(data), encoder(data, {}, split);
    CHECK(encoder.shape().categorical == plain.shape().categorical);
    const auto& region = data.users.categorical[2];
    const auto unseen = mr::id_type(region.vocabulary.size());
    std::vector<mr::id_type> users, items;
    for (mr::index u = 0; u < data.users.rows(); ++u) {
        users.push_back(mr::id_type(u));
        items.push_back(0);
    }
    const auto x = encoder.encode_pairs<float>(users, items), y = plain.encode_pairs<float>(users, items);
    for (std::size_t u = 0; u < users.size(); ++u) {
        const bool held = std::count(split.held_values.begin(), split.held_values.end(), region.ids[u]) == 1;
        CHECK(x.view().categorical[2][u] == (held ? unseen : region.ids[u]));
        CHECK(x.view().categorical[0][u] == y.view().categorical[0][u]);  // the other fields as before
    }
    // a saved model serves the held-out values through the unseen-value row too
    const mr::recsys::feature_encoder served(data, encoder.configuration());
    const auto z = served.encode_pairs<float>(users, items);
    for (std::size_t u = 0; u < users.size(); ++u) CHECK(z.view().categorical[2][u] == x.view().categorical[2][u]);
    CHECK(served.configuration().text() == encoder.configuration().text());
    // the new items of a new-items split, when ids are features: the unseen id row
    const auto items_split =
        md::make_split(data, {.scenario = md::scenario::new_items, .query = 5, .support = 5, .seed = 2});
    const mr::recsys::feature_encoder with_ids(data, {.item_id = true}, items_split);
    std::vector<mr::id_type> all_items, one_user;
    for (mr::index i = 0; i < data.items.rows(); ++i) {
        all_items.push_back(mr::id_type(i));
        one_user.push_back(0);
    }
    const auto w = with_ids.encode_pairs<float>(one_user, all_items);
    const std::size_t id_field = w.view().categorical.size() - 1;
    int hidden = 0;
    for (std::size_t i = 0; i < all_items.size(); ++i) {
        const bool is_new = items_split.new_item[i] != 0;
        hidden += is_new;
        CHECK(w.view().categorical[id_field][i] == (is_new ? mr::id_type(data.items.rows()) : mr::id_type(i)));
    }
    CHECK(hidden > 0);
    // a plain split changes nothing
    const mr::recsys::feature_encoder same(data, {}, md::make_split(data, {.query = 5, .support = 5}));
    CHECK(same.encode_pairs<float>(users, items).view().categorical[2][0] == region.ids[0]);
}
