#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, preset `fuzz`) and runs each for a bounded
# time on a copy of its seed corpus. Fails when a target crashes, leaks, times out or trips a
# sanitizer; the reproducer is kept under build/fuzz/findings/ (add it to tests/data/bad/).
# Usage: scripts/run-fuzz.sh [seconds per target, default 60]
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=$(nproc 2>/dev/null || echo 2)

cmake --preset fuzz > /dev/null
cmake --build --preset fuzz --parallel "$jobs"
rm -rf build/fuzz/findings build/fuzz/corpus
mkdir -p build/fuzz/findings
failed=0
for target in csv movielens npy checkpoint; do
  corpus=build/fuzz/corpus/$target
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/$target/* "$corpus/"
  log=build/fuzz/$target.log
  if ! build/fuzz/tests/fuzz/fuzz_$target "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="build/fuzz/findings/$target-" > "$log" 2>&1; then
    failed=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  findings=$(find build/fuzz/findings -name "$target-*" | wc -l)
  echo "fuzz $target: $runs executions in ${seconds} s, corpus $(ls "$corpus" | wc -l) inputs, $findings findings"
  if [ "$findings" -gt 0 ]; then
    failed=1
    grep -E "ERROR|unexpected|SUMMARY" "$log" | head -5 >&2 || true
    find build/fuzz/findings -name "$target-*" -printf "  reproducer: %p (replay: build/fuzz/tests/fuzz/fuzz_$target %p)\n" >&2
  fi
done
exit $failed
