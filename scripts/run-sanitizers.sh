#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (preset `asan`: every
# doctest suite and replay, MPI and compile-fail tests excepted) and the threaded meta-batch
# suites under ThreadSanitizer (preset `tsan`). Any report fails the run.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
for preset in asan tsan; do
  cmake --preset "$preset" > /dev/null
  cmake --build --preset "$preset" --parallel "$jobs"
  ctest --preset "$preset" --parallel "$jobs"
done
