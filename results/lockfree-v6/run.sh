#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 20's measurement of lockfree v6 (see README.md here). Run on an idle
# machine from the repository root: bash results/lockfree-v6/run.sh [PASSES]
#  1. vs/:  lockfree, buddy-pcp and LLFree-c (plug-in, request per thread) in
#           one process per pass, rows in random order, 1 repetition each
#           (gbench 1.7.1 aborts with repetitions + random interleaving).
#  2. ab/:  lockfree v4 (0ae064e), v5 (ef485ae) and v6 (this tree), one
#           process per build per pass, rotating the order, same rows plus
#           alloc_segment_bulk (the end-to-end row a hint change once slowed).
#  3. frag/: LLFree's fragmentation protocol, lockfree and LLFree-c in one
#           process, seeds 42-46, 1/2/4 threads.
# Needs /tmp/peersrc/llfree-c (LLFree-c checkout) for the plug-in.
set -euo pipefail
PASSES=${1:-7}
OUT=results/lockfree-v6
LLFREE_SRC=${LLFREE_SRC:-/tmp/peersrc/llfree-c}
mkdir -p $OUT/vs $OUT/ab $OUT/frag
bash scripts/build-peers.sh --llfree "$LLFREE_SRC" > $OUT/build-peers.log 2>&1
cmake --preset release >/dev/null && cmake --build --preset release -j2 --target framekit_bench >/dev/null
for v in 0ae064e:v4 ef485ae:v5; do
  c=${v%%:*}; n=${v##*:}
  if [ ! -x /tmp/ab-$n/build/release/bench/framekit_bench ]; then
    rm -rf /tmp/ab-$n && mkdir -p /tmp/ab-$n && git archive "$c" | tar -x -C /tmp/ab-$n
    (cd /tmp/ab-$n && cmake --preset release >/dev/null && cmake --build --preset release -j2 --target framekit_bench >/dev/null)
  fi
done
B6=build/release/bench/framekit_bench
L=build/peers/fk_alloc_llfree.so
{ echo "v6 commit: $(git rev-parse HEAD)$(git diff --quiet HEAD -- core bench || echo ' (+uncommitted changes)')"
  echo "LLFree-c: $(cat build/peers/fk_alloc_llfree.commit)"
  lscpu | grep -E 'Model name|^CPU\(s\)|Hypervisor'; gcc --version | head -1
  echo "start: $(date -u)  $(uptime)"; } > $OUT/run-info.txt
ROWS='alloc_raw_(bulk|repeat|random)'
HELD='--held=0:8+1024,9:8+256'
for p in $(seq 1 "$PASSES"); do
  $B6 --allocator-lib=$L --threads=1,2,4 $HELD \
    "--benchmark_filter=^$ROWS/(lockfree|buddy-pcp|llfree)/order:(0|9)/" \
    --benchmark_min_time=0.2 --benchmark_enable_random_interleaving=true \
    --benchmark_out=$OUT/vs/pass$p.json --benchmark_out_format=json > $OUT/vs/pass$p.log 2>&1
  case $((p % 3)) in 0) order="v4 v5 v6" ;; 1) order="v5 v6 v4" ;; 2) order="v6 v4 v5" ;; esac
  for v in $order; do
    B=$B6; [ $v != v6 ] && B=/tmp/ab-$v/build/release/bench/framekit_bench
    $B --threads=1,2,4 $HELD \
      "--benchmark_filter=^($ROWS/lockfree/order:(0|9)/|alloc_segment_bulk/lockfree/order:(0|9)/manual_time/threads:(1|2)$)" \
      --benchmark_min_time=0.2 --benchmark_enable_random_interleaving=true \
      --benchmark_out=$OUT/ab/$v-pass$p.json --benchmark_out_format=json > $OUT/ab/$v-pass$p.log 2>&1
  done
  echo "pass $p done $(date -u +%T)" >> $OUT/run-info.txt
done
$B6 --allocator-lib=$L --family=frag --threads=1,2,4 --memory=4096 --benchmark_repetitions=5 --seed=42 \
  '--benchmark_filter=^frag/(llfree|lockfree)/' --series=$OUT/frag \
  --benchmark_out=$OUT/frag/frag.json --benchmark_out_format=json > $OUT/frag/frag.log 2>&1
echo "end: $(date -u)  $(uptime)" >> $OUT/run-info.txt
echo done
