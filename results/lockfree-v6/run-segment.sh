#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A longer A/B of alloc_segment_bulk (512-frame segments through the core):
# lockfree v5 and v6 in alternating processes (ABBA), PASSES each (default
# 15), orders 0 and 9 at 1 and 2 threads. Needs run.sh's builds.
set -euo pipefail
PASSES=${1:-15}
OUT=results/lockfree-v6/segment-ab
mkdir -p $OUT
B6=build/release/bench/framekit_bench
echo "v6 commit: $(git rev-parse HEAD); $(lscpu | grep 'Model name'); start $(date -u); $(uptime)" > $OUT/run-info.txt
for p in $(seq 1 "$PASSES"); do
  for v in $( ((p % 2)) && echo "v5 v6" || echo "v6 v5"); do
    B=$B6; [ $v != v6 ] && B=/tmp/ab-$v/build/release/bench/framekit_bench
    $B '--benchmark_filter=^alloc_segment_bulk/lockfree/order:(0|9)/manual_time/threads:(1|2)$' \
      --benchmark_min_time=0.3 --benchmark_enable_random_interleaving=true \
      --benchmark_out=$OUT/$v-pass$p.json --benchmark_out_format=json > $OUT/$v-pass$p.log 2>&1
  done
done
echo "end $(date -u); $(uptime)" >> $OUT/run-info.txt
