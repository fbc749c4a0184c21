#!/usr/bin/env bash
# The main job: installs what is missing, builds the examples in Release, and runs the
# few-shot sinusoid comparison (pre-trained + fine-tuning vs MAML, Reptile, Meta-SGD).
# Extra arguments go to the program (try --help).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release
cmake --build --preset release --parallel "$jobs" --target sinusoid
./build/release/examples/sinusoid "$@"
