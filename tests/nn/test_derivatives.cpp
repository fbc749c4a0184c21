// metarec tests: gradients and Hessian-vector products of layers, losses and whole networks
// against central finite differences (double precision).
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <type_traits>

#include <metarec/loss/loss.hpp>
#include <metarec/loss/objective.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/recsys/matrix_factorization.hpp>
#include <metarec/recsys/two_tower.hpp>

#include "../support/numeric.hpp"

namespace mr = metarec;
using namespace metarec::nn;
namespace nn = metarec::nn;

namespace {

constexpr double tolerance = 1e-6;

template <class Loss>
std::vector<double> make_targets(const Loss&, mr::index rows, mr::index n, mr::detail::rng& g) {
    if constexpr (std::is_same_v<Loss, mr::loss::softmax_cross_entropy>) {
        std::vector<double> t(static_cast<std::size_t>(n));
        for (auto& c : t) c = double(g.below(std::uint64_t(rows)));
        return t;
    } else if constexpr (std::is_same_v<Loss, mr::loss::bpr>) {
        return {};
    } else if constexpr (std::is_same_v<Loss, mr::loss::bce_with_logits>) {
        return mr::test::random_vector(g, std::size_t(rows * n), 0, 1);
    } else {
        return mr::test::random_vector(g, std::size_t(rows * n), -2, 2);
    }
}

struct derivative_report {
    double gradient_error, hvp_error, symmetry_error, hvp_gradient_error;
};

/// Builds model<Spec, double> for `shape`, and compares its gradient and H v (exact) with
/// central differences at the initial parameters on a random batch of `samples` samples.
template <class Spec, class Loss = mr::loss::mse>
derivative_report check_derivatives(const input_shape& shape, mr::index samples, std::uint64_t seed, Loss loss = {}) {
    using net = model<Spec, double>;
    net f{shape, seed};
    mr::test::random_batch<double> data{shape, samples, seed + 1};
    const auto x = data.view();
    mr::detail::rng g(seed + 2);
    const auto target = make_targets(loss, f.output_rows(), samples, g);
    const double* t = target.empty() ? nullptr : target.data();

    mr::objective<net, Loss> objective{f, loss};
    static_assert(decltype(objective)::exact_hvp);
    auto ws = objective.make_workspace(samples);
    const auto p = std::size_t(f.parameter_count());
    // move away from the initialization a little so biases are not special
    std::vector<double> theta(f.parameters(), f.parameters() + p);
    for (auto& w : theta) w += 0.1 * g.uniform(-1, 1);

    const auto gradient_at = [&](const std::vector<double>& at) {
        std::vector<double> grad(p);
        objective.gradient(at.data(), x, t, ws, grad.data());
        return grad;
    };
    const auto value_at = [&](const std::vector<double>& at) { return double(objective.value(at.data(), x, t, ws)); };

    // the coordinates checked by central differences: every one of a small network's; up to 64
    // of each layer's slice, evenly spread, on the recommender models (10^4 parameters, 2 passes each)
    std::vector<std::size_t> coordinates;
    for (const auto& slice : f.slices()) {
        const mr::index step = (slice.size + 63) / 64;  // ceil: at most 64 coordinates
        for (mr::index i = 0; i < slice.size; i += step) coordinates.push_back(std::size_t(slice.offset + i));
    }
    REQUIRE(!coordinates.empty());
    const auto full_grad = gradient_at(theta);
    std::vector<double> grad;
    for (const std::size_t i : coordinates) grad.push_back(full_grad[i]);
    const auto numeric = mr::test::numeric_partials(value_at, theta, coordinates);

    const auto v = mr::test::random_vector(g, p), u = mr::test::random_vector(g, p);
    std::vector<double> hv(p), hu(p), grad_by_hvp(p);
    objective.hvp(theta.data(), x, t, v.data(), ws, hv.data(), grad_by_hvp.data());
    objective.hvp(theta.data(), x, t, u.data(), ws, hu.data());
    const auto numeric_hv = mr::test::numeric_directional(gradient_at, theta, v);

    const double uhv = mr::test::dot(u, hv), vhu = mr::test::dot(v, hu);
    return {mr::test::relative_error(grad, numeric), mr::test::relative_error(hv, numeric_hv),
            std::abs(uhv - vhu) / std::max({std::abs(uhv), std::abs(vhu), 1e-300}),
            mr::test::relative_error(full_grad, grad_by_hvp)};
}

template <class Spec, class Loss = mr::loss::mse>
void require_exact(const input_shape& shape, mr::index samples, std::uint64_t seed, Loss loss = {}) {
    const auto r = check_derivatives<Spec>(shape, samples, seed, loss);
    INFO("gradient error ", r.gradient_error, ", H v error ", r.hvp_error, ", symmetry ", r.symmetry_error);
    CHECK(r.gradient_error < tolerance);
    CHECK(r.hvp_error < tolerance);
    CHECK(r.symmetry_error < 1e-10);
    CHECK(r.hvp_gradient_error < 1e-12);
}

}  // namespace

