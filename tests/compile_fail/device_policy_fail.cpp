// expect: a device policy must derive from device::execution_policy<Self>
// The policy of the skeleton of docs/concepts/device_policy.md without its CRTP base.
#include <metarec/concepts/device_policy.hpp>
#include <metarec/device/cpu.hpp>

struct my_cpu {
    template <class S>
    static void axpy(metarec::index n, S a, const S* x, S* y) {
        for (metarec::index i = 0; i < n; ++i) y[i] += a * x[i];
    }
};

static_assert(metarec::check_device_policy<my_cpu>());
