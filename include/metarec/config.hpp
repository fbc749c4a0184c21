// metarec: basic types and macros shared by every header.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>

/// Marks functions (kernel functors) callable from host and device code. Expands to
/// `__host__ __device__` under nvcc and to nothing otherwise.
#if defined(__CUDACC__)
#define METAREC_HOST_DEVICE __host__ __device__
#else
#define METAREC_HOST_DEVICE
#endif

namespace metarec {

/// Signed size and offset type of every flat vector and matrix dimension.
using index = std::ptrdiff_t;

/// Type of categorical ids (embedding rows) and of bag offsets in an input batch.
using id_type = std::int32_t;

/// A contiguous range `[offset, offset + size)` of a flat parameter vector: the slice a
/// meta-algorithm adapts, or the parameters whose gradient on a batch can be nonzero.
struct parameter_range {
    index offset = 0;
    index size = 0;
};

/// Whether a matrix operand is used as stored or transposed (BLAS convention).
enum class transpose : bool { no = false, yes = true };

}  // namespace metarec
