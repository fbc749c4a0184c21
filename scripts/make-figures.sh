#!/usr/bin/env bash
# Regenerates the reference figures of docs/results.md and the README (docs/figures/): builds
# metarec-coldstart (release preset) and runs it with --shots and --plot on the synthetic shop,
# and on MovieLens 100K when ../shared/data/ml-100k exists (a few minutes on 2 cores). Every
# figure is then rendered with rsvg-convert, which fails on an SVG that does not parse.
# Extra arguments go to every run (e.g. --threads 2).
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release > /dev/null
cmake --build --preset release --parallel "$jobs" --target metarec-coldstart
program=./build/release/examples/metarec-coldstart
shots=1,2,5,10,20

run() {  # run <name> <flags...>: the figures into docs/figures/<name>, the report beside them
  local name=$1
  shift
  rm -rf "docs/figures/$name"
  mkdir -p "docs/figures/$name"
  echo "$program $* --shots $shots --plot docs/figures/$name" > /dev/stderr
  "$program" "$@" --shots "$shots" --plot "docs/figures/$name" --json "docs/figures/$name/report.json" --quiet \
    | tee "docs/figures/$name/report.md"
}

run synthetic "$@"
ml100k=../shared/data/ml-100k
if [ -d "$ml100k" ]; then
  run ml-100k --data "$ml100k" --format movielens-100k "$@"
else
  echo "make-figures: $ml100k not found, MovieLens 100K figures not regenerated" > /dev/stderr
fi
png=$(mktemp --suffix=.png)
trap 'rm -f "$png"' EXIT
for svg in docs/figures/*/*.svg; do
  rsvg-convert --format png --output "$png" "$svg"
done
echo "make-figures: $(ls docs/figures/*/*.svg | wc -l) figures in docs/figures, each rendered by rsvg-convert"
