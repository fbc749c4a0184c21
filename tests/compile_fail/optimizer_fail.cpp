// expect: optimizer lacks a const member step
// metarec compile test: an optimizer without step() is rejected with a readable message.
// SPDX-License-Identifier: Apache-2.0
#include <metarec/concepts/optimizer.hpp>
#include <metarec/device/cpu.hpp>

// The optimizer of the skeleton of docs/concepts/optimizer.md with step() missing.
struct my_opt {
    double lr = 1e-3;
    double mu = 0.9;

    // one momentum scalar per parameter
    metarec::index state_size(metarec::index n) const { return n; }
};

static_assert(metarec::check_optimizer<my_opt, float, metarec::device::cpu>());
