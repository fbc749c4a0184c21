// metarec: a network bound to a scalar type, a device and one flat parameter vector.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../concepts/device_policy.hpp"
#include "../detail/ranges.hpp"
#include "../device/cpu.hpp"
#include "layer.hpp"
#include "sequential.hpp"

namespace metarec::nn {

/// A learner built from a layer specification: owns ONE contiguous parameter vector in
/// which every layer is a view at a fixed offset (`slices()` names them).
///
/// Every computation takes the parameters `theta` explicitly, so that meta-algorithms
/// evaluate the same network at many fast weights without copying the model, and takes a
/// workspace, so that threads share one model (one workspace per thread). Workspaces grow
/// on the first larger batch and are reused afterwards: the passes do not allocate.
///
/// @code
/// using net = metarec::nn::model<metarec::nn::sequential<dense<40>, relu, dense<40>, relu, dense<1>>, double>;
/// net f{{.dense = 1}, /*seed=*/7};
/// auto ws = f.make_workspace(10);
/// f.forward(f.parameters(), batch<double>::dense_only(x, 1, 10), ws, y);
/// @endcode
/// @tparam Spec   the network: a layer or a composite (`sequential<...>`, `concat<...>`)
/// @tparam Scalar `float` or `double`
/// @tparam Device device policy (device::cpu by default)
template <class Spec, class Scalar = float, class Device = device::cpu>
class model {
    static_assert(check_device_policy<Device>());
    static_assert(std::is_floating_point_v<Scalar>, "metarec: model<Spec, Scalar>: Scalar must be float or double");

public:
    using scalar_type = Scalar;                                    //!< float or double
    using device_type = Device;                                    //!< where parameters and activations live
    using input_type = batch<Scalar>;                              //!< what the model reads
    using vector_type = typename Device::template vector<Scalar>;  //!< a device buffer

    //! per-thread scratch memory (intermediate activations and their derivatives)
    struct workspace_type {
        index capacity = 0;  //!< largest batch it holds
        detail::workspace_t<Spec, Scalar, Device> layers;  //!< the network's own workspace (Spec::make_workspace)
    };

    /// Builds the network for inputs of the given shape and initializes its parameters.
    /// @param shape input features (dense dimension, categorical vocabularies)
    /// @param seed  seed of the deterministic initialization (same seed, same parameters)
    explicit model(input_shape shape, std::uint64_t seed = 0) : shape_(std::move(shape)) {
        check_groups(shape_.dense_group, shape_.dense, "dense rows");
        check_groups(shape_.categorical_group, index(shape_.categorical.size()), "categorical fields");
        check_groups(shape_.multi_group, index(shape_.multi.size()), "multi-valued fields");
        out_rows_ = spec_.configure(shape_, shape_.dense, 0);
        count_ = spec_.parameter_count();
        detail::collect_slices(spec_, slices_, 0);
        std::vector<Scalar> host(static_cast<std::size_t>(count_));
        metarec::detail::rng g(seed);
        spec_.initialize(host.data(), g);
        params_ = vector_type(count_);
        Device::to_device(count_, host.data(), params_.data());
    }

    //! number of parameters
    index parameter_count() const noexcept { return count_; }
    //! outputs per sample (rows of the prediction matrix)
    index output_rows() const noexcept { return out_rows_; }
    //! the parameters (device memory)
    Scalar* parameters() noexcept { return params_.data(); }
    //! the parameters (device memory), read-only
    const Scalar* parameters() const noexcept { return params_.data(); }
    //! the parameter ranges of the layers, in order
    const std::vector<parameter_slice>& slices() const noexcept { return slices_; }
    //! the input shape the model was built for
    const input_shape& shape() const noexcept { return shape_; }
    //! the network
    const Spec& network() const noexcept { return spec_; }