TEST_CASE("dense: gradient and H v match finite differences") {
    require_exact<sequential<dense<3>>>({.dense = 4}, 5, 11);
    require_exact<dense<2>>({.dense = 3}, 4, 12);  // a single layer is a network too
}

TEST_CASE("activations: gradient and H v match finite differences") {
    const input_shape shape{.dense = 3};
    SUBCASE("relu") { require_exact<sequential<dense<6>, relu, dense<2>>>(shape, 7, 21); }
    SUBCASE("leaky_relu") { require_exact<sequential<dense<6>, leaky_relu<std::ratio<1, 10>>, dense<2>>>(shape, 7, 22); }
    SUBCASE("sigmoid") { require_exact<sequential<dense<6>, sigmoid, dense<2>>>(shape, 7, 23); }
    SUBCASE("tanh") { require_exact<sequential<dense<6>, nn::tanh, dense<2>>>(shape, 7, 24); }
    SUBCASE("identity") { require_exact<sequential<dense<6>, identity, dense<2>>>(shape, 7, 25); }
}

TEST_CASE("losses through a network: gradient and H v match finite differences") {
    const input_shape shape{.dense = 3};
    SUBCASE("mse") { require_exact<sequential<dense<5>, nn::tanh, dense<2>>>(shape, 6, 31, mr::loss::mse{}); }
    SUBCASE("bce_with_logits") {
        require_exact<sequential<dense<5>, nn::tanh, dense<3>>>(shape, 6, 32, mr::loss::bce_with_logits{});
    }
    SUBCASE("softmax_cross_entropy") {
        require_exact<sequential<dense<5>, nn::tanh, dense<4>>>(shape, 6, 33, mr::loss::softmax_cross_entropy{});
    }
    SUBCASE("bpr") { require_exact<sequential<dense<5>, nn::tanh, dense<1>>>(shape, 8, 34, mr::loss::bpr{}); }
}

TEST_CASE("embeddings: gradient and H v match finite differences") {
    const input_shape shape{.dense = 0, .categorical = {7, 5}, .multi = {9, 6}};
    SUBCASE("embedding") { require_exact<sequential<embedding<4, 1>, nn::tanh, dense<1>>>(shape, 6, 41); }
    SUBCASE("embedding_bag mean") { require_exact<sequential<embedding_bag<4, 0>, nn::tanh, dense<1>>>(shape, 6, 42); }
    SUBCASE("embedding_bag sum") {
        require_exact<sequential<embedding_bag<3, 1, pooling::sum>, sigmoid, dense<2>>>(shape, 6, 43);
    }
}

TEST_CASE("field_embeddings: every field of the input, fields known at run time") {
    const input_shape shape{.dense = 0, .categorical = {7, 5, 3}, .multi = {9, 6}};
    require_exact<sequential<field_embeddings<3>, dense<4>, nn::tanh, dense<1>>>(shape, 7, 44);
    require_exact<sequential<field_embeddings<2, pooling::sum>, dense<1>>>(shape, 5, 45, mr::loss::bce_with_logits{});
    // MeLU's shape: a nested chain as the head
    require_exact<sequential<field_embeddings<2>, sequential<dense<4>, relu, dense<3>, relu, dense<1>>>>(shape, 6, 48);
    // the same function as the compile-time concat of per-field embeddings, same parameters
    using runtime = model<sequential<field_embeddings<3>, dense<1>>, double>;
    using fixed = model<sequential<concat<embedding<3, 0>, embedding<3, 1>, embedding<3, 2>, embedding_bag<3, 0>,
                                          embedding_bag<3, 1>>, dense<1>>, double>;
    runtime a{shape, 46};
    fixed b{shape, 46};
    REQUIRE(a.parameter_count() == b.parameter_count());
    CHECK(std::equal(a.parameters(), a.parameters() + a.parameter_count(), b.parameters()));
    CHECK(a.slices().size() == 6);  // five tables and the dense layer
    mr::test::random_batch<double> data{shape, 6, 47};
    auto wa = a.make_workspace(6);
    auto wb = b.make_workspace(6);
    std::vector<double> ya(6), yb(6);
    a.forward(a.parameters(), data.view(), wa, ya.data());
    b.forward(b.parameters(), data.view(), wb, yb.data());
    CHECK(mr::test::relative_error(ya, yb) < 1e-15);
    auto bad = data.view();
    std::vector<mr::id_type> wrong(6, 3);  // field 2 has 3 values: id 3 is outside
    std::vector<const mr::id_type*> fields{data.categorical[0].data(), data.categorical[1].data(), wrong.data()};
    bad.categorical = fields;
    CHECK_THROWS_WITH_AS(a.forward(a.parameters(), bad, wa, ya.data()), doctest::Contains("categorical field 2"),
                         std::invalid_argument);
    std::vector<bag_field> no_offsets{{nullptr, data.ids[0].data()}, data.bags[1]};
    auto unbagged = data.view();
    unbagged.multi = no_offsets;
    CHECK_THROWS_WITH(a.forward(a.parameters(), unbagged, wa, ya.data()), doctest::Contains("no bag offsets"));
}

