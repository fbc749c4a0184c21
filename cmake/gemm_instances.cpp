// metarec's own programs (tests, examples, benchmarks, documentation skeletons): Eigen's GEMM
// kernels for float and double, compiled once per program (METAREC_EXTERN_GEMM, device/cpu.hpp),
// not in each of its translation units. Built by metarec_gemm_instances() (CMakeLists.txt).
// SPDX-License-Identifier: Apache-2.0
#include <metarec/device/cpu.hpp>

METAREC_INSTANTIATE_GEMM()
