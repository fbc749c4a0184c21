// metarec: MAML (exact second order without a tape, and first order), Meta-SGD, ANIL, MeLU-style.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "../optim/adam.hpp"
#include "algorithm.hpp"
#include "stacked_tasks.hpp"

namespace metarec::meta {

/// Options of maml, meta_sgd, anil and melu_maml.
struct maml_options {
    double inner_lr = 0.01;    //!< alpha: inner SGD step (Meta-SGD: the initial per-parameter rate)
    int inner_steps = 1;       //!< K: inner steps during meta-training (and by default at adapt())
    int order = 2;             //!< 2: exact meta-gradient; 1: first-order approximation (FOMAML)
    index meta_batch = 32;     //!< tasks per meta-step
    int threads = 1;           //!< threads over the tasks of a meta-batch
    std::uint64_t seed = 0;    //!< seed of the task sampler
    task_batching batching = task_batching::automatic;  //!< task-batched meta-steps (see task_batching)
};

/// Model-agnostic meta-learning (Finn et al. 2017) with partial adaptation and optional
/// learned per-parameter inner rates (Meta-SGD, Li et al. 2017).
///
/// Inner loop on the support loss L_s, adapting only the slice A (projection P_A):
///
///     phi_0 = theta,   phi_{k+1} = phi_k - alpha (.) P_A grad L_s(phi_k),   k = 0..K-1
///
/// Meta-objective: the query loss L_q(phi_K), averaged over the meta-batch. Its exact
/// gradient comes from one backward sweep over the inner steps, one Hessian-vector product
/// (Pearlmutter's R-operator, about two gradients) per step:
///
///     g = grad L_q(phi_K);   for k = K-1..0:   g <- g - H_s(phi_k) P_A (alpha (.) g)
///
/// Only the adapted slice of each inner iterate is kept (K x |A| numbers), never the
/// activations of the K steps: memory does not grow with the activations times K. The
/// non-adapted parameters get their mixed second-order terms from the same products.
/// Meta-SGD's rates receive `dL/dalpha = - sum_k g_{k+1} (.) grad L_s(phi_k)` (on A), with
/// the support gradients coming out of the same HVP sweep. Order 1 drops the Hessian terms
/// (g = grad L_q(phi_K)). Learners without an R-operator get finite-difference products.
///
/// @tparam Learner      a learner (exact HVPs if twice_differentiable_learner)
/// @tparam Loss         the loss of inner and outer objectives
/// @tparam Optimizer    the outer optimizer (default optim::adam)
/// @tparam Adaptation   which slice adapts: adapt_all (default), adapt_last (ANIL), adapt_dense_head (MeLU)
/// @tparam LearnedRates true for Meta-SGD
/// @tparam Distribution dist::none (one process, default) or dist::mpi (data-parallel, dist/mpi.hpp)
template <class Learner, class Loss, class Optimizer = optim::adam, class Adaptation = adapt_all,
          bool LearnedRates = false, class Distribution = dist::none>
class basic_maml : public algorithm<basic_maml<Learner, Loss, Optimizer, Adaptation, LearnedRates, Distribution>, Learner,
                                    Loss, Optimizer, Distribution> {
    using base = algorithm<basic_maml, Learner, Loss, Optimizer, Distribution>;
    friend base;

public:
    //! the algorithm's name in checkpoints
    static constexpr std::string_view name = LearnedRates ? "meta-sgd" : "maml";
    using typename base::device_type;       //!< the learner's device policy
    using typename base::input_type;        //!< what the learner reads (a batch)
    using typename base::scalar_type;       //!< the learner's scalar
    using typename base::task_type;         //!< a task: support and query sets with targets
    using typename base::thread_workspace;  //!< scratch memory of one thread (meta::workspace)
    using typename base::vector_type;       //!< a device buffer

    /// @param learner the learner; its parameters are the initialization theta
    /// @param options inner learning rate and steps, order, meta-batch, threads, seed
    /// @param outer   the outer optimizer (e.g. `optim::adam{.lr = 1e-3}`)
    /// @param loss    the loss
    explicit basic_maml(Learner learner, maml_options options = {}, Optimizer outer = {}, Loss loss = {})
        : base(std::move(learner), &Adaptation::template select<Learner>, outer, loss, options.meta_batch, options.threads,
               options.seed, options.inner_steps),
          options_(options) {
        if (options.order != 1 && options.order != 2)
            throw std::invalid_argument("metarec: maml: order must be 1 or 2");
        if (!(options.inner_lr >= 0)) throw std::invalid_argument("metarec: maml: inner_lr must be >= 0");
        if (options.batching == task_batching::batched && !batchable)
            throw std::invalid_argument(
                "metarec: maml: task_batching::batched needs a learner and a loss with task-batched passes (an "
                "nn::model of dense layers, activations, embeddings; mse or bce_with_logits)");
        if constexpr (LearnedRates) {
            rates_ = vector_type(this->adapted_range().size);
            device_type::fill(this->adapted_range().size, scalar_type(options.inner_lr), rates_.data());
        }
    }

    //! the options
    const maml_options& options() const noexcept { return options_; }
    //! Meta-SGD's learned inner rates, one per adapted parameter (device memory); null for MAML
    const scalar_type* inner_rates() const noexcept { return LearnedRates ? rates_.data() : nullptr; }

private:
    static constexpr bool batchable = base::task_batchable;  // whether batch_gradient() exists

    index extra_count() const noexcept { return LearnedRates ? this->adapted_range().size : 0; }
    scalar_type* extras() noexcept { return LearnedRates ? rates_.data() : nullptr; }
    const scalar_type* extras() const noexcept { return LearnedRates ? rates_.data() : nullptr; }
    const scalar_type* rates() const noexcept { return LearnedRates ? rates_.data() : nullptr; }

    thread_workspace make_thread_workspace() const {
        const index p = this->learner().parameter_count(), m = this->adapted_range().size,
                    k = std::max(1, this->inner_steps());
        // what the backward sweep keeps: the adapted slice of each iterate (order 2), or the
        // inner gradients (first-order Meta-SGD); nothing else grows with K
        const index kept = options_.order == 2 ? k * m : 0, kept_gradients = LearnedRates && options_.order == 1 ? k * m : 0;
        const index sweep = options_.order == 2 ? p : 0;  // HVP direction and result
        thread_workspace ws{this->objective_().make_workspace(1), vector_type(p), vector_type(p), vector_type(sweep),
                            vector_type(sweep), vector_type(LearnedRates && options_.order == 2 ? p : 0),
                            vector_type(kept), vector_type(kept_gradients), {}, {}};
        device_type::fill(sweep, scalar_type(0), ws.direction.data());
        return ws;
    }

    // fast[A] -= alpha (.) grad[A]
    void inner_update(scalar_type* fast, const scalar_type* grad) const {
        const auto [a, m] = this->adapted_range();
        device_type::for_each_task(m, 1, detail::sgd_step_kernel<scalar_type>{0, fast + a, grad + a, rates(),
                                                                                scalar_type(options_.inner_lr)});
    }

    void adapt_into(const input_type& support, const scalar_type* target, int steps, thread_workspace& ws,
                    scalar_type* fast) const {
        const auto objective = this->objective_();
        const index a = this->adapted_range().offset;
        this->touch(ws, support);
        for (int k = 0; k < steps; ++k) {
            objective.gradient(fast, support, target, ws.objective, ws.gradient.data(), ws.touched, a);
            inner_update(fast, ws.gradient.data());
        }
    }

    // The task's meta-gradient into `out`, written only on ws.touched (the parameters its
    // support and query sets can reach: the head and a few embedding columns for MeLU).
    std::pair<double, double> task_gradient(const task_type& task, thread_workspace& ws, scalar_type* out) {
        const auto objective = this->objective_();
        const auto [a, m] = this->adapted_range();
        const int steps = this->inner_steps();
        this->touch_task(task, ws);
        const std::span<const parameter_range> touched = ws.touched;
        scalar_type* fast = ws.fast.data();
        scalar_type* g = ws.gradient.data();
        scalar_type* rate_gradient = out + this->learner().parameter_count();  // Meta-SGD only
        if constexpr (LearnedRates) device_type::fill(m, scalar_type(0), rate_gradient);

        // inner loop, keeping the adapted slice of each iterate; its gradients are wanted on the
        // adapted slice only, and the HVP direction below lives there (objective's `from`)
        this->begin_task(ws);
        for (int k = 0; k < steps; ++k) {
            if (options_.order == 2) device_type::copy(m, fast + a, ws.history.data() + k * m);
            objective.gradient(fast, task.support, task.support_target, ws.objective, g, touched, a);
            if (LearnedRates && options_.order == 1) device_type::copy(m, g + a, ws.history2.data() + k * m);
            inner_update(fast, g);
        }
        const double loss = objective.gradient(fast, task.query, task.query_target, ws.objective, g, touched);

        if (options_.order == 2) {
            // backward sweep: g <- g - H_s(phi_k) P_A (alpha (.) g)
            for (int k = steps - 1; k >= 0; --k) {
                device_type::copy(m, ws.history.data() + k * m, fast + a);
                device_type::for_each_task(m, 1, detail::scaled_copy_kernel<scalar_type>{
                                                     0, ws.direction.data() + a, g + a, rates(), scalar_type(options_.inner_lr)});
                scalar_type* support_gradient = LearnedRates ? ws.auxiliary.data() : nullptr;
                objective.hvp(fast, task.support, task.support_target, ws.direction.data(), ws.objective,
                              ws.product.data(), support_gradient, touched, a);
                if constexpr (LearnedRates)
                    device_type::for_each_task(m, 1, detail::subtract_product_kernel<scalar_type>{
                                                         0, 0, 0, rate_gradient, g + a, support_gradient + a});
                for (const auto& r : touched)
                    device_type::axpy(r.size, scalar_type(-1), ws.product.data() + r.offset, g + r.offset);
            }
        } else if constexpr (LearnedRates) {
            // first order: every step sees the final query gradient
            for (int k = 0; k < steps; ++k)
                device_type::for_each_task(m, 1, detail::subtract_product_kernel<scalar_type>{
                                                     0, 0, 0, rate_gradient, g + a, ws.history2.data() + k * m});
        }
        for (const auto& r : touched) device_type::copy(r.size, g + r.offset, out + r.offset);
        return {loss, 1.0};
    }

    // ---- the task-batched meta-step ------------------------------------------------------

    // whether fit() computes the meta-step of `tasks` with batch_gradient()
    bool batched_step() const {
        if constexpr (!batchable)
            return false;
        else
            return options_.batching == task_batching::batched ||
                   (options_.batching == task_batching::automatic && !device_type::host_memory);
    }

    // The meta-gradients of `tasks` at once, as task_gradient() computes them one by one, into
    // `out`: the sum over the tasks on the s = batch_shared() shared parameters, then each
    // task's own w = p - s parameters and its extras (Meta-SGD's rates), task t's at
    // `s + t (w + extras)`; task t's query loss into losses[t].
    // The tasks' sets are stacked into one support and one query batch (stacked_tasks: device
    // to device, once per meta-step; smaller sets padded, the padding left out of the losses
    // through the sets' counts). Every vector holds the shared parameters once and each
    // task's own w (task_layout{w, s}): each inner step, the query gradient and each HVP of
    // the backward sweep run every layer once for all tasks (objective's task-batched
    // methods), a shared layer as one pass over all the tasks' samples.
    void batch_gradient(const task_selection<task_type>& tasks, scalar_type* out, double* losses)
        requires batchable
    {
        using D = device_type;
        using S = scalar_type;
        const auto objective = this->objective_();
        const index T = index(tasks.chosen.size()), p = this->learner().parameter_count(), e = extra_count();
        const index s = this->batch_shared(), w = p - s, size = s + w * T;  // task t's parameter o >= s at o + t w
        const auto [a, m] = this->adapted_range();
        const int steps = this->inner_steps();
        const bool second = options_.order == 2;
        auto& b = batched_;
        const index kept = second ? steps * m * T : 0, kept_gradients = LearnedRates && !second ? steps * m * T : 0;
        b.stacked.stack(tasks, loss_target_rows<Loss>(this->learner().output_rows()));
        for (auto* v : {&b.fast, &b.gradient}) detail::grow(*v, size);
        if (second) {
            // zero outside the adapted slices
            if (detail::grow(b.direction, size)) D::fill(size, S(0), b.direction.data());
            detail::grow(b.product, size);
            if (LearnedRates) detail::grow(b.auxiliary, size);
        }
        detail::grow(b.history, kept);
        detail::grow(b.history2, kept_gradients);
        detail::grow(b.losses, T);
        const input_type& support = b.stacked.support();
        const input_type& query = b.stacked.query();
        const index* support_counts = b.stacked.support_counts();
        const index* query_counts = b.stacked.query_counts();
        S* fast = b.fast.data();
        S* g = b.gradient.data();
        if (LearnedRates) D::fill(s + (w + e) * T, S(0), out);  // the rates' gradients accumulate there

        this->batch_start(T, fast);
        for (int k = 0; k < steps; ++k) {
            if (second) D::copy_block(m, T, fast + a, w, b.history.data() + k * m * T, m);
            objective.gradient_batched(fast, support, b.stacked.support_target(), T, b.objective, g, b.losses.data(),
                                       support_counts, s);
            if (LearnedRates && !second) D::copy_block(m, T, g + a, w, b.history2.data() + k * m * T, m);
            D::for_each_task(m, T, detail::sgd_step_kernel<S>{w, fast + a, g + a, rates(), S(options_.inner_lr)});
        }
        objective.gradient_batched(fast, query, b.stacked.query_target(), T, b.objective, g, b.losses.data(),
                                   query_counts, s);
        this->batch_losses(T, b.losses.data(), losses);

        if (second) {  // the backward sweep of every task at once: g_t <- g_t - H_s,t(phi_k,t) P_A (alpha (.) g_t)
            for (int k = steps - 1; k >= 0; --k) {
                D::copy_block(m, T, b.history.data() + k * m * T, m, fast + a, w);
                D::for_each_task(m, T, detail::scaled_copy_kernel<S>{w, b.direction.data() + a, g + a, rates(),
                                                                     S(options_.inner_lr)});
                S* support_gradient = LearnedRates ? b.auxiliary.data() : nullptr;
                objective.hvp_batched(fast, support, b.stacked.support_target(), b.direction.data(), T, b.objective,
                                      b.product.data(), support_gradient, b.losses.data(), support_counts, s);
                if constexpr (LearnedRates)
                    D::for_each_task(m, T, detail::subtract_product_kernel<S>{w + e, w, w, out + s + w, g + a,
                                                                              support_gradient + a});
                D::axpy(size, S(-1), b.product.data(), g);
            }
        } else if constexpr (LearnedRates) {
            for (int k = 0; k < steps; ++k)
                D::for_each_task(m, T, detail::subtract_product_kernel<S>{w + e, w, m, out + s + w, g + a,
                                                                          b.history2.data() + k * m * T});
        }
        D::copy(s, g, out);
        D::copy_block(w, T, g + s, w, out + s, w + e);
    }

    // the buffers of the task-batched meta-step: the tasks' sets stacked, and the vectors of
    // all tasks (the shared parameters once, then each task's own)
    struct batch_workspace {
        typename objective<Learner, Loss>::workspace objective;
        stacked_tasks<scalar_type, device_type> stacked;
        vector_type fast, gradient, direction, product, auxiliary, history, history2, losses;
    };

    maml_options options_;
    vector_type rates_;
    batch_workspace batched_;
};

/// MAML: every parameter adapts with one shared inner rate.
template <class Learner, class Loss, class Optimizer = optim::adam, class Adaptation = adapt_all,
          class Distribution = dist::none>
using maml = basic_maml<Learner, Loss, Optimizer, Adaptation, false, Distribution>;

/// Meta-SGD: MAML with one learned inner rate per adapted parameter.
template <class Learner, class Loss, class Optimizer = optim::adam, class Adaptation = adapt_all,
          class Distribution = dist::none>
using meta_sgd = basic_maml<Learner, Loss, Optimizer, Adaptation, true, Distribution>;

/// ANIL: MAML adapting only the last layer.
template <class Learner, class Loss, class Optimizer = optim::adam, class Distribution = dist::none>
using anil = basic_maml<Learner, Loss, Optimizer, adapt_last, false, Distribution>;

/// MeLU-style MAML: the dense head adapts per user, embeddings are meta-learned globally.
template <class Learner, class Loss, class Optimizer = optim::adam, class Distribution = dist::none>
using melu_maml = basic_maml<Learner, Loss, Optimizer, adapt_dense_head, false, Distribution>;

}  // namespace metarec::meta
