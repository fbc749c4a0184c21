// metarec tests: sparse embedding gradients. A learner that reports touched_parameters()
// (nn::model with embedding tables) lets MAML, Meta-SGD and MeLU-style MAML zero, copy and sum
// only the embedding columns a task reads; the results must be those of the dense path bit
// for bit. And adam{.lazy = true}, which updates only the touched parameters.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <metarec/loss/loss.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/optim/optim.hpp>
#include <metarec/recsys/melu.hpp>

#include "../support/tasks.hpp"

namespace mr = metarec;
namespace nn = metarec::nn;
namespace meta = metarec::meta;
using metarec::test::task_pool;

namespace {

// a MeLU with small tables: two single-valued fields and one bag field, 4-dim embeddings, and
// a numeric feature beside them
using small_melu = mr::recsys::melu<nn::sequential<nn::dense<6>, nn::relu, nn::dense<1>>, double, mr::device::cpu, 4>;
const nn::input_shape shape{.dense = 2, .categorical = {5, 40}, .multi = {30}};

/// The same learner without touched_parameters(): the algorithms take the dense path.
template <class Base>
struct dense_twin : Base {
    using Base::Base;
    template <class... A>
    void touched_parameters(A&&...) const = delete;
};

template <class Algorithm>
std::vector<double> parameters_of(const Algorithm& a) {
    const auto& l = a.learner();
    std::vector<double> out(l.parameters(), l.parameters() + l.parameter_count());
    if constexpr (requires { a.inner_rates(); })
        if (a.inner_rates()) out.insert(out.end(), a.inner_rates(), a.inner_rates() + a.adapted_range().size);
    return out;
}

// fit() with the sparse and the dense path, from the same initialization, on the same tasks
template <class Learner, class Adaptation, bool LearnedRates>
using algorithm = meta::basic_maml<Learner, mr::loss::mse, mr::optim::adam, Adaptation, LearnedRates>;

template <class Adaptation, bool LearnedRates>
void check_same_as_dense(int order, int threads, mr::optim::adam outer = {.lr = 1e-2}) {
    CAPTURE(order);
    CAPTURE(threads);
    const task_pool pool(shape, 12, 6, 5, 17);
    const meta::maml_options options{.inner_lr = 0.05, .inner_steps = 3, .order = order, .meta_batch = 4, .threads = threads, .seed = 3};
    algorithm<small_melu, Adaptation, LearnedRates> sparse{small_melu{shape, 5}, options, outer};
    algorithm<dense_twin<small_melu>, Adaptation, LearnedRates> dense{dense_twin<small_melu>{shape, 5}, options, outer};
    const auto s = sparse.fit(pool.tasks, {.epochs = 3});
    const auto d = dense.fit(pool.tasks, {.epochs = 3});
    CHECK(s.steps == d.steps);
    const auto ps = parameters_of(sparse), pd = parameters_of(dense);
    REQUIRE(ps.size() == pd.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < ps.size(); ++i) differing += ps[i] != pd[i];
    CHECK(differing == 0);
    // and something was learned: the parameters moved
    const small_melu fresh{shape, 5};
    std::size_t moved = 0;
    for (mr::index i = 0; i < fresh.parameter_count(); ++i) moved += ps[std::size_t(i)] != fresh.parameters()[i];
    CHECK(moved > std::size_t(fresh.parameter_count() / 2));
}

}  // namespace

TEST_CASE("touched_parameters: the embedding columns of the batch's ids, every other layer whole, merged") {
    using model = nn::model<nn::sequential<nn::concat<nn::embedding<2, 0>, nn::embedding_bag<2, 0>>, nn::dense<1>>, double>;
    const model m{{.categorical = {10}, .multi = {8}}, 1};
    // categorical ids 3, 3, 4; bags {1, 2}, {}, {7}
    const nn::batch_data<double> x(3, {}, 0, {{3, 3, 4}}, {{{0, 2, 2, 3}, {1, 2, 7}}});
    std::vector<mr::parameter_range> touched;
    m.touched_parameters(x.view(), touched);
    // table 0 (10 x 2) at 0: columns 3, 4 -> [6, 10); table 1 (8 x 2) at 20: columns 1, 2 -> [22, 26),
    // 7 -> [34, 36); the dense layer (4 + 1 parameters) at 36 -> merged with [34, 36)
    REQUIRE(touched.size() == 3);
    CHECK(touched[0].offset == 6);
    CHECK(touched[0].size == 4);
    CHECK(touched[1].offset == 22);
    CHECK(touched[1].size == 4);
    CHECK(touched[2].offset == 34);
    CHECK(touched[2].size == 7);
    CHECK(m.parameter_count() == 41);
}

