// metarec: the data component (loaders need xtensor for .npy files; link metarec::data).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "arrivals.hpp"      // IWYU pragma: export
#include "csv.hpp"           // IWYU pragma: export
#include "csv_dataset.hpp"   // IWYU pragma: export
#include "dataset.hpp"       // IWYU pragma: export
#include "error.hpp"         // IWYU pragma: export
#include "implicit.hpp"      // IWYU pragma: export
#include "movielens.hpp"     // IWYU pragma: export
#include "new_values.hpp"    // IWYU pragma: export
#include "npy.hpp"           // IWYU pragma: export
#include "schema.hpp"        // IWYU pragma: export
#include "split.hpp"         // IWYU pragma: export
#include "synthetic.hpp"     // IWYU pragma: export

/// @namespace metarec::data
/// Interaction data sets with user and item side features: the in-memory data set, loaders
/// (MovieLens 100K and 1M, a generic CSV format, `.npy` dense features; component
/// metarec::data), synthetic data, and cold-start splits into meta-learning tasks.
