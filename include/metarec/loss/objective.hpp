// metarec: a learner composed with a loss: value, gradient and Hessian-vector product.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../concepts/learner.hpp"
#include "../concepts/loss_function.hpp"
#include "../detail/ranges.hpp"

namespace metarec {

/// The training objective `L(theta) = loss(f(theta, x), target)` of a learner f on a batch.
///
///  - value and gradient: one forward and one backward pass;
///  - Hessian-vector product `H v`: exact for a twice_differentiable_learner, by
///    Pearlmutter's R-operator (forward, R-forward, then one fused backward sweep, about
///    the cost of two gradients):
///
///        H v = J^T l''(f) J v + sum_k l'(f)_k Hess(f_k) v = R_v{ J^T l'(f) }
///
///  - for a learner that only provides gradients, `H v` is approximated by the central
///    difference `(grad(theta + h v) - grad(theta - h v)) / 2h` with
///    `h = cbrt(epsilon) (1 + |theta|) / |v|`: second-order accurate, about 1e-10 relative
///    in double and 1e-4 in float; `exact_hvp` says which one a learner gets.
///
/// The objective holds a reference to the learner: keep the learner alive.
/// @tparam Learner a learner (concepts/learner.hpp)
/// @tparam Loss    a loss function (concepts/loss_function.hpp)
template <class Learner, class Loss>
class objective {
    static_assert(check_learner<Learner>());

public:
    using scalar_type = typename Learner::scalar_type;  //!< the learner's scalar (float or double)
    using device_type = typename Learner::device_type;  //!< the learner's device policy
    using input_type = typename Learner::input_type;    //!< what the learner reads (a batch)
    static_assert(check_loss_function<Loss, scalar_type, device_type>());

    //! true when hvp() is exact (R-operator), false when it is a finite difference
    static constexpr bool exact_hvp =
        twice_differentiable_learner<Learner> && loss_with_hessian<Loss, scalar_type, device_type>;

    //! per-thread scratch memory: the learner's workspace and the prediction buffers
    struct workspace {
        using vector = typename device_type::template vector<scalar_type>;  //!< a device buffer
        typename Learner::workspace_type learner;                           //!< the learner's own scratch memory
        index capacity = 0;                                                 //!< samples the prediction buffers hold
        /// @{
        /// @brief `rows x capacity` buffers: predictions f, dL/df, R-forward R_v{f}, and R_v{dL/df}
        vector pred, dpred, rpred, rdpred;
        /// @}
        /// @{
        /// @brief finite-difference HVP only: theta +- h v, and the gradient at theta + h v
        vector shifted, grad_plus;  // finite-difference HVP only
        /// @}
    };

    //! @param learner the learner, by reference: it must outlive the objective
    //! @param loss    the loss function (default-constructed by default)
    explicit objective(const Learner& learner, Loss loss = {})
        : learner_(&learner), loss_(loss), all_{0, learner.parameter_count()} {}

    //! the learner
    const Learner& learner() const noexcept { return *learner_; }
    //! the loss
    const Loss& loss() const noexcept { return loss_; }

    //! scratch memory for batches of up to `max_samples` samples (grows on demand)
    workspace make_workspace(index max_samples = 1) const {
        workspace ws{learner_->make_workspace(max_samples), 0, {}, {}, {}, {}, {}, {}};
        reserve(ws, max_samples);
        return ws;
    }

    //! the loss at theta; `target` is laid out as the loss expects (loss_function.md)
    scalar_type value(const scalar_type* theta, const input_type& x, const scalar_type* target,
                      workspace& ws) const {
        predict(theta, x, ws);
        return loss_.template value<device_type>(ws.pred.data(), target, rows(), x.size());
    }

