// metarec tests: device operations (device::cpu and the generic execution_policy defaults),
// and a user-defined policy that overrides one kernel.
// SPDX-License-Identifier: Apache-2.0
#include <limits>
#include <type_traits>

#include <doctest/doctest.h>

#include <metarec/device/cpu.hpp>
#include <metarec/loss/loss.hpp>
#include <metarec/loss/objective.hpp>
#include <metarec/nn/nn.hpp>

#include "../support/generic_device.hpp"
#include "../support/numeric.hpp"
#include "cross_device.hpp"

namespace mr = metarec;
using mr::transpose;

namespace {

using generic = mr::test::generic_device;
static_assert(mr::device_policy<generic>);
static_assert(mr::device_policy<mr::device::cpu>);

/// A user policy: device::cpu with its own axpy, counting calls.
inline int custom_axpy_calls = 0;
struct counting_cpu : mr::device::basic_cpu<counting_cpu> {
    template <class S>
    static void axpy(mr::index n, S alpha, const S* x, S* y) {
        ++custom_axpy_calls;
        for (mr::index i = 0; i < n; ++i) y[i] += alpha * x[i];
    }
};
static_assert(mr::device_policy<counting_cpu>);

std::vector<double> random(std::size_t n, std::uint64_t seed) {
    mr::detail::rng g(seed);
    return mr::test::random_vector(g, n);
}

}  // namespace

TEST_CASE("gemm: Eigen matches the triple loop for every transpose, stride and beta") {
    const mr::index m = 5, n = 4, pad = 2;
    for (mr::index k : {3, 1})  // k = 1: the rank-one path
        for (auto ta : {transpose::no, transpose::yes})
            for (auto tb : {transpose::no, transpose::yes})
                for (double beta : {0.0, 1.0, -0.5}) {
                    CAPTURE(k);
                    const mr::index lda = (ta == transpose::no ? m : k) + pad, ldb = (tb == transpose::no ? k : n) + pad,
                                ldc = m + pad;
                    const auto a = random(std::size_t(lda * (ta == transpose::no ? k : m)), 1);
                    const auto b = random(std::size_t(ldb * (tb == transpose::no ? n : k)), 2);
                    auto c1 = random(std::size_t(ldc * n), 3), c2 = c1;
                    // beta == 0: C is not read (a NaN there must not survive)
                    if (beta == 0.0) c1[0] = std::numeric_limits<double>::quiet_NaN();
                    mr::device::cpu::gemm(ta, tb, m, n, k, 0.7, a.data(), lda, b.data(), ldb, beta, c1.data(), ldc);
                    generic::gemm(ta, tb, m, n, k, 0.7, a.data(), lda, b.data(), ldb, beta, c2.data(), ldc);
                    for (mr::index j = 0; j < n; ++j)  // the padding rows are not written
                        for (mr::index i = m; i < ldc; ++i) CHECK(c1[std::size_t(j * ldc + i)] == c2[std::size_t(j * ldc + i)]);
                    for (mr::index j = 0; j < n; ++j)
                        for (mr::index i = 0; i < m; ++i)
                            CHECK(c1[std::size_t(j * ldc + i)] == doctest::Approx(c2[std::size_t(j * ldc + i)]).epsilon(1e-14));
                }
}

