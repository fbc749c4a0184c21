// metarec: what a meta-algorithm's rule provides, checked with a sentence naming each missing hook.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "../config.hpp"
#include "adaptation.hpp"
#include "inner_loop.hpp"
#include "stacked_tasks.hpp"

namespace metarec::meta {

/// A rule is what one task contributes to a meta-step, and how a task adapts: MAML's backward
/// sweep, Reptile's pseudo-gradient, fine-tuning's pooled gradient. meta::algorithm owns the
/// loop (meta-batches, threads, the sum of the tasks' contributions, the outer step,
/// checkpoints) and calls the rule; the rule never calls the loop. A rule over `Learner` and
/// `Loss` (with `ctx` a `const meta::context<Learner, Loss>&`, `S` the scalar) has
///
///     static constexpr std::string_view name;        // written in checkpoints
///     using options_type = ...;                      // with inner_steps, meta_batch, threads, seed
///     struct workspace : meta::task_workspace<Learner, Loss> { ... };   // one per thread
///     workspace make_workspace(ctx) const;
///     void adapt(ctx, const input_type& support, const S* target, int steps, workspace&, S* fast) const;
///         // fast holds the meta-parameters on entry, the adapted ones on return; only the
///         // adapted slice may change (algorithm::adapt() copies only that slice into a reused model)
///     meta::task_result task_gradient(ctx, const task_type&, workspace&, S* out) const;
///         // out (p + extra_count()) = weight x the task's meta-gradient
///
/// and, optionally,
///
///     Rule(const options_type&, ctx);                // otherwise Rule(options)
///     using adaptation = meta::adapt_last;           // which slice adapts (default adapt_all)
///     index extra_count() const; S* extras(); const S* extras() const;   // its own meta-parameters
///     bool batched(ctx) const;                       // whether this meta-step runs task-batched, and
///     const S* batch_gradient(ctx, const task_selection<task_type>&, S* out);
///         // every task's meta-gradient at once: the sum over the tasks on the s = ctx.batch_shared()
///         // shared parameters, then task t's own p + extras - s at out + s + t (p + extras - s);
///         // returns the T losses (device memory)
///
/// task_gradient() runs on several threads at once (one workspace each): it must not write
/// the rule's members. See docs/concepts/meta_algorithm.md for a rule written as a user would.

//! the adaptation policy of `Rule`: its `adaptation` type, or adapt_all
template <class Rule>
struct rule_adaptation {
    using type = adapt_all;  //!< the default: every parameter adapts
};
//! a rule's own `adaptation` type
template <class Rule>
    requires requires { typename Rule::adaptation; }
struct rule_adaptation<Rule> {
    using type = typename Rule::adaptation;  //!< the rule's choice
};

/// Checks the hooks of `Rule` over `Learner` and `Loss`, each by a static_assert whose message
/// names the hook and its signature; true when all are there.
template <class Rule, class Learner, class Loss>
constexpr bool check_rule() {
    using ctx = context<Learner, Loss>;
    using S = typename Learner::scalar_type;
    using input_type = typename Learner::input_type;
    using task_type = typename ctx::task_type;
    static_assert(requires { { Rule::name } -> std::convertible_to<std::string_view>; },
                  "metarec: a meta-algorithm rule lacks `static constexpr std::string_view name` (written in "
                  "checkpoints; see docs/concepts/meta_algorithm.md, \"Writing your own rule\")");
    static_assert(requires(const typename Rule::options_type& o) {
                      { o.inner_steps } -> std::convertible_to<int>;
                      { o.meta_batch } -> std::convertible_to<index>;
                      { o.threads } -> std::convertible_to<int>;
                      { o.seed } -> std::convertible_to<std::uint64_t>;
                  },
                  "metarec: a meta-algorithm rule lacks `using options_type = ...`, an options type with "
                  "`inner_steps`, `meta_batch`, `threads` and `seed` (see docs/concepts/meta_algorithm.md, "
                  "\"Writing your own rule\")");
    static_assert(std::is_base_of_v<task_workspace<Learner, Loss>, typename Rule::workspace>,
                  "metarec: a meta-algorithm rule lacks `struct workspace : meta::task_workspace<Learner, Loss>`, "
                  "its scratch memory of one thread (see docs/concepts/meta_algorithm.md, \"Writing your own rule\")");
    using W = typename Rule::workspace;
    static_assert(requires(const Rule& r, const ctx& c) { { r.make_workspace(c) } -> std::same_as<W>; },
                  "metarec: a meta-algorithm rule lacks `workspace make_workspace(const context&) const` (see "
                  "docs/concepts/meta_algorithm.md, \"Writing your own rule\")");
    static_assert(requires(const Rule& r, const ctx& c, const input_type& x, const S* y, int k, W& ws, S* fast) {
                      r.adapt(c, x, y, k, ws, fast);
                  },
                  "metarec: a meta-algorithm rule lacks `void adapt(const context&, const input_type& support, "
                  "const scalar_type* target, int steps, workspace&, scalar_type* fast) const` (see "
                  "docs/concepts/meta_algorithm.md, \"Writing your own rule\")");
    static_assert(requires(const Rule& r, const ctx& c, const task_type& t, W& ws, S* out) {
                      { r.task_gradient(c, t, ws, out) } -> std::same_as<task_result>;
                  },
                  "metarec: a meta-algorithm rule lacks `task_result task_gradient(const context&, const "
                  "task_type&, workspace&, scalar_type* out) const` (see docs/concepts/meta_algorithm.md, "
                  "\"Writing your own rule\")");
    static_assert(!requires { typename Rule::adaptation; } ||
                      requires(const Learner& l) {
                          { Rule::adaptation::select(l) } -> std::convertible_to<parameter_range>;
                      },
                  "metarec: a meta-algorithm rule's `adaptation` must be an adaptation policy, with `static "
                  "parameter_range select(const Learner&)` (meta/adaptation.hpp)");
    return true;
}

}  // namespace metarec::meta
