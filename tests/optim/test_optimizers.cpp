// metarec tests: optimizers on flat vectors, their state, schedules and gradient clipping.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <metarec/concepts/optimizer.hpp>
#include <metarec/optim/optim.hpp>

#include "../support/generic_device.hpp"

namespace {

namespace optim = metarec::optim;
using metarec::index;

// Relative tolerance of a comparison with a long double reference.
template <class S>
constexpr double tolerance = std::is_same_v<S, float> ? 1e-6 : 1e-12;

//! `double(x) == near<S>(want)`: |x - want| < tolerance<S> * max(|x|, |want|) (relative; exact 0 matches 0)
template <class S>
doctest::Approx near(long double want) {
    return doctest::Approx(double(want)).epsilon(tolerance<S>).scale(std::numeric_limits<double>::min());
}

using vec = std::vector<long double>;

//! The inputs as the optimizer sees them (rounded to S), then widened back for the references.
template <class S>
std::vector<S> to(const vec& x) {
    return std::vector<S>(x.begin(), x.end());
}
template <class S>
vec widen(const std::vector<S>& x) {
    return vec(x.begin(), x.end());
}

/// Runs `opt` from theta0 through the given gradients (one per step); returns the final
/// parameters and leaves the state in `st`.
template <class S, class O>
std::vector<S> run(const O& opt, optim::state<S>& st, std::vector<S> theta, const std::vector<std::vector<S>>& grads) {
    for (const auto& g : grads) opt.step(st, theta.data(), g.data(), index(theta.size()));
    return theta;
}

template <class S>
void check_all_near(const std::vector<S>& got, const vec& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(double(got[i]) == near<S>(want[i]));
    }
}

/// Reference Adam / AdamW in long double, written from the formulas of adam.hpp:
///   g = grad + l2 theta;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
///   theta = (1 - eta_t lambda_decoupled) theta - eta_t (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
struct adam_reference {
    long double lr, beta1, beta2, eps, weight_decay;
    bool decoupled;
    std::vector<long double> factors;  // lr_schedule factor per step (1 when empty)

    vec operator()(vec theta, const std::vector<vec>& grads) const {
        vec m(theta.size(), 0), v(theta.size(), 0);
        for (std::size_t k = 0; k < grads.size(); ++k) {
            const long double t = k + 1;
            const long double eta = lr * (factors.empty() ? 1 : factors[k]);
            for (std::size_t i = 0; i < theta.size(); ++i) {
                const long double g = grads[k][i] + (decoupled ? 0 : weight_decay * theta[i]);
                m[i] = beta1 * m[i] + (1 - beta1) * g;
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                const long double mhat = m[i] / (1 - std::pow(beta1, t));
                const long double vhat = v[i] / (1 - std::pow(beta2, t));
                if (decoupled) theta[i] *= 1 - eta * weight_decay;
                theta[i] -= eta * mhat / (std::sqrt(vhat) + eps);
            }
        }
        return theta;
    }
};

// Gradients independent of theta for the hand-computed tests (3 parameters, 3 steps).
const vec theta0{1.0L, -2.0L, 0.5L};
const std::vector<vec> grads3{{0.1L, -0.2L, 0.3L}, {0.05L, 0.1L, -0.2L}, {-0.3L, 0.2L, 0.1L}};

template <class S>
std::vector<std::vector<S>> grads_as() {
    std::vector<std::vector<S>> out;
    for (const auto& g : grads3) out.push_back(to<S>(g));
    return out;
}
template <class S>
std::vector<vec> grads_seen() {  // the gradients after rounding to S
    std::vector<vec> out;
    for (const auto& g : grads_as<S>()) out.push_back(widen(g));
    return out;
}

/// f(x) = 1/2 sum a_i x_i^2 with a = (1, 10, 100) (condition number 100), from x0 = (1, -0.5, 2)
/// (f(x0) = 201.75); returns f after `steps` steps of `opt` on the exact gradient a_i x_i.
template <class S, class O>
double minimize_quadratic(const O& opt, int steps) {
    const double a[3] = {1, 10, 100};
    std::vector<S> x{S(1), S(-0.5), S(2)}, g(3);
    auto st = optim::make_state<S>(opt, 3);
    for (int k = 0; k < steps; ++k) {
        for (int i = 0; i < 3; ++i) g[i] = S(a[i] * double(x[i]));
        opt.step(st, x.data(), g.data(), 3);
    }
    CHECK(st.steps == steps);
    double f = 0;
    for (int i = 0; i < 3; ++i) f += 0.5 * a[i] * double(x[i]) * double(x[i]);
    return f;
}

