// metarec: the layer protocol shared by every building block of nn::sequential / nn::model.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../config.hpp"
#include "../detail/random.hpp"
#include "batch.hpp"

namespace metarec::nn {

/// A named, contiguous range of a learner's flat parameter vector (one layer's weights).
/// Meta-algorithms choose what adapts as a set of slices.
struct parameter_slice {
    std::string name;  //!< e.g. "dense", "embedding_bag"
    index offset = 0;  //!< first parameter
    index size = 0;    //!< number of parameters
    int depth = 0;     //!< 0: a layer of the top-level chain; +1 inside each concat branch
};

/// Where a task-batched pass finds each task's parameters (config.hpp).
using metarec::task_layout;

/// Common state of the layers: input rows, output rows and parameter offset, fixed by
/// `configure` when the enclosing model is built.
///
/// The layer protocol. A layer type `L` (a leaf such as `dense<64>`, or a composite such
/// as `sequential<...>`) is default constructible and provides
///
///  - `static constexpr std::string_view name`
///  - `index configure(const input_shape& source, index in_rows, index offset)`: fixes the
///    sizes (input rows from the previous layer; `source` is the network's input), records
///    its parameter offset, returns its output rows;
///  - `index parameter_count() const`;
///  - `template <class S> void initialize(S* theta, detail::rng& g) const`: writes its
///    slice of the (host) parameter vector;
///  - `void collect_slices(std::vector<parameter_slice>&, int depth) const` (derived for leaves);
///  - optionally `template <class S> void touched_parameters(const batch<S>& x,
///    std::vector<parameter_range>& out) const`: appends the parameters whose gradient on
///    the batch `x` can be nonzero (embeddings: the table columns of the ids in `x`, so
///    that meta-algorithms zero, copy and sum only those); by default a layer touches all
///    of its parameters;
///  - optionally `template <class S, class D> auto make_workspace(index max_samples) const`:
///    scratch buffers for one thread (composites hold their intermediate activations there);
///  - the four passes, templated on the device `D` (called as `l.template forward<D>(...)`),
///    where `x` is either the network input `const batch<S>&` (first layer) or the previous
///    layer's `in_rows x n` output `const S*`, `n` the number of samples, and every other
///    pointer an `rows x n` column-major matrix in device memory:
///
///      forward   (theta, x, y, n, ws)                   y  = f(theta, x)
///      backward  (theta, x, dy, dx, grad, n, ws)        grad += J_theta^T dy,  dx = J_x^T dy
///      r_forward (theta, v, x, rx, ry, n, ws)           ry = J_theta v + J_x rx
///      r_backward(theta, v, x, rx, dy, rdy, dx, rdx, grad, hv, n, ws)
///                  the fused backward and R-backward pass (Pearlmutter's R{.} operator):
///                  dx, grad as backward; rdx = R{dx}; hv += R{grad}
///
///    `dx`, `rdx`, `grad` may be null (not wanted); `rx` is null when x is data (R{x} = 0).
///    The backward passes may read what the matching forward pass wrote into `ws`;
///  - optionally, the task-batched passes: the same four passes for `tasks` tasks at once,
///    task t with parameters of its own at `theta + t layout.stride` (likewise `v`, `grad`,
///    `hv`; see task_layout) and n samples of its own, the columns `[t n, (t+1) n)` of `x`,
///    `y` and every other matrix:
///
///      forward_batched   (theta, layout, x, y, n, tasks, ws)
///      backward_batched  (theta, layout, x, dy, dx, grad, n, tasks, ws)
///      r_forward_batched (theta, v, layout, x, rx, ry, n, tasks, ws)
///      r_backward_batched(theta, v, layout, x, rx, dy, rdy, dx, rdx, grad, hv, n, tasks, ws)
///
///    A device runs them as batched operations (Device::gemm_batched, the batched bias
///    kernels, Device::gather_sum_batched): the number of launches does not grow with the
///    tasks. dense<N>, the activations, the embeddings (embedding, embedding_bag,
///    field_embeddings) and dense_features have them, and so has a sequential or a concat of
///    such layers (task_batched_layer). A composite calls its parts through
///    detail::forward_batched and the like, which run a part whose parameters the tasks
///    share as its single pass over the `n tasks` samples.
struct layer_base {
    //! rows of the input (features per sample)
    index in_rows() const noexcept { return in_rows_; }
    //! rows of the output
    index out_rows() const noexcept { return out_rows_; }
    //! first parameter of this layer in the flat vector
    index offset() const noexcept { return offset_; }

protected:
    /// @{
    /// @brief input rows, output rows and parameter offset, set by `configure`
    index in_rows_ = 0, out_rows_ = 0, offset_ = 0;
    /// @}
};

namespace detail {

//! the dense features of a network input, or a layer output as is
template <class S>
const S* matrix_of(const S* x) noexcept {
    return x;
}
template <class S>
const S* matrix_of(const batch<S>& x) noexcept {
    return x.dense;
}

//! The workspace of layers that need none.
struct no_workspace {};

template <class S, class D, class L>
auto make_workspace(const L& layer, index max_samples) {
    if constexpr (requires { layer.template make_workspace<S, D>(max_samples); })
        return layer.template make_workspace<S, D>(max_samples);
    else
        return no_workspace{};
}

template <class L, class S, class D>
using workspace_t = decltype(make_workspace<S, D>(std::declval<const L&>(), index{}));

/// A layer with the task-batched passes (layer protocol), on the network input or on a
/// layer output: what nn::model's batched passes need of every layer of the network.
template <class L, class S, class D>
concept task_batched_layer =
    requires(const L& l, const S* p, S* q, index n, const batch<S>& x, workspace_t<L, S, D>& ws) {
        l.template forward_batched<D>(p, n, x, q, n, n, ws);
    } || requires(const L& l, const S* p, S* q, index n, workspace_t<L, S, D>& ws) {
        l.template forward_batched<D>(p, n, p, q, n, n, ws);
    };

/// The R-passes, single and task-batched, of a layer that is linear in its parameters and
/// reads the network input (the embeddings): R{y} is the layer's own computation in the
/// direction's parameters v, and as y has no second derivative in them, R{dy} alone feeds hv
/// (the backward pass of rdy into hv). CRTP: `Derived` gives forward, backward and their
/// task-batched forms.
template <class Derived>
struct linear_in_parameters {
    template <class D, class S, class X>
    void r_forward(const S*, const S* v, const X& x, const S*, S* ry, index n, auto& ws) const {
        self().template forward<D>(v, x, ry, n, ws);
    }
    template <class D, class S, class X>
    void r_backward(const S* theta, const S*, const X& x, const S*, const S* dy, const S* rdy, S* dx, S*, S* grad,
                    S* hv, index n, auto& ws) const {
        self().template backward<D>(theta, x, dy, dx, grad, n, ws);
        self().template backward<D>(theta, x, rdy, dx, hv, n, ws);
    }
    template <class D, class S, class X>
    void r_forward_batched(const S*, const S* v, task_layout layout, const X& x, const S*, S* ry, index n,
                           index tasks, auto& ws) const {
        self().template forward_batched<D>(v, layout, x, ry, n, tasks, ws);
    }
    template <class D, class S, class X>
    void r_backward_batched(const S* theta, const S*, task_layout layout, const X& x, const S*, const S* dy,
                            const S* rdy, S* dx, S*, S* grad, S* hv, index n, index tasks, auto& ws) const {
        self().template backward_batched<D>(theta, layout, x, dy, dx, grad, n, tasks, ws);
        self().template backward_batched<D>(theta, layout, x, rdy, dx, hv, n, tasks, ws);
    }

private:
    const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

/// The task-batched passes of a layer without parameters that treats every sample (column)
/// on its own (activations, dense_features): the tasks' n samples each are one matrix of `n
/// tasks` columns, through the layer's single passes. CRTP: `Derived` gives the four passes.
template <class Derived>
struct same_for_every_task {
    template <class D, class S, class X>
    void forward_batched(const S* theta, task_layout, const X& x, S* y, index n, index tasks, auto& ws) const {
        self().template forward<D>(theta, x, y, n * tasks, ws);
    }
    template <class D, class S, class X>
    void backward_batched(const S* theta, task_layout, const X& x, const S* dy, S* dx, S* grad, index n, index tasks,
                          auto& ws) const {
        self().template backward<D>(theta, x, dy, dx, grad, n * tasks, ws);
    }
    template <class D, class S, class X>
    void r_forward_batched(const S* theta, const S* v, task_layout, const X& x, const S* rx, S* ry, index n,
                           index tasks, auto& ws) const {
        self().template r_forward<D>(theta, v, x, rx, ry, n * tasks, ws);
    }
    template <class D, class S, class X>
    void r_backward_batched(const S* theta, const S* v, task_layout, const X& x, const S* rx, const S* dy,
                            const S* rdy, S* dx, S* rdx, S* grad, S* hv, index n, index tasks, auto& ws) const {
        self().template r_backward<D>(theta, v, x, rx, dy, rdy, dx, rdx, grad, hv, n * tasks, ws);
    }

private:
    const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

/// @{
/// @brief How a composite runs its part `l` task-batched: as `l`'s task-batched pass, or, when
/// the tasks share all of `l`'s parameters (layout.shared), as its single pass over the `n
/// tasks` samples. One set of parameters seen by every sample is a single pass, and the sum
/// over the tasks of their gradients is the gradient over all the samples.
template <class L>
bool shared_by_tasks(const L& l, task_layout layout) noexcept {
    return l.offset() + l.parameter_count() <= layout.shared;
}
template <class D, class L, class S, class X, class W>
void forward_batched(const L& l, const S* theta, task_layout layout, const X& x, S* y, index n, index tasks, W& ws) {
    if (shared_by_tasks(l, layout)) return l.template forward<D>(theta, x, y, n * tasks, ws);
    l.template forward_batched<D>(theta, layout, x, y, n, tasks, ws);
}
template <class D, class L, class S, class X, class W>
void backward_batched(const L& l, const S* theta, task_layout layout, const X& x, const S* dy, S* dx, S* grad, index n,
                      index tasks, W& ws) {
    if (shared_by_tasks(l, layout)) return l.template backward<D>(theta, x, dy, dx, grad, n * tasks, ws);
    l.template backward_batched<D>(theta, layout, x, dy, dx, grad, n, tasks, ws);
}
template <class D, class L, class S, class X, class W>
void r_forward_batched(const L& l, const S* theta, const S* v, task_layout layout, const X& x, const S* rx, S* ry,
                       index n, index tasks, W& ws) {
    if (shared_by_tasks(l, layout)) return l.template r_forward<D>(theta, v, x, rx, ry, n * tasks, ws);
    l.template r_forward_batched<D>(theta, v, layout, x, rx, ry, n, tasks, ws);
}
template <class D, class L, class S, class X, class W>
void r_backward_batched(const L& l, const S* theta, const S* v, task_layout layout, const X& x, const S* rx,
                        const S* dy, const S* rdy, S* dx, S* rdx, S* grad, S* hv, index n, index tasks, W& ws) {
    if (shared_by_tasks(l, layout))
        return l.template r_backward<D>(theta, v, x, rx, dy, rdy, dx, rdx, grad, hv, n * tasks, ws);
    l.template r_backward_batched<D>(theta, v, layout, x, rx, dy, rdy, dx, rdx, grad, hv, n, tasks, ws);
}
/// @}

template <class L>
void collect_slices(const L& layer, std::vector<parameter_slice>& out, int depth) {
    if constexpr (requires { layer.collect_slices(out, depth); })
        layer.collect_slices(out, depth);
    else if (layer.parameter_count() > 0)
        out.push_back({std::string(L::name), layer.offset(), layer.parameter_count(), depth});
}

//! appends what the gradient of `layer` on `x` can touch (layer protocol: touched_parameters)
template <class L, class S>
void touched_parameters(const L& layer, const batch<S>& x, std::vector<parameter_range>& out) {
    if constexpr (requires { layer.touched_parameters(x, out); })
        layer.touched_parameters(x, out);
    else if (layer.parameter_count() > 0)
        out.push_back({layer.offset(), layer.parameter_count()});
}

//! appends the columns `offset + id * dim` of the ids of one field of n samples (a bag
//! field when `offsets` is not null)
inline void touched_columns(index dim, index n, const id_type* offsets, const id_type* ids, index offset,
                            std::vector<parameter_range>& out) {
    const index count = offsets ? index(offsets[n]) : n;
    for (index i = 0; i < count; ++i) out.push_back({offset + index(ids[i]) * dim, dim});
}

}  // namespace detail
}  // namespace metarec::nn
