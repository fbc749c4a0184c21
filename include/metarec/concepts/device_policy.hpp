// metarec: the device_policy concept (docs/concepts/device_policy.md).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <concepts>
#include <type_traits>

#include "../config.hpp"
#include "../device/execution_policy.hpp"

namespace metarec {

namespace detail {
struct probe_kernel {
    METAREC_HOST_DEVICE float operator()(index) const { return 0.0f; }
};
}  // namespace detail

/// A device policy: a tag type derived from `device::execution_policy<D>` that provides the
/// primitives listed there (`vector`, `for_each`, `reduce`, `gemm`, `to_host`, `to_device`)
/// for float and double. See docs/concepts/device_policy.md for a skeleton.
template <class D>
concept device_policy =
    std::is_base_of_v<device::execution_policy<D>, D> &&
    requires(index n, float* f, const float* cf, double* d, const double* cd) {
        typename D::template vector<float>;
        typename D::template vector<double>;
        { typename D::template vector<float>(n).data() } -> std::convertible_to<float*>;
        D::for_each(n, detail::probe_kernel{});
        { D::reduce(n, detail::probe_kernel{}) } -> std::convertible_to<float>;
        D::gemm(transpose::no, transpose::no, n, n, n, 1.0f, cf, n, cf, n, 0.0f, f, n);
        D::gemm(transpose::no, transpose::no, n, n, n, 1.0, cd, n, cd, n, 0.0, d, n);
        D::to_host(n, cf, f);
        D::to_device(n, cf, f);
    };

/// Fails with a readable message at the entry points that take a device policy.
template <class D>
constexpr bool check_device_policy() {
    // device::cpu is only declared by the headers that name it as a default (device/fwd.hpp)
    static_assert(requires { sizeof(D); },
                  "metarec: the device policy is declared but not defined here: include its header "
                  "(device::cpu: <metarec/device/cpu.hpp>; see docs/concepts/device_policy.md)");
    if constexpr (requires { sizeof(D); }) {
        static_assert(std::is_base_of_v<device::execution_policy<D>, D>,
                      "metarec: a device policy must derive from device::execution_policy<Self> "
                      "(see docs/concepts/device_policy.md)");
        static_assert(device_policy<D>,
                      "metarec: the device policy lacks one of vector<S>, for_each, reduce, gemm, "
                      "to_host, to_device (see docs/concepts/device_policy.md)");
    }
    return true;
}

}  // namespace metarec
