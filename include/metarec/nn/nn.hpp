// metarec: all of nn (layers, composition, model).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "activations.hpp"
#include "batch.hpp"
#include "broadcast.hpp"
#include "concat.hpp"
#include "dense.hpp"
#include "dense_features.hpp"
#include "dot.hpp"
#include "embedding.hpp"
#include "field_embeddings.hpp"
#include "layer.hpp"
#include "model.hpp"
#include "sequential.hpp"

/// @namespace metarec::nn
/// Neural-network learners: layers that follow the layer protocol (see nn::layer_base),
/// composed with nn::sequential and nn::concat, and bound by nn::model to a scalar type, a
/// device and one flat parameter vector, with exact Hessian-vector products (R-operator).
