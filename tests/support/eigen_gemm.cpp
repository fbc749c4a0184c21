// metarec tests: Eigen's GEMM kernels for float and double, compiled once for every test
// program (METAREC_EXTERN_GEMM, device/cpu.hpp), not in each of their translation units.
// SPDX-License-Identifier: Apache-2.0
#include <metarec/device/cpu.hpp>

METAREC_INSTANTIATE_GEMM()
