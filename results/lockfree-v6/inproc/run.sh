#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lockfree v4, v5 and v6 in ONE process (as plug-ins, build.sh), with the
# built-in lockfree (v6, linked in) beside them: PASSES processes (default 9),
# each running every row of every version once, in random order, so each
# pass compares the versions under the same host conditions.
set -euo pipefail
PASSES=${1:-9}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
OUT=results/lockfree-v6/inproc
P=/tmp/lf-plugins
bash $HERE/build.sh > $OUT/build.log
cmake --preset release >/dev/null && cmake --build --preset release -j2 --target framekit_bench >/dev/null
B=build/release/bench/framekit_bench
{ echo "commit: $(git rev-parse HEAD)"; lscpu | grep 'Model name'; echo "start: $(date -u) $(uptime)"; } > $OUT/run-info.txt
for p in $(seq 1 "$PASSES"); do
  $B --allocator-lib=$P/lf-v4.so:lockfree-v4 --allocator-lib=$P/lf-v5.so:lockfree-v5 \
    --allocator-lib=$P/lf-v6.so:lockfree-v6 --threads=1,2,4 --held=0:8+1024,9:8+256 \
    '--benchmark_filter=^alloc_raw_(bulk|repeat|random)/lockfree(-v4|-v5|-v6)?/order:(0|9)/' \
    --benchmark_min_time=0.2 --benchmark_enable_random_interleaving=true \
    --benchmark_out=$OUT/pass$p.json --benchmark_out_format=json > $OUT/pass$p.log 2>&1
  echo "pass $p done $(date -u +%T)" >> $OUT/run-info.txt
done
echo "end: $(date -u) $(uptime)" >> $OUT/run-info.txt
