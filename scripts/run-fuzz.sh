#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: scripts/run-fuzz.sh [--seconds S | S]
# Build the libFuzzer API harness (stress/fuzz_api.c) with clang in
# build/fuzz and fuzz it for S seconds (default 30), starting from the seed
# corpus stress/corpus. Exit 1 on a crash, leak or model mismatch; crash
# inputs land in build/fuzz/artifacts/.
#   --seconds S   time budget in seconds (a bare number works too)
#   --json FILE   write a JSON summary of the run to FILE (duration,
#                 executions, allocators, oracles, result)
#   -h, --help    this text
# Replay: build/fuzz/stress/fk_fuzz_api build/fuzz/artifacts/crash-...

set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/lib.sh"

SECONDS_BUDGET=30
JSON=
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) fk_usage; exit 0 ;;
    --seconds)
      [ $# -ge 2 ] || fk_bad_usage "option --seconds needs a value"
      SECONDS_BUDGET=$2; shift 2 ;;
    --json)
      [ $# -ge 2 ] && [ -n "$2" ] || fk_bad_usage "option --json needs a value"
      JSON=$2; shift 2 ;;
    -*) fk_bad_usage "unknown option '$1'" ;;
    *) SECONDS_BUDGET=$1; shift ;;
  esac
done
[[ "$SECONDS_BUDGET" =~ ^[0-9]+$ && "$SECONDS_BUDGET" -gt 0 ]] ||
  fk_bad_usage "seconds must be a positive integer, got '$SECONDS_BUDGET'"

BUILD=$REPO/build/fuzz
JOBS=${JOBS:-2}

if ! command -v clang >/dev/null; then
  echo "run-fuzz: clang not found" >&2
  exit 1
fi
CC=clang CXX=clang++ cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFK_SANITIZE=address -DFK_BUILD_FUZZ=ON -DFK_BUILD_BENCH=OFF -DFK_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target fk_fuzz_api

mkdir -p "$BUILD/corpus" "$BUILD/artifacts"
fk_sanitizer_env --keep # ASAN/UBSAN_OPTIONS from scripts/sanitizers.env unless set
echo "run-fuzz: fuzzing for ${SECONDS_BUDGET}s"
# Fresh inputs go to build/fuzz/corpus; the seed corpus is only read.
LOG=$BUILD/fuzz-run.log
t0=$SECONDS
set +e
"$BUILD/stress/fk_fuzz_api" -max_total_time="$SECONDS_BUDGET" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/" \
  "$BUILD/corpus" "$REPO/stress/corpus" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
if [ -n "$JSON" ]; then
  fuzz_stat() { sed -n "s/^stat::$1: *//p" "$LOG" | tail -1; }
  # The harness is single-threaded and checks every result against its
  # model: an FK_ENOMEM or a refused removal the model does not predict
  # aborts the run (stress/fuzz_api.c), so the oracle counts are exact.
  printf '{"program":"fk_fuzz_api","seconds":%s,"budget_seconds":%s,"executions":%s,"execs_per_sec":%s,"new_units":%s,"peak_rss_mb":%s,"allocators":"all (byte 0 of each input)","sanitizer":"address","sched_fuzz":{"on":false},"oracles":{"enomem":"model","refused_removals":"model"},"crash_input":%s,"rc":%s,"result":"%s"}\n' \
    "$((SECONDS - t0))" "$SECONDS_BUDGET" "$(fuzz_stat number_of_executed_units || true)" \
    "$(fuzz_stat average_exec_per_sec || true)" "$(fuzz_stat new_units_added || true)" \
    "$(fuzz_stat peak_rss_mb || true)" \
    "$(f=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$LOG" | head -1); [ -n "$f" ] && echo "\"$f\"" || echo null)" \
    "$rc" "$([ "$rc" -eq 0 ] && echo OK || echo FAILED)" |
    sed -e 's/:,/:null,/g' >"$JSON"
fi
[ "$rc" -eq 0 ] || { echo "run-fuzz: FAILED (rc=$rc; crash inputs in $BUILD/artifacts/)"; exit 1; }
echo "run-fuzz: OK (no crash in ${SECONDS_BUDGET}s)"
