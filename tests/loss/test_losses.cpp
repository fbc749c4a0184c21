// metarec tests: the built-in losses (mse, bce_with_logits, softmax_cross_entropy, bpr):
// gradients and Hessian products against central differences, known values, numerical
// stability at extreme logits, the mean reduction, and the errors they throw.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <metarec/concepts/loss_function.hpp>
#include <metarec/device/cpu.hpp>
#include <metarec/loss/loss.hpp>

#include "../support/error_of.hpp"
namespace mr = metarec;
using mr::loss::bce_with_logits;
using mr::loss::bpr;
using mr::loss::mse;
using mr::loss::softmax_cross_entropy;

// ---- the concepts -------------------------------------------------------------------------

static_assert(mr::loss_with_hessian<mse, double, mr::device::cpu>);
static_assert(mr::loss_with_hessian<mse, float, mr::device::cpu>);
static_assert(mr::loss_with_hessian<bce_with_logits, double, mr::device::cpu>);
static_assert(mr::loss_with_hessian<bce_with_logits, float, mr::device::cpu>);
static_assert(mr::loss_with_hessian<softmax_cross_entropy, double, mr::device::cpu>);
static_assert(mr::loss_with_hessian<softmax_cross_entropy, float, mr::device::cpu>);
static_assert(mr::loss_with_hessian<bpr, double, mr::device::cpu>);
static_assert(mr::loss_with_hessian<bpr, float, mr::device::cpu>);
static_assert(mr::check_loss_function<mse, float, mr::device::cpu>());
static_assert(mr::check_loss_function<bpr, double, mr::device::cpu>());

static_assert(mr::loss_target_rows<mse>(3) == 3);
static_assert(mr::loss_target_rows<bce_with_logits>(2) == 2);
static_assert(mr::loss_target_rows<softmax_cross_entropy>(10) == 1);
static_assert(mr::loss_target_rows<bpr>(1) == 0);
static_assert(mse::name == "mse" && bpr::name == "bpr");

namespace {

using mr::index;
using mr::test::error_of;
using cpu = mr::device::cpu;

// A first-order loss (no hessian_product, no target_rows): mean absolute error.
template <class S>
struct abs_kernel {
    const S* p;
    const S* t;
    METAREC_HOST_DEVICE S operator()(index i) const { return p[i] > t[i] ? p[i] - t[i] : t[i] - p[i]; }
};
struct first_order_loss {
    template <class Device, class S>
    S value(const S* p, const S* t, index rows, index n) const {
        return Device::reduce(rows * n, abs_kernel<S>{p, t}) / S(rows * n);
    }
    template <class Device, class S>
    void gradient(const S*, const S*, index, index, S*) const {}
};
static_assert(mr::loss_function<first_order_loss>);
static_assert(!mr::loss_with_hessian<first_order_loss>);
static_assert(mr::loss_target_rows<first_order_loss>(4) == 4);
static_assert(!mr::loss_function<int>);

// ---- helpers ------------------------------------------------------------------------------

/// Portable random numbers: std::mt19937_64 is specified bit for bit; the standard
/// distributions are not, so the mapping to [lo, hi) is done here.
struct random_source {
    std::mt19937_64 engine;
    explicit random_source(std::uint64_t seed) : engine(seed) {}
    double uniform(double lo = 0, double hi = 1) { return lo + (hi - lo) * (double(engine() >> 11) * 0x1.0p-53); }
    //! in [0, n), n small (the bias of the modulo is below 2^-50)
    index below(index n) { return index(engine() % std::uint64_t(n)); }
    std::vector<double> vector(std::size_t n, double lo = -1, double hi = 1) {
        std::vector<double> v(n);
        for (auto& x : v) x = uniform(lo, hi);
        return v;
    }
};

//! ||a - b|| / max(||a||, ||b||, 1e-12)
double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double diff = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    return std::sqrt(diff) / std::max({std::sqrt(na), std::sqrt(nb), 1e-12});
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double acc = 0;
    for (std::size_t i = 0; i < a.size(); ++i) acc += a[i] * b[i];
    return acc;
}

template <class To, class From>
std::vector<To> cast(const std::vector<From>& v) {
    return std::vector<To>(v.begin(), v.end());
}

