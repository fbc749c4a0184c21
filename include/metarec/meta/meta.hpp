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
