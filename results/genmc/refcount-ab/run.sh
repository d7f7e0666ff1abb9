#!/bin/bash
# SPDX-License-Identifier: MIT
F='^(alloc_segment_repeat/lockfree/order:(0|9)|alloc_segment_bulk/lockfree/order:0|seg_clone_drop/core:default/frames:(1|512)|seg_split/core:default|shared/core:default/clone_drop_16/(same_segment|private)|contended_split_drop/lockfree/frames:(2|512))/manual_time/threads:(1|2)$'
A=/tmp/fk-old-full/build/release/bench/framekit_bench
B=/work/core/build/release/bench/framekit_bench
for r in 1 2 3 4 5; do
  for v in A B; do
    bin=$A; [ $v = B ] && bin=$B
    $bin --threads=1,2 --benchmark_filter="$F" --benchmark_format=json --benchmark_out=/tmp/ab3/$v-$r.json --benchmark_out_format=json > /tmp/ab3/$v-$r.log 2>&1
    echo "$v $r rc=$? $(date +%T)" >> /tmp/ab3/progress
  done
done
echo done >> /tmp/ab3/progress