// Host vectors go through Device::vector and the explicit transfers, so the same tests can
// run on a device whose memory is not the host's.
template <class Device, class S>
typename Device::template vector<S> upload(const std::vector<S>& host) {
    typename Device::template vector<S> d(index(host.size()));
    Device::to_device(index(host.size()), host.data(), d.data());
    return d;
}
template <class Device, class S>
std::vector<S> download(const typename Device::template vector<S>& d, std::size_t n) {
    std::vector<S> host(n);
    Device::to_host(index(n), d.data(), host.data());
    return host;
}

template <class Device = cpu, class Loss, class S>
S loss_value(const Loss& loss, const std::vector<S>& pred, const std::vector<S>& target, index rows, index n) {
    const auto p = upload<Device>(pred), t = upload<Device>(target);
    return loss.template value<Device>(p.data(), target.empty() ? nullptr : t.data(), rows, n);
}

// The output buffers start as NaN: the losses must overwrite every element.
template <class Device = cpu, class Loss, class S>
std::vector<S> loss_gradient(const Loss& loss, const std::vector<S>& pred, const std::vector<S>& target, index rows,
                             index n) {
    const auto p = upload<Device>(pred), t = upload<Device>(target);
    auto g = upload<Device>(std::vector<S>(pred.size(), std::numeric_limits<S>::quiet_NaN()));
    loss.template gradient<Device>(p.data(), target.empty() ? nullptr : t.data(), rows, n, g.data());
    return download<Device, S>(g, pred.size());
}

template <class Device = cpu, class Loss, class S>
std::vector<S> loss_hessian_product(const Loss& loss, const std::vector<S>& pred, const std::vector<S>& target,
                                    index rows, index n, const std::vector<S>& r) {
    const auto p = upload<Device>(pred), t = upload<Device>(target), rp = upload<Device>(r);
    auto h = upload<Device>(std::vector<S>(pred.size(), std::numeric_limits<S>::quiet_NaN()));
    loss.template hessian_product<Device>(p.data(), target.empty() ? nullptr : t.data(), rows, n, rp.data(),
                                          h.data());
    return download<Device, S>(h, pred.size());
}

/// A random batch in the layout a loss expects.
struct problem {
    index rows, n;
    std::vector<double> pred, target;
};

template <class Loss>
problem make_problem(std::uint64_t seed) {
    random_source g(seed);
    const index n = 2 * (2 + g.below(4));  // even, for bpr
    if constexpr (std::is_same_v<Loss, mse>) {
        const index rows = 1 + g.below(3);
        return {rows, n, g.vector(std::size_t(rows * n), -2, 2), g.vector(std::size_t(rows * n), -2, 2)};
    } else if constexpr (std::is_same_v<Loss, bce_with_logits>) {
        const index rows = 1 + g.below(3);
        return {rows, n, g.vector(std::size_t(rows * n), -4, 4), g.vector(std::size_t(rows * n), 0, 1)};
    } else if constexpr (std::is_same_v<Loss, softmax_cross_entropy>) {
        const index rows = 2 + g.below(4);
        std::vector<double> target(static_cast<std::size_t>(n));
        for (auto& c : target) c = double(g.below(rows));
        return {rows, n, g.vector(std::size_t(rows * n), -3, 3), target};
    } else {
        return {1, n, g.vector(std::size_t(n), -3, 3), {}};
    }
}

constexpr double h = 1e-5;  // central-difference step (truncation ~h^2, rounding ~eps/h)

/// Central differences of the loss value, one coordinate at a time.
template <class Loss>
std::vector<double> numeric_gradient(const Loss& loss, const problem& pb) {
    std::vector<double> x = pb.pred, g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double keep = x[i];
        x[i] = keep + h;
        const double plus = loss_value(loss, x, pb.target, pb.rows, pb.n);
        x[i] = keep - h;
        const double minus = loss_value(loss, x, pb.target, pb.rows, pb.n);
        x[i] = keep;
        g[i] = (plus - minus) / (2 * h);
    }
    return g;
}

