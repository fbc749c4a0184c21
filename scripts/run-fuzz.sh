#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan, preset `fuzz`) and runs each
# for a bounded time on a copy of its seed corpus, as many at once as there are cores (each
# fuzzer uses one). Prints the executions and findings of every target, and fails when one
# crashes, leaks, times out (-timeout=10 s per input), runs out of memory (-rss_limit_mb=2048),
# trips a sanitizer or throws anything but metarec::data_error. Reproducers are kept under
# build/fuzz/run/findings/.
# Usage: scripts/run-fuzz.sh [seconds per target, default 60]
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=$(nproc 2>/dev/null || echo 2)
start=$SECONDS

cmake --preset fuzz > /dev/null
cmake --build --preset fuzz --parallel "$jobs"
built=$SECONDS
bin=build/fuzz/tests/fuzz
mapfile -t targets < "$bin/fuzz_targets.txt"  # written by tests/fuzz/CMakeLists.txt
out=build/fuzz/run
rm -rf "$out"
mkdir -p "$out/findings" "$out/corpus"

run_one() {
  local target=$1 rc=0
  mkdir -p "$out/corpus/$target"
  cp -R "tests/fuzz/corpus/$target/." "$out/corpus/$target/"
  "$bin/fuzz_$target" "$out/corpus/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/findings/$target-" > "$out/$target.log" 2>&1 || rc=$?
  echo "$rc" > "$out/$target.rc"
}
running=0
for target in "${targets[@]}"; do
  run_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
for target in "${targets[@]}"; do
  log=$out/$target.log
  rc=$(cat "$out/$target.rc")
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  seeds=$(find "tests/fuzz/corpus/$target" -type f | wc -l)
  corpus=$(find "$out/corpus/$target" -type f | wc -l)
  mapfile -t findings < <(find "$out/findings" -name "$target-*" -type f | sort)
  echo "fuzz $target: $runs executions in $seconds s, corpus $seeds -> $corpus inputs, ${#findings[@]} findings"
  if [ ${#findings[@]} -gt 0 ] || [ "$rc" -ne 0 ]; then
    failed=1
    grep -E "^==[0-9]+==ERROR|runtime error|metarec fuzz:|SUMMARY|deadly signal|Test unit written" "$log" | head -8 | sed 's/^/  /' >&2 || true
    for finding in "${findings[@]}"; do
      echo "  reproducer: $finding" >&2
      echo "  replay it:  $bin/fuzz_$target $finding   (log: $log)" >&2
    done
    if [ ${#findings[@]} -gt 0 ]; then
      echo "  Fix the bug, then add the input to tests/data/bad/ (a case with its expected message, see" >&2
      echo "  tests/data/bad/make_corpus.py) and to tests/fuzz/corpus/$target/ so that the test suite keeps it" >&2
      echo "  (the input format of fuzz_$target is described at the top of tests/fuzz/fuzz_$target.cpp)." >&2
    else
      echo "  fuzz_$target exited with code $rc and left no reproducer; the end of $log:" >&2
      tail -n 20 "$log" | sed 's/^/  /' >&2
    fi
  fi
done
echo "fuzz: ${#targets[@]} targets, $seconds s each; build $((built - start)) s, total $((SECONDS - start)) s"
[ "$failed" -eq 0 ] || echo "fuzz: FAILED (findings above)" >&2
exit "$failed"
