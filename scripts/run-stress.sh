#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: scripts/run-stress.sh [options]
# Stress (TSan, then ASan+UBSan) on every allocator, a short stress with
# schedule perturbation (preset sched-fuzz), then a fuzz run.
#   --seconds S    seconds per allocator and mode (default 5)
#   --soak         S=120 unless given, 8 threads, fuzz 300 s
#   --seed X       seed for every run (default: from the clock)
#   --threads N    worker threads (default 4; 8 with --soak)
#   --only PRESET  tsan, debug or sched-fuzz only
#   --sched-seconds S  seconds per perturbed run (default 3, S with --soak;
#                  0 skips the stage)
#   --sched-preset P   the perturbed build: sched-fuzz (ASan+UBSan, default)
#                  or tsan-sched-fuzz (TSan)
#   --no-fuzz      skip the fuzz stage
#   --progress     progress lines of long runs on the terminal
#                  (default: on with --soak when stdout is a terminal)
#   -h, --help     this text
# Stages: 1. tsan: negative control (fk_racy_demo must be reported), then
# framekit_stress per allocator, plain and with --faults; 2. the same under
# ASan+UBSan (debug); 3. sched-fuzz: an FK_SCHED_FUZZ build (never used for
# benchmarks), each allocator with --sched-fuzz SEED, workload mixed and
# huge; 4. scripts/run-fuzz.sh. Each run ends with a conservation check and
# fails on an unjustified FK_ENOMEM, an unjustified refused removal or a
# double allocation. Default: about 4 minutes plus builds. Logs:
# build/stress-logs/; every run's JSON summary is collected into
# build/stress-logs/summary-SEED.json. Env: JOBS (default 2).

set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/lib.sh"
cd "$REPO"

need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || fk_bad_usage "option $1 needs a value"; }

SECS=
THREADS=
FAULTS=0.02
FUZZ_SECS=40
SOAK=0
SCHED_SECS=
SCHED_PRESET=sched-fuzz
DO_FUZZ=1
ONLY=
PROGRESS=
SEED=${SEED:-$(( $(date +%s) % 1000000 ))}
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) need_arg "$@"; SECS=$2; shift 2 ;;
    --soak) SOAK=1; shift ;;
    --seed) need_arg "$@"; SEED=$2; shift 2 ;;
    --threads) need_arg "$@"; THREADS=$2; shift 2 ;;
    --only) need_arg "$@"; ONLY=$2; shift 2 ;;
    --sched-seconds) need_arg "$@"; SCHED_SECS=$2; shift 2 ;;
    --sched-preset) need_arg "$@"; SCHED_PRESET=$2; shift 2 ;;
    --no-fuzz) DO_FUZZ=0; shift ;;
    --progress) PROGRESS=1; shift ;;
    -h|--help) fk_usage; exit 0 ;;
    *) fk_bad_usage "unknown option '$1'" ;;
  esac
done
[[ -z "$SECS" || ( "$SECS" =~ ^[0-9]+([.][0-9]+)?$ && ! "$SECS" =~ ^0*([.]0*)?$ ) ]] ||
  fk_bad_usage "--seconds wants a number > 0, got '$SECS'"
[[ -z "$SCHED_SECS" || "$SCHED_SECS" =~ ^[0-9]+([.][0-9]+)?$ ]] || fk_bad_usage "--sched-seconds wants a number, got '$SCHED_SECS'"
case "$SCHED_PRESET" in sched-fuzz|tsan-sched-fuzz) ;; *) fk_bad_usage "--sched-preset wants sched-fuzz or tsan-sched-fuzz, got '$SCHED_PRESET'" ;; esac
[[ "$SEED" =~ ^[0-9]+$ ]] || fk_bad_usage "--seed wants an unsigned integer, got '$SEED'"
[[ -z "$THREADS" || "$THREADS" =~ ^[0-9]+$ ]] || fk_bad_usage "--threads wants a number, got '$THREADS'"
case "$ONLY" in ""|tsan|debug|sched-fuzz) ;; *) fk_bad_usage "--only wants tsan, debug or sched-fuzz, got '$ONLY'" ;; esac
if [ "$SOAK" = 1 ]; then
  SECS=${SECS:-120}
  THREADS=${THREADS:-8}
  FUZZ_SECS=300
  SCHED_SECS=${SCHED_SECS:-$SECS}
  [ -t 1 ] && PROGRESS=${PROGRESS:-1}
