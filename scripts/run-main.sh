#!/usr/bin/env bash
# The main job: installs what is missing, builds metarec-coldstart in Release, and runs it:
# meta-learning (MAML, first-order MAML, Reptile, Meta-SGD; the model chosen by --model auto)
# against the baselines (global mean, the user's support mean, item means, the bias model, no
# adaptation, fine-tuning) on the built-in synthetic shop, new users, seconds once built.
# Extra arguments go to the program (try --help; e.g. --data ../shared/data/ml-100k --support 10).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release
cmake --build --preset release --parallel "$jobs" --target metarec-coldstart
./build/release/examples/metarec-coldstart "$@"
