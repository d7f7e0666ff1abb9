#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A longer A/B of the order-0 rows only (run.sh's 7 passes left them inside
# the host's noise): lockfree v4, v5 and v6 in rotating processes, PASSES
# each (default 11), rows in random order. Needs run.sh's builds.
set -euo pipefail
PASSES=${1:-11}
OUT=results/lockfree-v6/ab0
mkdir -p $OUT
B6=build/release/bench/framekit_bench
echo "v6 commit: $(git rev-parse HEAD); $(lscpu | grep 'Model name'); start $(date -u); $(uptime)" > $OUT/run-info.txt
for p in $(seq 1 "$PASSES"); do
  case $((p % 3)) in 0) order="v4 v5 v6" ;; 1) order="v5 v6 v4" ;; 2) order="v6 v4 v5" ;; esac
  for v in $order; do
    B=$B6; [ $v != v6 ] && B=/tmp/ab-$v/build/release/bench/framekit_bench
    $B --threads=1,2,4 --held=0:8+1024 \
      '--benchmark_filter=^alloc_raw_(bulk|repeat|random)/lockfree/order:0/' \
      --benchmark_min_time=0.2 --benchmark_enable_random_interleaving=true \
      --benchmark_out=$OUT/$v-pass$p.json --benchmark_out_format=json > $OUT/$v-pass$p.log 2>&1
  done
  echo "pass $p done $(date -u +%T)" >> $OUT/run-info.txt
done
echo "end $(date -u); $(uptime)" >> $OUT/run-info.txt
