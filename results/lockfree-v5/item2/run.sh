#!/bin/bash
# SPDX-License-Identifier: MIT
# item 2 on this host: order-9 repeat with 8 vs 256 held, and pair count (min_time)
cd /tmp/v5i2
for a in 1 2 3 4 5; do
  nice ./bench_v5 --held=9:8+256 --threads=1,2 --memory=4096 '--benchmark_filter=^alloc_raw_repeat/lockfree/order:9' \
    --benchmark_enable_random_interleaving=true --benchmark_out=r-$a.json --benchmark_out_format=json > r-$a.log 2>&1
done
echo ALLDONE > done.txt