fi
SCHED_SECS=${SCHED_SECS:-3}
SECS=${SECS:-5}
THREADS=${THREADS:-4}
JOBS=${JOBS:-2}
LOGS=$REPO/build/stress-logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.json "$LOGS/entries.jsonl"
FAILED=()
SUMMARY_JSON=$LOGS/summary-$SEED.json
fk_sanitizer_env # TSAN/ASAN/UBSAN_OPTIONS from scripts/sanitizers.env
echo "run-stress: seed=$SEED seconds/run=$SECS threads=$THREADS soak=$SOAK"

build() { # preset extra-target
  echo "== build $1"
  cmake --preset "$1" >"$LOGS/configure-$1.log" 2>&1 &&
    cmake --build --preset "$1" -j"$JOBS" --target framekit_stress $2 >"$LOGS/build-$1.log" 2>&1 || {
      echo "run-stress: build of preset $1 FAILED (see $LOGS/build-$1.log)"; tail -20 "$LOGS/build-$1.log"; return 1; }
}

# What a log shows of the build's sanitizer: "tsan_reports=N" for TSan,
# "asan_reports=N" (ASan, UBSan and LeakSanitizer errors) for the ASan builds.
san_reports() { # preset log
  case "$1" in
    tsan|tsan-sched-fuzz) echo "tsan_reports=$(grep -c 'WARNING: ThreadSanitizer' "$2")" ;;
    *) echo "asan_reports=$(grep -cE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$2")" ;;
  esac
}

# One entry of the run's summary file: the program's own JSON line (absent
# when it crashed before writing one) wrapped with what the script saw.
json_entry() { # preset label rc reports json-file
  local j=null
  [ -s "$5" ] && j=$(tr -d '\n' <"$5")
  printf '{"preset":"%s","label":"%s","rc":%s,"%s":%s,"summary":%s}\n' \
    "$1" "$2" "$3" "${4%%=*}" "${4#*=}" "$j" >>"$LOGS/entries.jsonl"
}

