// metarec tests: the passes that do only what a meta-algorithm needs. A dense layer whose input
// rows are the same in every sample (a user's fields in a per-user task) computes their products
// once; a model's backward pass from an offset skips the layers below it; its R-passes skip
// what a direction that is zero below an offset makes zero. Each against the full computation.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <Eigen/Core>

#include <metarec/loss/loss.hpp>
#include <metarec/loss/objective.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/recsys/melu.hpp>

#include "../support/numeric.hpp"

namespace mr = metarec;
namespace nn = metarec::nn;
using matrix = Eigen::MatrixXd;
using vector = Eigen::VectorXd;

namespace {

// in x n input: rows [0, lead) and [in - trail, in) the same in every column
matrix shared_rows_input(mr::index in, mr::index n, mr::index lead, mr::index trail, std::uint64_t seed) {
    mr::detail::rng g(seed);
    matrix x(in, n);
    for (mr::index j = 0; j < n; ++j)
        for (mr::index r = 0; r < in; ++r) x(r, j) = g.uniform(-1, 1);
    for (mr::index j = 1; j < n; ++j) {
        x.col(j).head(lead) = x.col(0).head(lead);
        x.col(j).tail(trail) = x.col(0).tail(trail);
    }
    return x;
}

}  // namespace

TEST_CASE("dense: rows shared by every sample enter the products once; every pass as the full product") {
    constexpr mr::index N = 5, in = 40, n = 6;
    struct shape_case {
        mr::index lead, trail, found_lead, found_trail;
    };
    // found: what the layer uses (under 16 shared rows in all it takes the plain product)
    for (const auto c : {shape_case{20, 0, 20, 0}, shape_case{0, 18, 0, 18}, shape_case{12, 9, 12, 9},
                         shape_case{40, 0, 40, 0}, shape_case{7, 5, 0, 0}, shape_case{0, 0, 0, 0}}) {
        CAPTURE(c.lead);
        CAPTURE(c.trail);
        nn::dense<N> layer;
        layer.configure({}, in, 0);
        const mr::index p = layer.parameter_count();
        mr::detail::rng g(3);
        const auto theta = mr::test::random_vector(g, std::size_t(p)), v = mr::test::random_vector(g, std::size_t(p));
        const matrix x = shared_rows_input(in, n, c.lead, c.trail, 11);
        const matrix rx = matrix::Random(in, n), dy = matrix::Random(N, n), rdy = matrix::Random(N, n);
        const Eigen::Map<const matrix> W(theta.data(), N, in), VW(v.data(), N, in);
        const Eigen::Map<const vector> b(theta.data() + N * in, N), vb(v.data() + N * in, N);

        auto ws = layer.make_workspace<double, mr::device::cpu>(n);
        matrix y(N, n), ry(N, n), dx(in, n), rdx(in, n);
        std::vector<double> grad(std::size_t(p), 0.0), hv(std::size_t(p), 0.0);
        layer.forward<mr::device::cpu>(theta.data(), x.data(), y.data(), n, ws);
        CHECK(ws.lead == c.found_lead);
        CHECK(ws.trail == c.found_trail);
        layer.r_forward<mr::device::cpu>(theta.data(), v.data(), x.data(), rx.data(), ry.data(), n, ws);
        layer.r_backward<mr::device::cpu>(theta.data(), v.data(), x.data(), rx.data(), dy.data(), rdy.data(), dx.data(),
                                          rdx.data(), grad.data(), hv.data(), n, ws);

        const matrix y_ref = (W * x).colwise() + b;
        const matrix ry_ref = (W * rx + VW * x).colwise() + vb;
        matrix grad_ref(N, in + 1), hv_ref(N, in + 1);
        grad_ref << dy * x.transpose(), dy.rowwise().sum();
        hv_ref << rdy * x.transpose() + dy * rx.transpose(), rdy.rowwise().sum();
        const matrix dx_ref = W.transpose() * dy, rdx_ref = W.transpose() * rdy + VW.transpose() * dy;
        const auto close = [](const auto& a, const auto& b) { return (a - b).norm() <= 1e-13 * (1 + b.norm()); };
        CHECK(close(y, y_ref));
        CHECK(close(ry, ry_ref));
        CHECK(close(Eigen::Map<const matrix>(grad.data(), N, in + 1), grad_ref));
        CHECK(close(Eigen::Map<const matrix>(hv.data(), N, in + 1), hv_ref));
        CHECK(close(dx, dx_ref));
        CHECK(close(rdx, rdx_ref));
    }
}

