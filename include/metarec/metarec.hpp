// metarec: header-only C++20 meta-learning for cold-start recommendation. Includes everything.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "version.hpp"
#include "config.hpp"

#include "concepts/device_policy.hpp"
#include "concepts/learner.hpp"
#include "concepts/loss_function.hpp"
#include "concepts/optimizer.hpp"

#include "device/cpu.hpp"
#include "device/execution_policy.hpp"

#include "nn/batch_data.hpp"
#include "nn/nn.hpp"

#include "loss/loss.hpp"
#include "loss/objective.hpp"

#include "optim/optim.hpp"

#include "meta/meta.hpp"

#include "data/dataset.hpp"
#include "data/implicit.hpp"
#include "data/negatives.hpp"
#include "data/split.hpp"
#include "data/synthetic.hpp"
#include "eval/average.hpp"
#include "eval/intervals.hpp"
#include "eval/metrics.hpp"
#include "eval/ranking.hpp"
#include "recsys/baselines.hpp"
#include "recsys/catalogue.hpp"
#include "recsys/features.hpp"
#include "recsys/residual.hpp"
#include "recsys/implicit_baselines.hpp"
#include "recsys/implicit_tasks.hpp"
#include "recsys/melu.hpp"
#include "recsys/two_tower.hpp"

#include "callbacks/callbacks.hpp"
#include "callbacks/standard.hpp"