TEST_CASE("range_union: the union of many lists, as coalesce() gives it") {
    // ranges across word boundaries, adjacent, nested, duplicated, at both ends of [0, n)
    const mr::index n = 700;
    std::vector<std::vector<mr::parameter_range>> lists{
        {{0, 1}, {5, 59}, {64, 64}, {200, 32}},
        {{63, 2}, {128, 1}, {231, 1}, {640, 60}},
        {{300, 150}, {320, 10}},
        {{129, 71}, {500, 1}, {502, 1}},
        {},
        {{699, 1}},
    };
    mr::detail::range_union u;
    for (int round = 0; round < 2; ++round) {  // reused after reset()
        u.reset(n);
        std::vector<mr::parameter_range> expected;
        for (const auto& l : lists) {
            u.mark(l);
            expected.insert(expected.end(), l.begin(), l.end());
        }
        mr::detail::coalesce(expected);
        std::vector<mr::parameter_range> got;
        u.take(got);
        REQUIRE(got.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            CHECK(got[i].offset == expected[i].offset);
            CHECK(got[i].size == expected[i].size);
        }
        lists.pop_back();  // the second round without the range at the end
    }
}

TEST_CASE("objective::gradient, hvp and add_hvp with touched ranges: the dense values there, the rest left alone") {
    const small_melu m{shape, 2};
    const task_pool pool(shape, 1, 7, 3, 5);
    const auto& x = pool.tasks[0].support;
    mr::objective<small_melu, mr::loss::mse> objective{m};
    auto ws = objective.make_workspace(1);
    const auto p = std::size_t(m.parameter_count());
    std::vector<mr::parameter_range> touched;
    m.touched_parameters(x, touched);
    std::vector<double> dense(p), sparse(p, 7.0), v(p), hv_dense(p), hv_sparse(p, 7.0);
    mr::detail::rng g(9);
    for (auto& e : v) e = g.uniform(-1, 1);
    objective.gradient(m.parameters(), x, pool.tasks[0].support_target, ws, dense.data());
    objective.gradient(m.parameters(), x, pool.tasks[0].support_target, ws, sparse.data(), touched);
    objective.hvp(m.parameters(), x, pool.tasks[0].support_target, v.data(), ws, hv_dense.data());
    objective.hvp(m.parameters(), x, pool.tasks[0].support_target, v.data(), ws, hv_sparse.data(), nullptr, touched);
    std::vector<char> inside(p, 0);
    for (const auto& r : touched)
        for (mr::index i = r.offset; i < r.offset + r.size; ++i) inside[std::size_t(i)] = 1;
    std::size_t wrong = 0, nonzero_outside = 0;
    for (std::size_t i = 0; i < p; ++i) {
        if (inside[i]) {
            wrong += sparse[i] != dense[i] || hv_sparse[i] != hv_dense[i];
        } else {
            wrong += sparse[i] != 7.0 || hv_sparse[i] != 7.0;
            nonzero_outside += dense[i] != 0 || hv_dense[i] != 0;
        }
    }
    CHECK(wrong == 0);
    CHECK(nonzero_outside == 0);  // the ranges cover every nonzero of the dense gradient and product
    CHECK(mr::detail::covered(touched) < mr::index(p) / 2);

    // add_hvp adds the product into a vector on the ranges (MAML's sweep adds H (-alpha g) into
    // g), and with v_from it takes the direction as zero below it, as hvp does
    const mr::index from = mr::index(p) / 2;
    std::vector<double> v_above(p, 0.0), hv_above(p), sum(p), sum_above(p);
    std::copy(v.begin() + from, v.end(), v_above.begin() + from);
    for (std::size_t i = 0; i < p; ++i) sum[i] = sum_above[i] = 7.0 + double(i % 5);
    objective.hvp(m.parameters(), x, pool.tasks[0].support_target, v_above.data(), ws, hv_above.data());
    objective.add_hvp(m.parameters(), x, pool.tasks[0].support_target, v.data(), ws, sum.data(), touched);
    objective.add_hvp(m.parameters(), x, pool.tasks[0].support_target, v_above.data(), ws, sum_above.data(), touched, from);
    std::size_t off = 0;
    for (std::size_t i = 0; i < p; ++i) {
        const double base = 7.0 + double(i % 5);
        off += std::abs(sum[i] - (base + hv_dense[i])) > 1e-12 * (1 + std::abs(hv_dense[i]));
        off += std::abs(sum_above[i] - (base + hv_above[i])) > 1e-12 * (1 + std::abs(hv_above[i]));
        if (!inside[i]) off += sum[i] != base || sum_above[i] != base;
    }
    CHECK(off == 0);
}