    /// `grad = dL/dtheta` (overwritten); returns the loss.
    scalar_type gradient(const scalar_type* theta, const input_type& x, const scalar_type* target, workspace& ws,
                         scalar_type* grad) const {
        return gradient(theta, x, target, ws, grad, everything());
    }
    /// The same, writing only `touched`: the parameters whose gradient on `x` can be nonzero
    /// (a superset of them, e.g. the learner's touched_parameters(x)); `grad` is left as it
    /// is elsewhere. With sparse embedding gradients this is what keeps a gradient on ten
    /// samples from clearing every table.
    ///
    /// `from` > 0: only the parameters at or above `from` are wanted (MAML's inner steps want the
    /// adapted slice); a learner that can (nn::model) skips the layers wholly below, whose
    /// gradient is then left at zero.
    scalar_type gradient(const scalar_type* theta, const input_type& x, const scalar_type* target, workspace& ws,
                         scalar_type* grad, std::span<const parameter_range> touched, index from = 0) const {
        const scalar_type loss = value(theta, x, target, ws);
        loss_.template gradient<device_type>(ws.pred.data(), target, rows(), x.size(), ws.dpred.data());
        zero(touched, grad);
        if constexpr (requires { learner_->backward(theta, x, ws.learner, ws.dpred.data(), grad, from); })
            learner_->backward(theta, x, ws.learner, ws.dpred.data(), grad, from);
        else
            learner_->backward(theta, x, ws.learner, ws.dpred.data(), grad);
        return loss;
    }

    /// `hv = H(theta) v` (overwritten), and `grad = dL/dtheta` when not null; returns the loss.
    scalar_type hvp(const scalar_type* theta, const input_type& x, const scalar_type* target, const scalar_type* v,
                    workspace& ws, scalar_type* hv, scalar_type* grad = nullptr) const {
        return hvp(theta, x, target, v, ws, hv, grad, everything());
    }
    /// The same, writing `hv` and `grad` only on `touched`, as gradient() with ranges (the
    /// Hessian of the loss on `x` is zero outside the parameters that `x` reads, whatever
    /// `v`). A finite-difference product writes every parameter. `v_from` > 0: the caller
    /// guarantees that `v` is zero below `v_from` (MAML's direction lives on the adapted
    /// slice), and a learner that can (nn::model) skips the R-values that are zero because of it.
    scalar_type hvp(const scalar_type* theta, const input_type& x, const scalar_type* target, const scalar_type* v,
                    workspace& ws, scalar_type* hv, scalar_type* grad, std::span<const parameter_range> touched,
                    index v_from = 0) const {
        if constexpr (exact_hvp) {
            zero(touched, hv);
            return r_pass(theta, x, target, v, ws, hv, grad, touched, v_from);
        } else {
            (void)v_from;
            return finite_difference_hvp(theta, x, target, v, ws, hv, grad);
        }
    }

    /// `hv += H(theta) v` on `touched`, otherwise as hvp() with ranges: the exact product added
    /// into a vector the caller keeps (MAML's backward sweep adds `H (-alpha g)` into its `g`
    /// with no buffer for the product). Exact products only (a finite difference writes
    /// every parameter).
    scalar_type add_hvp(const scalar_type* theta, const input_type& x, const scalar_type* target, const scalar_type* v,
                        workspace& ws, scalar_type* hv, std::span<const parameter_range> touched, index v_from = 0) const
        requires exact_hvp
    {
        return r_pass(theta, x, target, v, ws, hv, nullptr, touched, v_from);
    }

    /// Whether the task-batched methods below exist: a learner with task-batched passes
    /// (nn::model of dense layers and activations) and a loss with task-batched members
    /// (mse, bce_with_logits).
    static constexpr bool task_batched =
        requires(const Learner& f, const scalar_type* p, scalar_type* q, const input_type& x,
                 typename Learner::workspace_type& lws, const Loss& l, const index* c) {
            f.forward_batched(p, task_layout{0}, x, index{}, lws, q);
            f.backward_batched(p, task_layout{0}, x, index{}, lws, p, q);
            f.r_forward_batched(p, p, task_layout{0}, x, index{}, lws, q);
            f.r_backward_batched(p, p, task_layout{0}, x, index{}, lws, p, p, q, q);
            l.template values_batched<device_type>(p, p, index{}, index{}, index{}, c, q);
            l.template gradient_batched<device_type>(p, p, index{}, index{}, index{}, c, q);
            l.template hessian_product_batched<device_type>(p, p, index{}, index{}, index{}, c, p, q);
        };

