// metarec: what a rule's inner loop works with: the task workspace, the context view and its helpers.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "../concepts/optimizer.hpp"
#include "../config.hpp"
#include "../detail/ranges.hpp"
#include "../loss/objective.hpp"
#include "../nn/batch.hpp"
#include "../optim/state.hpp"
#include "task.hpp"

namespace metarec::meta {

/// The scratch memory of one task's computation that every rule shares (a rule's own
/// workspace derives from it and adds its buffers), allocated once per thread and reused.
/// `gradient`, `product` and `second_gradient` are kept zero outside `touched`
/// (context::touch): a rule sizes the last two to the parameter count where it uses them,
/// or leaves them empty.
/// @tparam Learner the learner
/// @tparam Loss    the loss
template <class Learner, class Loss>
struct task_workspace {
    using scalar_type = typename Learner::scalar_type;                       //!< the learner's scalar
    using device_type = typename Learner::device_type;                       //!< the learner's device policy
    using vector_type = typename device_type::template vector<scalar_type>;  //!< a device buffer
    typename objective<Learner, Loss>::workspace passes;  //!< the objective's (forward, backward, R-operator)
    vector_type fast;             //!< the task's parameters (full vector)
    vector_type gradient;         //!< a gradient (full vector)
    vector_type product;          //!< a Hessian-vector product (full vector, or empty)
    vector_type second_gradient;  //!< a second gradient (full vector, or empty): a support or query gradient
    /// @{
    /// @brief where the gradients of the current batches can be nonzero, disjoint and sorted
    /// (context::touch): of both sets, of the support set, of the query set; and where the
    /// buffers above were last written (outside it they are zero)
    std::vector<parameter_range> touched{}, touched_support{}, touched_query{}, dirty{};
    /// @}
    //! `dirty` is known: outside it the gradient buffers are zero (false: not cleared yet)
    bool clean = false;
    //! `fast` holds this meta-step's meta-parameters outside the adapted slice (context::begin_task)
    bool fast_current = false;
};

/// What a rule's task_gradient() returns: the task's loss, its weight in the meta-batch's
/// mean, and where it wrote the meta-gradient.
struct task_result {
    double loss = 0;    //!< the task's loss (logged; a NaN or infinity is caught)
    double weight = 1;  //!< `out` holds weight x the meta-gradient; the meta-step divides by the sum of the weights
    /// where `out` holds the task's meta-gradient within the learner's parameters, disjoint and
    /// sorted (the extras are always written); std::nullopt: all of them. A rule returns
    /// `workspace.touched` after context::touch_task() (sparse embedding gradients).
    std::optional<std::span<const parameter_range>> written = std::nullopt;
};

/// The read-only view of the meta-algorithm that a rule receives with every call: the
/// objective, the adapted slice, the inner steps, and the helpers an inner loop needs. It
/// makes no call into the loop: a rule reads what it needs from it and writes only its
/// own workspace and outputs.
/// @tparam Learner the learner
/// @tparam Loss    the loss
template <class Learner, class Loss>
class context {
public:
    using learner_type = Learner;                                            //!< the learner
    using loss_type = Loss;                                                  //!< the loss
    using scalar_type = typename Learner::scalar_type;                       //!< the learner's scalar
    using device_type = typename Learner::device_type;                       //!< the learner's device policy
    using input_type = typename Learner::input_type;                         //!< what the learner reads (a batch)
    using task_type = task<input_type, scalar_type>;                         //!< a task: support and query sets
    using vector_type = typename device_type::template vector<scalar_type>;  //!< a device buffer
    using objective_type = metarec::objective<Learner, Loss>;                //!< learner + loss, differentiated
    using workspace_type = task_workspace<Learner, Loss>;                    //!< the shared part of a workspace

    /// Whether task-batched passes exist: a learner with task-batched passes reading
    /// nn::batch inputs (meta::stacked_tasks stacks those) and a loss with task-batched members.
    static constexpr bool task_batchable =
        objective_type::task_batched && std::is_same_v<input_type, nn::batch<scalar_type>>;

    //! @param learner the learner (by reference) @param loss the loss @param adapted the adapted slice
    //! @param inner_steps inner steps at training time
    context(const Learner& learner, const Loss& loss, parameter_range adapted, int inner_steps)
        : objective_(learner, loss), adapted_(adapted), inner_steps_(inner_steps) {}

