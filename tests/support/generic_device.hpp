// metarec tests: a device policy with only the primitives, every other operation from
// execution_policy's generic definitions (the ones a Thrust or user device inherits): the
// reference that device::cpu's specializations are checked against.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <metarec/device/cpu.hpp>
#include <metarec/device/execution_policy.hpp>

namespace metarec::test {

/// Only the primitives: every other operation comes from execution_policy's generic
/// definitions (the ones a Thrust or user device inherits).
struct generic_device : metarec::device::execution_policy<generic_device> {
    template <class S>
    using vector = metarec::device::cpu::vector<S>;
    template <class F>
    static void for_each(metarec::index n, F f) { metarec::device::cpu::for_each(n, f); }
    template <class F>
    static auto reduce(metarec::index n, F f) { return metarec::device::cpu::reduce(n, f); }
    template <class S>
    static void gemm(transpose ta, transpose tb, metarec::index m, metarec::index n, metarec::index k, S alpha, const S* a, metarec::index lda,
                     const S* b, metarec::index ldb, S beta, S* c, metarec::index ldc) {
        // the textbook triple loop, the reference for Eigen's
        for (metarec::index j = 0; j < n; ++j)
            for (metarec::index i = 0; i < m; ++i) {
                S acc = 0;
                for (metarec::index l = 0; l < k; ++l) {
                    const S av = ta == transpose::no ? a[l * lda + i] : a[i * lda + l];
                    const S bv = tb == transpose::no ? b[j * ldb + l] : b[l * ldb + j];
                    acc += av * bv;
                }
                c[j * ldc + i] = alpha * acc + (beta == S(0) ? S(0) : beta * c[j * ldc + i]);
            }
    }
    template <class S>
    static void to_host(metarec::index n, const S* src, S* dst) { metarec::device::cpu::to_host(n, src, dst); }
    template <class S>
    static void to_device(metarec::index n, const S* src, S* dst) { metarec::device::cpu::to_device(n, src, dst); }
};

}  // namespace metarec::test