    /// What a saved model must agree on to be loaded into this one (meta::algorithm::save):
    /// the layers with their parameter ranges, the outputs and the input shape.
    std::vector<std::pair<std::string, std::string>> configuration() const {
        const auto join = [](const auto& values) {
            std::string out;
            for (const auto& v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
            return out;
        };
        std::string layers;
        for (const auto& s : slices_)
            layers += (layers.empty() ? "" : " ") + s.name + "[" + std::to_string(s.offset) + "+" + std::to_string(s.size) + "]";
        return {{"layers", layers},
                {"outputs", std::to_string(out_rows_)},
                {"shape.dense", std::to_string(shape_.dense)},
                {"shape.categorical", join(shape_.categorical)},
                {"shape.multi", join(shape_.multi)},
                {"shape.groups", join(shape_.dense_group) + ";" + join(shape_.categorical_group) + ";" +
                                     join(shape_.multi_group)}};
    }

    //! scratch memory for batches of up to `max_samples` samples (grows on demand)
    workspace_type make_workspace(index max_samples = 1) const {
        return {max_samples, detail::make_workspace<Scalar, Device>(spec_, max_samples)};
    }

    /// Throws std::invalid_argument when the batch does not match the input shape: dense
    /// dimension, number of fields, ids outside a vocabulary, malformed bag offsets.
    void validate(const input_type& x) const {
        if (x.size() < 0) throw std::invalid_argument("metarec: a batch cannot have a negative size");
        if (x.dense_dim != shape_.dense)
            throw std::invalid_argument("metarec: the batch has " + std::to_string(x.dense_dim) +
                                        " dense features, the model expects " + std::to_string(shape_.dense));
        if (x.size() > 0 && shape_.dense > 0 && !x.dense)
            throw std::invalid_argument("metarec: the batch has no dense feature data");
        if (x.categorical.size() != shape_.categorical.size() || x.multi.size() != shape_.multi.size())
            throw std::invalid_argument("metarec: the batch has " + std::to_string(x.categorical.size()) +
                                        " categorical and " + std::to_string(x.multi.size()) +
                                        " multi-valued fields, the model expects " +
                                        std::to_string(shape_.categorical.size()) + " and " +
                                        std::to_string(shape_.multi.size()));
        detail::validate_layer<Spec, Device>(spec_, x);
    }

    /// The parameters whose gradient on the batch `x` can be nonzero, as disjoint ranges in
    /// increasing order (overwrites `out`, reusing its capacity): every layer's parameters
    /// except the embedding tables, of which only the columns of the ids in `x`. Meta-
    /// algorithms zero, copy and sum only these (objective::gradient with ranges).
    void touched_parameters(const input_type& x, std::vector<parameter_range>& out) const {
        out.clear();
        if constexpr (Device::host_memory) {
            detail::touched_parameters(spec_, x, out);
            metarec::detail::coalesce(out);
        } else {
            out.push_back({0, count_});  // the ids live on the device: every parameter (dense gradients)
        }
    }

    /// Predictions `pred` (`output_rows() x x.size()`, column-major) at parameters `theta`.
    /// Validates the batch first (validate()).
    void forward(const Scalar* theta, const input_type& x, workspace_type& ws, Scalar* pred) const {
        validate(x);
        if (x.size() > ws.capacity) ws = make_workspace(x.size());
        spec_.template forward<Device>(theta, x, pred, x.size(), ws.layers);
    }

    /// `grad += J^T dpred`: the parameter gradient of `<dpred, pred>`, for the batch of the
    /// last forward() with the same workspace.
    void backward(const Scalar* theta, const input_type& x, workspace_type& ws, const Scalar* dpred,
                  Scalar* grad) const {
        require_forward(x, ws);
        spec_.template backward<Device>(theta, x, dpred, static_cast<Scalar*>(nullptr), grad, x.size(), ws.layers);
    }

    /// `rpred = J v`: the directional derivative of the predictions along `v` (after forward()).
    void r_forward(const Scalar* theta, const Scalar* v, const input_type& x, workspace_type& ws,
                   Scalar* rpred) const {
        require_forward(x, ws);
        spec_.template r_forward<Device>(theta, v, x, static_cast<const Scalar*>(nullptr), rpred, x.size(), ws.layers);
    }

    /// `hv += R_v{J^T dpred}` where `rdpred = R_v{dpred}`: with `dpred = l'(pred)` and
    /// `rdpred = l''(pred) rpred` this adds the Hessian-vector product of the loss; `grad`
    /// (optional) receives `+= J^T dpred` in the same sweep. After forward() and r_forward().
    void r_backward(const Scalar* theta, const Scalar* v, const input_type& x, workspace_type& ws,
                    const Scalar* dpred, const Scalar* rdpred, Scalar* hv, Scalar* grad = nullptr) const {
        require_forward(x, ws);
        spec_.template r_backward<Device>(theta, v, x, static_cast<const Scalar*>(nullptr), dpred, rdpred,
                                          static_cast<Scalar*>(nullptr), static_cast<Scalar*>(nullptr), grad, hv,
                                          x.size(), ws.layers);
    }

    /// @{
    /// @brief The passes restricted to what meta-algorithms need (nn::sequential's
    /// backward_from, r_forward_from, r_backward_from; a network that is not a chain runs the
    /// full passes). `backward(..., from)`: `grad += J^T dpred` on the parameters at or above
    /// `from`; the layers wholly below it are skipped and their gradient is not written.
    /// `r_forward` and `r_backward` with `v_from`: the caller guarantees that `v` is zero below
    /// `v_from`, and the passes skip the R-values that are zero because of it.
    void backward(const Scalar* theta, const input_type& x, workspace_type& ws, const Scalar* dpred, Scalar* grad,
                  index from) const {
        require_forward(x, ws);
        if constexpr (requires { spec_.template backward_from<Device>(from, theta, x, dpred, grad, x.size(), ws.layers); })
            spec_.template backward_from<Device>(from, theta, x, dpred, grad, x.size(), ws.layers);
        else
            backward(theta, x, ws, dpred, grad);
    }
    void r_forward(const Scalar* theta, const Scalar* v, const input_type& x, workspace_type& ws, Scalar* rpred,
                   index v_from) const {
        require_forward(x, ws);
        if constexpr (requires { spec_.template r_forward_from<Device>(v_from, theta, v, x, rpred, x.size(), ws.layers); })
            spec_.template r_forward_from<Device>(v_from, theta, v, x, rpred, x.size(), ws.layers);
        else
            r_forward(theta, v, x, ws, rpred);
    }
    void r_backward(const Scalar* theta, const Scalar* v, const input_type& x, workspace_type& ws, const Scalar* dpred,
                    const Scalar* rdpred, Scalar* hv, Scalar* grad, index v_from) const {
        require_forward(x, ws);
        if constexpr (requires {
                          spec_.template r_backward_from<Device>(v_from, theta, v, x, dpred, rdpred, grad, hv, x.size(),
                                                                 ws.layers);
                      })
            spec_.template r_backward_from<Device>(v_from, theta, v, x, dpred, rdpred, grad, hv, x.size(), ws.layers);
        else
            r_backward(theta, v, x, ws, dpred, rdpred, hv, grad);
    }
    /// @}

    /// @{
    /// @brief The passes for `tasks` tasks at once, each with parameters of its own (a meta-
    /// batch's fast weights): task t's samples are the samples `[t n, (t+1) n)` of `x`, n =
    /// `x.size() / tasks`, and its parameter o at `theta + o + t layout.stride` (likewise `v`,
    /// `grad`, `hv`), except the first `layout.shared`, one copy for all tasks whose `grad`
    /// and `hv` come summed over the tasks (task_layout: a stride alone gives every task all
    /// of its own); `pred` and its derivatives hold the tasks' columns one task after another.
    /// The results are those of the passes above called task by task, but every layer runs
    /// once for all tasks, as batched device operations (Device::gemm_batched and the batched
    /// bias kernels): on a GPU a fixed number of launches whatever the number of tasks. For
    /// networks whose layers all have task-batched passes (dense layers, activations,
    /// embeddings, dense_features, concat: nn::detail::task_batched_layer);
    /// std::invalid_argument when the batch does not split into `tasks` tasks, the stride is
    /// too short, or `layout.shared` cuts a layer's parameters in two.
    void forward_batched(const Scalar* theta, task_layout layout, const input_type& x, index tasks, workspace_type& ws,
                         Scalar* pred) const
        requires detail::task_batched_layer<Spec, Scalar, Device>
    {
        const index n = split(x, layout, tasks);
        validate(x);
        if (x.size() > ws.capacity) ws = make_workspace(x.size());
        spec_.template forward_batched<Device>(theta, layout, x, pred, n, tasks, ws.layers);
    }
    //! `grad_t += J_t^T dpred_t` for every task t, after forward_batched() with the same workspace
    void backward_batched(const Scalar* theta, task_layout layout, const input_type& x, index tasks,
                          workspace_type& ws, const Scalar* dpred, Scalar* grad) const
        requires detail::task_batched_layer<Spec, Scalar, Device>
    {
        const index n = split(x, layout, tasks);
        require_forward(x, ws);
        spec_.template backward_batched<Device>(theta, layout, x, dpred, static_cast<Scalar*>(nullptr), grad, n, tasks,
                                                ws.layers);
    }
    //! `rpred_t = J_t v_t` for every task t, after forward_batched()
    void r_forward_batched(const Scalar* theta, const Scalar* v, task_layout layout, const input_type& x, index tasks,
                           workspace_type& ws, Scalar* rpred) const
        requires detail::task_batched_layer<Spec, Scalar, Device>
    {
        const index n = split(x, layout, tasks);
        require_forward(x, ws);
        spec_.template r_forward_batched<Device>(theta, v, layout, x, static_cast<const Scalar*>(nullptr), rpred, n,
                                                 tasks, ws.layers);
    }
    //! `hv_t += R_{v_t}{J_t^T dpred_t}` (and `grad_t += J_t^T dpred_t` when `grad` is not null)
    //! for every task t, after forward_batched() and r_forward_batched()
    void r_backward_batched(const Scalar* theta, const Scalar* v, task_layout layout, const input_type& x, index tasks,
                            workspace_type& ws, const Scalar* dpred, const Scalar* rdpred, Scalar* hv,
                            Scalar* grad = nullptr) const
        requires detail::task_batched_layer<Spec, Scalar, Device>
    {
        const index n = split(x, layout, tasks);
        require_forward(x, ws);
        spec_.template r_backward_batched<Device>(theta, v, layout, x, static_cast<const Scalar*>(nullptr), dpred,
                                                  rdpred, static_cast<Scalar*>(nullptr), static_cast<Scalar*>(nullptr),
                                                  grad, hv, n, tasks, ws.layers);
    }
    /// @}

private:
    static void check_groups(const std::vector<int>& groups, index count, const char* what) {
        if (!groups.empty() && index(groups.size()) != count)
            throw std::invalid_argument("metarec: input_shape: " + std::to_string(groups.size()) + " groups for " +
                                        std::to_string(count) + " " + what);
    }
    // the samples per task of a task-batched pass, after checking the split and the layout
    index split(const input_type& x, task_layout layout, index tasks) const {
        if (tasks < 1) throw std::invalid_argument("metarec: a batched pass needs at least one task");
        if (x.size() % tasks != 0)
            throw std::invalid_argument("metarec: a batch of " + std::to_string(x.size()) +
                                        " samples does not split into " + std::to_string(tasks) + " tasks of equal size");
        const auto on_boundary = [&] {
            if (layout.shared == 0 || layout.shared == count_) return true;
            for (const auto& s : slices_)
                if (s.offset == layout.shared) return true;
            return false;
        };
        if (layout.shared < 0 || layout.shared > count_ || !on_boundary())
            throw std::invalid_argument("metarec: the tasks share the first " + std::to_string(layout.shared) +
                                        " parameters, which is not where a layer of the model begins");
        if (layout.stride < count_ - layout.shared)
            throw std::invalid_argument("metarec: the tasks' own parameters are " + std::to_string(layout.stride) +
                                        " apart, fewer than the model's " + std::to_string(count_ - layout.shared) +
                                        " (of " + std::to_string(count_) + ") not shared");
        return x.size() / tasks;
    }
    static void require_forward(const input_type& x, const workspace_type& ws) {
        if (x.size() > ws.capacity)
            throw std::logic_error("metarec: the workspace holds no forward pass for this batch (call forward first)");
    }

    input_shape shape_;
    Spec spec_{};
    index out_rows_ = 0, count_ = 0;
    std::vector<parameter_slice> slices_;
    vector_type params_;
};

}  // namespace metarec::nn