/// Central difference of the gradient along r: (g(p + h r) - g(p - h r)) / 2h.
template <class Loss>
std::vector<double> numeric_hessian_product(const Loss& loss, const problem& pb, const std::vector<double>& r) {
    std::vector<double> plus = pb.pred, minus = pb.pred;
    for (std::size_t i = 0; i < r.size(); ++i) plus[i] += h * r[i], minus[i] -= h * r[i];
    auto gp = loss_gradient(loss, plus, pb.target, pb.rows, pb.n);
    const auto gm = loss_gradient(loss, minus, pb.target, pb.rows, pb.n);
    for (std::size_t i = 0; i < gp.size(); ++i) gp[i] = (gp[i] - gm[i]) / (2 * h);
    return gp;
}

template <class S>
constexpr double tolerance() {
    return std::is_same_v<S, float> ? 1e-5 : 1e-13;
}

template <class S>
bool all_finite(const std::vector<S>& v) {
    return std::all_of(v.begin(), v.end(), [](S x) { return std::isfinite(x); });
}

}  // namespace

// ---- derivatives --------------------------------------------------------------------------

TEST_CASE_TEMPLATE("loss derivatives: gradient and Hessian product match central differences", Loss, mse,
                   bce_with_logits, softmax_cross_entropy, bpr) {
    const Loss loss{};
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        CAPTURE(seed);
        const problem pb = make_problem<Loss>(seed);
        random_source g(seed + 100);
        const auto r = g.vector(pb.pred.size()), u = g.vector(pb.pred.size());

        const auto grad = loss_gradient(loss, pb.pred, pb.target, pb.rows, pb.n);
        const double gradient_error = relative_error(grad, numeric_gradient(loss, pb));
        CAPTURE(gradient_error);
        CHECK(gradient_error < 1e-6);

        const auto hr = loss_hessian_product(loss, pb.pred, pb.target, pb.rows, pb.n, r);
        const double hessian_error = relative_error(hr, numeric_hessian_product(loss, pb, r));
        CAPTURE(hessian_error);
        CHECK(hessian_error < 1e-6);

        // u.(H r) = r.(H u)
        const auto hu = loss_hessian_product(loss, pb.pred, pb.target, pb.rows, pb.n, u);
        const double uhr = dot(u, hr), rhu = dot(r, hu);
        CHECK(std::abs(uhr - rhu) <= 1e-12 * std::max({std::abs(uhr), std::abs(rhu), 1e-12}));

        // H is positive semi-definite for these four convex losses
        CHECK(dot(r, hr) >= -1e-15);
    }
}

TEST_CASE_TEMPLATE("loss derivatives: float agrees with double", Loss, mse, bce_with_logits, softmax_cross_entropy,
                   bpr) {
    const Loss loss{};
    const problem pb = make_problem<Loss>(42);
    random_source g(43);
    const auto r = g.vector(pb.pred.size());
    const auto pf = cast<float>(pb.pred), tf = cast<float>(pb.target), rf = cast<float>(r);
    // compare at the float-rounded inputs, so that only the arithmetic differs
    const auto pd = cast<double>(pf), td = cast<double>(tf), rd = cast<double>(rf);

    CHECK(double(loss_value(loss, pf, tf, pb.rows, pb.n)) ==
          doctest::Approx(loss_value(loss, pd, td, pb.rows, pb.n)).epsilon(1e-6));
    CHECK(relative_error(cast<double>(loss_gradient(loss, pf, tf, pb.rows, pb.n)),
                         loss_gradient(loss, pd, td, pb.rows, pb.n)) < 1e-6);
    CHECK(relative_error(cast<double>(loss_hessian_product(loss, pf, tf, pb.rows, pb.n, rf)),
                         loss_hessian_product(loss, pd, td, pb.rows, pb.n, rd)) < 1e-6);
}