TEST_CASE("whole networks: embedding_bag + concat + dense stacks") {
    SUBCASE("MeLU-shaped: embeddings of every field and a dense branch, then a head") {
        using features = concat<embedding<3, 0>, embedding<3, 1>, embedding_bag<3, 0>, embedding_bag<2, 1, pooling::sum>,
                                sequential<dense<4>, sigmoid>>;
        using net = sequential<features, dense<8>, relu, dense<4>, nn::tanh, dense<1>>;
        require_exact<net>({.dense = 3, .categorical = {7, 5}, .multi = {9, 6}}, 9, 51);
    }
    SUBCASE("concat in the middle: the input gradient is the sum over branches") {
        using net = sequential<dense<5>, concat<sequential<dense<3>, nn::tanh>, identity, leaky_relu<>>, dense<2>>;
        require_exact<net>({.dense = 4}, 6, 52, mr::loss::softmax_cross_entropy{});
    }
    SUBCASE("deep sigmoid chain") {
        using net = sequential<dense<6>, sigmoid, dense<6>, nn::tanh, dense<6>, sigmoid, dense<1>>;
        require_exact<net>({.dense = 2}, 5, 53, mr::loss::bce_with_logits{});
    }
}

TEST_CASE("embedding gradients are sparse: unused rows get exactly zero") {
    using net = model<sequential<embedding<2, 0>, dense<1>>, double>;
    const input_shape shape{.categorical = {10}};
    net f{shape, 3};
    const std::vector<mr::id_type> ids{2, 5, 2};
    const mr::id_type* fields[] = {ids.data()};
    const batch<double> x{3, nullptr, 0, fields, {}};
    mr::objective<net, mr::loss::mse> objective{f};
    auto ws = objective.make_workspace(3);
    const std::vector<double> target{1, 2, 3};
    std::vector<double> grad(std::size_t(f.parameter_count()));
    objective.gradient(f.parameters(), x, target.data(), ws, grad.data());
    for (mr::index row = 0; row < 10; ++row) {
        const bool used = row == 2 || row == 5;
        const double norm = std::abs(grad[std::size_t(2 * row)]) + std::abs(grad[std::size_t(2 * row + 1)]);
        CHECK((used ? norm > 0 : norm == 0));
    }
}

namespace {
/// A learner that exposes only forward and backward: second order falls back to differences.
template <class Net>
struct gradient_only {
    using scalar_type = typename Net::scalar_type;
    using device_type = typename Net::device_type;
    using input_type = typename Net::input_type;
    using workspace_type = typename Net::workspace_type;
    Net net;
    mr::index parameter_count() const { return net.parameter_count(); }
    mr::index output_rows() const { return net.output_rows(); }
    scalar_type* parameters() { return net.parameters(); }
    const scalar_type* parameters() const { return net.parameters(); }
    workspace_type make_workspace(mr::index n) const { return net.make_workspace(n); }
    void forward(const scalar_type* t, const input_type& x, workspace_type& ws, scalar_type* out) const {
        net.forward(t, x, ws, out);
    }
    void backward(const scalar_type* t, const input_type& x, workspace_type& ws, const scalar_type* d,
                  scalar_type* g) const {
        net.backward(t, x, ws, d, g);
    }
};
}  // namespace