TEST_CASE_TEMPLATE("gemm: a wide product in column blocks is bit for bit one Eigen product", S, float, double) {
    // n above EIGEN_STACK_ALLOCATION_LIMIT / (k sizeof(S)): device::cpu splits the columns (no
    // heap buffer at serving time); every element must be the same sum in the same order
    using matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
    struct shape { mr::index m, n, k; };
    for (const auto [m, n, k] : {shape{64, 1000, 256}, shape{7, 777, 300}, shape{600, 301, 256}, shape{33, 2 * 4096 + 5, 8}})
        for (auto ta : {transpose::no, transpose::yes})
            for (auto tb : {transpose::no, transpose::yes})
                for (S beta : {S(0), S(1)}) {
                    CAPTURE(m);
                    CAPTURE(k);
                    const matrix A = matrix::Random(ta == transpose::no ? m : k, ta == transpose::no ? k : m);
                    const matrix B = matrix::Random(tb == transpose::no ? k : n, tb == transpose::no ? n : k);
                    const matrix C0 = matrix::Random(m, n);
                    const S alpha = S(0.7);
                    matrix blocked = C0, whole = C0;
                    mr::device::cpu::gemm(ta, tb, m, n, k, alpha, A.data(), A.rows(), B.data(), B.rows(), beta,
                                          blocked.data(), m);
                    const auto product = [&](const auto& opA, const auto& opB) {
                        if (beta == S(0)) whole.noalias() = (alpha * opA) * opB;
                        else whole.noalias() += (alpha * opA) * opB;
                    };
                    if (ta == transpose::no && tb == transpose::no) product(A, B);
                    else if (ta == transpose::no) product(A, B.transpose());
                    else if (tb == transpose::no) product(A.transpose(), B);
                    else product(A.transpose(), B.transpose());
                    CHECK((blocked.array() == whole.array()).all());
                }
}

TEST_CASE_TEMPLATE("gemm: a product of a few columns or of a small depth is streamed with Eigen's sums", S, float,
                   double) {
    // with SIMD vectors of up to 256 bits, device::cpu multiplies A (m x k, m a multiple of the
    // packet) by op(B) without packing either, where op(B) has 2..12 columns (a task's samples,
    // k <= 256) or more and k <= 16 (a weight gradient dY X^T: in blocks of 6), B as it is or
    // transposed: the same value as Eigen's product within rounding, and bit for bit where
    // Eigen's depth block holds k (k = 10 and 64 on any cache) and its kernel takes the rows in
    // blocks of 2 or 3 packets; C not read at beta 0 (with wider vectors, Eigen's own product:
    // the same checks)
    using matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
    const double tolerance = std::is_same_v<S, float> ? 1e-5 : 1e-13;
    for (const auto tb : {transpose::no, transpose::yes})
        for (const mr::index m : {8, 16, 24, 64, 72})
            for (const mr::index n : {1, 2, 3, 10, 12, 13, 18, 100, 257})
                for (const mr::index k : {1, 3, 10, 16, 64, 200})
                    for (const S beta : {S(0), S(1)}) {
                        CAPTURE(tb == transpose::yes);
                        CAPTURE(m);
                        CAPTURE(n);
                        CAPTURE(k);
                        const mr::index lda = m + 3, ldc = m + 1;  // strides past the rows
                        const mr::index ldb = tb == transpose::no ? k + 2 : n + 2;
                        const matrix A = matrix::Random(lda, k), B = tb == transpose::no ? matrix::Random(ldb, n)
                                                                                        : matrix::Random(ldb, k);
                        matrix C = matrix::Random(ldc, n);
                        const matrix C0 = C;
                        if (beta == S(0)) C(0, 0) = std::numeric_limits<S>::quiet_NaN();
                        mr::device::cpu::gemm(transpose::no, tb, m, n, k, S(1), A.data(), lda, B.data(), ldb, beta,
                                              C.data(), ldc);
                        matrix expected = C0;
                        const matrix opB = tb == transpose::no ? matrix(B.topRows(k)) : matrix(B.topRows(n).transpose());
                        if (beta == S(0)) expected.topRows(m).noalias() = A.topRows(m) * opB;
                        else expected.topRows(m).noalias() += A.topRows(m) * opB;
                        CHECK(((C.topRows(m) - expected.topRows(m)).cwiseAbs().maxCoeff()) <=
                              tolerance * (1 + expected.topRows(m).cwiseAbs().maxCoeff()));
                        CHECK((C.bottomRows(ldc - m).array() == C0.bottomRows(ldc - m).array()).all());  // padding untouched
                        // Eigen's kernel takes rows 3 packets at a time; a lone last packet it sums in
                        // two halves, which the stream does not (m = 8 floats on 256 bits, 16 doubles)
                        const mr::index packets = m / mr::device::detail::packet_size<S>;
                        if ((k == 10 || k == 64) && packets % 3 != 1)
                            CHECK((C.topRows(m).array() == expected.topRows(m).array()).all());
                    }
}

