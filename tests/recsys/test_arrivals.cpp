// metarec tests: newcomers at serving time: ids and category values that arrive after training
// are served by a saved model (unseen-value rows, training statistics), another schema is refused.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <metarec/data/arrivals.hpp>
#include <metarec/data/split.hpp>
#include <metarec/data/synthetic.hpp>
#include <metarec/io/archive.hpp>
#include <metarec/io/configuration.hpp>
#include <metarec/loss/mse.hpp>
#include <metarec/meta/maml.hpp>
#include <metarec/optim/adam.hpp>
#include <metarec/recsys/features.hpp>
#include <metarec/recsys/matrix_factorization.hpp>
#include <metarec/recsys/melu.hpp>

namespace mr = metarec;
namespace md = metarec::data;

namespace {

md::dataset tiny() {
    md::dataset data;
    data.users.add("alice");
    data.users.add("bob");
    data.users.categorical = {{"gender", {"f", "m"}, {0, 1}}};
    data.users.numeric = {{"age", {20.f, 40.f}}};
    data.items.add("x");
    data.items.add("y");
    data.items.categorical = {{"brand", {"a", "b"}, {1, 0}}};
    data.items.multi = {{"tags", {"t0", "t1"}, {0, 2, 3}, {0, 1, 1}}};
    data.interactions = {{0, 1, 4.f, 0}, {1, 0, 2.f, 0}};
    return data;
}

}  // namespace

