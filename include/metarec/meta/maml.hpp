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
#include "../detail/kernels.hpp"
#include "adaptation.hpp"
#include "algorithm.hpp"
#include "inner_loop.hpp"
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
/// Only the adapted slice of each inner iterate is kept ((K - 1) x |A| numbers: phi_0's is
/// theta's), never the activations of the K steps: memory does not grow with the activations
/// times K; each product is added into g as it is computed (adds_products). The
/// non-adapted parameters get their mixed second-order terms from the same products.
/// Meta-SGD's rates receive `dL/dalpha = - sum_k g_{k+1} (.) grad L_s(phi_k)` (on A), with
/// the support gradients coming out of the same HVP sweep. Order 1 drops the Hessian terms
/// (g = grad L_q(phi_K)). Learners without an R-operator get finite-difference products.
///
/// The rule of meta::algorithm (rule.hpp) for basic_maml and its aliases.
/// @tparam Learner      a learner (exact HVPs if twice_differentiable_learner)
/// @tparam Loss         the loss of inner and outer objectives
/// @tparam Adaptation   which slice adapts: adapt_all (default), adapt_last (ANIL), adapt_dense_head (MeLU)
/// @tparam LearnedRates true for Meta-SGD
template <class Learner, class Loss, class Adaptation = adapt_all, bool LearnedRates = false>
class maml_rule {
public:
    //! the algorithm's name in checkpoints
    static constexpr std::string_view name = LearnedRates ? "meta-sgd" : "maml";
    using adaptation = Adaptation;                                           //!< which slice adapts
    using options_type = maml_options;                                       //!< options of the algorithm
    using context_type = context<Learner, Loss>;                             //!< what the rule sees of the algorithm
    //! whether batch_gradient() exists (the learner has task-batched passes)
    static constexpr bool batchable = context_type::task_batchable;
    using scalar_type = typename Learner::scalar_type;                       //!< the learner's scalar
    using device_type = typename Learner::device_type;                       //!< the learner's device policy
    using input_type = typename Learner::input_type;                         //!< what the learner reads (a batch)
    using task_type = typename context_type::task_type;                      //!< a task
    using vector_type = typename device_type::template vector<scalar_type>;  //!< a device buffer

    /// Whether the backward sweep adds each product into the meta-gradient (objective::add_hvp:
    /// `g += H (-alpha g)`, no buffer for H v): exact products and one shared rate. Meta-SGD's
    /// rates want `g` before and the support gradient after the product, and a finite difference
    /// writes every parameter: those compute H v apart and subtract it.
    static constexpr bool adds_products = context_type::objective_type::exact_hvp && !LearnedRates;

    /// Scratch memory of one thread: what the backward sweep keeps (nothing else grows with K).
    struct workspace : task_workspace<Learner, Loss> {
        vector_type direction{};        //!< an HVP direction, zero outside the adapted slice (order 2)
        vector_type iterates{};         //!< the adapted slice of inner iterates 1..K-1, (K-1) x |A| (order 2; iterate 0 is theta's)
        vector_type inner_gradients{};  //!< the inner gradients on the adapted slice, K x |A| (Meta-SGD, order 1)
    };

    //! checks the options; Meta-SGD's rates start at `inner_lr`
    maml_rule(const maml_options& options, const context_type& ctx) : options_(options) {
        if (options.order != 1 && options.order != 2)
            throw std::invalid_argument("metarec: maml: order must be 1 or 2");
        if (!(options.inner_lr >= 0)) throw std::invalid_argument("metarec: maml: inner_lr must be >= 0");
        if (options.batching == task_batching::batched && !batchable)
            throw std::invalid_argument(
                "metarec: maml: task_batching::batched needs a learner and a loss with task-batched passes (an "
                "nn::model of dense layers, activations, embeddings; mse or bce_with_logits)");
        if constexpr (LearnedRates) {
            rates_ = vector_type(ctx.adapted().size);
            device_type::fill(ctx.adapted().size, scalar_type(options.inner_lr), rates_.data());
        }
    }

    //! Meta-SGD's learned inner rates, one per adapted parameter (device memory); null for MAML
    const scalar_type* inner_rates() const noexcept { return LearnedRates ? rates_.data() : nullptr; }
    //! Meta-SGD's rates are meta-parameters: one per adapted parameter (0 for MAML)
    index extra_count() const noexcept { return LearnedRates ? index(rates_.size()) : 0; }
    //! the rates (null for MAML)
    scalar_type* extras() noexcept { return LearnedRates ? rates_.data() : nullptr; }
    //! the rates (null for MAML)
    const scalar_type* extras() const noexcept { return inner_rates(); }