TEST_CASE_TEMPLATE("BLAS-1, bias and block operations: cpu equals the generic definitions", S, float, double) {
    const mr::index n = 37;
    std::vector<S> x(n), y1(n), y2(n);
    for (mr::index i = 0; i < n; ++i) x[std::size_t(i)] = S(0.5) * S(i % 7) - S(1), y1[std::size_t(i)] = S(i % 3);
    y2 = y1;
    mr::device::cpu::axpy(n, S(2), x.data(), y1.data());
    generic::axpy(n, S(2), x.data(), y2.data());
    CHECK(y1 == y2);
    mr::device::cpu::scal(n, S(-3), y1.data());
    generic::scal(n, S(-3), y2.data());
    CHECK(y1 == y2);
    CHECK(mr::device::cpu::dot(n, x.data(), y1.data()) == doctest::Approx(double(generic::dot(n, x.data(), y2.data()))));
    mr::device::cpu::fill(n, S(4), y1.data());
    generic::fill(n, S(4), y2.data());
    CHECK(y1 == y2);

    const mr::index rows = 3, cols = 4;
    std::vector<S> b{1, 2, 3}, m1(x.begin(), x.begin() + rows * cols), m2 = m1, s1(rows, S(1)), s2 = s1;
    mr::device::cpu::add_to_columns(rows, cols, b.data(), m1.data());
    generic::add_to_columns(rows, cols, b.data(), m2.data());
    CHECK(m1 == m2);
    CHECK(m1[4] == x[4] + S(2));
    mr::device::cpu::sum_columns(rows, cols, m1.data(), s1.data());
    generic::sum_columns(rows, cols, m2.data(), s2.data());
    CHECK(mr::test::relative_error(s1, s2) < 1e-6);

    // the batched bias operations of 3 tasks (biases 4 apart): cpu's task loop and the generic kernel
    const mr::index count = 3, stride = 4;
    std::vector<S> bb(std::size_t(stride * count)), mb1(std::size_t(rows * cols * count)), sb1(bb.size(), S(0.5));
    for (std::size_t i = 0; i < bb.size(); ++i) bb[i] = S(i) - S(5);
    for (std::size_t i = 0; i < mb1.size(); ++i) mb1[i] = S(0.25) * S(i % 11);
    auto mb2 = mb1, sb2 = sb1;
    mr::device::cpu::add_to_columns_batched(rows, cols, count, bb.data(), stride, mb1.data());
    generic::add_to_columns_batched(rows, cols, count, bb.data(), stride, mb2.data());
    CHECK(mb1 == mb2);
    CHECK(mb1[std::size_t(2 * rows * cols + 3 * rows + 1)] == S(0.25) * S((2 * rows * cols + 3 * rows + 1) % 11) + bb[2 * stride + 1]);
    mr::device::cpu::sum_columns_batched(rows, cols, count, mb1.data(), sb1.data(), stride);
    generic::sum_columns_batched(rows, cols, count, mb2.data(), sb2.data(), stride);
    CHECK(mr::test::relative_error(sb1, sb2) < 1e-6);
    CHECK(sb1[3] == S(0.5));  // the gap between two tasks' biases is not written
    S column_sum = S(0.5);
    for (mr::index j = 0; j < cols; ++j) column_sum += mb1[std::size_t(rows * cols + j * rows + 2)];
    CHECK(sb1[std::size_t(stride + 2)] == doctest::Approx(double(column_sum)));

    std::vector<S> block(2 * 3, S(0));
    generic::copy_block(2, 3, m1.data() + 1, rows, block.data(), 2);  // rows 1..2 of the 3 x 4 matrix
    CHECK(block[0] == m1[1]);
    CHECK(block[5] == m1[2 * rows + 2]);
    std::vector<S> block_cpu(2 * 3, S(0)), whole_cpu(rows * cols), whole_generic(rows * cols);
    mr::device::cpu::copy_block(2, 3, m1.data() + 1, rows, block_cpu.data(), 2);
    CHECK(block_cpu == block);
    mr::device::cpu::copy_block(rows, cols, m1.data(), rows, whole_cpu.data(), rows);  // contiguous: one copy
    generic::copy_block(rows, cols, m1.data(), rows, whole_generic.data(), rows);
    CHECK(whole_cpu == whole_generic);
    CHECK(whole_cpu == m1);
}