// The built-in optimizers model the concept, for both scalars.
static_assert(metarec::optimizer<optim::sgd> && metarec::optimizer<optim::sgd, double>);
static_assert(metarec::optimizer<optim::momentum> && metarec::optimizer<optim::momentum, double>);
static_assert(metarec::optimizer<optim::adam> && metarec::optimizer<optim::adam, double>);
static_assert(metarec::optimizer<optim::adamw> && metarec::optimizer<optim::adamw, double>);
static_assert(metarec::optimizer<optim::adagrad> && metarec::optimizer<optim::adagrad, double>);
static_assert(metarec::check_optimizer<optim::adam, float, metarec::device::cpu>());
static_assert(!metarec::optimizer<int>);

}  // namespace

TEST_CASE("schedule: factor values") {
    SUBCASE("constant") {
        const optim::schedule s;
        CHECK(s.type() == optim::schedule::kind::constant);
        CHECK(s == optim::schedule::constant());
        CHECK(s.factor(0) == 1.0);
        CHECK(s.factor(123456) == 1.0);
    }
    SUBCASE("step_decay: gamma^floor(t / every)") {
        const auto s = optim::schedule::step_decay(10, 0.5);
        CHECK(s.factor(0) == 1.0);
        CHECK(s.factor(9) == 1.0);
        CHECK(s.factor(10) == 0.5);
        CHECK(s.factor(19) == 0.5);
        CHECK(s.factor(25) == 0.25);
        CHECK(s.factor(100) == doctest::Approx(std::pow(0.5, 10)).epsilon(1e-15));
    }
    SUBCASE("cosine: m + (1 - m)(1 + cos(pi t / T)) / 2, then m") {
        const auto s = optim::schedule::cosine(100, 0.1);
        CHECK(s.factor(0) == doctest::Approx(1.0).epsilon(1e-15));
        // t = 25: 0.1 + 0.9 * (1 + cos(pi/4)) / 2 = 0.1 + 0.45 * (1 + 0.70710678118654752)
        CHECK(s.factor(25) == doctest::Approx(0.1 + 0.45 * 1.70710678118654752).epsilon(1e-14));
        CHECK(s.factor(50) == doctest::Approx(0.55).epsilon(1e-14));
        CHECK(s.factor(99) == doctest::Approx(0.1 + 0.45 * (1 + std::cos(std::numbers::pi * 0.99))).epsilon(1e-14));
        CHECK(s.factor(100) == 0.1);
        CHECK(s.factor(5000) == 0.1);
        const auto z = optim::schedule::cosine(4);  // min_factor 0
        CHECK(z.factor(2) == doctest::Approx(0.5).epsilon(1e-15));
        CHECK(z.factor(4) == 0.0);
    }
    SUBCASE("linear warm-up is prepended: (t + 1) / W, then the schedule from its step 0") {
        const auto s = optim::schedule::cosine(100, 0.1).with_warmup(4);
        CHECK(s.warmup() == 4);
        CHECK(s.factor(0) == 0.25);
        CHECK(s.factor(1) == 0.5);
        CHECK(s.factor(2) == 0.75);
        CHECK(s.factor(3) == 1.0);
        CHECK(s.factor(4) == doctest::Approx(1.0).epsilon(1e-15));
        CHECK(s.factor(54) == doctest::Approx(0.55).epsilon(1e-14));
        CHECK(s.factor(104) == 0.1);
        const auto d = optim::schedule::step_decay(2, 0.1).with_warmup(2);
        CHECK(d.factor(0) == 0.5);
        CHECK(d.factor(1) == 1.0);
        CHECK(d.factor(2) == 1.0);
        CHECK(d.factor(4) == doctest::Approx(0.1).epsilon(1e-15));
        CHECK(optim::schedule::constant().with_warmup(0) == optim::schedule::constant());
    }
    SUBCASE("arguments are validated") {
        CHECK_THROWS_AS(optim::schedule::step_decay(0, 0.5), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::step_decay(-3, 0.5), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::step_decay(10, 0.0), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::step_decay(10, -0.5), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::step_decay(10, std::nan("")), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::cosine(0), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::cosine(10, -0.1), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::cosine(10, 1.5), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::constant().with_warmup(-1), std::invalid_argument);
        CHECK_THROWS_AS(optim::schedule::constant().factor(-1), std::invalid_argument);
        CHECK_THROWS_WITH_AS(optim::schedule::step_decay(0, 0.5), doctest::Contains("step_decay: every must be > 0"),
                             std::invalid_argument);
        CHECK_THROWS_WITH_AS(optim::schedule::cosine(-5), doctest::Contains("cosine: total_steps must be > 0"),
                             std::invalid_argument);
    }
}

