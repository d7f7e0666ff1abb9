#!/usr/bin/env bash
# Bounded stress runs under ThreadSanitizer and ASan+UBSan, then a short fuzz run.
#
# Usage: scripts/run-stress.sh [--seconds S] [--soak] [--seed X] [--no-fuzz]
#   default: S=5 seconds per allocator and mode, 4 threads (2 cores: oversubscribed),
#            fuzz 40 s; about 2-3 minutes including the builds.
#   --soak:  S=120 per allocator, 8 threads, longer fault runs, fuzz 300 s.
#
# Stages (each one runs even if an earlier one failed; exit status is non-zero
# if any failed):
#   1. tsan preset: negative control (fk_racy_demo must be reported, exit 66),
#      then framekit_stress per allocator (plain, then with --faults).
#   2. debug preset (ASan+UBSan, FK_CHECKED): the same stress runs.
#   3. scripts/run-fuzz.sh (clang, libFuzzer) for the fuzz budget.
# Logs: build/stress-logs/. Every run prints its seed; replay with --seed.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

SECS=5
THREADS=4
FAULTS=0.02
FUZZ_SECS=40
SOAK=0
DO_FUZZ=1
SEED=${SEED:-$(( $(date +%s) % 1000000 ))}
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --soak) SOAK=1; shift ;;
    --seed) SEED=$2; shift 2 ;;
    --no-fuzz) DO_FUZZ=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run-stress: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ "$SOAK" = 1 ]; then
  [ "$SECS" = 5 ] && SECS=120
  THREADS=8
  FUZZ_SECS=300
fi
JOBS=${JOBS:-2}
LOGS=$REPO/build/stress-logs
mkdir -p "$LOGS"
FAILED=()
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 atexit_sleep_ms=0 report_signal_unsafe=1 exitcode=66 suppressions=$REPO/stress/tsan.supp"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
echo "run-stress: seed=$SEED seconds/run=$SECS threads=$THREADS soak=$SOAK"

build() { # preset
  echo "== build $1"
  cmake --preset "$1" >"$LOGS/configure-$1.log" 2>&1 &&
    cmake --build --preset "$1" -j"$JOBS" --target framekit_stress $2 >"$LOGS/build-$1.log" 2>&1 || {
      echo "run-stress: build of preset $1 FAILED (see $LOGS/build-$1.log)"; tail -20 "$LOGS/build-$1.log"; return 1; }
}

# stress <preset> <label> <args...>
stress() {
  local preset=$1 label=$2; shift 2
  local log="$LOGS/$preset-$label.log"
  local t0=$SECONDS
  "$REPO/build/$preset/stress/framekit_stress" --threads "$THREADS" --seconds "$SECS" --seed "$SEED" "$@" >"$log" 2>&1
  local rc=$?
  local tsan; tsan=$(grep -c "WARNING: ThreadSanitizer" "$log")
  local summary; summary=$(grep -E '^SUMMARY' "$log" | sed -E 's/^SUMMARY (allocator=[^ ]+ lock=[^ ]+ threads=[^ ]+ seconds=[^ ]+ ops=[^ ]+).*(conservation=[A-Z]+)$/\1 \2/')
  printf '   %-22s rc=%-3s tsan_reports=%s %ss  %s\n' "$label" "$rc" "$tsan" $((SECONDS - t0)) "${summary//$'\n'/ | }"
  if [ $rc -ne 0 ]; then
    FAILED+=("$preset/$label (rc=$rc, log $log)")
    grep -E "STRESS FAILURE|CONSERVATION|WARNING: ThreadSanitizer|ERROR: AddressSanitizer|runtime error" "$log" | head -8 | sed 's/^/      /'
  fi
}

run_preset() { # preset
  local preset=$1
  local names
  names=$("$REPO/build/$preset/stress/framekit_stress" --list 2>/dev/null)
  [ -n "$names" ] || names="simple"
  # The buddy baselines' lock rotates over the runs (ticket and MCS spin, so
  # with more threads than cores they make little progress; mutex does).
  local locks=(mutex ticket mcs) i=0
  for a in $names; do
    stress "$preset" "$a" --allocator "$a" --lock "${locks[$(( (SEED + i) % 3 ))]}"
    i=$((i + 1))
  done
  for a in $names; do
    stress "$preset" "$a-faults" --allocator "$a" --faults "$FAULTS" --lock "${locks[$(( (SEED + i) % 3 ))]}"
    i=$((i + 1))
  done
}

# 1. TSan
if build tsan fk_racy_demo; then
  echo "== tsan: negative control (a real race must be reported)"
  "$REPO/build/tsan/stress/fk_racy_demo" >"$LOGS/tsan-racy-demo.log" 2>&1
  rc=$?
  if [ $rc -eq 66 ] && grep -q "WARNING: ThreadSanitizer: data race" "$LOGS/tsan-racy-demo.log"; then
    echo "   racy demo caught (rc=66)"
  else
    echo "   racy demo NOT caught (rc=$rc): the TSan setup is blind"
    FAILED+=("tsan/racy-demo (rc=$rc)")
  fi
  echo "== tsan: stress"
  run_preset tsan
else
  FAILED+=("tsan build")
fi

# 2. ASan + UBSan
if build debug ""; then
  echo "== debug (ASan+UBSan, FK_CHECKED): stress"
  run_preset debug
else
  FAILED+=("debug build")
fi

# 3. Fuzz
if [ "$DO_FUZZ" = 1 ]; then
  echo "== fuzz ($FUZZ_SECS s)"
  if "$REPO/scripts/run-fuzz.sh" "$FUZZ_SECS" >"$LOGS/fuzz.log" 2>&1; then
    grep -E "stat::number_of_executed_units|run-fuzz: OK" "$LOGS/fuzz.log" | sed 's/^/   /'
  else
    echo "   fuzz FAILED (see $LOGS/fuzz.log)"
    grep -E "FUZZ MISMATCH|ERROR: |SUMMARY: |Test unit written" "$LOGS/fuzz.log" | head -6 | sed 's/^/      /'
    FAILED+=("fuzz")
  fi
fi

if [ ${#FAILED[@]} -ne 0 ]; then
  echo "run-stress: FAILED (seed=$SEED):"
  printf '  %s\n' "${FAILED[@]}"
  exit 1
fi
echo "run-stress: OK (seed=$SEED)"