TEST_CASE("a learner without R-operator gets a finite-difference H v") {
    using net = model<sequential<dense<5>, nn::tanh, dense<1>>, double>;
    static_assert(mr::twice_differentiable_learner<net>);
    static_assert(mr::learner<gradient_only<net>> && !mr::twice_differentiable_learner<gradient_only<net>>);
    const input_shape shape{.dense = 3};
    gradient_only<net> approx{net{shape, 5}};
    const net& exact = approx.net;
    mr::test::random_batch<double> data{shape, 6, 6};
    mr::detail::rng g(7);
    const auto target = mr::test::random_vector(g, 6);
    const auto v = mr::test::random_vector(g, std::size_t(exact.parameter_count()));
    mr::objective<net, mr::loss::mse> exact_objective{exact};
    mr::objective<gradient_only<net>, mr::loss::mse> approx_objective{approx};
    static_assert(!decltype(approx_objective)::exact_hvp);
    auto ws1 = exact_objective.make_workspace(6);
    auto ws2 = approx_objective.make_workspace(6);
    std::vector<double> hv1(v.size()), hv2(v.size());
    exact_objective.hvp(exact.parameters(), data.view(), target.data(), v.data(), ws1, hv1.data());
    approx_objective.hvp(exact.parameters(), data.view(), target.data(), v.data(), ws2, hv2.data());
    CHECK(mr::test::relative_error(hv1, hv2) < 1e-7);
}

TEST_CASE_TEMPLATE("float and double agree", S, float, double) {
    using spec = sequential<concat<embedding<4, 0>, embedding_bag<4, 0>, dense<4>>, dense<8>, relu, dense<1>>;
    const input_shape shape{.dense = 2, .categorical = {6}, .multi = {8}};
    model<spec, S> f{shape, 9};
    model<spec, double> reference{shape, 9};
    mr::test::random_batch<S> data{shape, 5, 10};
    mr::test::random_batch<double> reference_data{shape, 5, 10};
    const std::vector<S> target{1, 0, 2, -1, 0.5};
    const std::vector<double> reference_target(target.begin(), target.end());
    mr::objective<decltype(f), mr::loss::mse> objective{f};
    mr::objective<decltype(reference), mr::loss::mse> reference_objective{reference};
    auto ws = objective.make_workspace(5);
    auto reference_ws = reference_objective.make_workspace(5);
    std::vector<S> grad(std::size_t(f.parameter_count()));
    std::vector<double> reference_grad(grad.size());
    const S loss = objective.gradient(f.parameters(), data.view(), target.data(), ws, grad.data());
    const double reference_loss = reference_objective.gradient(reference.parameters(), reference_data.view(),
                                                               reference_target.data(), reference_ws,
                                                               reference_grad.data());
    const double tol = std::is_same_v<S, float> ? 1e-5 : 1e-14;
    CHECK(std::abs(double(loss) - reference_loss) <= tol * std::abs(reference_loss));
    std::vector<double> widened(grad.begin(), grad.end());
    CHECK(mr::test::relative_error(widened, reference_grad) < tol);
}

TEST_CASE("model: layout, determinism and workspace growth") {
    using spec = sequential<concat<embedding<4, 0>, dense<3>>, dense<5>, relu, dense<1>>;
    const input_shape shape{.dense = 2, .categorical = {6}};
    model<spec, double> a{shape, 42}, b{shape, 42}, c{shape, 43};
    CHECK(a.parameter_count() == 4 * 6 + (3 * 2 + 3) + (5 * 7 + 5) + (1 * 5 + 1));
    REQUIRE(a.slices().size() == 4);
    CHECK(a.slices()[0].name == "embedding");
    CHECK(a.slices()[3].offset + a.slices()[3].size == a.parameter_count());
    for (std::size_t i = 1; i < a.slices().size(); ++i)
        CHECK(a.slices()[i].offset == a.slices()[i - 1].offset + a.slices()[i - 1].size);
    CHECK(std::equal(a.parameters(), a.parameters() + a.parameter_count(), b.parameters()));
    CHECK_FALSE(std::equal(a.parameters(), a.parameters() + a.parameter_count(), c.parameters()));

    mr::test::random_batch<double> small{shape, 2, 1}, large{shape, 40, 2};
    auto ws = a.make_workspace(2);
    std::vector<double> out(40);
    a.forward(a.parameters(), small.view(), ws, out.data());
    const std::vector<double> first(out.begin(), out.begin() + 2);
    a.forward(a.parameters(), large.view(), ws, out.data());  // grows
    CHECK(ws.capacity == 40);
    a.forward(a.parameters(), small.view(), ws, out.data());
    CHECK(std::equal(first.begin(), first.end(), out.begin()));
}

