#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One process per pass: lockfree (v5), buddy-pcp and LLFree-c (plug-in) on the
# harness rows, then frag for lockfree and LLFree-c in one process.
set -euo pipefail
cd /work/main
OUT=results/lockfree-v5/vs-llfree
NBBS_LEVELS=22 bash scripts/build-peers.sh --llfree /tmp/peersrc/llfree-c --nbbs /tmp/peersrc/NBBS > $OUT/build-peers.log 2>&1
cmake --preset release >/dev/null && cmake --build --preset release -j2 --target framekit_bench > /dev/null
B=build/release/bench/framekit_bench
{ git rev-parse HEAD; cat build/peers/fk_alloc_llfree.commit; lscpu | grep 'Model name'; date -u; uptime; } > $OUT/run-info.txt
for pass in 1 2 3; do
  $B --allocator-lib=build/peers/fk_alloc_llfree.so --allocator-lib=build/peers/fk_alloc_nbbs.so --threads=1,2 --held=0:8+1024,9:8+1024 \
    '--benchmark_filter=^alloc_raw_(bulk|repeat|random)/(lockfree|buddy-pcp|llfree|nbbs)/' \
    --benchmark_min_time=0.1 --benchmark_out=$OUT/alloc_raw-pass$pass.json --benchmark_out_format=json > $OUT/alloc_raw-pass$pass.log 2>&1
done
$B --allocator-lib=build/peers/fk_alloc_llfree.so --family=frag --threads=1,2,4 --memory=4096 --benchmark_repetitions=3 \
  '--benchmark_filter=^frag/(llfree|lockfree)/' --benchmark_out=$OUT/frag.json --benchmark_out_format=json > $OUT/frag.log 2>&1
{ date -u; uptime; } >> $OUT/run-info.txt
echo done