TEST_CASE_TEMPLATE("sgd: weight decay and learning-rate schedule", S, float, double) {
    // theta -= lr (g + wd theta): lr = 0.1, wd = 0.01, theta = (1, -2), g = (0.5, 0.5)
    //   1 - 0.1 (0.5 + 0.01)  = 0.949
    //  -2 - 0.1 (0.5 - 0.02)  = -2.048
    const optim::sgd opt{.lr = 0.1, .weight_decay = 0.01};
    auto st = optim::make_state<S>(opt, 2);
    CHECK(st.buffer.size() == 0);
    std::vector<S> theta{S(1), S(-2)}, g{S(0.5), S(0.5)};
    opt.step(st, theta.data(), g.data(), 2);
    CHECK(st.steps == 1);
    check_all_near(theta, {0.949L, -2.048L});

    // step_decay(1, 0.5): effective lr 1, 0.5, 0.25 on a constant gradient 1 from 10
    const optim::sgd decayed{.lr = 1, .lr_schedule = optim::schedule::step_decay(1, 0.5)};
    auto sd = optim::make_state<S>(decayed, 1);
    std::vector<S> x{S(10)}, one{S(1)};
    decayed.step(sd, x.data(), one.data(), 1);
    CHECK(double(x[0]) == near<S>(9.0L));
    decayed.step(sd, x.data(), one.data(), 1);
    CHECK(double(x[0]) == near<S>(8.5L));
    decayed.step(sd, x.data(), one.data(), 1);
    CHECK(double(x[0]) == near<S>(8.25L));
    CHECK(sd.steps == 3);

    // a default-constructed state (empty buffer) is a valid sgd state
    optim::state<S> empty;
    opt.step(empty, theta.data(), g.data(), 2);
    CHECK(empty.steps == 1);
}

TEST_CASE_TEMPLATE("momentum: heavy ball and Nesterov (PyTorch convention)", S, float, double) {
    // lr = 0.1, mu = 0.9, theta0 = 1, g = 0.5 then 0.25.
    //  heavy ball: b1 = 0.5, theta1 = 1 - 0.05 = 0.95; b2 = 0.45 + 0.25 = 0.7, theta2 = 0.95 - 0.07 = 0.88
    //  Nesterov:   u1 = 0.5 + 0.9*0.5 = 0.95, theta1 = 0.905; u2 = 0.25 + 0.9*0.7 = 0.88, theta2 = 0.817
    const std::vector<std::vector<S>> g{{S(0.5)}, {S(0.25)}};
    {
        const optim::momentum opt{.lr = 0.1, .mu = 0.9};
        auto st = optim::make_state<S>(opt, 1);
        REQUIRE(st.buffer.size() == 1);
        CHECK(st.buffer[0] == S(0));
        const auto theta = run(opt, st, std::vector<S>{S(1)}, g);
        CHECK(double(theta[0]) == near<S>(0.88L));
        CHECK(double(st.buffer[0]) == near<S>(0.7L));
        CHECK(st.steps == 2);
    }
    {
        const optim::momentum opt{.lr = 0.1, .mu = 0.9, .nesterov = true};
        auto st = optim::make_state<S>(opt, 1);
        const auto theta = run(opt, st, std::vector<S>{S(1)}, g);
        CHECK(double(theta[0]) == near<S>(0.817L));
        CHECK(double(st.buffer[0]) == near<S>(0.7L));
    }
    // Three steps on three parameters with weight decay, against the formulas in long double:
    //   g' = g + wd theta;  b = mu b + g';  theta -= lr (nesterov ? g' + mu b : b)
    for (const bool nesterov : {false, true}) {
        CAPTURE(nesterov);
        const optim::momentum opt{.lr = 0.05, .mu = 0.8, .nesterov = nesterov, .weight_decay = 0.1};
        auto st = optim::make_state<S>(opt, 3);
        const auto got = run(opt, st, to<S>(theta0), grads_as<S>());
        vec theta = widen(to<S>(theta0)), b(3, 0);
        for (const auto& gk : grads_seen<S>())
            for (std::size_t i = 0; i < 3; ++i) {
                const long double gi = gk[i] + 0.1L * theta[i];
                b[i] = 0.8L * b[i] + gi;
                theta[i] -= 0.05L * (nesterov ? gi + 0.8L * b[i] : b[i]);
            }
        check_all_near(got, theta);
        check_all_near(std::vector<S>(st.buffer.data(), st.buffer.data() + 3), b);
    }
}

