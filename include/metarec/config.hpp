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

/// @namespace metarec
/// Header-only C++20 meta-learning for cold-start recommendation. The basic types, the
/// concepts (learner, loss_function, optimizer, device_policy) and objective live here; the
/// parts in nested namespaces: nn (networks), loss, optim, meta (meta-algorithms), device,
/// dist, data, eval, recsys, callbacks and io. `#include <metarec/metarec.hpp>` for the core.
namespace metarec {

/// Signed size and offset type of every flat vector and matrix dimension.
using index = std::ptrdiff_t;

/// Type of categorical ids (embedding rows) and of bag offsets in an input batch.
using id_type = std::int32_t;

/// A contiguous range `[offset, offset + size)` of a flat parameter vector: the slice a
/// meta-algorithm adapts, or the parameters whose gradient on a batch can be nonzero.
struct parameter_range {
    index offset = 0;  //!< first parameter of the range
    index size = 0;    //!< number of parameters
};

/// Where a task-batched pass finds each task's parameters. Parameter `o >= shared` of task t
/// lies at `o + t stride` of the vector (`theta`, and likewise `v`, `grad`, `hv`); the first
/// `shared` parameters are one copy that every task reads, and their gradients and Hessian
/// products come summed over the tasks. A meta-batch whose tasks adapt only the trailing
/// slice `[a, p)` (MeLU's head) keeps the rest once: `{p - a, a}`, `a + (p - a) tasks`
/// numbers instead of `p tasks`. `{p, 0}` (or just `p`): every task has all of its own.
struct task_layout {
    index stride = 0;  //!< distance between two tasks' own parameters
    index shared = 0;  //!< the parameters `[0, shared)` are shared by the tasks
    //! a layout with `shared` leading parameters shared (none by default)
    constexpr task_layout(index apart, index shared_count = 0) noexcept : stride(apart), shared(shared_count) {}
};

/// Whether a matrix operand is used as stored or transposed (BLAS convention).
enum class transpose : bool { no = false, yes = true };

}  // namespace metarec
