#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per alloc+free pair (callgrind, one thread, the measured loop
# only) of lockfree v5 and v6 and of LLFree-c (plug-in), with the driver of
# results/lockfree-v5/order9/pair_ir.c. Needs run.sh's builds. Writes ir.txt.
set -euo pipefail
OUT=results/lockfree-v6
SRC=results/lockfree-v5/order9/pair_ir.c
LIBS="-ldl -lpthread -lnuma -lurcu"
gcc -O2 -Icore/include $SRC build/release/core/libframekit.a $LIBS -o /tmp/pair_ir_v6
gcc -O2 -I/tmp/ab-v5/core/include $SRC /tmp/ab-v5/build/release/core/libframekit.a $LIBS -o /tmp/pair_ir_v5
# valgrind 3.19 cannot read clang 14's debug info: strip it from the plug-in.
strip --strip-debug -o /tmp/llf-nodebug.so build/peers/fk_alloc_llfree.so
{
  echo "# Ir per pair = callgrind total / pairs; sched_getcpu is 30 Ir per call under"
  echo "# valgrind (vDSO; natively one rseq load): 60 per lockfree pair, 2 calls."
  echo "# host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); v6 = $(git rev-parse --short HEAD)"
  printf "%-28s %8s %8s %8s\n" loop v5 v6 llfree
  for m in "repeat 9 8 20000 262144" "repeat 9 256 20000 1048576" "bulk 9 8 20000 262144" \
           "bulk 9 256 20480 1048576" "repeat 0 1024 100000 262144" "bulk 0 1024 102400 262144"; do
    set -- $m
    row=""
    for v in v5 v6 llfree; do
      if [ $v = llfree ]; then cmd=(/tmp/pair_ir_v6 llfree /tmp/llf-nodebug.so $m); else cmd=(/tmp/pair_ir_$v lockfree $m); fi
      tot=$(cd /tmp && valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null "${cmd[@]}" 2>&1 |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
      row="$row $(python3 -c "print(f'{$tot / $4:8.0f}')")"
    done
    printf "%-28s %s\n" "$1 o$2 held $3" "$row"
  done
} > $OUT/ir.txt
cat $OUT/ir.txt