# stress <preset> <label> <args...>
stress() {
  local preset=$1 label=$2; shift 2
  local log="$LOGS/$preset-$label.log" json="$LOGS/$preset-$label.json" rc
  local t0=$SECONDS
  local cmd=("$REPO/build/$preset/stress/framekit_stress" --threads "$THREADS" --seconds "$SECS"
             --seed "$SEED" --json "$json" "$@")
  if [ -n "$PROGRESS" ]; then
    # Progress lines (stderr) go to the log and, indented, to the terminal.
    "${cmd[@]}" --progress=10 2>&1 | tee "$log" | grep --line-buffered '^progress:' | sed -u 's/^/      /'
    rc=${PIPESTATUS[0]}
  else
    "${cmd[@]}" --no-progress >"$log" 2>&1
    rc=$?
  fi
  local reports; reports=$(san_reports "$preset" "$log")
  json_entry "$preset" "$label" "$rc" "$reports" "$json"
  local summary; summary=$(grep -E '^SUMMARY' "$log" | sed -E \
    -e 's/^SUMMARY (allocator=[^ ]+ lock=[^ ]+ threads=[^ ]+ seconds=[^ ]+ ops=[^ ]+).*\| (enomem=[0-9]+) \(injected=([0-9]+) no_free_block=([0-9]+) unjustified=([0-9]+)\).*\| removal: refused=([0-9]+) justified=[0-9]+ unjustified=([0-9]+) \| double_alloc=([0-9]+).*(conservation=[A-Z]+ result=[A-Z]+)$/\1 \2 (injected=\3 no_free_block=\4) unjustified=\5 refused_removals=\6 (unjustified=\7) double_alloc=\8 \9/')
  printf '   %-20s rc=%-3s %s %ss  %s\n' "$label" "$rc" "$reports" $((SECONDS - t0)) "${summary//$'\n'/ | }"
  if [ "$rc" -ne 0 ]; then
    FAILED+=("$preset/$label (rc=$rc, log $log)")
    grep -E "STRESS FAILURE|CONSERVATION|UNJUSTIFIED|DOUBLE ALLOCATION|^WRAP:|WARNING: ThreadSanitizer|ERROR: AddressSanitizer|runtime error" "$log" | head -8 | sed 's/^/      /'
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
if [ -z "$ONLY" ] || [ "$ONLY" = tsan ]; then
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
fi

# 2. ASan + UBSan
if [ -z "$ONLY" ] || [ "$ONLY" = debug ]; then
  if build debug ""; then
    echo "== debug (ASan+UBSan, FK_CHECKED): stress"
    run_preset debug
  else
    FAILED+=("debug build")
  fi
fi

# 3. Schedule perturbation: every allocator, both workloads.
if { [ -z "$ONLY" ] || [ "$ONLY" = sched-fuzz ]; } && [ "$SCHED_SECS" != 0 ]; then
  SP=$SCHED_PRESET
  if build "$SP" ""; then
    echo "== $SP (FK_SCHED_FUZZ, FK_CHECKED): perturbed stress, ${SCHED_SECS}s per run"
    SECS_SAVED=$SECS
    SECS=$SCHED_SECS
    for a in $("$REPO/build/$SP/stress/framekit_stress" --list 2>/dev/null); do
      stress "$SP" "$a" --allocator "$a" --lock mutex --sched-fuzz "$((SEED + 1))"
      stress "$SP" "$a-huge" --allocator "$a" --lock mutex --workload huge --no-hotplug \
        --sched-fuzz "$((SEED + 1))"
    done
    SECS=$SECS_SAVED
  else
    FAILED+=("$SP build")
  fi
fi

# 4. Fuzz
if [ "$DO_FUZZ" = 1 ]; then
  echo "== fuzz ($FUZZ_SECS s)"
  if "$REPO/scripts/run-fuzz.sh" --seconds "$FUZZ_SECS" --json "$LOGS/fuzz.json" >"$LOGS/fuzz.log" 2>&1; then
    grep -E "stat::number_of_executed_units|run-fuzz: OK" "$LOGS/fuzz.log" | sed 's/^/   /'
  else
    echo "   fuzz FAILED (see $LOGS/fuzz.log)"
    grep -E "FUZZ MISMATCH|ERROR: |SUMMARY: |Test unit written" "$LOGS/fuzz.log" | head -6 | sed 's/^/      /'
    FAILED+=("fuzz")
  fi
fi

# The run's summary: every entry, the failures, the result.
{
  printf '{"seed":%s,"seconds_per_run":%s,"threads":%s,"sched_seconds":%s,"host_cpu":"%s","commit":"%s","runs":[' \
    "$SEED" "$SECS" "$THREADS" "$SCHED_SECS" \
    "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1 | tr -d '"\\')" \
    "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)"
  [ -s "$LOGS/entries.jsonl" ] && paste -sd, "$LOGS/entries.jsonl" | tr -d '\n'
  printf '],"fuzz":%s,"failed":%s,"result":"%s"}\n' \
    "$([ -s "$LOGS/fuzz.json" ] && tr -d '\n' <"$LOGS/fuzz.json" || echo null)" \
    "${#FAILED[@]}" "$([ ${#FAILED[@]} -eq 0 ] && echo OK || echo FAILED)"
} >"$SUMMARY_JSON"
rm -f "$LOGS/entries.jsonl"
echo "run-stress: summary $SUMMARY_JSON"

if [ ${#FAILED[@]} -ne 0 ]; then
  echo "run-stress: FAILED (seed=$SEED):"
  printf '  %s\n' "${FAILED[@]}"
  exit 1
fi
echo "run-stress: OK (seed=$SEED)"