    //! a workspace sized for the order and the inner steps
    workspace make_workspace(const context_type& ctx) const {
        const index p = ctx.parameter_count(), m = ctx.adapted().size, k = std::max(1, ctx.inner_steps());
        const bool second = options_.order == 2;
        const index sweep = second ? p : 0;  // HVP direction (and result, unless adds_products)
        workspace ws{ctx.make_task_workspace(adds_products ? 0 : sweep, LearnedRates && second ? p : 0)};
        ws.direction = vector_type(sweep);
        device_type::fill(sweep, scalar_type(0), ws.direction.data());
        ws.iterates = vector_type(second ? (k - 1) * m : 0);
        ws.inner_gradients = vector_type(LearnedRates && !second ? k * m : 0);
        return ws;
    }

    //! a workspace for adapt() alone (which adapts its caller's vector): the inner loop's
    //! gradient, none of the backward sweep's buffers
    workspace make_adapt_workspace(const context_type& ctx) const { return workspace{ctx.make_task_workspace(0, 0, false)}; }

    //! `steps` SGD steps on the support loss, on the adapted slice of `fast`
    void adapt(const context_type& ctx, const input_type& support, const scalar_type* target, int steps,
               workspace& ws, scalar_type* fast) const {
        const index a = ctx.adapted().offset;
        ctx.touch(ws, support);
        for (int k = 0; k < steps; ++k) {
            ctx.objective().gradient(fast, support, target, ws.passes, ws.gradient.data(), ws.touched, a);
            inner_update(ctx, fast, ws.gradient.data());
        }
    }

    /// The task's meta-gradient (and Meta-SGD's rates' gradient) into `out`, written only on
    /// ws.touched (the parameters its support and query sets can reach: the head and a few
    /// embedding columns for MeLU).
    task_result task_gradient(const context_type& ctx, const task_type& task, workspace& ws, scalar_type* out) const {
        const auto& obj = ctx.objective();
        const auto [a, m] = ctx.adapted();
        const int steps = ctx.inner_steps();
        const std::span<const parameter_range> touched = ctx.touch_task(task, ws);
        scalar_type* fast = ws.fast.data();
        scalar_type* g = ws.gradient.data();
        scalar_type* rate_gradient = out + ctx.parameter_count();  // Meta-SGD only
        if constexpr (LearnedRates) device_type::fill(m, scalar_type(0), rate_gradient);

        // inner loop, keeping the adapted slice of each iterate after phi_0 = theta (read in
        // place: the first step writes phi_1's slice into `fast` from theta's); its gradients are
        // wanted on the adapted slice only, and the HVP direction below lives there (objective's `from`)
        const scalar_type* theta = ctx.learner().parameters();
        ctx.begin_task(ws, steps == 0);
        for (int k = 0; k < steps; ++k) {
            if (options_.order == 2 && k > 0) device_type::copy(m, fast + a, ws.iterates.data() + (k - 1) * m);
            obj.gradient(k == 0 ? theta : fast, task.support, task.support_target, ws.passes, g, touched, a);
            if (LearnedRates && options_.order == 1) device_type::copy(m, g + a, ws.inner_gradients.data() + k * m);
            inner_update(ctx, k == 0 ? theta : fast, fast, g);
        }
        // FOMAML's meta-gradient is the query gradient: straight into `out`; the others go
        // through `g`, zero outside the touched ranges, whose adapted slice they read whole
        const bool query_only = options_.order == 1 && !LearnedRates;
        const double loss = obj.gradient(fast, task.query, task.query_target, ws.passes, query_only ? out : g, touched);
        if (query_only) return {.loss = loss, .weight = 1.0, .written = touched};

        if (options_.order == 2) {
            // backward sweep: g <- g - H_s(phi_k) P_A (alpha (.) g), phi_0 = theta
            for (int k = steps - 1; k >= 0; --k) {
                if (k > 0) device_type::copy(m, ws.iterates.data() + (k - 1) * m, fast + a);
                const scalar_type* phi = k > 0 ? fast : theta;
                if constexpr (adds_products) {
                    device_type::for_each_task(m, 1, detail::scaled_copy_kernel<scalar_type>{
                                                         0, ws.direction.data() + a, g + a, nullptr,
                                                         scalar_type(-options_.inner_lr)});
                    obj.add_hvp(phi, task.support, task.support_target, ws.direction.data(), ws.passes, g, touched, a);
                } else {
                    device_type::for_each_task(m, 1, detail::scaled_copy_kernel<scalar_type>{
                                                         0, ws.direction.data() + a, g + a, rates(),
                                                         scalar_type(options_.inner_lr)});
                    scalar_type* support_gradient = LearnedRates ? ws.second_gradient.data() : nullptr;
                    obj.hvp(phi, task.support, task.support_target, ws.direction.data(), ws.passes,
                            ws.product.data(), support_gradient, touched, a);
                    if constexpr (LearnedRates)
                        device_type::for_each_task(m, 1, detail::subtract_product_kernel<scalar_type>{
                                                             0, 0, 0, rate_gradient, g + a, support_gradient + a});
                    for (const auto& r : touched)
                        device_type::axpy(r.size, scalar_type(-1), ws.product.data() + r.offset, g + r.offset);
                }
            }
        } else if constexpr (LearnedRates) {
            // first order: every step sees the final query gradient
            for (int k = 0; k < steps; ++k)
                device_type::for_each_task(m, 1, detail::subtract_product_kernel<scalar_type>{
                                                     0, 0, 0, rate_gradient, g + a, ws.inner_gradients.data() + k * m});
        }
        for (const auto& r : touched) device_type::copy(r.size, g + r.offset, out + r.offset);
        return {.loss = loss, .weight = 1.0, .written = touched};
    }