TEST_CASE_TEMPLATE("adam: bias-corrected steps against hand computation", S, float, double) {
    SUBCASE("first step is lr * g / (|g| + eps): m_hat = g, v_hat = g^2") {
        const optim::adam opt{.lr = 0.01};
        auto st = optim::make_state<S>(opt, 3);
        const auto theta = run(opt, st, to<S>(theta0), {grads_as<S>()[0]});
        // 1 - 0.01 * 0.1 / (0.1 + 1e-8)      =  0.99000000099999990
        // -2 + 0.01 * 0.2 / (0.2 + 1e-8)     = -1.99000000049999998
        // 0.5 - 0.01 * 0.3 / (0.3 + 1e-8)    =  0.49000000033333332
        check_all_near(theta, {0.99000000099999990L, -1.99000000049999998L, 0.49000000033333332L});
        // state: m = 0.1 g, v = 0.001 g^2
        CHECK(double(st.buffer[0]) == near<S>(0.1L * (long double)S(0.1)));
        CHECK(double(st.buffer[3]) == near<S>(0.001L * (long double)S(0.1) * (long double)S(0.1)));
    }
    SUBCASE("three steps, with and without coupled L2 weight decay") {
        for (const double wd : {0.0, 0.1}) {
            CAPTURE(wd);
            const optim::adam opt{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = wd};
            auto st = optim::make_state<S>(opt, 3);
            const auto got = run(opt, st, to<S>(theta0), grads_as<S>());
            const adam_reference ref{0.01L, 0.9L, 0.999L, 1e-8L, (long double)wd, false, {}};
            check_all_near(got, ref(widen(to<S>(theta0)), grads_seen<S>()));
            CHECK(st.steps == 3);
        }
    }
    SUBCASE("other betas and a cosine schedule") {
        const optim::adam opt{.lr = 0.02, .beta1 = 0.5, .beta2 = 0.9, .eps = 1e-3,
                              .lr_schedule = optim::schedule::cosine(4)};
        auto st = optim::make_state<S>(opt, 3);
        const auto got = run(opt, st, to<S>(theta0), grads_as<S>());
        // cosine(4) factors for t = 0, 1, 2: 1, (1 + cos(pi/4)) / 2, 1/2
        const adam_reference ref{0.02L, 0.5L, 0.9L, 1e-3L, 0, false,
                                 {1.0L, (1 + std::sqrt(0.5L)) / 2, 0.5L}};
        check_all_near(got, ref(widen(to<S>(theta0)), grads_seen<S>()));
    }
}

TEST_CASE_TEMPLATE("adam and adamw on the CPU (Eigen arrays) agree with the generic kernel, dense and lazy", S, float, double) {
    // 600 parameters: two blocks of 256 and a tail; lazy ranges cross a block boundary
    const metarec::index n = 600;
    const std::vector<metarec::parameter_range> touched{{3, 250}, {255, 2}, {590, 10}};
    for (const bool lazy : {false, true}) {
        CAPTURE(lazy);
        const optim::adam a{.lr = 0.01, .weight_decay = 0.01, .lazy = lazy};
        const optim::adamw w{.lr = 0.01, .lazy = lazy};
        auto sa_cpu = optim::make_state<S>(a, n);
        auto sa_gen = optim::make_state<S, metarec::test::generic_device>(a, n);
        auto sw_cpu = optim::make_state<S>(w, n);
        auto sw_gen = optim::make_state<S, metarec::test::generic_device>(w, n);
        std::vector<S> ta_cpu(static_cast<std::size_t>(n)), grad(static_cast<std::size_t>(n));
        for (metarec::index i = 0; i < n; ++i) ta_cpu[std::size_t(i)] = S(std::sin(0.1 * double(i)));
        auto ta_gen = ta_cpu, tw_cpu = ta_cpu, tw_gen = ta_cpu;
        for (int step = 0; step < 3; ++step) {
            for (metarec::index i = 0; i < n; ++i) grad[std::size_t(i)] = S(std::cos(0.3 * double(i + step)));
            a.step(sa_cpu, ta_cpu.data(), grad.data(), n, touched);
            a.step(sa_gen, ta_gen.data(), grad.data(), n, touched);
            w.step(sw_cpu, tw_cpu.data(), grad.data(), n, touched);
            w.step(sw_gen, tw_gen.data(), grad.data(), n, touched);
        }
        std::size_t far = 0, moved = 0;
        for (std::size_t i = 0; i < std::size_t(n); ++i) {
            far += double(ta_cpu[i]) != near<S>(ta_gen[i]) || double(tw_cpu[i]) != near<S>(tw_gen[i]);
            moved += ta_cpu[i] != S(std::sin(0.1 * double(i)));
        }
        for (metarec::index i = 0; i < 2 * n; ++i)
            far += double(sa_cpu.buffer[i]) != near<S>(sa_gen.buffer[i]) || double(sw_cpu.buffer[i]) != near<S>(sw_gen.buffer[i]);
        CHECK(far == 0);
        CHECK(moved == (lazy ? std::size_t(262) : std::size_t(n)));
    }
}