TEST_CASE("feature_encoder: a saved model's encoder maps new ids and values to the unseen-value rows") {
    const auto trained_data = tiny();
    const mr::recsys::feature_encoder trained(trained_data, {.item_id = true});
    CHECK(trained.shape().categorical == std::vector<mr::index>{3, 3, 3});  // gender, brand, item id: + unseen row
    CHECK(trained.shape().categorical_unseen == std::vector<mr::index>{1, 1, 1});
    CHECK(trained.shape().multi == std::vector<mr::index>{2});

    auto data = tiny();  // the data set has grown since training
    md::add_entity(data.users, "carol", {{"gender", "x"}, {"age", "30"}}, "test");
    md::add_entity(data.items, "z", {{"brand", "c"}, {"tags", "t1|t9"}}, "test");
    data.users.numeric[0].values[0] = 90.f;  // the new data's statistics are not the model's
    const mr::recsys::feature_encoder served(data, trained.configuration(), {.item_id = true});
    CHECK(served.shape().categorical == trained.shape().categorical);
    CHECK(served.shape().multi == trained.shape().multi);
    CHECK(served.shape().dense == trained.shape().dense);
    CHECK(served.configuration().text() == trained.configuration().text());

    const std::vector<mr::id_type> users{2, 1}, items{2, 1};  // carol and z (new), bob and y (known)
    const auto batch = served.encode_pairs<double>(users, items);
    const auto x = batch.view();
    CHECK(x.categorical[0][0] == 2);    // the unseen gender 'x'
    CHECK(x.categorical[0][1] == 1);    // bob: m
    CHECK(x.categorical[1][0] == 2);    // the unseen brand 'c'
    CHECK(x.categorical[1][1] == 0);    // y: a
    CHECK(x.categorical[2][0] == 2);    // the unseen item z
    CHECK(x.categorical[2][1] == 1);    // y's row
    CHECK(x.multi[0].offsets[1] == 1);  // z's bag: t1 kept, t9 left out
    CHECK(x.multi[0].ids[0] == 1);
    CHECK(x.dense[0] == doctest::Approx(0.0));  // carol's age 30 with the training statistics (30 - 30) / 10
    CHECK(x.dense[1] == doctest::Approx(1.0));  // bob's 40

    // another schema: a field of another kind, a missing field, ids not selected as at training
    auto other = tiny();
    other.users.numeric.clear();
    const auto refused = [&](const md::dataset& d, mr::recsys::encoder_options o) {
        try {
            mr::recsys::feature_encoder(d, trained.configuration(), o);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::string missing = refused(other, {.item_id = true});
    CHECK(missing ==
          "metarec: feature_encoder: the model was trained on user features 'gender:cat,age:num', the "
          "data and options give 'gender:cat'");
    other = tiny();
    other.users.numeric.clear();
    other.users.categorical.push_back({"age", {"20", "40"}, {0, 1}});
    CHECK(refused(other, {.item_id = true})
              .find("'gender:cat,age:num', the data and options give 'gender:cat,age:cat'") != std::string::npos);
    CHECK(refused(tiny(), {}).find("trained on item features 'brand:cat,tags:multi,id'") != std::string::npos);
    CHECK(refused(tiny(), {.item_id = true}) == "no error");
    CHECK_THROWS_AS(mr::recsys::feature_encoder(tiny(), mr::io::configuration{}), std::invalid_argument);
}

TEST_CASE("add_entity: a new user or item with its feature values; bad values leave the table unchanged") {
    auto data = tiny();
    CHECK(md::add_entity(data.items, "z", {{"tags", ""}, {"brand", "a"}}, "--item-features") == 2);
    CHECK(data.items.categorical[0].ids.back() == 0);
    CHECK(data.items.multi[0].offsets.back() == 3);  // an empty bag
    const auto rows = data.items.rows();
    const auto vocabulary = data.items.categorical[0].vocabulary.size();
    CHECK_THROWS_AS(md::add_entity(data.items, "z", {{"brand", "a"}, {"tags", ""}}, "f"), mr::data_error);
    CHECK_THROWS_AS(md::add_entity(data.items, "w", {{"brand", "new"}}, "f"), mr::data_error);  // no tags
    CHECK_THROWS_AS(md::add_entity(data.items, "w", {{"brand", "new"}, {"tags", ""}, {"colour", "red"}}, "f"),
                    mr::data_error);
    CHECK_THROWS_AS(md::add_entity(data.items, "w", {{"brand", "new"}, {"brand", "a"}, {"tags", ""}}, "f"),
                    mr::data_error);
    CHECK_THROWS_AS(md::add_entity(data.users, "dan", {{"gender", "f"}, {"age", "old"}}, "f"), mr::data_error);
    CHECK(data.items.rows() == rows);
    CHECK(data.items.categorical[0].vocabulary.size() == vocabulary);
    CHECK(data.users.rows() == 2);
}

TEST_CASE("a saved MeLU model serves a user, an item and category values it never saw") {
    using model = mr::recsys::melu<>;
    using algorithm = mr::meta::maml<model, mr::loss::mse, mr::optim::adam, mr::meta::adapt_dense_head>;
    using S = model::scalar_type;
    const auto trained_data =
        md::make_synthetic({.users = 120, .items = 60, .min_interactions = 15, .max_interactions = 25, .seed = 4});
    const auto split = md::make_split(trained_data, {.query = 5, .support = 5, .seed = 4});
    const mr::recsys::feature_encoder encoder(trained_data);
    const auto train_data = encoder.tasks<S>(split.train);
    algorithm trained(model(encoder.shape(), 4), {.inner_lr = 0.01, .inner_steps = 2, .meta_batch = 8, .seed = 4});
    trained.fit(mr::meta::views(train_data), {.max_steps = 5});
    const auto path = std::filesystem::temp_directory_path() / "metarec_test_arrivals.mrc";
    trained.save(path, encoder.configuration());

    // after training: a new user of a new region, a new item of a new category with a new tag
    auto data = trained_data;
    const auto user =
        md::add_entity(data.users, "newcomer", {{"gender", "g0"}, {"age", "age1"}, {"region", "mars"}}, "test");
    const auto item = md::add_entity(
        data.items, "gadget", {{"category", "robots"}, {"brand", "b1"}, {"price", "p0"}, {"tags", "t2|shiny"}}, "test");
    const auto file = mr::io::archive::load(path);
    const mr::recsys::feature_encoder served(data, mr::io::configuration::read(file));
    algorithm loaded(model(served.shape()), {.inner_lr = 0.01, .inner_steps = 2});
    loaded.load(path, served.configuration());  // no error: the vocabulary has grown, the schema is the same

    // the newcomer rates three known items and the new one; every item is scored
    const std::vector<mr::id_type> support_users(4, mr::id_type(user)), support_items{0, 1, 2, mr::id_type(item)};
    const std::vector<S> ratings{5, 1, 4, 3};
    const auto support = served.encode_pairs<S>(support_users, support_items);
    auto personal = loaded.adapt(support.view(), ratings.data());
    std::vector<mr::id_type> users(std::size_t(data.items.rows()), mr::id_type(user)), items;
    for (mr::index i = 0; i < data.items.rows(); ++i) items.push_back(mr::id_type(i));
    const auto scores = personal.predict(served.encode_pairs<S>(users, items).view());
    REQUIRE(scores.size() == items.size());
    for (const auto s : scores) CHECK(std::isfinite(double(s)));

    // a known user and item score as before saving
    const std::vector<mr::id_type> known_user{0}, known_item{3};
    auto trained_user = trained.adapt(encoder.encode_pairs<S>(known_user, known_item).view(), ratings.data());
    auto loaded_user = loaded.adapt(served.encode_pairs<S>(known_user, known_item).view(), ratings.data());
    const auto before = trained_user.predict(encoder.encode_pairs<S>(known_user, known_item).view());
    const auto after = loaded_user.predict(served.encode_pairs<S>(known_user, known_item).view());
    CHECK(after[0] == doctest::Approx(before[0]).epsilon(1e-5));

    // another schema is refused in one line
    auto other = trained_data;
    other.items.multi.clear();
    try {
        mr::recsys::feature_encoder refused(other, mr::io::configuration::read(file));
        FAIL("another schema was accepted");
    } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        CHECK(message.find('\n') == std::string::npos);
        CHECK(message.find("trained on item features 'category:cat,brand:cat,price:cat,tags:multi'") !=
              std::string::npos);
    }
    std::filesystem::remove(path);
}

TEST_CASE("unseen-value rows: zero at initialization, every other parameter as without them") {
    using model = mr::recsys::melu<mr::recsys::melu_head, double, mr::device::cpu, 4>;
    const mr::nn::input_shape without{.dense = 1, .categorical = {2, 3}, .multi = {2}};
    auto with = without;
    with.categorical = {3, 4};
    with.categorical_unseen = {1, 1};
    const model a(without, 7), b(with, 7);
    REQUIRE(b.parameter_count() == a.parameter_count() + 2 * 4);
    const double* p = a.parameters();
    const double* q = b.parameters();
    // field 0: 2 drawn columns then the zero one; field 1: 3 then zero; then everything else
    for (int k = 0; k < 8; ++k) CHECK(q[k] == p[k]);
    for (int k = 8; k < 12; ++k) CHECK(q[k] == 0.0);
    for (int k = 0; k < 12; ++k) CHECK(q[12 + k] == p[8 + k]);
    for (int k = 24; k < 28; ++k) CHECK(q[k] == 0.0);
    for (mr::index k = 20; k < a.parameter_count(); ++k) CHECK(q[k + 8] == p[k]);

    using mf = mr::recsys::matrix_factorization<4, double>;
    const mr::nn::input_shape items{.categorical = {5}, .categorical_group = {mr::recsys::item_group}};
    auto items_unseen = items;
    items_unseen.categorical = {6};
    items_unseen.categorical_unseen = {1};
    const mf c(items, 3), d(items_unseen, 3);
    REQUIRE(d.parameter_count() == c.parameter_count() + 5);  // the item table is last, Dim + 1 rows
    for (mr::index k = 0; k < c.parameter_count(); ++k) CHECK(d.parameters()[k] == c.parameters()[k]);
    for (mr::index k = c.parameter_count(); k < d.parameter_count(); ++k) CHECK(d.parameters()[k] == 0.0);
}