    //! the learner; its parameters() are the meta-parameters theta
    const Learner& learner() const noexcept { return objective_.learner(); }
    //! the objective (learner + loss): values, gradients, Hessian-vector products
    const objective_type& objective() const noexcept { return objective_; }
    //! the adapted slice A of the parameters
    parameter_range adapted() const noexcept { return adapted_; }
    //! inner steps K at training time
    int inner_steps() const noexcept { return inner_steps_; }
    //! the learner's parameter count p
    index parameter_count() const { return learner().parameter_count(); }

    /// The shared part of a workspace: the objective's passes, `fast` (unless `with_fast` is
    /// false: an inner loop that adapts a vector of its caller's) and `gradient` of p values,
    /// `product` and `second_gradient` of the sizes given (p or 0).
    workspace_type make_task_workspace(index product_size = 0, index second_gradient_size = 0,
                                       bool with_fast = true) const {
        const index p = parameter_count();
        return {.passes = objective_.make_workspace(1),
                .fast = vector_type(with_fast ? p : 0),
                .gradient = vector_type(p),
                .product = vector_type(product_size),
                .second_gradient = vector_type(second_gradient_size)};
    }

    /// `ws.touched` = where gradients on `x` (and `y`) can be nonzero: the learner's
    /// touched_parameters() (sparse embedding gradients), or every parameter for a learner
    /// without it. The workspace's gradient buffers are zero outside it afterwards (what the
    /// previous ranges left there is cleared), so that objective::gradient and hvp with these
    /// ranges, and updates of a whole adapted slice, read zeros elsewhere.
    void touch(workspace_type& ws, const input_type& x, const input_type* y = nullptr) const {
        const Learner& l = learner();
        ws.touched.clear();
        if constexpr (requires { l.touched_parameters(x, ws.touched); }) {
            if (y) {
                l.touched_parameters(x, ws.touched_support);
                l.touched_parameters(*y, ws.touched_query);
                detail::unite(ws.touched_support, ws.touched_query, ws.touched);
            } else {
                l.touched_parameters(x, ws.touched);
            }
        } else {
            ws.touched.push_back({0, l.parameter_count()});
        }
        const auto same = [](const parameter_range& u, const parameter_range& v) {
            return u.offset == v.offset && u.size == v.size;
        };
        if (ws.clean && std::ranges::equal(ws.dirty, ws.touched, same)) return;
        const index p = l.parameter_count();
        if (!ws.clean) ws.dirty.assign(1, {0, p});  // a new workspace: clear everything once
        for (auto* buffer : {&ws.gradient, &ws.product, &ws.second_gradient})
            if (index(buffer->size()) == p)
                for (const auto& r : ws.dirty) device_type::fill(r.size, scalar_type(0), buffer->data() + r.offset);
        ws.dirty.assign(ws.touched.begin(), ws.touched.end());
        ws.clean = true;
    }

    /// touch() for the support and query sets of `task`; returns the ranges, for a
    /// task_result that writes the meta-gradient only there.
    std::span<const parameter_range> touch_task(const task_type& task, workspace_type& ws) const {
        touch(ws, task.support, &task.query);
        return ws.touched;
    }

    /// Sets `ws.fast` to the meta-parameters for a new task: the whole vector at the first
    /// task of a meta-step on this workspace, then only the adapted slice (the only part an
    /// inner loop changes); with `slice = false` not the adapted slice (an inner loop whose
    /// first step writes it from theta).
    void begin_task(workspace_type& ws, bool slice = true) const {
        const auto [a, m] = adapted_;
        if (ws.fast_current) {
            if (slice) device_type::copy(m, learner().parameters() + a, ws.fast.data() + a);
        } else {
            device_type::copy(parameter_count(), learner().parameters(), ws.fast.data());
            ws.fast_current = true;
        }
    }