    /// @{
    /// @brief The objective of `tasks` tasks at once (the learner's task-batched passes):
    /// task t's samples are `x`'s samples `[t n, (t+1) n)` (n = x.size() / tasks), its
    /// targets likewise one task after another. The first `shared` parameters are one copy
    /// for all tasks, the rest is each task's own (task_layout{p - shared, shared}, p =
    /// parameter_count()): `theta`, `v`, `grad` and `hv` hold `shared + (p - shared) tasks`
    /// numbers, task t's parameter o >= shared at `o + t (p - shared)`, and `grad`, `hv` get
    /// the sum over the tasks on the shared ones (0, the default: `p tasks` numbers, task t's
    /// parameters at `t p`). `counts` (device memory, one per task; null: n each): task t is
    /// its first `counts[t]` samples, the others pad it to n and count for nothing
    /// (meta::stacked_tasks pads tasks of unequal sizes). `losses` (device memory, one per
    /// task) receives each task's loss. The results are those of gradient() and hvp() task by
    /// task; every layer runs once for all tasks.
    void gradient_batched(const scalar_type* theta, const input_type& x, const scalar_type* target, index tasks,
                          workspace& ws, scalar_type* grad, scalar_type* losses, const index* counts = nullptr,
                          index shared = 0) const
        requires task_batched
    {
        const auto layout = layout_of(shared);
        loss_derivative_batched(theta, x, target, tasks, counts, shared, ws, losses);
        device_type::fill(batched_size(layout, tasks), scalar_type(0), grad);
        learner_->backward_batched(theta, layout, x, tasks, ws.learner, ws.dpred.data(), grad);
    }
    //! each task's loss into `losses` (the forward pass only)
    void value_batched(const scalar_type* theta, const input_type& x, const scalar_type* target, index tasks,
                       workspace& ws, scalar_type* losses, const index* counts = nullptr, index shared = 0) const
        requires task_batched
    {
        const index n = x.size() / std::max(tasks, index(1));
        reserve(ws, x.size());
        learner_->forward_batched(theta, layout_of(shared), x, tasks, ws.learner, ws.pred.data());
        loss_.template values_batched<device_type>(ws.pred.data(), target, rows(), n, tasks, counts, losses);
    }
    //! `hv_t = H_t(theta_t) v_t` (overwritten) and, when not null, `grad_t` for every task t
    void hvp_batched(const scalar_type* theta, const input_type& x, const scalar_type* target, const scalar_type* v,
                     index tasks, workspace& ws, scalar_type* hv, scalar_type* grad, scalar_type* losses,
                     const index* counts = nullptr, index shared = 0) const
        requires task_batched
    {
        const auto layout = layout_of(shared);
        loss_derivative_batched(theta, x, target, tasks, counts, shared, ws, losses);  // (checks tasks >= 1)
        const index n = x.size() / tasks;
        learner_->r_forward_batched(theta, v, layout, x, tasks, ws.learner, ws.rpred.data());
        loss_.template hessian_product_batched<device_type>(ws.pred.data(), target, rows(), n, tasks, counts,
                                                            ws.rpred.data(), ws.rdpred.data());
        device_type::fill(batched_size(layout, tasks), scalar_type(0), hv);
        if (grad) device_type::fill(batched_size(layout, tasks), scalar_type(0), grad);
        learner_->r_backward_batched(theta, v, layout, x, tasks, ws.learner, ws.dpred.data(), ws.rdpred.data(), hv,
                                     grad);
    }
    /// @}

private:
    index rows() const { return learner_->output_rows(); }

    // the R-operator's passes: forward, R-forward, backward adding H v into `hv` (and writing
    // the gradient into `grad` when not null, zeroed on `touched` first); returns the loss
    scalar_type r_pass(const scalar_type* theta, const input_type& x, const scalar_type* target, const scalar_type* v,
                       workspace& ws, scalar_type* hv, scalar_type* grad, std::span<const parameter_range> touched,
                       index v_from) const {
        const scalar_type loss = value(theta, x, target, ws);
        const index n = x.size();
        constexpr bool restricted = requires {
            learner_->r_forward(theta, v, x, ws.learner, ws.rpred.data(), v_from);
            learner_->r_backward(theta, v, x, ws.learner, ws.dpred.data(), ws.rdpred.data(), hv, grad, v_from);
        };
        loss_.template gradient<device_type>(ws.pred.data(), target, rows(), n, ws.dpred.data());
        if constexpr (restricted)
            learner_->r_forward(theta, v, x, ws.learner, ws.rpred.data(), v_from);
        else
            learner_->r_forward(theta, v, x, ws.learner, ws.rpred.data());
        loss_.template hessian_product<device_type>(ws.pred.data(), target, rows(), n, ws.rpred.data(),
                                                    ws.rdpred.data());
        if (grad) zero(touched, grad);
        if constexpr (restricted)
            learner_->r_backward(theta, v, x, ws.learner, ws.dpred.data(), ws.rdpred.data(), hv, grad, v_from);
        else
            learner_->r_backward(theta, v, x, ws.learner, ws.dpred.data(), ws.rdpred.data(), hv, grad);
        return loss;
    }

