#!/bin/bash
# SPDX-License-Identifier: MIT
# Interleaved A/B: base (0ae064e) and new, alternating processes (ABBA order);
# each process runs every row once, rows in random order. Repetitions inside
# one process abort in Google Benchmark's ComputeStats when the run budget
# stops repetitions at different iteration counts, so: one per process.
cd /tmp/v5ab3
N=${1:-6}
for a in $(seq 1 $N); do
 for v in $( ((a % 2)) && echo "base new" || echo "new base"); do
  nice ./bench_$v --held=0:4096,9:8+1024 --threads=1,2 --memory=4096 \
   '--benchmark_filter=^alloc_raw_(bulk|repeat|random)/lockfree' \
   --benchmark_repetitions=1 --benchmark_enable_random_interleaving=true \
   --benchmark_out=$v-$a.json --benchmark_out_format=json > $v-$a.log 2>&1
  echo "$v $a rc=$? $(date -u +%T)" >> progress
 done
done
echo ALLDONE >> progress
