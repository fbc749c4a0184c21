// metarec: how recommenders see their input: the user's features, then the item's.
// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace metarec::recsys {

/// Feature groups (nn::input_shape): towers and per-side layers read the fields of one group.
inline constexpr int user_group = 0;  //!< the user's features
inline constexpr int item_group = 1;  //!< the item's features

}  // namespace metarec::recsys