TEST_CASE_TEMPLATE("adam and adamw run in parts (a meta-algorithm's threads) give the whole step's results, bit for bit", S,
                   float, double) {
    // 1,100 parameters: four blocks of 256 and a tail, cut as a meta-algorithm's threads cut
    // them (at multiples of part_granularity), the parts in reverse order
    const metarec::index n = 1100;
    std::vector<std::pair<metarec::index, metarec::index>> seen;
    const auto three_parts = [&](metarec::index size, const auto& update) {
        const metarec::index cut1 = 2 * optim::part_granularity, cut2 = 3 * optim::part_granularity;
        update(cut2, size - cut2);
        update(cut1, cut2 - cut1);
        update(metarec::index(0), cut1);
        seen.emplace_back(size, 3);
    };
    const std::vector<metarec::parameter_range> touched{{3, 250}, {600, 10}};
    for (const bool lazy : {false, true}) {
        CAPTURE(lazy);
        const optim::adam a{.lr = 0.01, .weight_decay = 0.01, .clip_norm = 5, .lazy = lazy};
        const optim::adamw w{.lr = 0.01, .lazy = lazy};
        auto sa_whole = optim::make_state<S>(a, n), sa_parts = optim::make_state<S>(a, n);
        auto sw_whole = optim::make_state<S>(w, n), sw_parts = optim::make_state<S>(w, n);
        std::vector<S> ta_whole(static_cast<std::size_t>(n)), grad(static_cast<std::size_t>(n));
        for (metarec::index i = 0; i < n; ++i) ta_whole[std::size_t(i)] = S(std::sin(0.1 * double(i)));
        auto ta_parts = ta_whole, tw_whole = ta_whole, tw_parts = ta_whole;
        seen.clear();
        for (int step = 0; step < 3; ++step) {
            for (metarec::index i = 0; i < n; ++i) grad[std::size_t(i)] = S(std::cos(0.3 * double(i + step)));
            a.step(sa_whole, ta_whole.data(), grad.data(), n, touched);
            a.step(sa_parts, ta_parts.data(), grad.data(), n, touched, three_parts);
            w.step(sw_whole, tw_whole.data(), grad.data(), n, touched);
            w.step(sw_parts, tw_parts.data(), grad.data(), n, touched, three_parts);
        }
        CHECK(ta_parts == ta_whole);
        CHECK(tw_parts == tw_whole);
        CHECK(sa_parts.steps == 3);
        for (metarec::index i = 0; i < 2 * n; ++i) {
            REQUIRE(sa_parts.buffer[i] == sa_whole.buffer[i]);
            REQUIRE(sw_parts.buffer[i] == sw_whole.buffer[i]);
        }
        // the dense update runs in the parts; lazy updates the touched ranges on the caller's thread
        CHECK(seen.size() == (lazy ? 0u : 6u));
    }
}

TEST_CASE_TEMPLATE("adamw: decoupled weight decay differs from adam's L2", S, float, double) {
    const double wd = 0.1;
    const optim::adamw opt{.lr = 0.01, .weight_decay = wd, .lr_schedule = optim::schedule::step_decay(2, 0.5)};
    auto st = optim::make_state<S>(opt, 3);
    const auto got = run(opt, st, to<S>(theta0), grads_as<S>());
    // theta *= 1 - eta_t wd, then the adam update with the plain gradient; eta = 0.01, 0.01, 0.005
    const adam_reference decoupled{0.01L, 0.9L, 0.999L, 1e-8L, 0.1L, true, {1, 1, 0.5L}};
    check_all_near(got, decoupled(widen(to<S>(theta0)), grads_seen<S>()));

    // first step by hand, element 0: 1 * (1 - 0.01 * 0.1) - 0.01 * 0.1 / (0.1 + 1e-8) = 0.989000001
    {
        auto s1 = optim::make_state<S>(opt, 3);
        const auto one = run(opt, s1, to<S>(theta0), {grads_as<S>()[0]});
        CHECK(double(one[0]) == near<S>(0.9890000009999999L));
    }

    // adam with the same weight_decay as L2 gives a different result
    const optim::adam coupled{.lr = 0.01, .weight_decay = wd, .lr_schedule = optim::schedule::step_decay(2, 0.5)};
    auto sc = optim::make_state<S>(coupled, 3);
    const auto l2 = run(coupled, sc, to<S>(theta0), grads_as<S>());
    for (std::size_t i = 0; i < 3; ++i) CHECK(std::abs(double(l2[i]) - double(got[i])) > 1e-4);

    // without decay, adamw is adam
    const optim::adamw plain_w{.lr = 0.01, .weight_decay = 0};
    const optim::adam plain{.lr = 0.01};
    auto s1 = optim::make_state<S>(plain_w, 3), s2 = optim::make_state<S>(plain, 3);
    CHECK(run(plain_w, s1, to<S>(theta0), grads_as<S>()) == run(plain, s2, to<S>(theta0), grads_as<S>()));
    CHECK(optim::adamw{}.weight_decay == 0.01);
}

