#!/usr/bin/env bash
# metarec against the Python script a user would otherwise write: the "MeLU step" (MAML on
# MeLU, head-only inner loop, Adam on everything) in metarec (bench/meta/bench_melu.cpp) and
# in PyTorch (per-task loop, torch.func eager and compiled, whole or in chunks of 8 tasks) and
# JAX (vmap + jit; chunks of 8; one call per epoch; data parallel over T devices), side by side.
#  1. a virtual environment at build/peers/venv with bench/peers/requirements.txt (about 6 GB:
#     PyPI's torch brings its CUDA libraries; see bench/peers/README.md); exit 3 if that fails;
#  2. builds and runs bench_melu's maml/ benchmarks -> build/peers/metarec.json;
#  3. the peers' float64 self-check (bench/peers/melu_torch.py --check), then every peer for
#     every configuration, each process pinned to T cores with taskset -> build/peers/peers.jsonl;
#  4. the Markdown tables (bench/peers/compare.py: the best variant of each tool, then every
#     variant) on stdout and in build/peers/table.md.
# Usage: bash scripts/run-peers.sh [seconds]   (measured time per repetition, default 2)
# Environment: METAREC_PEERS_THREADS (default "1 2"), METAREC_PEERS_BATCHES (default "32",
# e.g. "32,256,1024"), METAREC_PEERS_REPETITIONS (default 3), METAREC_PEERS_CHECK=0 skips step 3's
# check. The test suite never depends on this script. Logs: build/peers/*.log.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ under bench/peers

seconds="${1:-2}"
threads_list="${METAREC_PEERS_THREADS:-1 2}"
batches="${METAREC_PEERS_BATCHES:-32}"
repetitions="${METAREC_PEERS_REPETITIONS:-3}"
orders=1,2
steps=1,5
out=build/peers
venv=$out/venv
requirements=bench/peers/requirements.txt
mkdir -p "$out"

say() { echo "metarec peers: $*" >&2; }
cannot_install() { echo "metarec peers: the Python peers cannot be installed: $*" >&2; exit 3; }

# --- 1. the virtual environment ------------------------------------------------------------
command -v python3 >/dev/null || cannot_install "python3 is not on PATH"
command -v taskset >/dev/null || cannot_install "taskset (util-linux) is not on PATH"
stamp="$(cat "$requirements"; python3 --version 2>&1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.metarec-requirements" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >"$out/venv.log" 2>&1; then
    rm -rf "$venv"
    # Debian/Ubuntu's python3 needs python3-venv (ensurepip) for `python3 -m venv`
    if command -v apt-get >/dev/null; then
      if [ "$(id -u)" -eq 0 ]; then as_root=(); elif command -v sudo >/dev/null; then as_root=(sudo); else
        cannot_install "python3 -m venv failed and neither root nor sudo can install python3-venv"
      fi
      say "installing python3-venv"
      export DEBIAN_FRONTEND=noninteractive
      { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq --no-install-recommends python3-venv; } \
        >>"$out/venv.log" 2>&1 || cannot_install "apt-get install python3-venv failed (see $out/venv.log)"
    fi
    python3 -m venv "$venv" >>"$out/venv.log" 2>&1 \
      || { rm -rf "$venv"; cannot_install "python3 -m venv failed: $(tail -n 1 "$out/venv.log")"; }
  fi
  say "installing $requirements into $venv (torch from PyPI with its CUDA libraries: ~2.8 GB download, ~6 GB on disk)"
  if ! "$venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check -r "$requirements" >"$out/pip.log" 2>&1; then
    reason=$(grep -E '^(ERROR|error):' "$out/pip.log" | tail -n 1 || true)
    cannot_install "pip install -r $requirements failed: ${reason:-$(tail -n 1 "$out/pip.log")} (log: $out/pip.log)"
  fi
  echo "$stamp" >"$venv/.metarec-requirements"
fi
python="$venv/bin/python"

