#!/usr/bin/env bash
# The whole test suite: installs what is missing, configures, builds (tests, examples,
# benchmarks), and runs every test under ctest.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset test
cmake --build --preset test --parallel "$jobs"
ctest --preset test --parallel "$jobs"
