#!/usr/bin/env bash
# ctest helper: metarec-coldstart killed with SIGKILL in the middle of training and run again
# with --resume prints the same report (every metric, to 4 decimals) as an uninterrupted run.
# MODEL melu (the default) trains once; mf (from item factors) is selected first, then trained
# again on all the warm data (run_selected): the selection is repeated on resume.
# Usage: check_resume.sh PROGRAM WORKDIR [MODEL]
set -euo pipefail
program=$1 work=$2 model=${3:-melu}
args=(--model "$model" --algo maml --synthetic-users 400 --epochs 4 --threads 1 --checkpoint-every 1 --quiet)
rm -rf "$work" && mkdir -p "$work"
report() { grep '^| ' | grep -v 'train s' | cut -d'|' -f1-7; }   # the table without the timing column

"$program" "${args[@]}" | report > "$work/uninterrupted.txt"
for delay in 0.05 0.3; do
  rm -rf "$work/ckpt"
  "$program" "${args[@]}" --checkpoint "$work/ckpt" > /dev/null &
  pid=$!
  # kill once the meta-learning run has written a checkpoint, plus a delay
  for _ in $(seq 1 600); do [ -e "$work/ckpt/$model-maml.ckpt" ] && break; sleep 0.01; done
  sleep "$delay"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  "$program" "${args[@]}" --checkpoint "$work/ckpt" --resume | report > "$work/resumed.txt"
  if ! diff "$work/uninterrupted.txt" "$work/resumed.txt"; then
    echo "killed after ${delay} s: the resumed report differs" >&2
    exit 1
  fi
done
echo "resumed reports identical: $(wc -l < "$work/uninterrupted.txt") rows"