    // ---- the task-batched meta-step ------------------------------------------------------

    //! whether this meta-step runs task-batched (batch_gradient())
    bool batched(const context_type&) const {
        if constexpr (!batchable)
            return false;
        else
            return options_.batching == task_batching::batched ||
                   (options_.batching == task_batching::automatic && !device_type::host_memory);
    }

    /// The meta-gradients of `tasks` at once, as task_gradient() computes them one by one, into
    /// `out`: the sum over the tasks on the s = ctx.batch_shared() shared parameters, then each
    /// task's own w = p - s parameters and its extras (Meta-SGD's rates), task t's at
    /// `s + t (w + extras)`. Returns the tasks' query losses (device memory).
    /// The tasks' sets are stacked into one support and one query batch (stacked_tasks: device
    /// to device, once per meta-step; smaller sets padded, the padding left out of the losses
    /// through the sets' counts). Every vector holds the shared parameters once and each
    /// task's own w (task_layout{w, s}): each inner step, the query gradient and each HVP of
    /// the backward sweep run every layer once for all tasks (objective's task-batched
    /// methods), a shared layer as one pass over all the tasks' samples.
    ///
    /// It is not task_gradient() with T tasks: that one works for every learner (any input
    /// type, finite-difference HVPs) and reaches only the ranges a task touches (a MeLU task's
    /// few embedding columns), which a stacked pass over every task's own copy cannot.
    const scalar_type* batch_gradient(const context_type& ctx, const task_selection<task_type>& tasks,
                                      scalar_type* out)
        requires batchable
    {
        using D = device_type;
        using S = scalar_type;
        const auto& obj = ctx.objective();
        const index T = index(tasks.chosen.size()), p = ctx.parameter_count(), e = extra_count();
        const index s = ctx.batch_shared(), w = p - s, size = s + w * T;  // task t's parameter o >= s at o + t w
        const auto [a, m] = ctx.adapted();
        const int steps = ctx.inner_steps();
        const bool second = options_.order == 2;
        auto& b = batched_;
        const index kept = second ? steps * m * T : 0, kept_gradients = LearnedRates && !second ? steps * m * T : 0;
        b.stacked.stack(tasks, loss_target_rows<Loss>(ctx.learner().output_rows()));
        for (auto* v : {&b.fast, &b.gradient}) detail::grow(*v, size);
        if (second) {
            // zero outside the adapted slices
            if (detail::grow(b.direction, size)) D::fill(size, S(0), b.direction.data());
            detail::grow(b.product, size);
            if (LearnedRates) detail::grow(b.support_gradient, size);
            detail::grow(b.support_losses, T);
        }
        detail::grow(b.iterates, kept);
        detail::grow(b.inner_gradients, kept_gradients);
        detail::grow(b.losses, T);
        const input_type& support = b.stacked.support();
        const input_type& query = b.stacked.query();
        const index* support_counts = b.stacked.support_counts();
        const index* query_counts = b.stacked.query_counts();
        S* fast = b.fast.data();
        S* g = b.gradient.data();
        if (LearnedRates) D::fill(s + (w + e) * T, S(0), out);  // the rates' gradients accumulate there

        ctx.batch_start(T, fast);
        for (int k = 0; k < steps; ++k) {
            if (second) D::copy_block(m, T, fast + a, w, b.iterates.data() + k * m * T, m);
            obj.gradient_batched(fast, support, b.stacked.support_target(), T, b.passes, g, b.losses.data(),
                                 support_counts, s);
            if (LearnedRates && !second) D::copy_block(m, T, g + a, w, b.inner_gradients.data() + k * m * T, m);
            D::for_each_task(m, T, detail::sgd_step_kernel<S>{w, fast + a, g + a, rates(), S(options_.inner_lr)});
        }
        obj.gradient_batched(fast, query, b.stacked.query_target(), T, b.passes, g, b.losses.data(), query_counts, s);

        if (second) {  // the backward sweep of every task at once: g_t <- g_t - H_s,t(phi_k,t) P_A (alpha (.) g_t)
            for (int k = steps - 1; k >= 0; --k) {
                D::copy_block(m, T, b.iterates.data() + k * m * T, m, fast + a, w);
                D::for_each_task(m, T, detail::scaled_copy_kernel<S>{w, b.direction.data() + a, g + a, rates(),
                                                                     S(options_.inner_lr)});
                S* support_gradient = LearnedRates ? b.support_gradient.data() : nullptr;
                obj.hvp_batched(fast, support, b.stacked.support_target(), b.direction.data(), T, b.passes,
                                b.product.data(), support_gradient, b.support_losses.data(), support_counts, s);
                if constexpr (LearnedRates)
                    D::for_each_task(m, T, detail::subtract_product_kernel<S>{w + e, w, w, out + s + w, g + a,
                                                                              support_gradient + a});
                D::axpy(size, S(-1), b.product.data(), g);
            }
        } else if constexpr (LearnedRates) {
            for (int k = 0; k < steps; ++k)
                D::for_each_task(m, T, detail::subtract_product_kernel<S>{w + e, w, m, out + s + w, g + a,
                                                                          b.inner_gradients.data() + k * m * T});
        }
        D::copy(s, g, out);
        D::copy_block(w, T, g + s, w, out + s, w + e);
        return b.losses.data();
    }

private:

