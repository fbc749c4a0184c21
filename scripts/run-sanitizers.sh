#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (preset `asan`: every
# doctest suite; MPI, compile-fail and test_sinusoid excepted; the fuzz seeds run under
# sanitizers in scripts/run-fuzz.sh) and
# the suites that run meta-batches on several threads under ThreadSanitizer (preset `tsan`:
# test_meta, test_reliability); both leave the accuracy runs (doctest suite `accuracy`) to the
# test preset. Any sanitizer report fails the test, and the run.
# Usage: scripts/run-sanitizers.sh [asan|tsan]...  (default: both)
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(asan tsan)
for preset in "${presets[@]}"; do
  start=$SECONDS
  cmake --preset "$preset" > /dev/null
  cmake --build --preset "$preset" --parallel "$jobs"
  built=$SECONDS
  ctest --preset "$preset" --parallel "$jobs"
  echo "sanitizers $preset: build $((built - start)) s, tests $((SECONDS - built)) s"
done
