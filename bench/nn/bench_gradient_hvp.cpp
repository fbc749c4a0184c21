// metarec benchmark: gradient and exact Hessian-vector product of a MeLU-sized head
// (256 -> 64 -> 64 -> 1, ReLU, MSE), float and double, batch 10 and 32.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <metarec/loss/loss.hpp>
#include <metarec/loss/objective.hpp>
#include <metarec/nn/nn.hpp>

namespace mr = metarec;
using namespace metarec::nn;

namespace {

using head = sequential<dense<64>, relu, dense<64>, relu, dense<1>>;
constexpr mr::index input_dim = 256;

// FLOPs of the matrix products per sample (2 per multiply-add). With W_i the weights of
// layer i (a_i = 256*64 + 64*64 + 64*1 multiply-adds in all, b = 64*64 + 64*1 for the
// layers whose input is an activation):
//   gradient: forward a + parameter gradients a + input gradients b
//   H v:      forward a + R-forward (a + b) + input gradients b + R-gradients (a + b)
//             + R-input gradients 2b   (no parameter gradient)
constexpr double a = 256.0 * 64 + 64.0 * 64 + 64.0;
constexpr double b = 64.0 * 64 + 64.0;
constexpr double gradient_flops = 2 * (2 * a + b);
constexpr double hvp_flops = 2 * (3 * a + 5 * b);

template <class S>
struct fixture {
    model<head, S> f{{.dense = input_dim}, 1};
    mr::objective<model<head, S>, mr::loss::mse> objective{f};
    std::vector<S> x, target, v, out;
    typename decltype(objective)::workspace ws;
    mr::index n;
    explicit fixture(mr::index samples) : n(samples) {
        mr::detail::rng g(2);
        for (mr::index i = 0; i < input_dim * n; ++i) x.push_back(S(g.uniform(-1, 1)));
        for (mr::index i = 0; i < n; ++i) target.push_back(S(g.uniform(1, 5)));
        for (mr::index i = 0; i < f.parameter_count(); ++i) v.push_back(S(g.uniform(-1, 1)));
        out.resize(v.size());
        ws = objective.make_workspace(n);
    }
    batch<S> input() const { return batch<S>::dense_only(x.data(), input_dim, n); }
};

template <class S>
void gradient(benchmark::State& state) {
    fixture<S> fx(state.range(0));
    for (auto _ : state) {
        benchmark::DoNotOptimize(fx.objective.gradient(fx.f.parameters(), fx.input(), fx.target.data(), fx.ws,
                                                       fx.out.data()));
        benchmark::ClobberMemory();
    }
    state.counters["gflops"] = benchmark::Counter(gradient_flops * double(fx.n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class S>
void hvp(benchmark::State& state) {
    fixture<S> fx(state.range(0));
    for (auto _ : state) {
        benchmark::DoNotOptimize(fx.objective.hvp(fx.f.parameters(), fx.input(), fx.target.data(), fx.v.data(), fx.ws,
                                                  fx.out.data()));
        benchmark::ClobberMemory();
    }
    state.counters["gflops"] = benchmark::Counter(hvp_flops * double(fx.n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(gradient<float>)->Name("melu_head/gradient/float")->ArgName("batch")->Arg(10)->Arg(32);
BENCHMARK(hvp<float>)->Name("melu_head/hvp/float")->ArgName("batch")->Arg(10)->Arg(32);
BENCHMARK(gradient<double>)->Name("melu_head/gradient/double")->ArgName("batch")->Arg(10)->Arg(32);
BENCHMARK(hvp<double>)->Name("melu_head/hvp/double")->ArgName("batch")->Arg(10)->Arg(32);

BENCHMARK_MAIN();