TEST_CASE_TEMPLATE("loss reduction: the mean, so repeating the batch keeps the value and halves the derivatives", Loss,
                   mse, bce_with_logits, softmax_cross_entropy, bpr) {
    const Loss loss{};
    const problem pb = make_problem<Loss>(7);
    random_source g(8);
    const auto r = g.vector(pb.pred.size());
    const auto twice = [](std::vector<double> v) {
        const auto size = v.size();
        for (std::size_t i = 0; i < size; ++i) v.push_back(v[i]);
        return v;
    };
    const mr::index n2 = 2 * pb.n;
    CHECK(loss_value(loss, twice(pb.pred), twice(pb.target), pb.rows, n2) ==
          doctest::Approx(loss_value(loss, pb.pred, pb.target, pb.rows, pb.n)).epsilon(1e-14));

    auto grad = twice(loss_gradient(loss, pb.pred, pb.target, pb.rows, pb.n));
    auto hr = twice(loss_hessian_product(loss, pb.pred, pb.target, pb.rows, pb.n, r));
    for (auto& x : grad) x /= 2;
    for (auto& x : hr) x /= 2;
    CHECK(relative_error(loss_gradient(loss, twice(pb.pred), twice(pb.target), pb.rows, n2), grad) < 1e-14);
    CHECK(relative_error(loss_hessian_product(loss, twice(pb.pred), twice(pb.target), pb.rows, n2, twice(r)), hr) <
          1e-14);
}

TEST_CASE_TEMPLATE("task-batched losses: each task's value, gradient and Hessian product, in one call", Loss, mse,
                   bce_with_logits) {
    const Loss loss{};
    const mr::index tasks = 3;
    problem pb[tasks] = {make_problem<Loss>(21), make_problem<Loss>(22), make_problem<Loss>(23)};
    for (auto& p : pb) {  // the same sizes: the rows and samples of the first
        p.rows = pb[0].rows, p.n = pb[0].n;
        p.pred.resize(pb[0].pred.size(), 0.25);
        p.target.resize(pb[0].pred.size(), 0.5);
    }
    const mr::index size = pb[0].rows * pb[0].n;
    random_source g(24);
    std::vector<double> pred, target, r = g.vector(std::size_t(size * tasks)), values(tasks), grad, hr;
    for (const auto& p : pb) {
        pred.insert(pred.end(), p.pred.begin(), p.pred.end());
        target.insert(target.end(), p.target.begin(), p.target.end());
    }
    std::vector<double> dpred(pred.size(), std::numeric_limits<double>::quiet_NaN()), rdpred = dpred;
    // all samples, then task t using its first counts[t] samples only (the rest is padding)
    const std::vector<mr::index> counts{pb[0].n, 1, pb[0].n - 2};
    for (const mr::index* used : {static_cast<const mr::index*>(nullptr), counts.data()}) {
        CAPTURE(used != nullptr);
        loss.template values_batched<cpu>(pred.data(), target.data(), pb[0].rows, pb[0].n, tasks, used, values.data());
        loss.template gradient_batched<cpu>(pred.data(), target.data(), pb[0].rows, pb[0].n, tasks, used, dpred.data());
        loss.template hessian_product_batched<cpu>(pred.data(), target.data(), pb[0].rows, pb[0].n, tasks, used,
                                                   r.data(), rdpred.data());
        for (mr::index t = 0; t < tasks; ++t) {
            const auto& p = pb[std::size_t(t)];
            const mr::index n = used ? used[t] : p.n, kept = p.rows * n;
            const std::vector<double> pt(p.pred.begin(), p.pred.begin() + kept), tt(p.target.begin(), p.target.begin() + kept),
                rt(r.begin() + t * size, r.begin() + t * size + kept);
            CHECK(values[std::size_t(t)] == doctest::Approx(loss_value(loss, pt, tt, p.rows, n)).epsilon(1e-14));
            auto gt = loss_gradient(loss, pt, tt, p.rows, n);
            auto ht = loss_hessian_product(loss, pt, tt, p.rows, n, rt);
            gt.resize(std::size_t(size), 0.0);  // zero on the padding
            ht.resize(std::size_t(size), 0.0);
            CHECK(std::vector<double>(dpred.begin() + t * size, dpred.begin() + (t + 1) * size) == gt);
            CHECK(std::vector<double>(rdpred.begin() + t * size, rdpred.begin() + (t + 1) * size) == ht);
        }
    }
}

TEST_CASE_TEMPLATE("loss: an empty batch has loss 0", Loss, mse, bce_with_logits, softmax_cross_entropy, bpr) {
    const Loss loss{};
    const std::vector<double> none;
    CHECK(loss_value(loss, none, none, 1, 0) == 0.0);
    CHECK(loss_gradient(loss, none, none, 1, 0).empty());
    CHECK(loss_hessian_product(loss, none, none, 1, 0, none).empty());
}

// ---- known values -------------------------------------------------------------------------