TEST_CASE_TEMPLATE("adagrad: accumulated squared gradients", S, float, double) {
    // lr = 0.1, initial accumulator 0.5, theta0 = 1, g = 0.5:
    //   G = 0.5 + 0.25 = 0.75,  theta = 1 - 0.1 * 0.5 / (sqrt(0.75) + 1e-10) = 0.94226497308770409
    const optim::adagrad opt{.lr = 0.1, .initial_accumulator = 0.5};
    {
        auto st = optim::make_state<S>(opt, 1);
        CHECK(st.buffer[0] == S(0.5));
        std::vector<S> theta{S(1)}, g{S(0.5)};
        opt.step(st, theta.data(), g.data(), 1);
        CHECK(double(st.buffer[0]) == near<S>(0.75L));
        CHECK(double(theta[0]) == near<S>(1 - 0.05L / (std::sqrt(0.75L) + 1e-10L)));
        CHECK(double(theta[0]) == near<S>(0.94226497308770409L));
    }
    // three steps on three parameters with weight decay, against the formulas
    const optim::adagrad wd{.lr = 0.1, .eps = 1e-10, .initial_accumulator = 0.5, .weight_decay = 0.05};
    auto st = optim::make_state<S>(wd, 3);
    const auto got = run(wd, st, to<S>(theta0), grads_as<S>());
    vec theta = widen(to<S>(theta0)), G(3, 0.5L);
    for (const auto& gk : grads_seen<S>())
        for (std::size_t i = 0; i < 3; ++i) {
            const long double gi = gk[i] + 0.05L * theta[i];
            G[i] += gi * gi;
            theta[i] -= 0.1L * gi / (std::sqrt(G[i]) + 1e-10L);
        }
    check_all_near(got, theta);
    check_all_near(std::vector<S>(st.buffer.data(), st.buffer.data() + 3), G);
}

