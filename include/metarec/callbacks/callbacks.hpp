// metarec: the training-loop hooks that callbacks may define, and how fit() calls them.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <type_traits>

#include "../config.hpp"

/// @namespace metarec::callbacks
/// The hooks that fit() calls on callbacks (on_fit_begin, on_step_end, on_epoch_end,
/// on_fit_end; any subset, found with `requires`; returning true stops training) and the
/// built-in callbacks (callbacks/standard.hpp).
namespace metarec::callbacks {

/// What fit() reports when it starts.
struct fit_begin_info {
    int epochs = 0;                     //!< epochs requested
    std::int64_t steps_per_epoch = 0;   //!< meta-steps in one epoch
    std::int64_t total_steps = 0;       //!< steps the run will take if nothing stops it
    index tasks_per_step = 0;           //!< tasks in a full meta-batch
};

/// What fit() reports after every meta-step (one outer update).
struct step_info {
    std::int64_t step = 0;    //!< 1-based count of the algorithm's meta-steps (over every fit() call)
    int epoch = 0;            //!< 0-based epoch
    double loss = 0;          //!< mean training loss of the step's tasks (the meta-loss)
    index tasks = 0;          //!< tasks in this step
    double seconds = 0;       //!< wall time since fit() started
};

/// What fit() reports after every epoch.
struct epoch_info {
    int epoch = 0;            //!< 0-based epoch that just ended
    double loss = 0;          //!< mean meta-loss over the epoch's steps
    std::int64_t step = 0;    //!< meta-steps so far
    double seconds = 0;       //!< wall time since fit() started
};

/// What fit() reports when it returns.
struct fit_end_info {
    std::int64_t steps = 0;   //!< meta-steps taken
    int epochs = 0;           //!< epochs completed
    double seconds = 0;       //!< wall time of fit()
    bool stopped_early = false;  //!< a callback asked to stop
    std::int64_t skipped_tasks = 0;  //!< tasks left out for a NaN or infinite loss or gradient (non_finite::skip_task)
};

/// Callbacks are duck-typed: any object, passed by reference to `fit(tasks, options, cb...)`,
/// that defines any of these members (each may also take the algorithm as a second
/// argument, `auto& algorithm`, to evaluate or snapshot it):
///
///     void on_fit_begin(const fit_begin_info&);
///     bool on_step_end(const step_info&);      // return true to stop training (or void)
///     bool on_epoch_end(const epoch_info&);    // return true to stop training (or void)
///     void on_fit_end(const fit_end_info&);
///
/// Hooks missing from a callback are skipped at compile time; every callback sees every
/// event, in the order they were passed, even when an earlier one asked to stop.
namespace detail {

#define METAREC_DEFINE_HOOK(hook)                                                              \
    template <class Callback, class Info, class Algorithm>                                     \
    bool hook(Callback& callback, const Info& info, Algorithm& algorithm) {                   \
        if constexpr (requires { callback.hook(info, algorithm); }) {                          \
            if constexpr (std::is_same_v<decltype(callback.hook(info, algorithm)), void>)      \
                callback.hook(info, algorithm);                                                \
            else                                                                               \
                return bool(callback.hook(info, algorithm));                                   \
        } else if constexpr (requires { callback.hook(info); }) {                              \
            if constexpr (std::is_same_v<decltype(callback.hook(info)), void>)                 \
                callback.hook(info);                                                           \
            else                                                                               \
                return bool(callback.hook(info));                                              \
        }                                                                                      \
        return false;                                                                          \
    }
METAREC_DEFINE_HOOK(on_fit_begin)
METAREC_DEFINE_HOOK(on_step_end)
METAREC_DEFINE_HOOK(on_epoch_end)
METAREC_DEFINE_HOOK(on_fit_end)
#undef METAREC_DEFINE_HOOK

// Per hook: hook_callable_<hook><Callback, Algorithm>, fit() can call it (with the info, or the
// info and the algorithm); hook_uncallable_<hook>, `Callback` has a member of that name (one
// non-template function: `&Callback::hook` names it) that fit() cannot call, for another
// signature or a non-const hook of a const callback. An overloaded or template hook is not
// seen by the second (its address is ambiguous), nor a misspelled name.
#define METAREC_DEFINE_HOOK_TRAITS(hook, info)                                                     \
    template <class Callback, class Algorithm>                                                     \
    inline constexpr bool hook_callable_##hook =                                                   \
        requires(Callback& c, const info& i, Algorithm& a) { c.hook(i); } ||                       \
        requires(Callback& c, const info& i, Algorithm& a) { c.hook(i, a); };                      \
    template <class Callback, class Algorithm>                                                     \
    inline constexpr bool hook_uncallable_##hook =                                                 \
        requires { &std::remove_cv_t<Callback>::hook; } && !hook_callable_##hook<Callback, Algorithm>;
METAREC_DEFINE_HOOK_TRAITS(on_fit_begin, fit_begin_info)
METAREC_DEFINE_HOOK_TRAITS(on_step_end, step_info)
METAREC_DEFINE_HOOK_TRAITS(on_epoch_end, epoch_info)
METAREC_DEFINE_HOOK_TRAITS(on_fit_end, fit_end_info)
#undef METAREC_DEFINE_HOOK_TRAITS

}  // namespace detail

/// A callback for `Algorithm`: it has at least one of the four hooks, callable on it (on a
/// `const` callback: a `const` hook) with the hook's info and, optionally, the algorithm.
/// fit() requires it of every callback, so that one whose hooks would all be skipped (a
/// misspelled name, another signature, non-const hooks of a const object) does not compile.
/// @tparam Callback   the callback's type, `const`-qualified for a const callback
/// @tparam Algorithm  the meta-algorithm whose fit() calls it
template <class Callback, class Algorithm>
concept callback_for =
    detail::hook_callable_on_fit_begin<Callback, Algorithm> || detail::hook_callable_on_step_end<Callback, Algorithm> ||
    detail::hook_callable_on_epoch_end<Callback, Algorithm> || detail::hook_callable_on_fit_end<Callback, Algorithm>;

/// fit()'s checks of its callbacks, at compile time: each is a callback_for `Algorithm`, and
/// none has a hook (a member function of a hook's name) that fit() would skip because it
/// cannot call it, next to hooks it can call.
template <class Algorithm, class... Callbacks>
consteval bool check_callbacks() {
    static_assert((callback_for<Callbacks, Algorithm> && ...),
                  "metarec: every argument of fit() after the options must be a callback, with at least one "
                  "of on_fit_begin(const fit_begin_info&), on_step_end(const step_info&), "
                  "on_epoch_end(const epoch_info&), on_fit_end(const fit_end_info&), each optionally taking "
                  "the algorithm as a second argument; a const callback needs const hooks "
                  "(see docs/concepts/callbacks.md)");
#define METAREC_CHECK_HOOK(hook, info)                                                             \
    static_assert(!(detail::hook_uncallable_##hook<Callbacks, Algorithm> || ...),                  \
                  "metarec: a callback's " #hook " cannot be called as " #hook "(const " #info     \
                  "&) or " #hook "(const " #info "&, Algorithm&) (or is not const on a const "     \
                  "callback): fit() would skip it");
    METAREC_CHECK_HOOK(on_fit_begin, fit_begin_info)
    METAREC_CHECK_HOOK(on_step_end, step_info)
    METAREC_CHECK_HOOK(on_epoch_end, epoch_info)
    METAREC_CHECK_HOOK(on_fit_end, fit_end_info)
#undef METAREC_CHECK_HOOK
    return true;
}
}  // namespace metarec::callbacks