TEST_CASE("model: bad batches are rejected with a reason") {
    using spec = sequential<concat<embedding<2, 0>, embedding_bag<2, 0>, dense<2>>, dense<1>>;
    const input_shape shape{.dense = 1, .categorical = {4}, .multi = {3}};
    model<spec, double> f{shape, 1};
    auto ws = f.make_workspace(2);
    std::vector<double> out(2), features{0.5, 0.25};
    std::vector<mr::id_type> ids{1, 3}, bag_offsets{0, 1, 2}, bag_ids{0, 2};
    std::vector<const mr::id_type*> fields{ids.data()};
    std::vector<bag_field> bags{{bag_offsets.data(), bag_ids.data()}};
    batch<double> x{2, features.data(), 1, fields, bags};
    CHECK_NOTHROW(f.forward(f.parameters(), x, ws, out.data()));

    ids[1] = 4;  // outside the vocabulary of 4
    CHECK_THROWS_WITH_AS(f.forward(f.parameters(), x, ws, out.data()), doctest::Contains("outside [0, 4)"),
                         std::invalid_argument);
    ids[1] = -1;
    CHECK_THROWS_AS(f.forward(f.parameters(), x, ws, out.data()), std::invalid_argument);
    ids[1] = 3;
    bag_ids[1] = 3;
    CHECK_THROWS_WITH(f.forward(f.parameters(), x, ws, out.data()), doctest::Contains("embedding_bag<2, field 0>"));
    bag_ids[1] = 2;
    bag_offsets = {0, 2, 1};
    CHECK_THROWS_WITH(f.forward(f.parameters(), x, ws, out.data()), doctest::Contains("never decrease"));
    bag_offsets = {0, 1, 2};
    x.dense_dim = 2;
    CHECK_THROWS_WITH(f.forward(f.parameters(), x, ws, out.data()), doctest::Contains("dense features"));
    x.dense_dim = 1;
    x.categorical = {};
    CHECK_THROWS_WITH(f.forward(f.parameters(), x, ws, out.data()), doctest::Contains("categorical"));

    CHECK_THROWS_AS((model<sequential<embedding<2, 3>, dense<1>>, double>{shape}), std::invalid_argument);
    CHECK_THROWS_AS((model<sequential<dense<2>>, double>{input_shape{}}), std::invalid_argument);
}

TEST_CASE("feature groups: field_embeddings and dense_features read only their group") {
    // user side: categorical 0, multi 0, dense rows 0..1; item side: categorical 1 and 2, dense row 2
    const input_shape shape{.dense = 3, .categorical = {7, 5, 4}, .multi = {6}, .dense_group = {0, 0, 1},
                            .categorical_group = {0, 1, 1}, .multi_group = {0}};
    using user_side = concat<field_embeddings<2, pooling::mean, 0>, dense_features<0>>;
    using item_side = concat<field_embeddings<2, pooling::mean, 1>, dense_features<1>>;
    require_exact<sequential<concat<sequential<user_side, dense<3>, nn::tanh>, sequential<item_side, dense<3>>>, dense<1>>>(
        shape, 7, 61);
    model<sequential<user_side, dense<1>>, double> user{shape, 62};
    CHECK(user.parameter_count() == 2 * (7 + 6) + (2 * 2 + 2 + 1));  // two tables, dense over 2 + 2 + 2 rows
    // changing an item-side input leaves the user side unchanged
    mr::test::random_batch<double> data{shape, 5, 63};
    auto ws = user.make_workspace(5);
    std::vector<double> before(5), after(5);
    user.forward(user.parameters(), data.view(), ws, before.data());
    for (auto& id : data.categorical[1]) id = (id + 1) % 5;
    for (mr::index j = 0; j < 5; ++j) data.dense[std::size_t(3 * j + 2)] += 1.0;
    user.forward(user.parameters(), data.view(), ws, after.data());
    CHECK(before == after);
    // a group without categorical fields, and interleaved dense rows, are rejected
    CHECK_THROWS_WITH_AS((model<sequential<field_embeddings<2, pooling::mean, 3>, dense<1>>, double>{shape, 1}),
                         doctest::Contains("no categorical field in group 3"), std::invalid_argument);
    const input_shape interleaved{.dense = 3, .categorical = {2}, .dense_group = {0, 1, 0}};
    CHECK_THROWS_WITH((model<sequential<concat<field_embeddings<2>, dense_features<0>>, dense<1>>, double>{interleaved, 1}),
                      doctest::Contains("not contiguous"));
    CHECK_THROWS_WITH((model<dense<1>, double>{{.dense = 2, .dense_group = {0}}, 1}), doctest::Contains("1 groups for 2 dense rows"));
    // a group with no dense rows: a branch of 0 rows
    const input_shape no_dense{.dense = 0, .categorical = {3}};
    require_exact<sequential<concat<field_embeddings<2>, dense_features<>>, dense<2>, nn::tanh, dense<1>>>(no_dense, 5, 64);
}