TEST_CASE_TEMPLATE("gradient clipping: clip_by_norm and the optimizers' clip_norm", S, float, double) {
    SUBCASE("clip_by_norm scales in place by clip_factor = min(1, c / (||g|| + 1e-6)), returns ||g||") {
        std::vector<S> g{S(3), S(4), S(0)};
        // clip_factor: the factor alone, grad untouched
        CHECK(double(optim::clip_factor(g.data(), 3, 1.0)) == near<S>(1 / (5 + 1e-6L)));
        CHECK(optim::clip_factor(g.data(), 3, 10.0) == S(1));
        CHECK(optim::clip_factor(g.data(), 3, 0.0) == S(1));
        CHECK_THROWS_AS(optim::clip_factor(g.data(), 3, -2.0), std::invalid_argument);
        CHECK(g[0] == S(3));
        const S norm = optim::clip_by_norm(g.data(), 3, 1.0);
        CHECK(double(norm) == near<S>(5.0L));
        check_all_near(g, {3 / (5 + 1e-6L), 4 / (5 + 1e-6L), 0.0L});

        std::vector<S> h{S(3), S(4)};
        CHECK(double(optim::clip_by_norm<metarec::device::cpu>(h.data(), 2, 10.0)) == near<S>(5.0L));
        const std::vector<S> h0{S(3), S(4)};
        CHECK(h == h0);  // below the threshold: unchanged
        CHECK(double(optim::clip_by_norm(h.data(), 2, 0.0)) == near<S>(5.0L));
        CHECK(h == h0);  // 0 = off
        CHECK_THROWS_AS(optim::clip_by_norm(h.data(), 2, -1.0), std::invalid_argument);
    }
    SUBCASE("sgd with clip_norm folds the factor into the update and leaves grad unchanged") {
        // theta = 1 - 0.1 * 3 / (5 + 1e-6),  1 - 0.1 * 4 / (5 + 1e-6)
        const optim::sgd opt{.lr = 0.1, .clip_norm = 1};
        auto st = optim::make_state<S>(opt, 2);
        std::vector<S> theta{S(1), S(1)}, g{S(3), S(4)};
        opt.step(st, theta.data(), g.data(), 2);
        check_all_near(theta, {1 - 0.3L / (5 + 1e-6L), 1 - 0.4L / (5 + 1e-6L)});
        const std::vector<S> g0{S(3), S(4)};
        CHECK(g == g0);

        // same as clipping explicitly, then stepping without clipping
        const optim::sgd plain{.lr = 0.1};
        std::vector<S> theta2{S(1), S(1)};
        optim::clip_by_norm(g.data(), 2, 1.0);
        plain.step(st, theta2.data(), g.data(), 2);
        CHECK(theta2 == theta);

        // a clip_norm above the norm changes nothing: 1 - 0.1 * 3 = 0.7, 1 - 0.1 * 4 = 0.6
        const optim::sgd loose{.lr = 0.1, .clip_norm = 10};
        std::vector<S> theta3{S(1), S(1)}, g3{S(3), S(4)};
        loose.step(st, theta3.data(), g3.data(), 2);
        check_all_near(theta3, {0.7L, 0.6L});
    }
    SUBCASE("momentum with clip_norm: the clipped gradient enters the velocity") {
        // c = 0.5 / (5 + 1e-6); b = c g; theta = -lr b
        const optim::momentum opt{.lr = 1, .mu = 0.9, .clip_norm = 0.5};
        auto st = optim::make_state<S>(opt, 2);
        std::vector<S> theta{S(1), S(2)}, g{S(-3), S(4)};
        opt.step(st, theta.data(), g.data(), 2);
        const long double c = 0.5L / (5 + 1e-6L);
        check_all_near(std::vector<S>(st.buffer.data(), st.buffer.data() + 2), {-3 * c, 4 * c});
        check_all_near(theta, {1 + 3 * c, 2 - 4 * c});
    }
    SUBCASE("adam with clip_norm: equal to adam on the clipped gradient") {
        const optim::adam clipped{.lr = 0.01, .clip_norm = 0.05};
        const optim::adam plain{.lr = 0.01};
        auto s1 = optim::make_state<S>(clipped, 3), s2 = optim::make_state<S>(plain, 3);
        std::vector<S> t1 = to<S>(theta0), t2 = t1;
        for (auto g : grads_as<S>()) {
            clipped.step(s1, t1.data(), g.data(), 3);
            optim::clip_by_norm(g.data(), 3, 0.05);
            plain.step(s2, t2.data(), g.data(), 3);
        }
        for (std::size_t i = 0; i < 3; ++i) CHECK(double(t1[i]) == near<S>(t2[i]));
    }
}

TEST_CASE_TEMPLATE("state: size, initial value, step count", S, float, double) {
    const metarec::index n = 5;
    const auto check_state = [&](const auto& opt, metarec::index size, S initial) {
        auto st = optim::make_state<S>(opt, n);
        CHECK(metarec::index(st.buffer.size()) == opt.state_size(n));
        CHECK(metarec::index(st.buffer.size()) == size);
        for (metarec::index i = 0; i < metarec::index(st.buffer.size()); ++i) CHECK(st.buffer[i] == initial);
        CHECK(st.steps == 0);
        std::vector<S> theta(n, S(1)), g(n, S(0.5));
        for (int k = 1; k <= 4; ++k) {
            opt.step(st, theta.data(), g.data(), n);
            CHECK(st.steps == k);
        }
        // a state made for another size is rejected
        auto wrong = optim::make_state<S>(opt, n + 1);
        if (opt.state_size(n + 1) != opt.state_size(n))
            CHECK_THROWS_WITH_AS(opt.step(wrong, theta.data(), g.data(), n), doctest::Contains("state_size(5)"),
                                 std::invalid_argument);
        CHECK_THROWS_AS(opt.step(st, theta.data(), g.data(), -1), std::invalid_argument);
    };
    check_state(optim::sgd{}, 0, S(0));
    check_state(optim::momentum{}, n, S(0));
    check_state(optim::adam{}, 2 * n, S(0));
    check_state(optim::adamw{}, 2 * n, S(0));
    check_state(optim::adagrad{}, n, S(0));
    check_state(optim::adagrad{.initial_accumulator = 0.25}, n, S(0.25));
    CHECK_THROWS_AS(optim::make_state<S>(optim::adam{}, -1), std::invalid_argument);
    // checkpoint: a copied state continues exactly as the original
    const optim::adam opt{.lr = 0.01};
    auto st = optim::make_state<S>(opt, 3);
    auto theta = run(opt, st, to<S>(theta0), {grads_as<S>()[0]});
    auto copy = st;
    auto theta_copy = theta;
    theta = run(opt, st, theta, {grads_as<S>()[1], grads_as<S>()[2]});
    theta_copy = run(opt, copy, theta_copy, {grads_as<S>()[1], grads_as<S>()[2]});
    CHECK(theta == theta_copy);
    CHECK(copy.steps == 3);
}

