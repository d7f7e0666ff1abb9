#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: results/reliability-v3/ab.sh BENCH_A BENCH_B ROUNDS OUTDIR [FILTER]
# Interleaved A/B of two framekit_bench binaries on one host: ROUNDS
# rounds, each running A then B (B then A on odd rounds), 1 and 2 threads,
# --benchmark_min_time=0.1, one JSON per run under OUTDIR; then ab_summary.py
# prints the median cpu_ns_per_item of each benchmark for A and B and B/A.
# FILTER defaults to the lockfree allocator rows: alloc_raw_.*/lockfree/.
set -euo pipefail
A=$1 B=$2 ROUNDS=$3 OUT=$4 FILTER=${5:-'alloc_raw_.*/lockfree/'}
mkdir -p "$OUT"
run() { # binary tag round
  "$1" --threads=1,2 --benchmark_filter="$FILTER" --benchmark_min_time=0.1 \
    --benchmark_format=json --benchmark_out="$OUT/$2-$3.json" --benchmark_out_format=json \
    >/dev/null 2>"$OUT/$2-$3.err"
}
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then run "$A" A "$r"; run "$B" B "$r"; else run "$B" B "$r"; run "$A" A "$r"; fi
done
python3 "$(dirname "$0")/ab_summary.py" "$OUT"