TEST_CASE_TEMPLATE("gather_sum / scatter_add: embedding lookup with pooling and its adjoint", S, float, double) {
    const mr::index dim = 3, vocabulary = 5;
    std::vector<S> table(dim * vocabulary);
    for (std::size_t i = 0; i < table.size(); ++i) table[i] = S(i);
    const std::vector<mr::id_type> offsets{0, 2, 2, 5}, ids{1, 4, 0, 0, 3};
    for (bool mean : {false, true}) {
        std::vector<S> out1(dim * 3, S(-7)), out2 = out1;
        mr::device::cpu::gather_sum(dim, 3, offsets.data(), ids.data(), mean, table.data(), out1.data(), dim);
        generic::gather_sum(dim, 3, offsets.data(), ids.data(), mean, table.data(), out2.data(), dim);
        CHECK(out1 == out2);
        const S w = mean ? S(0.5) : S(1);
        CHECK(out1[0] == w * (table[3] + table[12]));  // segment 0: ids 1 and 4, row 0
        CHECK(out1[3] == S(0));                        // the empty segment 1
        // adjoint: <gather(T), G> == <T, scatter(G)>
        const auto g = random(std::size_t(dim * 3), 5);
        std::vector<S> grad(g.begin(), g.end()), acc1(table.size(), S(0)), acc2 = acc1;
        mr::device::cpu::scatter_add(dim, 3, offsets.data(), ids.data(), mean, grad.data(), dim, acc1.data());
        generic::scatter_add(dim, 3, offsets.data(), ids.data(), mean, grad.data(), dim, acc2.data());
        CHECK(mr::test::relative_error(acc1, acc2) < 1e-6);
        double lhs = 0, rhs = 0;
        for (std::size_t i = 0; i < out1.size(); ++i) lhs += double(out1[i]) * double(grad[i]);
        for (std::size_t i = 0; i < table.size(); ++i) rhs += double(table[i]) * double(acc1[i]);
        CHECK(lhs == doctest::Approx(rhs).epsilon(1e-6));
        CHECK(acc1[2 * dim] == S(0));  // id 2 unused: untouched
    }
    // into rows 1..dim of a taller matrix (leading dimension dim + 2), and back
    {
        const mr::index ld = dim + 2;
        std::vector<S> tall1(ld * 3, S(-1)), tall2 = tall1;
        mr::device::cpu::gather_sum(dim, 3, offsets.data(), ids.data(), true, table.data(), tall1.data() + 1, ld);
        generic::gather_sum(dim, 3, offsets.data(), ids.data(), true, table.data(), tall2.data() + 1, ld);
        CHECK(tall1 == tall2);
        CHECK(tall1[0] == S(-1));                                         // row 0 untouched
        CHECK(tall1[std::size_t(ld + 1)] == S(0));                        // empty segment 1
        CHECK(tall1[1] == S(0.5) * (table[3] + table[12]));               // segment 0, row 0
        std::vector<S> acc1(table.size(), S(0)), acc2 = acc1;
        mr::device::cpu::scatter_add(dim, 3, offsets.data(), ids.data(), true, tall1.data() + 1, ld, acc1.data());
        generic::scatter_add(dim, 3, offsets.data(), ids.data(), true, tall1.data() + 1, ld, acc2.data());
        CHECK(mr::test::relative_error(acc1, acc2) < 1e-6);
    }
    // without offsets: one id per output column
    std::vector<S> single(dim * 2);
    mr::device::cpu::gather_sum(dim, 2, nullptr, ids.data() + 1, false, table.data(), single.data(), dim);
    CHECK(single[0] == table[4 * dim]);
    CHECK(single[3] == table[0]);
}