    std::span<const parameter_range> everything() const noexcept { return {&all_, 1}; }
    static void zero(std::span<const parameter_range> ranges, scalar_type* out) {
        for (const auto& r : ranges) device_type::fill(r.size, scalar_type(0), out + r.offset);
    }

    void reserve(workspace& ws, index samples) const {
        if (samples <= ws.capacity) return;
        const index size = rows() * samples;
        for (auto* buffer : {&ws.pred, &ws.dpred, &ws.rpred, &ws.rdpred}) *buffer = typename workspace::vector(size);
        ws.capacity = samples;
    }

    // the layout of the batched vectors: the first `shared` parameters once, then each task's own
    task_layout layout_of(index shared) const {
        const index p = learner_->parameter_count();
        if (shared < 0 || shared > p)
            throw std::invalid_argument("metarec: " + std::to_string(shared) + " shared parameters of " +
                                        std::to_string(p));
        return {p - shared, shared};
    }
    static index batched_size(task_layout layout, index tasks) noexcept {
        return layout.shared + layout.stride * tasks;
    }

    // the tasks' predictions, losses and loss derivatives dL_t/dpred_t (ws.pred, ws.dpred)
    void loss_derivative_batched(const scalar_type* theta, const input_type& x, const scalar_type* target, index tasks,
                                 const index* counts, index shared, workspace& ws, scalar_type* losses) const {
        value_batched(theta, x, target, tasks, ws, losses, counts, shared);
        const index n = x.size() / std::max(tasks, index(1));
        loss_.template gradient_batched<device_type>(ws.pred.data(), target, rows(), n, tasks, counts, ws.dpred.data());
    }

    void predict(const scalar_type* theta, const input_type& x, workspace& ws) const {
        reserve(ws, x.size());
        learner_->forward(theta, x, ws.learner, ws.pred.data());
    }

    scalar_type finite_difference_hvp(const scalar_type* theta, const input_type& x, const scalar_type* target,
                                      const scalar_type* v, workspace& ws, scalar_type* hv, scalar_type* grad) const {
        using S = scalar_type;
        using D = device_type;
        const index p = learner_->parameter_count();
        if (ws.shifted.size() != p) {
            ws.shifted = typename workspace::vector(p);
            ws.grad_plus = typename workspace::vector(p);
        }
        const S v_norm = std::sqrt(D::dot(p, v, v));
        const S loss = grad ? gradient(theta, x, target, ws, grad) : value(theta, x, target, ws);
        if (v_norm == S(0)) {
            D::fill(p, S(0), hv);
            return loss;
        }
        const S theta_norm = std::sqrt(D::dot(p, theta, theta));
        const S h = std::cbrt(std::numeric_limits<S>::epsilon()) * (S(1) + theta_norm) / v_norm;
        D::copy(p, theta, ws.shifted.data());
        D::axpy(p, h, v, ws.shifted.data());
        gradient(ws.shifted.data(), x, target, ws, ws.grad_plus.data());
        D::copy(p, theta, ws.shifted.data());
        D::axpy(p, -h, v, ws.shifted.data());
        gradient(ws.shifted.data(), x, target, ws, hv);
        // hv = (grad_plus - grad_minus) / 2h
        D::scal(p, S(-1), hv);
        D::axpy(p, S(1), ws.grad_plus.data(), hv);
        D::scal(p, S(1) / (S(2) * h), hv);
        return loss;
    }

    const Learner* learner_;
    [[no_unique_address]] Loss loss_;
    parameter_range all_;  // every parameter
};

}  // namespace metarec
