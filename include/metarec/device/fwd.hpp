// metarec: forward declarations of the device policies, for headers that name one as a default.
// SPDX-License-Identifier: Apache-2.0
#pragma once

// As Eigen's ForwardDeclarations.h: a header that names `device::cpu` only as the default of
// a template parameter (the concepts, optim::state, the optimizers, nn::batch_data) includes
// this one instead of device/cpu.hpp, and so does not pull in <Eigen/Core>. Where the default
// is used (an optim::state<float>, say), device::cpu must be defined: include
// <metarec/device/cpu.hpp> (metarec/metarec.hpp and every learner header do).

namespace metarec::device {

template <class Derived>
struct execution_policy;  // device/execution_policy.hpp

template <class Derived>
struct basic_cpu;  // device/cpu.hpp

struct cpu;  // device/cpu.hpp: the default device policy (Eigen on the host CPU)

}  // namespace metarec::device