TEST_CASE("sparse embedding gradients: fit() ends where the dense path ends, bit for bit") {
    for (int order : {1, 2}) {
        for (int threads : {1, 2}) {
            SUBCASE("MeLU-style MAML: the head adapts") { check_same_as_dense<meta::adapt_dense_head, false>(order, threads); }
            SUBCASE("MAML: everything adapts, the embeddings too") { check_same_as_dense<meta::adapt_all, false>(order, threads); }
            SUBCASE("Meta-SGD with learned rates for everything") { check_same_as_dense<meta::adapt_all, true>(order, threads); }
            SUBCASE("Meta-SGD on the head") { check_same_as_dense<meta::adapt_dense_head, true>(order, threads); }
        }
    }
}

TEST_CASE("sparse embedding gradients: meta_gradient() is dense, zero where no sample reaches") {
    const task_pool pool(shape, 2, 6, 5, 23);
    meta::maml<small_melu, mr::loss::mse> sparse{small_melu{shape, 5}, {.inner_lr = 0.05, .inner_steps = 2}};
    meta::maml<dense_twin<small_melu>, mr::loss::mse> dense{dense_twin<small_melu>{shape, 5}, {.inner_lr = 0.05, .inner_steps = 2}};
    const auto p = std::size_t(sparse.meta_parameter_count());
    for (const auto& task : pool.tasks) {
        std::vector<double> s(p, 3.0), d(p, 4.0);
        sparse.meta_gradient(task, s.data());
        dense.meta_gradient(task, d.data());
        CHECK(s == d);
    }
}

TEST_CASE("adam lazy: only the touched parameters and their moments change") {
    const mr::optim::adam lazy{.lr = 0.1, .lazy = true}, eager{.lr = 0.1};
    auto st_lazy = mr::optim::make_state<double>(lazy, 6), st_eager = mr::optim::make_state<double>(eager, 6);
    std::vector<double> theta_lazy{1, 2, 3, 4, 5, 6}, theta_eager = theta_lazy;
    // step 1 touches [0, 2) and [4, 6); step 2 only [0, 2)
    const std::vector<double> g1{0.5, -1, 0, 0, 2, 1}, g2{1, 1, 0, 0, 0, 0};
    const std::vector<mr::parameter_range> r1{{0, 2}, {4, 2}}, r2{{0, 2}};
    lazy.step(st_lazy, theta_lazy.data(), g1.data(), 6, r1);
    eager.step(st_eager, theta_eager.data(), g1.data(), 6, r1);
    CHECK(theta_lazy == theta_eager);  // the first step: moments were zero, untouched entries do not move either way
    const auto after_first = theta_lazy;
    const std::vector<double> moments_first(st_lazy.buffer.data(), st_lazy.buffer.data() + 12);
    lazy.step(st_lazy, theta_lazy.data(), g2.data(), 6, r2);
    eager.step(st_eager, theta_eager.data(), g2.data(), 6, r2);
    CHECK(theta_lazy[0] == theta_eager[0]);
    CHECK(theta_lazy[1] == theta_eager[1]);
    CHECK(theta_lazy[4] == after_first[4]);  // lazy: untouched in step 2, kept with its moments
    CHECK(theta_lazy[5] == after_first[5]);
    CHECK(st_lazy.buffer[4] == moments_first[4]);
    CHECK(st_lazy.buffer[6 + 5] == moments_first[6 + 5]);
    CHECK(theta_eager[4] != after_first[4]);  // dense Adam moves it on its momentum
    CHECK(theta_lazy[2] == 3);
    CHECK(theta_lazy[3] == 4);
    CHECK(st_lazy.steps == 2);
    CHECK_THROWS_AS(lazy.step(st_lazy, theta_lazy.data(), g2.data(), 6, std::vector<mr::parameter_range>{{5, 2}}),
                    std::invalid_argument);
}

