// metarec: all of meta (tasks, sampling, adaptation policies, the loop and its rules).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "adaptation.hpp"
#include "adapted.hpp"
#include "algorithm.hpp"
#include "checkpoint.hpp"
#include "fine_tune.hpp"
#include "inner_loop.hpp"
#include "maml.hpp"
#include "meta_batch.hpp"
#include "options.hpp"
#include "reptile.hpp"
#include "rule.hpp"
#include "sampler.hpp"
#include "stacked_tasks.hpp"
#include "task.hpp"

/// @namespace metarec::meta
/// Meta-learning over tasks (a support set to adapt on, a query set to be judged on): one loop,
/// meta::algorithm (fit, adapt, evaluate, save, load, checkpoints), and the rules it calls for
/// what a task contributes: MAML, first-order MAML, Meta-SGD, ANIL and MeLU-style MAML
/// (maml_rule: meta::maml and its aliases), Reptile (reptile_rule) and fine-tuning
/// (fine_tune_rule); the adaptation policies choose which slice of the parameters adapts.