TEST_CASE("dot and broadcast: towers' scores and a per-task vector, exact derivatives") {
    const input_shape shape{.dense = 2, .categorical = {6}};
    SUBCASE("dot of two towers") {
        using net = sequential<concat<sequential<dense<3>, nn::tanh>, field_embeddings<3>>, dot<3>>;
        require_exact<net>(shape, 6, 71);
    }
    SUBCASE("biased dot, as matrix factorization") {
        using net = sequential<concat<broadcast<4>, field_embeddings<4>>, dot<4, true>>;
        require_exact<net>(shape, 6, 72);
        model<net, double> mf{shape, 73};
        CHECK(mf.parameter_count() == 4 + 6 * 4 + 1);
        // y = <p[0:3], q[0:3]> + p[3] + q[3] + c for sample j with item id i
        mr::test::random_batch<double> data{shape, 3, 74};
        auto ws = mf.make_workspace(3);
        std::vector<double> y(3);
        mf.forward(mf.parameters(), data.view(), ws, y.data());
        const double* p = mf.parameters();
        for (mr::index j = 0; j < 3; ++j) {
            const double* q = p + 4 + 4 * data.categorical[0][std::size_t(j)];
            CHECK(y[std::size_t(j)] == doctest::Approx(p[0] * q[0] + p[1] * q[1] + p[2] * q[2] + p[3] + q[3] + p[28]));
        }
    }
    SUBCASE("dot after a nonlinearity on both halves: second-order cross terms") {
        using net = sequential<dense<6>, nn::tanh, dot<3, true>>;
        require_exact<net>(shape, 5, 75);
    }
    CHECK_THROWS_WITH((model<sequential<dense<5>, dot<3>>, double>{shape, 1}), doctest::Contains("two halves of 3 rows"));
}

// ---- the recommender models built from these layers (recsys/two_tower.hpp, matrix_factorization.hpp)

namespace {

template <class Model>
struct spec_of;
template <class Spec, class S, class D>
struct spec_of<model<Spec, S, D>> {
    using type = Spec;
};
template <class Model>
using spec_of_t = typename spec_of<Model>::type;

// user side: categorical 0 (5 ids), dense rows 0..1; item side: categorical 1 (4 ids), item id
// (categorical 2, 6 items), genres (multi 0), dense row 2
const input_shape recsys_shape{.dense = 3, .categorical = {5, 4, 6}, .multi = {5}, .dense_group = {0, 0, 1},
                               .categorical_group = {0, 1, 1}, .multi_group = {1}};
// matrix factorization: a user field it must ignore, the item id
const input_shape ids_shape{.dense = 1, .categorical = {3, 6}, .dense_group = {0}, .categorical_group = {0, 1}};

// the output of the B-th branch of the network's leading concat, at the model's parameters
template <std::size_t B, class Model>
std::vector<double> side_output(const Model& f, const batch<double>& x) {
    const auto& side = f.network().template layer<0>().template branch<B>();
    auto ws = nn::detail::make_workspace<double, mr::device::cpu>(side, x.size());
    std::vector<double> y(std::size_t(side.out_rows() * x.size()));
    side.template forward<mr::device::cpu>(f.parameters(), x, y.data(), x.size(), ws);
    return y;
}

}  // namespace