TEST_CASE_TEMPLATE("mse: known values", S, float, double) {
    // 2 x 2 predictions; differences 1, 0, -2, 0
    const std::vector<S> p{1, 2, 3, 4}, t{0, 2, 5, 4}, r{1, -2, 3, 4};
    CHECK(double(loss_value(mse{}, p, t, 2, 2)) == doctest::Approx(1.25).epsilon(tolerance<S>()));
    CHECK(relative_error(cast<double>(loss_gradient(mse{}, p, t, 2, 2)), {0.5, 0.0, -1.0, 0.0}) < tolerance<S>());
    CHECK(relative_error(cast<double>(loss_hessian_product(mse{}, p, t, 2, 2, r)), {0.5, -1.0, 1.5, 2.0}) <
          tolerance<S>());
    CHECK(loss_value(mse{}, p, p, 4, 1) == S(0));
}

TEST_CASE_TEMPLATE("bce_with_logits: known values", S, float, double) {
    const std::vector<S> zero(6, S(0)), t{0, 1, 0.5, 0.25, 1, 0}, r{1, 2, 3, 4, 5, 6};
    // at z = 0 the loss is log 2 whatever the target, sigmoid = 1/2 and sigmoid' = 1/4
    CHECK(double(loss_value(bce_with_logits{}, zero, t, 2, 3)) == doctest::Approx(std::log(2.0)).epsilon(tolerance<S>()));
    std::vector<double> grad, hr;
    for (std::size_t i = 0; i < t.size(); ++i) {
        grad.push_back((0.5 - double(t[i])) / 6);
        hr.push_back(0.25 * double(r[i]) / 6);
    }
    CHECK(relative_error(cast<double>(loss_gradient(bce_with_logits{}, zero, t, 2, 3)), grad) < tolerance<S>());
    CHECK(relative_error(cast<double>(loss_hessian_product(bce_with_logits{}, zero, t, 2, 3, r)), hr) <
          tolerance<S>());

    // one sample: -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)) at z = 2, t = 0.3
    const double z = 2, target = 0.3, s = 1 / (1 + std::exp(-z));
    const double expected = -target * std::log(s) - (1 - target) * std::log(1 - s);
    CHECK(double(loss_value(bce_with_logits{}, std::vector<S>{S(z)}, std::vector<S>{S(target)}, 1, 1)) ==
          doctest::Approx(expected).epsilon(tolerance<S>() * 10));
    CHECK(double(loss_gradient(bce_with_logits{}, std::vector<S>{S(z)}, std::vector<S>{S(target)}, 1, 1)[0]) ==
          doctest::Approx(s - target).epsilon(tolerance<S>() * 10));
}

TEST_CASE_TEMPLATE("softmax_cross_entropy: known values", S, float, double) {
    // equal logits: loss log C, gradient (1/C - onehot) / n
    const mr::index classes = 4, n = 3;
    const std::vector<S> z(std::size_t(classes * n), S(1.5)), t{0, 3, 2};
    CHECK(double(loss_value(softmax_cross_entropy{}, z, t, classes, n)) ==
          doctest::Approx(std::log(4.0)).epsilon(tolerance<S>()));
    std::vector<double> grad(z.size(), 0.25 / n);
    for (mr::index j = 0; j < n; ++j) grad[std::size_t(j * classes + mr::index(t[std::size_t(j)]))] -= 1.0 / n;
    CHECK(relative_error(cast<double>(loss_gradient(softmax_cross_entropy{}, z, t, classes, n)), grad) <
          tolerance<S>());
    // p = 1/C: (H r)_j = (r_j - mean(r_j)) / (C n); a constant direction is in the kernel
    const std::vector<S> r{1, 2, 3, 6, 0, 0, 0, 0, 5, 5, 5, 5};
    const std::vector<double> hr{-2.0 / 12, -1.0 / 12, 0.0, 3.0 / 12, 0, 0, 0, 0, 0, 0, 0, 0};
    const auto got = cast<double>(loss_hessian_product(softmax_cross_entropy{}, z, t, classes, n, r));
    CHECK(relative_error(got, hr) < tolerance<S>());

    // two classes: the cross-entropy of logits (a, b) with target 0 is softplus(b - a)
    const std::vector<S> pair{S(0.5), S(-1.25)}, first{S(0)};
    CHECK(double(loss_value(softmax_cross_entropy{}, pair, first, 2, 1)) ==
          doctest::Approx(std::log1p(std::exp(-1.75))).epsilon(tolerance<S>() * 10));
}

