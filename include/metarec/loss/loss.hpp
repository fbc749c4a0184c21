// metarec: every built-in loss (mse, bce_with_logits, softmax_cross_entropy, bpr).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "bce_with_logits.hpp"
#include "bpr.hpp"
#include "mse.hpp"
#include "softmax_cross_entropy.hpp"

/// @namespace metarec::loss
/// The built-in loss functions (concept loss_function): value, gradient and, for exact
/// Hessian-vector products, `hessian_product` on `rows x n` column-major predictions.