TEST_CASE("a network computes the same on the generic policy, and a user policy overrides one kernel") {
    using spec = mr::nn::sequential<mr::nn::concat<mr::nn::embedding<3, 0>, mr::nn::embedding_bag<3, 0>, mr::nn::dense<2>>,
                                    mr::nn::dense<4>, mr::nn::concat<mr::nn::tanh, mr::nn::identity>, mr::nn::dense<1>>;
    const mr::nn::input_shape shape{.dense = 2, .categorical = {5}, .multi = {6}};
    mr::test::random_batch<double> data{shape, 7, 3};
    const std::vector<double> target{1, 2, 3, 4, 5, 6, 7};

    const auto gradient_on = [&]<class Device>(Device) {
        mr::nn::model<spec, double, Device> f{shape, 8};
        mr::objective<decltype(f), mr::loss::mse> objective{f};
        auto ws = objective.make_workspace(7);
        std::vector<double> grad(std::size_t(f.parameter_count())), hv(grad.size()), v(grad.size(), 0.25);
        objective.hvp(f.parameters(), data.view(), target.data(), v.data(), ws, hv.data(), grad.data());
        grad.insert(grad.end(), hv.begin(), hv.end());
        return grad;
    };
    const auto reference = gradient_on(mr::device::cpu{});
    CHECK(mr::test::relative_error(reference, gradient_on(generic{})) < 1e-13);
    custom_axpy_calls = 0;
    CHECK(mr::test::relative_error(reference, gradient_on(counting_cpu{})) < 1e-13);
    CHECK(custom_axpy_calls > 0);  // the concat's input-gradient sum went through the override
}

TEST_CASE_TEMPLATE("all_finite: NaN or an infinity anywhere, on the CPU and in the generic reduction", S, float, double) {
    std::vector<S> x(1000, S(1.5));
    CHECK(mr::device::cpu::all_finite(mr::index(x.size()), x.data()));
    CHECK(generic::all_finite(mr::index(x.size()), x.data()));
    for (const std::size_t at : {std::size_t(0), std::size_t(517), std::size_t(999)}) {
        for (const S bad : {std::numeric_limits<S>::quiet_NaN(), std::numeric_limits<S>::infinity(), -std::numeric_limits<S>::infinity()}) {
            auto y = x;
            y[at] = bad;
            CHECK_FALSE(mr::device::cpu::all_finite(mr::index(y.size()), y.data()));
            CHECK_FALSE(generic::all_finite(mr::index(y.size()), y.data()));
            CHECK(mr::device::cpu::all_finite(mr::index(at), y.data()));  // before it
        }
    }
    CHECK(mr::device::cpu::all_finite(0, x.data()));
}

namespace {
// marks element i of task t (row i of column t of an n x tasks matrix)
struct mark_kernel {
    mr::index n;
    int* seen;
    void operator()(mr::index i, mr::index t) const { seen[t * n + i] += 1; }
};
}  // namespace

TEST_CASE("for_each_task: every element of every task once, on the CPU (task by task) and in the generic kernel") {
    const mr::index n = 37, tasks = 5;
    std::vector<int> cpu_seen(std::size_t(n * tasks), 0), generic_seen = cpu_seen;
    mr::device::cpu::for_each_task(n, tasks, mark_kernel{n, cpu_seen.data()});
    generic::for_each_task(n, tasks, mark_kernel{n, generic_seen.data()});
    CHECK(cpu_seen == std::vector<int>(std::size_t(n * tasks), 1));
    CHECK(generic_seen == cpu_seen);
    mr::device::cpu::for_each_task(n, 0, mark_kernel{n, cpu_seen.data()});  // no task: nothing
    CHECK(cpu_seen == generic_seen);
}

// device::cpu's batched passes (a gemm per task, its bias kernels task by task) and the
// generic ones (the triple-loop gemm per task, the one-kernel bias operations) against the
// single-task passes
TEST_CASE_TEMPLATE("task-batched passes of an MLP equal the passes task by task", C,
                   mr::test::cross::config<mr::device::cpu, float>, mr::test::cross::config<mr::device::cpu, double>,
                   mr::test::cross::config<generic, double>) {
    mr::test::cross::check_batched_passes<C>();
}