    /// The parameters the tasks of a task-batched meta-step keep once (task_layout::shared):
    /// those below the adapted slice when it is the trailing one (MeLU's embeddings under its
    /// head, ANIL's layers under the last), which no inner step moves; otherwise none.
    index batch_shared() const noexcept {
        return adapted_.offset + adapted_.size == parameter_count() ? adapted_.offset : 0;
    }
    /// Every task of a task-batched meta-step at theta: `fast` = the s = batch_shared() shared
    /// parameters once, then each task's own p - s (task_layout{p - s, s}).
    void batch_start(index tasks, scalar_type* fast) const {
        const index s = batch_shared(), own = parameter_count() - s;
        device_type::copy(s, learner().parameters(), fast);
        device_type::copy_block(own, tasks, learner().parameters() + s, 0, fast + s, own);
    }

private:
    objective_type objective_;
    parameter_range adapted_;
    int inner_steps_;
};

/// The adaptation of a rule that adapts with an optimizer (Reptile, fine-tuning), a base
/// of such a rule: its workspace adds the inner optimizer's state on the adapted slice and a
/// pristine copy that every adaptation starts from; adapt() takes `steps` steps of it.
/// @tparam Learner        the learner
/// @tparam Loss           the loss
/// @tparam Options        the rule's options, with `inner`: the inner optimizer (fresh state for every task)
/// @tparam SecondGradient whether the workspace holds a second full gradient (`second_gradient`)
template <class Learner, class Loss, class Options, bool SecondGradient>
class optimizer_adaptation {
public:
    using options_type = Options;                             //!< options of the algorithm
    using inner_optimizer = decltype(Options::inner);         //!< the inner optimizer
    using context_type = context<Learner, Loss>;              //!< what the rule sees of the algorithm
    using scalar_type = typename Learner::scalar_type;        //!< the learner's scalar
    using device_type = typename Learner::device_type;        //!< the learner's device policy
    using input_type = typename Learner::input_type;          //!< what the learner reads (a batch)
    using task_type = typename context_type::task_type;       //!< a task
    using vector_type = typename context_type::vector_type;   //!< a device buffer
    static_assert(check_optimizer<inner_optimizer, scalar_type, device_type>());

    //! the shared task workspace, with the inner optimizer's state and its pristine copy
    struct workspace : task_workspace<Learner, Loss> {
        optim::state<scalar_type, device_type> inner_state{};    //!< the state in use
        optim::state<scalar_type, device_type> initial_state{};  //!< what each adaptation starts from
    };

    //! @param options the options, `inner` among them
    explicit optimizer_adaptation(const Options& options) : options_(options) {}

    //! the options
    const Options& options() const noexcept { return options_; }

    //! a workspace for the inner loop
    workspace make_workspace(const context_type& ctx) const {
        return with_states(ctx, workspace{ctx.make_task_workspace(0, SecondGradient ? ctx.parameter_count() : 0)});
    }
    //! a workspace for adapt() alone (which adapts its caller's vector): no `fast`, no second gradient
    workspace make_adapt_workspace(const context_type& ctx) const {
        return with_states(ctx, workspace{ctx.make_task_workspace(0, 0, false)});
    }

    /// `steps` steps of the inner optimizer on the support loss, on the adapted slice of
    /// `fast`, from a fresh optimizer state (copied from the pristine one, not allocated).
    void adapt(const context_type& ctx, const input_type& support, const scalar_type* target, int steps,
               workspace& ws, scalar_type* fast) const {
        const auto [a, m] = ctx.adapted();
        device_type::copy(index(ws.inner_state.buffer.size()), ws.initial_state.buffer.data(),
                          ws.inner_state.buffer.data());
        ws.inner_state.steps = 0;
        ctx.touch(ws, support);  // the gradient only where the support set reaches (zero elsewhere)
        for (int k = 0; k < steps; ++k) {
            // the gradient on the adapted slice only
            ctx.objective().gradient(fast, support, target, ws.passes, ws.gradient.data(), ws.touched, a);
            options_.inner.step(ws.inner_state, fast + a, ws.gradient.data() + a, m);
        }
    }

protected:
    Options options_;  //!< the options

private:
    // `ws` with the inner optimizer's state on the adapted slice, and its pristine copy
    workspace with_states(const context_type& ctx, workspace ws) const {
        const index m = ctx.adapted().size;
        ws.inner_state = optim::make_state<scalar_type, device_type>(options_.inner, m);
        ws.initial_state = optim::make_state<scalar_type, device_type>(options_.inner, m);
        return ws;
    }
};

}  // namespace metarec::meta