    const scalar_type* rates() const noexcept { return inner_rates(); }

    // fast[A] -= alpha (.) grad[A]
    void inner_update(const context_type& ctx, scalar_type* fast, const scalar_type* grad) const {
        inner_update(ctx, fast, fast, grad);
    }
    // the same from `from`'s adapted slice: fast_A = from_A - alpha (.) grad_A
    void inner_update(const context_type& ctx, const scalar_type* from, scalar_type* fast, const scalar_type* grad) const {
        const auto [a, m] = ctx.adapted();
        device_type::for_each_task(m, 1, detail::sgd_step_from_kernel<scalar_type>{fast + a, from + a, grad + a, rates(),
                                                                                     scalar_type(options_.inner_lr)});
    }

    // the buffers of the task-batched meta-step: the tasks' sets stacked, and the vectors of
    // all tasks (the shared parameters once, then each task's own)
    struct batch_workspace {
        typename objective<Learner, Loss>::workspace passes;
        stacked_tasks<scalar_type, device_type> stacked;
        vector_type fast, gradient, direction, product, support_gradient, iterates, inner_gradients;
        vector_type losses, support_losses;  // the query losses; those of the HVPs' support passes
    };

    maml_options options_;
    vector_type rates_;
    batch_workspace batched_;
};

/// MAML and its variants: meta::algorithm with the maml_rule.
/// @tparam Learner      a learner (exact HVPs if twice_differentiable_learner)
/// @tparam Loss         the loss of inner and outer objectives
/// @tparam Optimizer    the outer optimizer (default optim::adam)
/// @tparam Adaptation   which slice adapts: adapt_all (default), adapt_last (ANIL), adapt_dense_head (MeLU)
/// @tparam LearnedRates true for Meta-SGD
/// @tparam Distribution dist::none (one process, default) or dist::mpi (data-parallel, dist/mpi.hpp)
template <class Learner, class Loss, class Optimizer = optim::adam, class Adaptation = adapt_all,
          bool LearnedRates = false, class Distribution = dist::none>
using basic_maml =
    algorithm<Learner, Loss, Optimizer, maml_rule<Learner, Loss, Adaptation, LearnedRates>, Distribution>;

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