TEST_CASE("adam lazy in fit(): embedding columns no task reads keep their initial values") {
    // the tasks read ids 0..9 of the 40-id field only
    const nn::input_shape narrow{.dense = 2, .categorical = {5, 10}, .multi = {30}};
    const task_pool readers(narrow, 8, 6, 5, 29);
    meta::melu_maml<small_melu, mr::loss::mse> lazy{small_melu{shape, 5}, {.inner_lr = 0.05, .inner_steps = 2, .meta_batch = 4},
                                                    {.lr = 1e-2, .lazy = true}};
    meta::melu_maml<small_melu, mr::loss::mse> eager{small_melu{shape, 5}, {.inner_lr = 0.05, .inner_steps = 2, .meta_batch = 4},
                                                     {.lr = 1e-2}};
    lazy.fit(readers.tasks, {.epochs = 3});
    eager.fit(readers.tasks, {.epochs = 3});
    const small_melu fresh{shape, 5};
    // table 1 (40 x 4) starts after table 0 (5 x 4): columns 10..39 are never read
    const mr::index first_unread = 5 * 4 + 10 * 4, last = 5 * 4 + 40 * 4;
    std::size_t lazy_moved = 0, eager_moved = 0, read_moved = 0;
    for (mr::index i = first_unread; i < last; ++i) {
        lazy_moved += lazy.learner().parameters()[i] != fresh.parameters()[i];
        eager_moved += eager.learner().parameters()[i] != fresh.parameters()[i];
    }
    for (mr::index i = 5 * 4; i < first_unread; ++i) read_moved += lazy.learner().parameters()[i] != fresh.parameters()[i];
    CHECK(lazy_moved == 0);
    CHECK(eager_moved == 0);  // dense Adam: never a nonzero gradient there, so zero moments: no drift either
    CHECK(read_moved > 0);
}

TEST_CASE("adapt(support, target, personal): in place, the parameters of a fresh adapt(), for each new request") {
    const task_pool pool(shape, 6, 6, 5, 31);
    meta::melu_maml<small_melu, mr::loss::mse> algo{small_melu{shape, 5}, {.inner_lr = 0.05, .inner_steps = 3, .meta_batch = 2}};
    algo.fit(pool.tasks, {.epochs = 2});
    auto personal = algo.adapt(pool.tasks[0].support, pool.tasks[0].support_target);
    const auto p = algo.learner().parameter_count();
    for (std::size_t t : {1u, 2u, 1u, 5u}) {
        CAPTURE(t);
        const auto& task = pool.tasks[t];
        algo.adapt(task.support, task.support_target, personal);
        const auto fresh = algo.adapt(task.support, task.support_target);
        CHECK(std::equal(personal.parameters(), personal.parameters() + p, fresh.parameters()));
        auto copy = fresh;
        CHECK(personal.predict(task.query) == copy.predict(task.query));
    }
    algo.adapt(pool.tasks[3].support, pool.tasks[3].support_target, personal, {.steps = 0});
    CHECK(std::equal(personal.parameters(), personal.parameters() + p, algo.learner().parameters()));
    meta::melu_maml<small_melu, mr::loss::mse> other{small_melu{shape, 5}, {.inner_lr = 0.05}};
    CHECK_THROWS_WITH_AS(other.adapt(pool.tasks[0].support, pool.tasks[0].support_target, personal),
                         "metarec: adapt: the adapted model comes from another algorithm", std::invalid_argument);
}

TEST_CASE("adapt(support, target, personal) after the model changed: the whole current model, never a stale one") {
    const task_pool pool(shape, 6, 6, 5, 37);
    meta::melu_maml<small_melu, mr::loss::mse> algo{small_melu{shape, 5}, {.inner_lr = 0.05, .inner_steps = 3, .meta_batch = 2}};
    const auto& model = std::as_const(algo).learner();
    const mr::index p = model.parameter_count(), a = algo.adapted_range().offset;
    REQUIRE(a > 0);  // the embeddings lie below the adapted head
    const auto& task = pool.tasks[1];
    auto personal = algo.adapt(task.support, task.support_target);
    CHECK(personal.version() == algo.version());
    const auto same_as_fresh = [&] {
        const auto fresh = algo.adapt(task.support, task.support_target);
        return std::equal(personal.parameters(), personal.parameters() + p, fresh.parameters());
    };
    // a meta-step changes the embeddings, outside the adapted slice
    const std::vector<double> below(personal.parameters(), personal.parameters() + a);
    const auto before = algo.version();
    algo.fit(pool.tasks, {.epochs = 1});
    CHECK(algo.version() > before);
    CHECK(personal.version() == before);  // personal still holds the older model, which differs below the slice
    REQUIRE_FALSE(std::equal(below.begin(), below.end(), model.parameters()));
    algo.adapt(task.support, task.support_target, personal);
    CHECK(personal.version() == algo.version());
    CHECK(same_as_fresh());
    // the same request again at the same version: only the slice is copied, the same result
    algo.adapt(task.support, task.support_target, personal);
    CHECK(same_as_fresh());
    // restore() (load() and resume() restore) and a write through learner() change the version too
    auto saved = algo.snapshot();
    saved[0] += 1;
    algo.restore(saved);
    algo.adapt(task.support, task.support_target, personal);
    CHECK(personal.parameters()[0] == saved[0]);
    CHECK(same_as_fresh());
    algo.learner().parameters()[1] += 1;
    algo.adapt(task.support, task.support_target, personal);
    CHECK(personal.parameters()[1] == model.parameters()[1]);
    CHECK(same_as_fresh());
}
