// metarec: every built-in loss (mse, bce_with_logits, softmax_cross_entropy, bpr).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "bce_with_logits.hpp"
#include "bpr.hpp"
#include "mse.hpp"
#include "softmax_cross_entropy.hpp"
