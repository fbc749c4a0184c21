// A user-defined device policy: device::cpu with its own axpy.
#include <metarec/concepts/device_policy.hpp>
#include <metarec/device/cpu.hpp>

struct my_cpu : metarec::device::basic_cpu<my_cpu> {
    template <class S>
    static void axpy(metarec::index n, S a, const S* x, S* y) {
        for (metarec::index i = 0; i < n; ++i) y[i] += a * x[i];
    }
};

static_assert(metarec::check_device_policy<my_cpu>());