TEST_CASE_TEMPLATE("bpr: known values", S, float, double) {
    // equal scores: log 2 per pair, gradient -1/2 for the positive and +1/2 for the negative, / P
    const std::vector<S> s{S(0.7), S(0.7), S(-2), S(-2)}, none, r{1, 3, -1, 4};
    CHECK(double(loss_value(bpr{}, s, none, 1, 4)) == doctest::Approx(std::log(2.0)).epsilon(tolerance<S>()));
    CHECK(relative_error(cast<double>(loss_gradient(bpr{}, s, none, 1, 4)), {-0.25, 0.25, -0.25, 0.25}) <
          tolerance<S>());
    // sigmoid'(0) = 1/4: (H r)_pos = (r_pos - r_neg) / (4 P)
    CHECK(relative_error(cast<double>(loss_hessian_product(bpr{}, s, none, 1, 4, r)), {-0.25, 0.25, -0.625, 0.625}) <
          tolerance<S>());
    // one pair with d = s_pos - s_neg = 1.5: -log sigmoid(1.5)
    const std::vector<S> one{S(1), S(-0.5)};
    CHECK(double(loss_value(bpr{}, one, none, 1, 2)) ==
          doctest::Approx(-std::log(1 / (1 + std::exp(-1.5)))).epsilon(tolerance<S>() * 10));
}

// ---- numerical stability ------------------------------------------------------------------

TEST_CASE_TEMPLATE("bce_with_logits: logits of magnitude 1e4 give finite, correct values", S, float, double) {
    const std::vector<S> z{S(1e4), S(1e4), S(-1e4), S(-1e4)}, t{1, 0, 0, 1}, r{1, 1, 1, 1};
    // losses 0, 1e4, 0, 1e4
    const S value = loss_value(bce_with_logits{}, z, t, 1, 4);
    CHECK(std::isfinite(value));
    CHECK(double(value) == doctest::Approx(5e3).epsilon(tolerance<S>()));
    const auto grad = loss_gradient(bce_with_logits{}, z, t, 1, 4);
    REQUIRE(all_finite(grad));
    CHECK(relative_error(cast<double>(grad), {0, 0.25, 0, -0.25}) < tolerance<S>());
    const auto hr = loss_hessian_product(bce_with_logits{}, z, t, 1, 4, r);
    REQUIRE(all_finite(hr));
    for (S x : hr) CHECK(x == S(0));
    // the tails of sigmoid' are not rounded to 0 where they are representable: sigmoid'(-30) ~ 9.4e-14
    const auto tail = loss_hessian_product(bce_with_logits{}, std::vector<S>{S(30)}, std::vector<S>{S(1)}, 1, 1,
                                           std::vector<S>{S(1)});
    CHECK(double(tail[0]) == doctest::Approx(std::exp(-30.0) / std::pow(1 + std::exp(-30.0), 2)).epsilon(1e-5));
}

TEST_CASE_TEMPLATE("softmax_cross_entropy: logits of magnitude 1e4 give finite, correct values", S, float, double) {
    // columns (1e4, -1e4, 0) with target 0 -> 0; (1e4, 1e4, -1e4) with target 2 -> 2e4 + log 2
    const std::vector<S> z{S(1e4), S(-1e4), S(0), S(1e4), S(1e4), S(-1e4)}, t{0, 2}, r{1, 2, 3, 4, 5, 6};
    const S value = loss_value(softmax_cross_entropy{}, z, t, 3, 2);
    CHECK(std::isfinite(value));
    CHECK(double(value) == doctest::Approx((2e4 + std::log(2.0)) / 2).epsilon(tolerance<S>()));
    const auto grad = loss_gradient(softmax_cross_entropy{}, z, t, 3, 2);
    REQUIRE(all_finite(grad));
    CHECK(relative_error(cast<double>(grad), {0, 0, 0, 0.25, 0.25, -0.5}) < tolerance<S>());
    const auto hr = loss_hessian_product(softmax_cross_entropy{}, z, t, 3, 2, r);
    REQUIRE(all_finite(hr));
    // column 0: p = e_0, H = 0; column 1: p = (1/2, 1/2, 0), p.r = 4.5, (H r) = p (r - 4.5) / 2
    CHECK(relative_error(cast<double>(hr), {0, 0, 0, -0.125, 0.125, 0}) < tolerance<S>());
}

