// metarec: the built-in callbacks (progress bar, loss printing, CSV log, early stopping, checkpoints).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "callbacks.hpp"
#include "checkpoint.hpp"
#include "early_stopping.hpp"
#include "log_csv.hpp"
#include "print_loss.hpp"
#include "progress_bar.hpp"