TEST_CASE("recsys models: two_tower (dot and MLP score) and matrix_factorization, exact derivatives") {
    SUBCASE("two_tower, dot score") {
        require_exact<spec_of_t<mr::recsys::two_tower<3, mr::recsys::dot_score<3>, double>>>(recsys_shape, 6, 81);
    }
    SUBCASE("two_tower, MLP score") {
        require_exact<spec_of_t<mr::recsys::two_tower<3, mr::recsys::mlp_score, double>>>(recsys_shape, 6, 82);
    }
    SUBCASE("matrix_factorization") {
        require_exact<spec_of_t<mr::recsys::matrix_factorization<3, double>>>(ids_shape, 7, 83);
        // reads only the item-group fields: the user's vector (4), one table for the item id (4 x 6), mu
        const mr::recsys::matrix_factorization<3, double> mf{ids_shape, 84};
        CHECK(mf.parameter_count() == 4 + 4 * 6 + 1);
        CHECK(mr::recsys::adapt_user::select(mf).offset == 0);
        CHECK(mr::recsys::adapt_user::select(mf).size == 4);
    }
    SUBCASE("the user tower's layout: first and contiguous, exactly what adapt_user selects") {
        const mr::recsys::two_tower<3, mr::recsys::dot_score<3>, double> f{recsys_shape, 85};
        const auto& slices = f.slices();
        // user tower: 1 table, dense, dense; item tower: 3 tables, dense, dense; dot's global bias
        REQUIRE(slices.size() == 3 + 5 + 1);
        const mr::index user = 32 * 5 + (64 * (32 + 2) + 64) + (4 * 64 + 4);
        CHECK(mr::recsys::adapt_user::select(f).offset == 0);
        CHECK(mr::recsys::adapt_user::select(f).size == user);
        CHECK(slices[3].offset == user);
        CHECK(slices.back().name == "dot");
        CHECK(slices.back().offset == f.parameter_count() - 1);
    }
}

TEST_CASE("two_tower: each tower reads only its feature group") {
    const mr::recsys::two_tower<3, mr::recsys::dot_score<3>, double> f{recsys_shape, 91};
    mr::test::random_batch<double> data{recsys_shape, 6, 92};
    const auto user = side_output<0>(f, data.view()), item = side_output<1>(f, data.view());
    // another item (item-group ids, genres and dense row): the user tower does not move
    for (auto& id : data.categorical[1]) id = (id + 1) % 4;
    for (auto& id : data.categorical[2]) id = (id + 1) % 6;
    for (auto& id : data.ids[0]) id = (id + 2) % 5;
    for (mr::index j = 0; j < 6; ++j) data.dense[std::size_t(3 * j + 2)] += 0.5;
    CHECK(side_output<0>(f, data.view()) == user);
    const auto item_changed = side_output<1>(f, data.view());
    CHECK(item_changed != item);
    // another user (user-group id and dense rows): the item tower does not move
    for (auto& id : data.categorical[0]) id = (id + 1) % 5;
    for (mr::index j = 0; j < 6; ++j) data.dense[std::size_t(3 * j)] -= 0.5;
    CHECK(side_output<1>(f, data.view()) == item_changed);
    CHECK(side_output<0>(f, data.view()) != user);

    // matrix factorization: the user's fields and the dense features are ignored
    const mr::recsys::matrix_factorization<3, double> mf{ids_shape, 93};
    mr::test::random_batch<double> ids{ids_shape, 5, 94};
    auto ws = mf.make_workspace(5);
    std::vector<double> before(5), after(5);
    mf.forward(mf.parameters(), ids.view(), ws, before.data());
    for (auto& id : ids.categorical[0]) id = (id + 1) % 3;
    for (auto& v : ids.dense) v += 1;
    mf.forward(mf.parameters(), ids.view(), ws, after.data());
    CHECK(before == after);
}