TEST_CASE_TEMPLATE("hyper-parameters are validated, with the optimizer and field named", S, float, double) {
    std::vector<S> theta(3, S(1)), g(3, S(1));
    // step validates too, not only make_state
    const auto rejects = [&](const auto& opt, const char* message) {
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(optim::make_state<S>(opt, 3), doctest::Contains(message), std::invalid_argument);
        optim::state<S> st{typename metarec::device::cpu::template vector<S>(opt.state_size(3)), 0};
        st.buffer.setZero();
        CHECK_THROWS_WITH_AS(opt.step(st, theta.data(), g.data(), 3), doctest::Contains(message),
                             std::invalid_argument);
    };
    const double nan = std::numeric_limits<double>::quiet_NaN();
    rejects(optim::sgd{.lr = -0.1}, "metarec::optim::sgd: lr");
    rejects(optim::sgd{.lr = nan}, "sgd: lr");
    rejects(optim::sgd{.weight_decay = -1}, "sgd: weight_decay");
    rejects(optim::sgd{.clip_norm = -1}, "sgd: clip_norm");
    rejects(optim::momentum{.lr = -1}, "momentum: lr");
    rejects(optim::momentum{.mu = 1}, "momentum: mu must be in [0, 1)");
    rejects(optim::momentum{.mu = -0.1}, "momentum: mu");
    rejects(optim::momentum{.mu = 0, .nesterov = true}, "momentum: nesterov");
    rejects(optim::adam{.lr = -1e-3}, "adam: lr must be finite and >= 0, got -0.001");
    rejects(optim::adam{.beta1 = 1}, "adam: beta1 must be in [0, 1), got 1");
    rejects(optim::adam{.beta1 = -0.1}, "adam: beta1");
    rejects(optim::adam{.beta2 = 1.5}, "adam: beta2 must be in [0, 1), got 1.5");
    rejects(optim::adam{.eps = 0}, "adam: eps must be finite and > 0");
    rejects(optim::adam{.eps = -1e-8}, "adam: eps");
    rejects(optim::adam{.weight_decay = -0.01}, "adam: weight_decay");
    rejects(optim::adam{.clip_norm = nan}, "adam: clip_norm");
    rejects(optim::adamw{.beta1 = 1}, "adamw: beta1");
    rejects(optim::adamw{.beta2 = 1}, "adamw: beta2");
    rejects(optim::adamw{.eps = 0}, "adamw: eps");
    rejects(optim::adamw{.weight_decay = -1}, "adamw: weight_decay");
    rejects(optim::adagrad{.lr = -1}, "adagrad: lr");
    rejects(optim::adagrad{.eps = 0}, "adagrad: eps");
    rejects(optim::adagrad{.initial_accumulator = -1}, "adagrad: initial_accumulator");
    // the boundaries that are allowed
    CHECK_NOTHROW(optim::make_state<S>(optim::adam{.lr = 0, .beta1 = 0, .beta2 = 0}, 3));
    CHECK_NOTHROW(optim::make_state<S>(optim::momentum{.mu = 0}, 3));
}

TEST_CASE_TEMPLATE("each optimizer minimizes an ill-conditioned quadratic", S, float, double) {
    // f = 1/2 (x0^2 + 10 x1^2 + 100 x2^2), f(start) = 201.75; the thresholds leave a margin
    // of 10 to 100 over the values measured, and a wrong update (sign, factor, missing bias
    // correction or momentum) misses them by orders of magnitude.
    // sgd: lr = 0.019 < 2/100; slowest mode contracts by 0.981 per step: 0.981^1000 / 2 ~ 2e-9
    CHECK(minimize_quadratic<S>(optim::sgd{.lr = 0.019}, 500) < 1e-8);
    CHECK(minimize_quadratic<S>(optim::momentum{.lr = 0.01, .mu = 0.9}, 300) < 1e-10);
    CHECK(minimize_quadratic<S>(optim::momentum{.lr = 0.01, .mu = 0.9, .nesterov = true}, 300) < 1e-14);
    CHECK(minimize_quadratic<S>(optim::adam{.lr = 0.05}, 300) < 1e-10);
    CHECK(minimize_quadratic<S>(optim::adamw{.lr = 0.05}, 300) < 1e-10);
    CHECK(minimize_quadratic<S>(optim::adagrad{.lr = 0.3}, 200) < 1e-8);
    // and the same optimizers do not get there in a handful of steps (the tests measure work)
    CHECK(minimize_quadratic<S>(optim::sgd{.lr = 0.019}, 20) > 1e-2);
    CHECK(minimize_quadratic<S>(optim::adam{.lr = 0.05}, 20) > 1e-2);
}