TEST_CASE_TEMPLATE("bpr: score differences of magnitude 2e4 give finite, correct values", S, float, double) {
    const std::vector<S> s{S(1e4), S(-1e4), S(-1e4), S(1e4)}, none, r{1, 0, 0, 1};
    const S value = loss_value(bpr{}, s, none, 1, 4);
    CHECK(std::isfinite(value));
    CHECK(double(value) == doctest::Approx(1e4).epsilon(tolerance<S>()));  // (0 + 2e4) / 2
    const auto grad = loss_gradient(bpr{}, s, none, 1, 4);
    REQUIRE(all_finite(grad));
    CHECK(relative_error(cast<double>(grad), {0, 0, -0.5, 0.5}) < tolerance<S>());
    const auto hr = loss_hessian_product(bpr{}, s, none, 1, 4, r);
    REQUIRE(all_finite(hr));
    for (S x : hr) CHECK(x == S(0));
}

// ---- errors -------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("softmax_cross_entropy: a target that is not a class index in [0, C) throws", S, float, double) {
    const mr::index classes = 3, n = 2;
    const std::vector<S> z{1, 2, 3, 4, 5, 6};
    std::vector<S> dpred(z.size());
    const S bad_values[] = {S(3), S(-1), S(1.5), S(1e9), std::numeric_limits<S>::quiet_NaN(),
                            std::numeric_limits<S>::infinity()};
    for (const S bad : bad_values) {
        CAPTURE(bad);
        const std::vector<S> t{S(0), bad};
        CHECK_THROWS_AS(loss_value(softmax_cross_entropy{}, z, t, classes, n), std::invalid_argument);
        CHECK_THROWS_AS(loss_gradient(softmax_cross_entropy{}, z, t, classes, n), std::invalid_argument);
        const std::string message =
            error_of<std::invalid_argument>([&] { loss_value(softmax_cross_entropy{}, z, t, classes, n); });
        CHECK(message.find("softmax_cross_entropy") != std::string::npos);
        CHECK(message.find("1 of 2 targets are not a class index in [0, 3)") != std::string::npos);
    }
    // the Hessian product does not read the targets
    const std::vector<S> t{S(0), S(7)}, r{1, 0, 0, 0, 1, 0};
    CHECK(all_finite(loss_hessian_product(softmax_cross_entropy{}, z, t, classes, n, r)));
    // the last valid class is valid
    CHECK(std::isfinite(loss_value(softmax_cross_entropy{}, z, std::vector<S>{S(2), S(0)}, classes, n)));
}

TEST_CASE_TEMPLATE("bpr: rows != 1 or an odd number of samples throws", S, float, double) {
    const std::vector<S> s{1, 2, 3, 4, 5, 6}, none;
    SUBCASE("odd n") {
        CHECK_THROWS_AS(loss_value(bpr{}, s, none, 1, 5), std::invalid_argument);
        CHECK_THROWS_AS(loss_gradient(bpr{}, s, none, 1, 5), std::invalid_argument);
        CHECK_THROWS_AS(loss_hessian_product(bpr{}, s, none, 1, 5, s), std::invalid_argument);
        const std::string message = error_of<std::invalid_argument>([&] { loss_value(bpr{}, s, none, 1, 5); });
        CHECK(message.find("bpr") != std::string::npos);
        CHECK(message.find("n must be even") != std::string::npos);
    }
    SUBCASE("rows != 1") {
        CHECK_THROWS_AS(loss_value(bpr{}, s, none, 2, 3), std::invalid_argument);
        CHECK_THROWS_AS(loss_gradient(bpr{}, s, none, 2, 2), std::invalid_argument);
        CHECK_THROWS_AS(loss_hessian_product(bpr{}, s, none, 3, 2, s), std::invalid_argument);
        const std::string message = error_of<std::invalid_argument>([&] { loss_value(bpr{}, s, none, 2, 2); });
        CHECK(message.find("rows = 2") != std::string::npos);
    }
}