TEST_CASE_TEMPLATE("recsys models: float and double agree", S, float, double) {
    const auto check = [](auto tag, const input_shape& shape, std::uint64_t seed) {
        using spec = spec_of_t<typename decltype(tag)::type>;
        model<spec, S> f{shape, seed};
        model<spec, double> reference{shape, seed};
        mr::test::random_batch<S> data{shape, 5, seed + 1};
        mr::test::random_batch<double> reference_data{shape, 5, seed + 1};
        const std::vector<S> target{1, 0, 2, -1, 0.5};
        const std::vector<double> reference_target(target.begin(), target.end());
        mr::objective<decltype(f), mr::loss::mse> objective{f};
        mr::objective<decltype(reference), mr::loss::mse> reference_objective{reference};
        auto ws = objective.make_workspace(5);
        auto reference_ws = reference_objective.make_workspace(5);
        const auto p = std::size_t(f.parameter_count());
        std::vector<S> grad(p), hv(p);
        std::vector<double> reference_grad(p), reference_hv(p);
        mr::detail::rng g(seed + 2);
        const auto v = mr::test::random_vector(g, p);
        const std::vector<S> narrow_v(v.begin(), v.end());
        const S loss = objective.gradient(f.parameters(), data.view(), target.data(), ws, grad.data());
        const double reference_loss = reference_objective.gradient(reference.parameters(), reference_data.view(),
                                                                   reference_target.data(), reference_ws,
                                                                   reference_grad.data());
        objective.hvp(f.parameters(), data.view(), target.data(), narrow_v.data(), ws, hv.data());
        reference_objective.hvp(reference.parameters(), reference_data.view(), reference_target.data(), v.data(),
                                reference_ws, reference_hv.data());
        const double tol = std::is_same_v<S, float> ? 1e-5 : 1e-14;
        CHECK(std::abs(double(loss) - reference_loss) <= tol * std::abs(reference_loss));
        CHECK(mr::test::relative_error(std::vector<double>(grad.begin(), grad.end()), reference_grad) < tol);
        CHECK(mr::test::relative_error(std::vector<double>(hv.begin(), hv.end()), reference_hv) < 10 * tol);
    };
    check(std::type_identity<mr::recsys::two_tower<3, mr::recsys::dot_score<3>, double>>{}, recsys_shape, 101);
    check(std::type_identity<mr::recsys::two_tower<3, mr::recsys::mlp_score, double>>{}, recsys_shape, 102);
    check(std::type_identity<mr::recsys::matrix_factorization<3, double>>{}, ids_shape, 103);
}

TEST_CASE("new layers: errors name the layer and the reason") {
    // a tower for a group the input lacks
    const input_shape users_only{.dense = 1, .categorical = {4}, .categorical_group = {mr::recsys::user_group}};
    CHECK_THROWS_WITH_AS((mr::recsys::two_tower<3, mr::recsys::dot_score<3>, double>{users_only, 1}),
                         doctest::Contains("no categorical field in group 1"), std::invalid_argument);
    CHECK_THROWS_WITH_AS((mr::recsys::matrix_factorization<3, double>{users_only, 1}),
                         doctest::Contains("no categorical field in group 1"), std::invalid_argument);
    // a batch without the fields the model was built for
    const mr::recsys::matrix_factorization<3, double> mf{ids_shape, 1};
    mr::test::random_batch<double> ids{ids_shape, 3, 2};
    auto x = ids.view();
    x.categorical = x.categorical.first(1);
    auto ws = mf.make_workspace(3);
    std::vector<double> out(3);
    CHECK_THROWS_WITH_AS(mf.forward(mf.parameters(), x, ws, out.data()),
                         doctest::Contains("1 categorical and 0 multi-valued fields, the model expects 2 and 0"),
                         std::invalid_argument);
    // an item id outside the vocabulary
    ids.categorical[1][0] = 6;
    CHECK_THROWS_WITH_AS(mf.forward(mf.parameters(), ids.view(), ws, out.data()),
                         doctest::Contains("categorical field 1: 1 id(s) outside [0, 6)"), std::invalid_argument);
    // dot halves that do not match (odd rows, or halves of another size)
    const input_shape plain{.dense = 2};
    CHECK_THROWS_WITH_AS((model<sequential<dense<7>, dot<4, true>>, double>{plain, 1}),
                         doctest::Contains("dot<4> needs two halves of 4 rows (8), the previous layer gives 7"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((model<sequential<dense<6>, dot<2>>, double>{plain, 1}), doctest::Contains("gives 6"),
                         std::invalid_argument);
    // a dense layer straight after an empty dense_features has nothing to read
    const input_shape no_item_dense{.dense = 1, .categorical = {3}, .dense_group = {0}};
    CHECK_THROWS_WITH_AS((model<sequential<dense_features<1>, dense<2>>, double>{no_item_dense, 1}),
                         doctest::Contains("has no input features"), std::invalid_argument);
    // ... but a concat with an empty dense_features branch feeds a dense layer as usual
    require_exact<sequential<concat<field_embeddings<2, pooling::mean, 0>, dense_features<1>>, dense<3>, nn::tanh, dense<1>>>(
        no_item_dense, 5, 111);
    model<sequential<concat<field_embeddings<2>, dense_features<1>>, dense<1>>, double> f{no_item_dense, 112};
    CHECK(f.network().layer<0>().branch<1>().out_rows() == 0);
    CHECK(f.parameter_count() == 2 * 3 + 2 + 1);
}
