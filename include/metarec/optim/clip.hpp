// metarec: gradient clipping by global L2 norm (as PyTorch's clip_grad_norm_).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../config.hpp"
#include "../device/fwd.hpp"
#include "schedule.hpp"

namespace metarec::optim {

namespace detail {

//! Added to the norm before dividing, as PyTorch does (keeps a zero gradient finite).
inline constexpr double clip_epsilon = 1e-6;

//! min(1, max_norm / (norm + 1e-6)); 1 when max_norm == 0 (clipping off).
inline double clip_scale(double norm, double max_norm) {
    if (max_norm == 0) return 1.0;
    return std::min(1.0, max_norm / (norm + clip_epsilon));
}

//! ||x||_2 of a device vector, read back through Device::dot.
template <class Device, class S>
double l2_norm(const S* x, index n) {
    if (n <= 0) return 0.0;
    using std::sqrt;
    return double(sqrt(Device::dot(n, x, x)));
}

//! max_norm >= 0 and finite (0 = clipping off); `who` names the caller in metarec::optim
inline void require_clip_norm(std::string_view who, const char* field, double max_norm) {
    if (!(max_norm >= 0) || !std::isfinite(max_norm))
        throw std::invalid_argument("metarec::optim::" + std::string(who) + ": " + field +
                                    " must be finite and >= 0 (0 turns clipping off), got " + format_number(max_norm));
}

}  // namespace detail

/// The factor that clipping by norm applies to a gradient, without applying it:
///
///     min(1, max_norm / (||g||_2 + 1e-6))      (1 when max_norm == 0, without reading g)
///
/// The built-in optimizers fold it into their update kernel (so the gradient buffer is not
/// modified); a user-defined optimizer with a `clip_norm` field can do the same.
/// @tparam Device  device policy the gradient lives on; default device::cpu
/// @tparam S       scalar type
/// @param grad      device pointer to n gradient entries (read only)
/// @param n         number of entries
/// @param max_norm  maximum norm, >= 0; 0 = clipping off
template <class Device = device::cpu, class S>
S clip_factor(const S* grad, index n, double max_norm) {
    detail::require_clip_norm("clip_factor", "max_norm", max_norm);
    if (max_norm == 0) return S(1);
    return S(detail::clip_scale(detail::l2_norm<Device>(grad, n), max_norm));
}

/// Clips a gradient in place to a maximum global L2 norm, as PyTorch's
/// `torch.nn.utils.clip_grad_norm_`:
///
///     g <- g * min(1, max_norm / (||g||_2 + 1e-6))
///
/// The optimizers' `clip_norm` field applies the same factor (clip_factor) inside their
/// update kernel, without modifying the gradient; call this function when the clipped gradient itself is
/// wanted (e.g. to log it, or before an all-reduce).
/// @tparam Device  device policy the gradient lives on; default device::cpu
/// @tparam S       scalar type
/// @param grad      device pointer to n gradient entries, scaled in place
/// @param n         number of entries
/// @param max_norm  maximum norm, >= 0; 0 leaves the gradient unchanged
/// @return the norm ||g||_2 before clipping
template <class Device = device::cpu, class S>
S clip_by_norm(S* grad, index n, double max_norm) {
    detail::require_clip_norm("clip_by_norm", "max_norm", max_norm);
    const double norm = detail::l2_norm<Device>(grad, n);
    const double scale = detail::clip_scale(norm, max_norm);
    if (scale < 1) Device::scal(n, S(scale), grad);
    return S(norm);
}

}  // namespace metarec::optim
