#!/bin/bash
# SPDX-License-Identifier: MIT
# Interleaved A/B/C: base (0ae064e), new (7687903), noinl (new + noinline miss path);
# rotating order per round; one repetition per process, rows in random order.
cd /tmp/v5ab2
N=${1:-5}
V=(base new noinl)
for a in $(seq 1 $N); do
 for s in 0 1 2; do
  v=${V[$(( (a + s) % 3 ))]}
  nice ./bench_$v --held=0:4096,9:8+1024 --threads=1,2 --memory=4096 \
   '--benchmark_filter=^alloc_raw_(bulk|repeat|random)/lockfree' \
   --benchmark_repetitions=1 --benchmark_enable_random_interleaving=true \
   --benchmark_out=$v-$a.json --benchmark_out_format=json > $v-$a.log 2>&1
  echo "$v $a rc=$? $(date -u +%T)" >> progress
 done
done
echo ALLDONE >> progress
