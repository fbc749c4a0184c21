#!/usr/bin/env bash
# The whole test suite: installs what is missing, configures, builds (tests, examples,
# benchmarks), runs every test under ctest, then the suite under the sanitizers
# (scripts/run-sanitizers.sh) and each fuzz target for a bounded time (scripts/run-fuzz.sh,
# METAREC_FUZZ_SECONDS per target, default 30: CI time).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset test
cmake --build --preset test --parallel "$jobs"
ctest --preset test --parallel "$jobs"
bash scripts/run-sanitizers.sh
bash scripts/run-fuzz.sh "${METAREC_FUZZ_SECONDS:-30}"
