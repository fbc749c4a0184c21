// metarec tests: the cross-device suite. Every check runs a computation on a device under
// test and on device::cpu (itself checked against finite differences and independent
// computations in the other suites) from the same seeds, and compares: 1e-5 relative in
// float, 1e-10 in double. Data reaches the device only through batch_data / task_data and
// to_device, results come back through to_host, so the suite also runs on a GPU.
// Instantiated by tests/device/test_thrust.cpp (host Thrust systems) and by
// cuda/tests/test_cuda.cu (system::cuda).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include <metarec/device/cpu.hpp>
#include <metarec/loss/loss.hpp>
#include <metarec/loss/objective.hpp>
#include <metarec/meta/meta.hpp>
#include <metarec/nn/nn.hpp>
#include <metarec/optim/optim.hpp>

#include "../support/numeric.hpp"

namespace metarec::test::cross {

/// A device under test and a scalar type.
template <class Device, class Scalar>
struct config {
    using device = Device;
    using scalar = Scalar;
    //! the agreement required with device::cpu, relative (2-norm)
    static constexpr double tolerance = std::is_same_v<Scalar, float> ? 1e-5 : 1e-10;
};

template <class D, class S>
typename D::template vector<S> upload(const std::vector<S>& host) {
    typename D::template vector<S> v(index(host.size()));
    D::to_device(index(host.size()), host.data(), v.data());
    return v;
}

template <class D, class S>
std::vector<S> download(const S* p, index n) {
    std::vector<S> host(static_cast<std::size_t>(n));
    D::to_host(n, p, host.data());
    return host;
}

template <class S>
std::vector<S> random_values(std::uint64_t seed, index n, double lo = -1, double hi = 1) {
    detail::rng g(seed);
    std::vector<S> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = S(g.uniform(lo, hi));
    return v;
}

template <class S>
double relative(const std::vector<S>& a, const std::vector<S>& b) {
    REQUIRE(a.size() == b.size());
    return relative_error(a, b);
}

//! a random batch of `samples` samples of `shape`, in D's memory
template <class S, class D>
nn::batch_data<S, D> batch_on(const nn::input_shape& shape, index samples, std::uint64_t seed) {
    random_batch<S> b{shape, samples, seed};
    std::vector<nn::host_bags> bags;
    for (std::size_t f = 0; f < b.ids.size(); ++f) bags.push_back({b.offsets[f], b.ids[f]});
    return nn::batch_data<S, D>(samples, b.dense, shape.dense, b.categorical, bags);
}

//! `count` random regression tasks in D's memory; the same seeds give the same tasks on every device
template <class S, class D>
std::vector<meta::task_data<S, D>> tasks_on(const nn::input_shape& shape, int count, index support, index query,
                                            std::uint64_t seed) {
    std::vector<meta::task_data<S, D>> out;
    for (int t = 0; t < count; ++t) {
        const std::uint64_t s = seed + 1000 * std::uint64_t(t);
        out.emplace_back(batch_on<S, D>(shape, support, s), random_values<S>(s + 1, support),
                         batch_on<S, D>(shape, query, s + 2), random_values<S>(s + 3, query), t);
    }
    return out;
}

// The two networks of the suite: a plain MLP, and a MeLU-like recommender (embeddings of a
// categorical and a multi-valued field, a dense branch, a hidden layer).
inline const nn::input_shape mlp_shape{.dense = 3};
template <class S, class D>
using mlp = nn::model<nn::sequential<nn::dense<6>, nn::tanh, nn::dense<5>, nn::sigmoid, nn::dense<1>>, S, D>;

inline const nn::input_shape recommender_shape{.dense = 2, .categorical = {7}, .multi = {6}};
template <class S, class D>
using recommender = nn::model<nn::sequential<nn::concat<nn::embedding<4, 0>, nn::embedding_bag<3, 0>, nn::dense<3>>,
                                             nn::dense<8>, nn::relu, nn::dense<4>, nn::tanh, nn::dense<1>>,
                              S, D>;

// ---- the device operations --------------------------------------------------------------

/// Every device operation on random data, against device::cpu.
template <class C>
void check_operations() {
    using D = typename C::device;
    using S = typename C::scalar;
    using cpu = device::cpu;
    const double tol = C::tolerance;
    const index n = 1000;
    const auto x = random_values<S>(1, n), y = random_values<S>(2, n);

    {  // BLAS-1
        auto dx = upload<D>(x), dy = upload<D>(y);
        auto hy = y;
        D::axpy(n, S(0.75), dx.data(), dy.data());
        cpu::axpy(n, S(0.75), x.data(), hy.data());
        D::scal(n, S(-1.5), dy.data());
        cpu::scal(n, S(-1.5), hy.data());
        CHECK(relative(download<D>(dy.data(), n), hy) < tol);
        CHECK(double(D::dot(n, dx.data(), dy.data())) ==
              doctest::Approx(double(cpu::dot(n, x.data(), hy.data()))).epsilon(tol));
        D::copy(n, dx.data(), dy.data());
        CHECK(download<D>(dy.data(), n) == x);
        D::fill(n, S(0.25), dy.data());
        CHECK(download<D>(dy.data(), n) == std::vector<S>(std::size_t(n), S(0.25)));
        CHECK(D::all_finite(n, dx.data()));
        auto bad = x;
        bad[517] = S(1) / S(0);
        auto dbad = upload<D>(bad);
        CHECK_FALSE(D::all_finite(n, dbad.data()));
    }
    {  // gemm: every transpose, alpha, beta, leading dimensions larger than the rows
        const index m = 7, k = 5, cols = 6, ld = 9;
        for (auto ta : {transpose::no, transpose::yes})
            for (auto tb : {transpose::no, transpose::yes})
                for (double beta : {0.0, 0.5}) {
                    CAPTURE(int(ta));
                    CAPTURE(int(tb));
                    CAPTURE(beta);
                    const auto a = random_values<S>(3, ld * 9), b = random_values<S>(4, ld * 9);
                    auto c = random_values<S>(5, ld * cols);
                    auto da = upload<D>(a), db = upload<D>(b), dc = upload<D>(c);
                    D::gemm(ta, tb, m, cols, k, S(-0.7), da.data(), ld, db.data(), ld, S(beta), dc.data(), ld);
                    cpu::gemm(ta, tb, m, cols, k, S(-0.7), a.data(), ld, b.data(), ld, S(beta), c.data(), ld);
                    CHECK(relative(download<D>(dc.data(), ld * cols), c) < tol);
                }
    }
    {  // gemm_batched: 3 products, every transpose, beta, a stride of 0 (one matrix for all),
       // against one cpu::gemm per product; the batched bias operations against cpu's per task
        const index m = 5, k = 4, cols = 3, ld = 6, count = 3;
        for (auto ta : {transpose::no, transpose::yes})
            for (auto tb : {transpose::no, transpose::yes})
                for (double beta : {0.0, 0.5})
                    for (index stride_b : {index(0), index(ld * 6)}) {
                        CAPTURE(int(ta));
                        CAPTURE(int(tb));
                        CAPTURE(beta);
                        CAPTURE(stride_b);
                        const index stride_a = ld * 6 + 1, stride_c = ld * cols + 2;
                        const auto a = random_values<S>(20, stride_a * count), b = random_values<S>(21, ld * 6 * count);
                        auto c = random_values<S>(22, stride_c * count);
                        auto da = upload<D>(a), db = upload<D>(b), dc = upload<D>(c);
                        D::gemm_batched(ta, tb, m, cols, k, S(1.3), da.data(), ld, stride_a, db.data(), ld, stride_b,
                                        S(beta), dc.data(), ld, stride_c, count);
                        for (index t = 0; t < count; ++t)
                            cpu::gemm(ta, tb, m, cols, k, S(1.3), a.data() + t * stride_a, ld, b.data() + t * stride_b, ld,
                                      S(beta), c.data() + t * stride_c, ld);
                        CHECK(relative(download<D>(dc.data(), stride_c * count), c) < tol);
                    }
        const index rows = 4, stride = 7;
        const auto b = random_values<S>(23, stride * count), y = random_values<S>(24, rows * cols * count);
        auto db = upload<D>(b), dy = upload<D>(y);
        auto hb = b, hy = y;
        D::add_to_columns_batched(rows, cols, count, db.data(), stride, dy.data());
        for (index t = 0; t < count; ++t) cpu::add_to_columns(rows, cols, b.data() + t * stride, hy.data() + t * rows * cols);
        CHECK(relative(download<D>(dy.data(), rows * cols * count), hy) < tol);
        D::sum_columns_batched(rows, cols, count, dy.data(), db.data(), stride);
        for (index t = 0; t < count; ++t) cpu::sum_columns(rows, cols, hy.data() + t * rows * cols, hb.data() + t * stride);
        CHECK(relative(download<D>(db.data(), stride * count), hb) < tol);
    }
    {  // embeddings: gather with sum and mean pooling, its adjoint, single ids
        const index dim = 4, vocabulary = 10, segments = 5;
        const std::vector<id_type> offsets{0, 2, 2, 5, 6, 9}, ids{1, 3, 0, 9, 9, 4, 2, 2, 7};
        const auto table = random_values<S>(6, dim * vocabulary), src = random_values<S>(7, 6 * segments);
        auto d_offsets = upload<D>(offsets), d_ids = upload<D>(ids);
        auto d_table = upload<D>(table), d_src = upload<D>(src);
        for (bool mean : {false, true}) {
            CAPTURE(mean);
            std::vector<S> out(std::size_t(6 * segments), S(3));
            auto d_out = upload<D>(out);
            D::gather_sum(dim, segments, d_offsets.data(), d_ids.data(), mean, d_table.data(), d_out.data(), 6);
            cpu::gather_sum(dim, segments, offsets.data(), ids.data(), mean, table.data(), out.data(), 6);
            CHECK(relative(download<D>(d_out.data(), 6 * segments), out) < tol);
            auto grad = table;
            auto d_grad = upload<D>(grad);
            D::scatter_add(dim, segments, d_offsets.data(), d_ids.data(), mean, d_src.data(), 6, d_grad.data());
            cpu::scatter_add(dim, segments, offsets.data(), ids.data(), mean, src.data(), 6, grad.data());
            CHECK(relative(download<D>(d_grad.data(), dim * vocabulary), grad) < tol);
        }
        std::vector<S> out(std::size_t(dim * 9));
        auto d_out = upload<D>(out);
        D::gather_sum(dim, 9, static_cast<const id_type*>(nullptr), d_ids.data(), false, d_table.data(), d_out.data(), dim);
        cpu::gather_sum(dim, 9, static_cast<const id_type*>(nullptr), ids.data(), false, table.data(), out.data(), dim);
        CHECK(download<D>(d_out.data(), dim * 9) == out);

        // task-batched: 2 tasks of 2 and 3 segments (the offsets of both index one ids array),
        // task t's table at table + t stride, against gather_sum / scatter_add task by task
        const index tasks = 2, per_task = 2, stride = dim * vocabulary + 3;
        const auto tables = random_values<S>(8, stride * tasks);
        auto d_tables = upload<D>(tables);
        for (bool bags : {false, true})
            for (bool mean : {false, true}) {
                CAPTURE(bags);
                CAPTURE(mean);
                const id_type* o = bags ? offsets.data() : nullptr;
                const id_type* d_o = bags ? d_offsets.data() : nullptr;
                std::vector<S> batched(std::size_t(6 * per_task * tasks), S(3));
                auto d_batched = upload<D>(batched);
                D::gather_sum_batched(dim, per_task, tasks, d_o, d_ids.data(), mean, d_tables.data(), stride,
                                      d_batched.data(), 6);
                for (index t = 0; t < tasks; ++t)
                    cpu::gather_sum(dim, per_task, bags ? o + t * per_task : nullptr,
                                    bags ? ids.data() : ids.data() + t * per_task, mean, tables.data() + t * stride,
                                    batched.data() + t * per_task * 6, 6);
                CHECK(relative(download<D>(d_batched.data(), 6 * per_task * tasks), batched) < tol);
                auto grad = tables;
                auto d_grad = upload<D>(grad);
                D::scatter_add_batched(dim, per_task, tasks, d_o, d_ids.data(), mean, d_src.data(), 6, d_grad.data(),
                                       stride);
                for (index t = 0; t < tasks; ++t)
                    cpu::scatter_add(dim, per_task, bags ? o + t * per_task : nullptr,
                                     bags ? ids.data() : ids.data() + t * per_task, mean, src.data() + t * per_task * 6,
                                     6, grad.data() + t * stride);
                const auto back = download<D>(d_grad.data(), stride * tasks);
                CHECK(relative(back, grad) < tol);
                for (index t = 0; t < tasks; ++t)  // the gaps between the tables stay untouched
                    for (index i = dim * vocabulary; i < stride; ++i)
                        CHECK(back[std::size_t(t * stride + i)] == tables[std::size_t(t * stride + i)]);
            }
    }
    {  // bias broadcast and its adjoint, block copy
        const index rows = 6, cols = 11;
        const auto b = random_values<S>(8, rows), m = random_values<S>(9, rows * cols);
        auto db = upload<D>(b), dm = upload<D>(m);
        auto hb = b, hm = m;
        D::add_to_columns(rows, cols, db.data(), dm.data());
        cpu::add_to_columns(rows, cols, b.data(), hm.data());
        CHECK(relative(download<D>(dm.data(), rows * cols), hm) < tol);
        D::sum_columns(rows, cols, dm.data(), db.data());
        cpu::sum_columns(rows, cols, hm.data(), hb.data());
        CHECK(relative(download<D>(db.data(), rows), hb) < tol);
        std::vector<S> block(std::size_t(4 * 3), S(0));
        auto d_block = upload<D>(block);
        D::copy_block(3, 3, dm.data() + 1, rows, d_block.data(), 4);
        cpu::copy_block(3, 3, hm.data() + 1, rows, block.data(), 4);
        CHECK(download<D>(d_block.data(), 12) == block);
    }
}

// ---- gradients and Hessian-vector products ----------------------------------------------

/// value, gradient and H v of `Net` with `Loss` on D, against device::cpu
template <class C, template <class, class> class Net, class Loss>
void check_derivatives(const nn::input_shape& shape, Loss loss = {}) {
    using D = typename C::device;
    using S = typename C::scalar;
    using net_d = Net<S, D>;
    using net_cpu = Net<S, device::cpu>;
    const index samples = 9;
    net_d f{shape, 11};
    net_cpu g{shape, 11};
    const index p = f.parameter_count(), rows = f.output_rows();
    REQUIRE(p == g.parameter_count());

    auto x_d = batch_on<S, D>(shape, samples, 12);
    auto x_cpu = batch_on<S, device::cpu>(shape, samples, 12);
    std::vector<S> target = random_values<S>(13, rows * samples, 0, 1);
    if constexpr (std::is_same_v<Loss, loss::softmax_cross_entropy>) {
        target.resize(std::size_t(samples));
        for (index j = 0; j < samples; ++j) target[std::size_t(j)] = S(j % rows);
    }
    const auto theta = [&] {  // away from the initialization, the same on both devices
        auto t = download<device::cpu>(g.parameters(), p);
        const auto shift = random_values<S>(14, p, -0.1, 0.1);
        for (index i = 0; i < p; ++i) t[std::size_t(i)] += shift[std::size_t(i)];
        return t;
    }();
    const auto v = random_values<S>(15, p);
    auto theta_d = upload<D>(theta), v_d = upload<D>(v), target_d = upload<D>(target);

    objective<net_d, Loss> on_d{f, loss};
    objective<net_cpu, Loss> on_cpu{g, loss};
    auto ws_d = on_d.make_workspace(samples);
    auto ws_cpu = on_cpu.make_workspace(samples);

    const double value_d = double(on_d.value(theta_d.data(), x_d.view(), target_d.data(), ws_d));
    const double value_cpu = double(on_cpu.value(theta.data(), x_cpu.view(), target.data(), ws_cpu));
    CHECK(value_d == doctest::Approx(value_cpu).epsilon(C::tolerance));

    typename D::template vector<S> grad_d(p), hv_d(p);
    std::vector<S> grad(static_cast<std::size_t>(p)), hv(static_cast<std::size_t>(p));
    on_d.gradient(theta_d.data(), x_d.view(), target_d.data(), ws_d, grad_d.data());
    on_cpu.gradient(theta.data(), x_cpu.view(), target.data(), ws_cpu, grad.data());
    CHECK(relative(download<D>(grad_d.data(), p), grad) < C::tolerance);
    on_d.hvp(theta_d.data(), x_d.view(), target_d.data(), v_d.data(), ws_d, hv_d.data());
    on_cpu.hvp(theta.data(), x_cpu.view(), target.data(), v.data(), ws_cpu, hv.data());
    CHECK(relative(download<D>(hv_d.data(), p), hv) < C::tolerance);

    // the learner's own forward pass
    typename D::template vector<S> pred_d(rows * samples);
    std::vector<S> pred(static_cast<std::size_t>(rows * samples));
    auto mws_d = f.make_workspace(samples);
    auto mws_cpu = g.make_workspace(samples);
    f.forward(theta_d.data(), x_d.view(), mws_d, pred_d.data());
    g.forward(theta.data(), x_cpu.view(), mws_cpu, pred.data());
    CHECK(relative(download<D>(pred_d.data(), rows * samples), pred) < C::tolerance);
}

//! samples [first, first + count) of a host batch, as a batch of their own on the CPU (bag
//! offsets from 0)
template <class S>
nn::batch_data<S, device::cpu> slice(const random_batch<S>& b, index first, index count) {
    const auto part = [&](const auto& v, index from, index size) {
        return std::vector<std::decay_t<decltype(v[0])>>(v.begin() + from, v.begin() + from + size);
    };
    std::vector<std::vector<id_type>> categorical;
    for (const auto& f : b.categorical) categorical.push_back(part(f, first, count));
    std::vector<nn::host_bags> bags;
    for (std::size_t f = 0; f < b.offsets.size(); ++f) {
        const auto& o = b.offsets[f];
        const index begin = index(o[std::size_t(first)]), end = index(o[std::size_t(first + count)]);
        auto offsets = part(o, first, count + 1);
        for (auto& x : offsets) x -= id_type(begin);
        bags.push_back({std::move(offsets), part(b.ids[f], begin, end - begin)});
    }
    return nn::batch_data<S, device::cpu>(count, part(b.dense, first * b.dense_dim, count * b.dense_dim), b.dense_dim,
                                          categorical, bags);
}

/// The task-batched passes of Net on D (4 tasks of 5 samples, each with parameters,
/// direction and output derivatives of its own, 3 numbers apart) against the ordinary passes
/// on device::cpu called task by task; the gaps between the tasks' gradients stay untouched.
/// With `shared_layers` > 0, the tasks share the parameters of the first `shared_layers`
/// layers with parameters (task_layout::shared): one copy read by every task, whose gradient
/// and Hessian product are the sums over the tasks.
template <class C, template <class, class> class Net>
void check_batched_passes_of(const nn::input_shape& shape, std::size_t shared_layers) {
    using D = typename C::device;
    using S = typename C::scalar;
    const index tasks = 4, n = 5;
    Net<S, D> f{shape, 1};
    Net<S, device::cpu> g{shape, 1};
    const index p = f.parameter_count(), rows = f.output_rows();
    const index shared = shared_layers == 0 ? 0 : g.slices()[shared_layers].offset, stride = p - shared + 3;
    const index size = shared + stride * tasks;  // task t's parameter o >= shared at o + t stride
    const task_layout layout{stride, shared};
    const auto theta = random_values<S>(30, size, -0.8, 0.8), v = random_values<S>(31, size);
    const auto dpred = random_values<S>(33, rows * n * tasks), rdpred = random_values<S>(34, rows * n * tasks);
    const random_batch<S> x{shape, n * tasks, 32};
    std::vector<nn::host_bags> bags;
    for (std::size_t b = 0; b < x.ids.size(); ++b) bags.push_back({x.offsets[b], x.ids[b]});
    const nn::batch_data<S, D> x_d(n * tasks, x.dense, shape.dense, x.categorical, bags);
    std::vector<S> sentinel(std::size_t(size), S(0.5));  // grad and hv start here: += semantics
    auto theta_d = upload<D>(theta), v_d = upload<D>(v), dpred_d = upload<D>(dpred), rdpred_d = upload<D>(rdpred),
         grad_d = upload<D>(sentinel), hv_d = upload<D>(sentinel), grad2_d = upload<D>(sentinel);
    typename D::template vector<S> pred_d(rows * n * tasks), rpred_d(rows * n * tasks);
    auto ws_d = f.make_workspace(1);
    const auto all = x_d.view();
    f.forward_batched(theta_d.data(), layout, all, tasks, ws_d, pred_d.data());
    f.backward_batched(theta_d.data(), layout, all, tasks, ws_d, dpred_d.data(), grad_d.data());
    f.r_forward_batched(theta_d.data(), v_d.data(), layout, all, tasks, ws_d, rpred_d.data());
    f.r_backward_batched(theta_d.data(), v_d.data(), layout, all, tasks, ws_d, dpred_d.data(), rdpred_d.data(),
                         hv_d.data(), grad2_d.data());

    // task by task on the CPU, each task's whole parameter vector gathered from the layout,
    // its gradients added back where the layout keeps them
    std::vector<S> pred(std::size_t(rows * n * tasks)), rpred(pred.size()), grad = sentinel, hv = sentinel, grad2 = sentinel;
    auto ws = g.make_workspace(n);
    const auto where = [&](index o, index t) { return std::size_t(o < shared ? o : o + t * stride); };
    for (index t = 0; t < tasks; ++t) {
        const auto part = slice(x, t * n, n);
        const auto xt = part.view();
        const auto size_p = static_cast<std::size_t>(p);
        std::vector<S> th(size_p), vt(size_p), gt(size_p), ht(size_p), g2t(size_p);
        for (index o = 0; o < p; ++o) th[std::size_t(o)] = theta[where(o, t)], vt[std::size_t(o)] = v[where(o, t)];
        const index out = t * rows * n;
        g.forward(th.data(), xt, ws, pred.data() + out);
        g.backward(th.data(), xt, ws, dpred.data() + out, gt.data());
        g.r_forward(th.data(), vt.data(), xt, ws, rpred.data() + out);
        g.r_backward(th.data(), vt.data(), xt, ws, dpred.data() + out, rdpred.data() + out, ht.data(), g2t.data());
        for (index o = 0; o < p; ++o) {
            grad[where(o, t)] += gt[std::size_t(o)];
            hv[where(o, t)] += ht[std::size_t(o)];
            grad2[where(o, t)] += g2t[std::size_t(o)];
        }
    }
    CHECK(relative(download<D>(pred_d.data(), rows * n * tasks), pred) < C::tolerance);
    CHECK(relative(download<D>(rpred_d.data(), rows * n * tasks), rpred) < C::tolerance);
    const auto grad_back = download<D>(grad_d.data(), size), hv_back = download<D>(hv_d.data(), size);
    CHECK(relative(grad_back, grad) < C::tolerance);
    CHECK(relative(hv_back, hv) < C::tolerance);
    CHECK(relative(download<D>(grad2_d.data(), size), grad2) < C::tolerance);
    for (index t = 0; t < tasks; ++t)
        for (index i = p; i < shared + stride; ++i) {
            CHECK(grad_back[std::size_t(t * stride + i)] == S(0.5));
            CHECK(hv_back[std::size_t(t * stride + i)] == S(0.5));
        }

    CHECK_THROWS_WITH_AS(f.forward_batched(theta_d.data(), layout, all, 3, ws_d, pred_d.data()),
                         "metarec: a batch of 20 samples does not split into 3 tasks of equal size", std::invalid_argument);
    CHECK_THROWS_WITH_AS(f.forward_batched(theta_d.data(), {p - shared - 1, shared}, all, tasks, ws_d, pred_d.data()),
                         ("metarec: the tasks' own parameters are " + std::to_string(p - shared - 1) +
                          " apart, fewer than the model's " + std::to_string(p - shared) + " (of " + std::to_string(p) +
                          ") not shared")
                             .c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(f.forward_batched(theta_d.data(), {stride, shared + 1}, all, tasks, ws_d, pred_d.data()),
                         ("metarec: the tasks share the first " + std::to_string(shared + 1) +
                          " parameters, which is not where a layer of the model begins")
                             .c_str(),
                         std::invalid_argument);
    CHECK_THROWS_AS(f.forward_batched(theta_d.data(), layout, all, 0, ws_d, pred_d.data()), std::invalid_argument);
}

/// check_batched_passes_of the MLP (dense layers and activations) and of the MeLU-like
/// recommender (embeddings, a bag field, a concat with a dense branch), every task with all
/// of its own parameters, and with the first layers shared
template <class C>
void check_batched_passes() {
    SUBCASE("mlp") { check_batched_passes_of<C, mlp>(mlp_shape, 0); }
    SUBCASE("mlp, the first dense layer shared") { check_batched_passes_of<C, mlp>(mlp_shape, 1); }
    SUBCASE("recommender") { check_batched_passes_of<C, recommender>(recommender_shape, 0); }
    SUBCASE("recommender, the first embedding shared: the concat cut in two") {
        check_batched_passes_of<C, recommender>(recommender_shape, 1);
    }
    SUBCASE("recommender, the concat shared (MeLU)") { check_batched_passes_of<C, recommender>(recommender_shape, 3); }
}

template <class C>
void check_all_derivatives() {
    SUBCASE("mlp, mse") { check_derivatives<C, mlp>(mlp_shape, loss::mse{}); }
    SUBCASE("mlp, bce_with_logits") { check_derivatives<C, mlp>(mlp_shape, loss::bce_with_logits{}); }
    SUBCASE("recommender, mse") { check_derivatives<C, recommender>(recommender_shape, loss::mse{}); }
    SUBCASE("recommender, bce_with_logits") {
        check_derivatives<C, recommender>(recommender_shape, loss::bce_with_logits{});
    }
}

// ---- meta-algorithms ----------------------------------------------------------------------

//! 6 tasks of 7 support and 5 query samples, or (mixed_sizes) 3 such and 3 of 4 and 6
template <class S, class D>
std::vector<meta::task_data<S, D>> algorithm_tasks(const nn::input_shape& shape, bool mixed_sizes) {
    if (!mixed_sizes) return tasks_on<S, D>(shape, 6, 7, 5, 22);
    auto tasks = tasks_on<S, D>(shape, 3, 7, 5, 22);
    for (auto& t : tasks_on<S, D>(shape, 3, 4, 6, 23)) tasks.push_back(std::move(t));
    return tasks;
}

/// meta-gradients on one task, then a few meta-steps of fit(), then adapt(): D against the CPU
/// (with options of its own: e.g. task-batched on D, per task on the CPU)
template <class C, template <class> class Algorithm, template <class, class> class Net>
void check_algorithm(const nn::input_shape& shape, auto options, auto cpu_options, bool mixed_sizes = false) {
    using D = typename C::device;
    using S = typename C::scalar;
    const double tol = C::tolerance;
    Algorithm<Net<S, D>> on_d{Net<S, D>{shape, 21}, options};
    Algorithm<Net<S, device::cpu>> on_cpu{Net<S, device::cpu>{shape, 21}, cpu_options};
    const auto tasks_d = algorithm_tasks<S, D>(shape, mixed_sizes);
    const auto tasks_cpu = algorithm_tasks<S, device::cpu>(shape, mixed_sizes);
    const auto views_d = meta::views(tasks_d);
    const auto views_cpu = meta::views(tasks_cpu);
    const index width = on_d.meta_parameter_count();
    REQUIRE(width == on_cpu.meta_parameter_count());

    typename D::template vector<S> g_d(width);
    std::vector<S> g(static_cast<std::size_t>(width));
    const double loss_d = on_d.meta_gradient(views_d[0], g_d.data());
    const double loss_cpu = on_cpu.meta_gradient(views_cpu[0], g.data());
    CHECK(loss_d == doctest::Approx(loss_cpu).epsilon(tol));
    CHECK(relative(download<D>(g_d.data(), width), g) < tol);

    on_d.fit(views_d, {.epochs = 2});
    on_cpu.fit(views_cpu, {.epochs = 2});
    CHECK(on_d.steps() == on_cpu.steps());
    CHECK(relative(on_d.snapshot(), on_cpu.snapshot()) < tol);

    auto personal_d = on_d.adapt(views_d[1].support, views_d[1].support_target);
    auto personal_cpu = on_cpu.adapt(views_cpu[1].support, views_cpu[1].support_target);
    CHECK(relative(personal_d.predict(views_d[1].query), personal_cpu.predict(views_cpu[1].query)) < tol);
    const auto report_d = on_d.evaluate(views_d), report_cpu = on_cpu.evaluate(views_cpu);
    CHECK(report_d.loss == doctest::Approx(report_cpu.loss).epsilon(tol));
}
template <class C, template <class> class Algorithm, template <class, class> class Net>
void check_algorithm(const nn::input_shape& shape, auto options) {
    check_algorithm<C, Algorithm, Net>(shape, options, options);
}

template <class L>
using maml_mse = meta::maml<L, loss::mse>;
template <class L>
using melu_mse = meta::melu_maml<L, loss::mse>;
template <class L>
using meta_sgd_mse = meta::meta_sgd<L, loss::mse>;
template <class L>
using reptile_mse = meta::reptile<L, loss::mse>;
template <class L>
using fine_tune_mse = meta::fine_tune<L, loss::mse>;
template <class L>
using reptile_head_adam = meta::reptile<L, loss::mse, optim::sgd, optim::adam, meta::adapt_dense_head>;

template <class C>
void check_all_algorithms() {
    SUBCASE("MAML order 2, K = 3") {
        check_algorithm<C, maml_mse, mlp>(mlp_shape, meta::maml_options{.inner_lr = 0.3, .inner_steps = 3, .meta_batch = 2});
    }
    SUBCASE("MAML order 1, K = 2, recommender") {
        check_algorithm<C, maml_mse, recommender>(
            recommender_shape, meta::maml_options{.inner_lr = 0.3, .inner_steps = 2, .order = 1, .meta_batch = 3});
    }
    SUBCASE("MeLU (dense head adapts), order 2, K = 2") {
        check_algorithm<C, melu_mse, recommender>(recommender_shape,
                                                  meta::maml_options{.inner_lr = 0.2, .inner_steps = 2, .meta_batch = 2});
    }
    SUBCASE("Meta-SGD, K = 2") {
        check_algorithm<C, meta_sgd_mse, mlp>(mlp_shape, meta::maml_options{.inner_lr = 0.2, .inner_steps = 2, .meta_batch = 2});
    }
    SUBCASE("MAML order 2, K = 3, task-batched on the device, per task on the CPU") {
        const meta::maml_options batched{.inner_lr = 0.3, .inner_steps = 3, .meta_batch = 3,
                                         .batching = meta::task_batching::batched};
        auto per_task = batched;
        per_task.batching = meta::task_batching::per_task;
        check_algorithm<C, maml_mse, mlp>(mlp_shape, batched, per_task);
    }
    SUBCASE("Meta-SGD order 1, K = 2, task-batched on the device, per task on the CPU") {
        const meta::maml_options batched{.inner_lr = 0.2, .inner_steps = 2, .order = 1, .meta_batch = 3,
                                         .batching = meta::task_batching::batched};
        auto per_task = batched;
        per_task.batching = meta::task_batching::per_task;
        check_algorithm<C, meta_sgd_mse, mlp>(mlp_shape, batched, per_task);
    }
    SUBCASE("MeLU order 2, K = 2, task-batched on the device (embeddings, a bag field, tasks of two sizes), per "
            "task on the CPU") {
        const meta::maml_options batched{.inner_lr = 0.2, .inner_steps = 2, .meta_batch = 3,
                                         .batching = meta::task_batching::batched};
        auto per_task = batched;
        per_task.batching = meta::task_batching::per_task;
        check_algorithm<C, melu_mse, recommender>(recommender_shape, batched, per_task, true);
    }
    SUBCASE("Reptile, K = 3") {
        check_algorithm<C, reptile_mse, recommender>(recommender_shape,
                                                     meta::reptile_options<optim::sgd>{.inner = {.lr = 0.1}, .inner_steps = 3, .meta_batch = 2});
    }
    SUBCASE("Reptile, the head adapts with inner Adam, task-batched on the device (tasks of two sizes), per task on "
            "the CPU") {
        const meta::reptile_options<optim::adam> batched{
            .inner = {.lr = 0.05}, .inner_steps = 2, .meta_batch = 3, .batching = meta::task_batching::batched};
        auto per_task = batched;
        per_task.batching = meta::task_batching::per_task;
        check_algorithm<C, reptile_head_adam, recommender>(recommender_shape, batched, per_task, true);
    }
    SUBCASE("fine-tuning") {
        check_algorithm<C, fine_tune_mse, mlp>(mlp_shape, meta::fine_tune_options<optim::sgd>{.meta_batch = 2});
    }
}

// ---- optimizers ---------------------------------------------------------------------------

/// three steps of `opt` on D and on the CPU from the same parameters and gradients
template <class C, class Optimizer>
void check_optimizer(const Optimizer& opt) {
    using D = typename C::device;
    using S = typename C::scalar;
    const index n = 777;
    auto theta = random_values<S>(31, n);
    auto theta_d = upload<D>(theta);
    auto st = optim::make_state<S, device::cpu>(opt, n);
    auto st_d = optim::make_state<S, D>(opt, n);
    for (int step = 0; step < 3; ++step) {
        const auto grad = random_values<S>(32 + std::uint64_t(step), n, -3, 3);
        auto grad_d = upload<D>(grad);
        opt.step(st, theta.data(), grad.data(), n);
        opt.step(st_d, theta_d.data(), grad_d.data(), n);
    }
    CHECK(relative(download<D>(theta_d.data(), n), theta) < C::tolerance);
    CHECK(relative(download<D>(st_d.buffer.data(), st_d.buffer.size()),
                   download<device::cpu>(st.buffer.data(), st.buffer.size())) < C::tolerance);
}

template <class C>
void check_all_optimizers() {
    SUBCASE("sgd") { check_optimizer<C>(optim::sgd{.lr = 0.1, .weight_decay = 0.01}); }
    SUBCASE("momentum, Nesterov") { check_optimizer<C>(optim::momentum{.lr = 0.05, .mu = 0.9, .nesterov = true}); }
    SUBCASE("adagrad") { check_optimizer<C>(optim::adagrad{.lr = 0.1}); }
    SUBCASE("adam, clipped") { check_optimizer<C>(optim::adam{.lr = 0.01, .weight_decay = 0.001, .clip_norm = 5}); }
    SUBCASE("adamw") { check_optimizer<C>(optim::adamw{.lr = 0.01, .weight_decay = 0.1}); }
}

}  // namespace metarec::test::cross
