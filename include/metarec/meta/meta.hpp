// metarec: all of meta (tasks, sampling, adaptation policies, the meta-algorithms).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "adaptation.hpp"
#include "algorithm.hpp"
#include "fine_tune.hpp"
#include "maml.hpp"
#include "reptile.hpp"
#include "sampler.hpp"
#include "task.hpp"

/// @namespace metarec::meta
/// Meta-learning over tasks (a support set to adapt on, a query set to be judged on): MAML,
/// first-order MAML, Meta-SGD, ANIL (meta::basic_maml and its aliases), Reptile and
/// fine-tuning, on the common surface of meta::algorithm (fit, adapt, evaluate, save, load),
/// and the adaptation policies that choose which slice of the parameters adapts.
