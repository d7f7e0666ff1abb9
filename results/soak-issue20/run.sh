#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 10-minute perturbed TSan soak of lockfree v6 (issue 20): 300 s of the mixed
# workload (every core operation, hot-plug) and 300 s of the huge workload
# (order-9 blocks freed in parts by several threads), 4 worker threads each.
set -euo pipefail
OUT=results/soak-issue20
SEED=${1:-200700}
cmake --preset tsan-sched-fuzz >/dev/null && cmake --build --preset tsan-sched-fuzz -j2 --target framekit_stress >/dev/null
S=build/tsan-sched-fuzz/stress/framekit_stress
# the options of scripts/sanitizers.env
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 atexit_sleep_ms=0 report_signal_unsafe=1 exitcode=66 suppressions=$PWD/stress/tsan.supp"
{ echo "commit: $(git rev-parse HEAD)"; lscpu | grep 'Model name'; echo "start: $(date -u)"; } > $OUT/run-info.txt
rm -f $OUT/summary.json
$S --allocator lockfree --threads 4 --seconds 300 --workload mixed --lock mutex \
  --sched-fuzz "$SEED" --seed "$SEED" --json $OUT/summary.json --no-progress > $OUT/mixed.log 2>&1 || rc=$?
echo "mixed rc=${rc:-0} tsan_reports=$(grep -c 'WARNING: ThreadSanitizer' $OUT/mixed.log || true)" >> $OUT/run-info.txt
$S --allocator lockfree --threads 4 --seconds 300 --workload huge --no-hotplug --lock mutex \
  --sched-fuzz "$((SEED + 1))" --seed "$((SEED + 1))" --json $OUT/summary.json --no-progress > $OUT/huge.log 2>&1 || rc2=$?
echo "huge rc=${rc2:-0} tsan_reports=$(grep -c 'WARNING: ThreadSanitizer' $OUT/huge.log || true)" >> $OUT/run-info.txt
echo "end: $(date -u)" >> $OUT/run-info.txt