# --- 2. metarec ----------------------------------------------------------------------------
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)
jobs=$(nproc 2>/dev/null || echo 2)
rm -f "$out/metarec.json"
say "building and running bench_melu (maml/, ${seconds} s x $repetitions repetitions per benchmark)"
if { bash scripts/install-deps.sh && cmake --preset release && cmake --build --preset release --parallel "$jobs" --target bench_melu; } \
     >"$out/metarec-build.log" 2>&1; then
  build/release/bench/bench_melu --benchmark_filter='^maml/' --benchmark_format=json \
    --benchmark_out="$out/metarec.json" --benchmark_min_time="$seconds" \
    --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true >"$out/metarec.log" 2>&1 \
    || say "warning: bench_melu failed (see $out/metarec.log); the table has no metarec values"
else
  say "warning: bench_melu did not build (see $out/metarec-build.log); the table has no metarec values"
fi

# --- 3. the peers ---------------------------------------------------------------------------
if [ "${METAREC_PEERS_CHECK:-1}" != 0 ]; then
  say "self-check: every peer variant's meta-gradient against the torch loop in float64 (a few minutes)"
  if ! taskset -c 0 "$python" bench/peers/melu_torch.py --check >"$out/check.log" 2>&1; then
    grep -E '^(FAIL|skip)' "$out/check.log" >&2 || tail -n 5 "$out/check.log" >&2
    say "the peers disagree or the check crashed (see $out/check.log): no timings taken"
    exit 1
  fi
  grep -E '^skip' "$out/check.log" >&2 || true
fi

# one entry per peer process: tool, script, variant (bench/peers/README.md says what each is;
# jax epoch-dp only with 2 threads or more: on one thread it is jax epoch)
peers=("pytorch melu_torch.py loop" "pytorch melu_torch.py func" "pytorch melu_torch.py func-compile"
       "pytorch melu_torch.py func-chunk" "pytorch melu_torch.py func-compile-chunk"
       "jax melu_jax.py vmap-jit" "jax melu_jax.py chunk" "jax melu_jax.py epoch" "jax melu_jax.py epoch-dp")
cores=$(nproc 2>/dev/null || echo 1)
: >"$out/peers.jsonl"
: >"$out/peers.log"
for threads in $threads_list; do
  if [ "$threads" -gt "$cores" ]; then
    say "skipping $threads threads: this machine has $cores cores"
    continue
  fi
  for peer in "${peers[@]}"; do
    read -r tool script variant <<<"$peer"
    if [ "$variant" = epoch-dp ] && [ "$threads" -lt 2 ]; then continue; fi
    say "$tool $variant, $threads thread(s), pinned to cores 0-$((threads - 1))"
    before=$(wc -l <"$out/peers.jsonl")
    status=0
    taskset -c "0-$((threads - 1))" "$python" "bench/peers/$script" --variant "$variant" --orders "$orders" \
      --steps "$steps" --batch "$batches" --threads "$threads" --seconds "$seconds" --repetitions "$repetitions" \
      >>"$out/peers.jsonl" 2>>"$out/peers.log" || status=$?
    if [ "$(wc -l <"$out/peers.jsonl")" -eq "$before" ]; then
      # the process died before any result: one failed line per configuration
      reason="failed: the process exited with status $status (see $out/peers.log)"
      for batch in ${batches//,/ }; do for order in ${orders//,/ }; do for k in ${steps//,/ }; do
        printf '{"tool": "%s", "variant": "%s", "order": %s, "steps": %s, "batch": %s, "threads": %s, "tasks_per_second": null, "status": "%s"}\n' \
          "$tool" "$variant" "$order" "$k" "$batch" "$threads" "$reason" >>"$out/peers.jsonl"
      done; done; done
    fi
  done
done

# --- 4. the table ---------------------------------------------------------------------------
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)
"$python" bench/peers/compare.py --metarec "$out/metarec.json" --peers "$out/peers.jsonl" --out "$out/table.md" \
  --note "$(nproc 2>/dev/null || echo '?') cores ($(grep -m 1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)); ${seconds} s x $repetitions repetitions; load average (1, 5, 15 min) $load_before before metarec, $load_after after the peers: figures taken beside other work are indicative only"
say "table written to $out/table.md (figures depend on the machine's load: run it on an idle machine)"