namespace {

// MeLU with small tables: two user fields (shared by a task's samples), an item field and a
// bag of item ids, 8-dim embeddings, two numeric features
using small_melu = mr::recsys::melu<nn::sequential<nn::dense<6>, nn::relu, nn::dense<1>>, double, mr::device::cpu, 8>;
const nn::input_shape shape{.dense = 2, .categorical = {3, 7, 40}, .multi = {30}};

// a batch of one user's samples: the two user fields hold the same id in every sample
struct user_batch : mr::test::random_batch<double> {
    user_batch(mr::index samples, std::uint64_t seed) : random_batch(shape, samples, seed) {
        for (int f = 0; f < 2; ++f)
            for (auto& id : categorical[std::size_t(f)]) id = categorical[std::size_t(f)][0];
    }
};

}  // namespace

TEST_CASE("a user's batch through MeLU: exact gradient and H v with its fields computed once") {
    const small_melu f{shape, 4};
    const user_batch data(7, 9);
    const auto x = data.view();
    mr::objective<small_melu, mr::loss::mse> objective{f};
    auto ws = objective.make_workspace(7);
    mr::detail::rng g(5);
    const auto target = mr::test::random_vector(g, 7, -2, 2);
    const auto p = std::size_t(f.parameter_count());
    std::vector<double> theta(f.parameters(), f.parameters() + p);
    for (auto& w : theta) w += 0.1 * g.uniform(-1, 1);

    const auto gradient_at = [&](const std::vector<double>& at) {
        std::vector<double> grad(p);
        objective.gradient(at.data(), x, target.data(), ws, grad.data());
        return grad;
    };
    const auto value_at = [&](const std::vector<double>& at) { return objective.value(at.data(), x, target.data(), ws); };
    const auto v = mr::test::random_vector(g, p);
    std::vector<double> hv(p);
    objective.hvp(theta.data(), x, target.data(), v.data(), ws, hv.data());
    CHECK(mr::test::relative_error(gradient_at(theta), mr::test::numeric_gradient(value_at, theta)) < 1e-6);
    CHECK(mr::test::relative_error(hv, mr::test::numeric_directional(gradient_at, theta, v)) < 1e-6);
}

TEST_CASE("model passes restricted to the head: backward from an offset, R-passes of a direction zero below it") {
    const small_melu f{shape, 4};
    const user_batch data(6, 21);
    const auto x = data.view();
    const mr::index p = f.parameter_count();
    // the head starts at the first dense slice of depth 0
    mr::index from = -1;
    for (const auto& s : f.slices())
        if (s.name == "dense" && s.depth == 0 && from < 0) from = s.offset;
    REQUIRE(from > 0);

    mr::detail::rng g(8);
    const auto dpred = mr::test::random_vector(g, 6), rdpred = mr::test::random_vector(g, 6);
    auto v = mr::test::random_vector(g, std::size_t(p));
    std::fill(v.begin(), v.begin() + from, 0.0);  // the direction lives on the head
    auto ws = f.make_workspace(6);
    std::vector<double> pred(6), rpred_full(6), rpred(6);
    f.forward(f.parameters(), x, ws, pred.data());

    std::vector<double> full(std::size_t(p), 0.0), part(std::size_t(p), 0.0);
    f.backward(f.parameters(), x, ws, dpred.data(), full.data());
    f.backward(f.parameters(), x, ws, dpred.data(), part.data(), from);
    CHECK(std::equal(full.begin() + from, full.end(), part.begin() + from));
    CHECK(std::all_of(part.begin(), part.begin() + from, [](double e) { return e == 0.0; }));
    CHECK(std::any_of(full.begin(), full.begin() + from, [](double e) { return e != 0.0; }));

    std::vector<double> hv_full(std::size_t(p), 0.0), hv(std::size_t(p), 0.0), grad_full(std::size_t(p), 0.0),
        grad(std::size_t(p), 0.0);
    f.r_forward(f.parameters(), v.data(), x, ws, rpred_full.data());
    f.r_backward(f.parameters(), v.data(), x, ws, dpred.data(), rdpred.data(), hv_full.data(), grad_full.data());
    f.r_forward(f.parameters(), v.data(), x, ws, rpred.data(), from);
    f.r_backward(f.parameters(), v.data(), x, ws, dpred.data(), rdpred.data(), hv.data(), grad.data(), from);
    CHECK(mr::test::relative_error(rpred, rpred_full) < 1e-14);
    CHECK(mr::test::relative_error(hv, hv_full) < 1e-14);  // the embeddings' mixed terms included
    CHECK(mr::test::relative_error(grad, grad_full) < 1e-14);
    CHECK(std::any_of(hv.begin(), hv.begin() + from, [](double e) { return e != 0.0; }));

    // a direction zero everywhere: R{pred} = 0
    std::vector<double> zero(std::size_t(p), 0.0);
    f.r_forward(f.parameters(), zero.data(), x, ws, rpred.data(), p);
    CHECK(std::all_of(rpred.begin(), rpred.end(), [](double e) { return e == 0.0; }));
}
