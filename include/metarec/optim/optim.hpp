// metarec: all of optim (optimizers on flat vectors, their state, schedules, clipping).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "adagrad.hpp"
#include "adam.hpp"
#include "clip.hpp"
#include "momentum.hpp"
#include "schedule.hpp"
#include "sgd.hpp"
#include "state.hpp"

/// @namespace metarec::optim
/// Optimizers on flat parameter vectors in device memory (sgd, momentum, adagrad, adam,
/// adamw), their state, learning-rate schedules and gradient clipping by norm.
