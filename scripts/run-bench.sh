#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: scripts/run-bench.sh [MODE] [OPTIONS] [-- GBENCH FLAGS]
#
# Builds the release preset, runs framekit_bench, then plots and summarizes
# into a new results/<date>-<host>[-N]/ (never an earlier run's directory).
#
# MODE (one of them; what each runs and how long it takes: bench/README.md,
# "Modes"):
#   --quick            smoke test: checks that everything runs; its figures
#                      are not for comparing (the summary says so)
#   (default)          the reference run
#   --full             numbers to publish
# OPTIONS (each sets the FK_BENCH_* variable of the same name):
#   --threads LIST     thread counts, e.g. 1,2,8 (default from the machine)
#   --memory MIB       simulated memory per run (floor)
#   --held SPEC        blocks held per thread, ORDER:N[+N..],...
#   --numa MODE        real | logical:N
#   --pin MODE         topo | off
#   --budget SEC       per-run wall-clock cap
#   --out DIR          write here instead of results/<date>-<host>
#   -h, --help         this text
# After --: Google Benchmark flags, e.g. --benchmark_filter=alloc_raw
# (recorded in the summary).
#
# Progress: "benchmark k of N, pass p of P, ... ETA" (a status line on a
# terminal, every tenth of a pass otherwise). Ctrl-C (or SIGTERM) stops the
# run, keeps the passes that finished and summarises them, marked PARTIAL.
#
# Exit: 0 ok; 1 a run failed, the filter matched nothing or the JSON check
# failed; 2 bad usage; 130 interrupted (finished passes summarised).
# Compare runs: scripts/compare-runs.sh A.json B.json
set -euo pipefail

. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MODE=default
MODE_FLAG=""
OUT=""
EXTRA=()
need() { [ $# -ge 2 ] && [ -n "$2" ] || fk_bad_usage "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--quick | --full | --default)
		[ -z "$MODE_FLAG" ] || [ "$MODE_FLAG" = "$1" ] ||
			fk_bad_usage "$MODE_FLAG and $1 are exclusive: one mode per run"
		MODE_FLAG=$1
		MODE=${1#--}
		;;
	--threads | --memory | --held | --numa | --pin | --budget)
		need "$@"
		var=FK_BENCH_$(echo "${1#--}" | tr a-z A-Z)
		export "$var=$2"
		shift
		;;
	--threads=* | --memory=* | --held=* | --numa=* | --pin=* | --budget=*)
		opt=${1%%=*}
		var=FK_BENCH_$(echo "${opt#--}" | tr a-z A-Z)
		export "$var=${1#*=}"
		;;
	--out)
		need "$@"
		OUT=$2
		shift
		;;
	--out=*) OUT=${1#--out=} ;;
	--)
		shift
		EXTRA=("$@")
		break
		;;
	-h | --help)
		fk_usage
		exit 0
		;;
	*) fk_bad_usage "unknown argument '$1'" ;;
	esac
	shift
done

PY=/usr/bin/python3
echo "== scripts/setup-deps.sh"
bash scripts/setup-deps.sh

echo "== configure + build (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target framekit_bench
BIN=build/release/bench/framekit_bench

# The mode's parameters. Keep bench/README.md ("Modes") in step.
case "$MODE" in
quick)
	ARGS=(--benchmark_min_time=0.005)
	PASSES=1
	: "${FK_BENCH_THREADS:=1,2}"
	: "${FK_BENCH_BUDGET:=1}"
	export FK_BENCH_THREADS
	;;
default)
	ARGS=(--benchmark_min_time=0.05 --benchmark_enable_random_interleaving=true)
	PASSES=3
	: "${FK_BENCH_BUDGET:=2}"
	;;
full)
	ARGS=(--benchmark_min_time=0.3 --benchmark_enable_random_interleaving=true)
	PASSES=5
	: "${FK_BENCH_BUDGET:=10}"
	;;
esac
export FK_BENCH_BUDGET
# Validate the options once, before any pass (exit 2 with framekit_bench's line).
"$BIN" --print-plan >/dev/null || exit 2

if [ -z "$OUT" ]; then
	OUT="results/$(date -u +%Y-%m-%d)-$(hostname -s)"
	if [ -e "$OUT" ]; then
		n=2
		while [ -e "$OUT-$n" ]; do n=$((n + 1)); done
		OUT="$OUT-$n"
	fi
fi
mkdir -p "$OUT/plots"

# The run's own context (summarize.py reads run-info.txt): what CMake
# compiled with, the flags, the commit, the machine, the load.
CACHE=build/release/CMakeCache.txt
cache() { sed -n "s/^$1:[A-Z]*=//p" "$CACHE"; }
cc=$(cache CMAKE_C_COMPILER)
cxx=$(cache CMAKE_CXX_COMPILER)
lto=$(grep -q -- '-flto' build/release/bench/CMakeFiles/framekit_bench.dir/flags.make 2>/dev/null &&
	echo "-flto (bench objects)" || echo "no LTO")
virt="vm: $(systemd-detect-virt --vm 2>/dev/null || echo none), container: $(systemd-detect-virt \
	--container 2>/dev/null || echo none)"
busy() { ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && $1>5 {printf "%s(%s%%) ", $2, $1}'; }
{
	echo "mode=$MODE"
	echo "passes_planned=$PASSES"
	echo "gbench_args=${ARGS[*]}"
	echo "extra_args=${EXTRA[*]-}"
	for v in FK_BENCH_THREADS FK_BENCH_MEMORY FK_BENCH_HELD FK_BENCH_NUMA FK_BENCH_PIN FK_BENCH_BUDGET; do
		[ -z "${!v-}" ] || echo "env_$v=${!v}"
	done
	echo "c_compiler=$cc ($("$cc" --version | head -1))"
	echo "cxx_compiler=$cxx ($("$cxx" --version | head -1))"
	echo "c_flags=$(cache CMAKE_C_FLAGS) $(cache CMAKE_C_FLAGS_RELEASE)"
	echo "bench_lto=$lto"
	echo "git_commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git status --porcelain \
		--untracked-files=no 2>/dev/null | grep -q . && echo +dirty || true)"
	echo "git_subject=$(git log -1 --format=%s 2>/dev/null | cut -c1-100)"
	echo "hostname=$(hostname -s)"
	echo "kernel=$(uname -srm)"
	echo "cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "virtualization=$virt"
	echo "memory_total=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	"$BIN" --print-plan | sed -n 's/^topology: /topology=/p; s/^usable CPUs: /usable_cpus=/p;
		s/^threads: /threads=/p; s/^pinning: /pinning=/p'
	echo "start_utc=$(date -u +%FT%TZ)"
	echo "start_uptime=$(uptime)"
	echo "start_busy=$(busy)"
} >"$OUT/run-info.txt"

# Benchmarks per pass, for the progress line: the binary's own list under
# the same options and filter.
declare -A NAMES=()
while IFS= read -r name; do
	[ -n "$name" ] && NAMES[$name]=1
done < <("$BIN" --benchmark_list_tests=true ${EXTRA[@]+"${EXTRA[@]}"} 2>/dev/null || true)
N=${#NAMES[@]}

hms() { printf '%d:%02d:%02d' $(($1 / 3600)) $(($1 % 3600 / 60)) $(($1 % 60)); }

# progress PASS: copy framekit_bench's output to stdout and after each
# finished benchmark work out "benchmark k of N, pass p of P, ETA" from the
# mean time per benchmark so far (passes run in random order, so the mean
# of the first few dozen is already a fair one): a status line on a
# terminal (stderr), every tenth of a pass otherwise.
progress() {
	local pass=$1 k=0 line name ndone elapsed left msg tty=0 every=$((N / 10))
	[ -t 2 ] && tty=1
	[ "$every" -ge 1 ] || every=1
	while IFS= read -r line; do
		[ "$tty" -eq 0 ] || printf '\r\033[K' >&2
		printf '%s\n' "$line"
		name=${line%% *}
		[ -n "$name" ] && [ -n "${NAMES[$name]-}" ] || continue
		k=$((k + 1))
		ndone=$(((pass - 1) * N + k))
		elapsed=$((EPOCHSECONDS - start))
		left=$((elapsed * (PASSES * N - ndone) / ndone))
		msg="benchmark $k of $N, pass $pass of $PASSES, $(hms "$elapsed") elapsed, ETA"
		msg+=" $(date -d "@$((EPOCHSECONDS + left))" +%H:%M:%S) ($(hms "$left") left)"
		if [ "$tty" -eq 1 ]; then
			printf '%s' "== $msg" >&2
		elif [ $((k % every)) -eq 0 ] || [ "$k" -eq "$N" ]; then
			echo "== $msg"
		fi
	done
	[ "$tty" -eq 0 ] || printf '\r\033[K' >&2
}

# Ctrl-C or SIGTERM: stop the pass in progress (framekit_bench runs in the
# background, where SIGINT is ignored, so it gets a SIGTERM), keep the
# finished ones.
interrupted=0
bench_pid=""
on_interrupt() {
	interrupted=1
	[ -z "$bench_pid" ] || kill -TERM "$bench_pid" 2>/dev/null || true
}
trap on_interrupt INT TERM

echo "== framekit_bench ($MODE, $PASSES pass(es) of $N benchmarks) -> $OUT"
echo "== the time depends on the machine and its load: bench/README.md, \"Modes\""
start=$EPOCHSECONDS
: >"$OUT/bench.log"
FIFO=$OUT/.output.fifo
rc=0
passes_done=0
for pass in $(seq 1 "$PASSES"); do
	[ "$interrupted" -eq 0 ] || break
	echo "== pass $pass/$PASSES ($((EPOCHSECONDS - start)) s elapsed)" | tee -a "$OUT/bench.log"
	rm -f "$FIFO"
	mkfifo "$FIFO"
	tee -a "$OUT/bench.log" <"$FIFO" | progress "$pass" &
	filter_pid=$!
	stdbuf -oL "$BIN" "${ARGS[@]}" --benchmark_color=false \
		--benchmark_out="$OUT/pass-$pass.json" --benchmark_out_format=json \
		"--benchmark_context=mode=$MODE,pass=$pass/$PASSES" ${EXTRA[@]+"${EXTRA[@]}"} \
		>"$FIFO" 2>&1 &
	bench_pid=$!
	# wait returns early when a trapped signal arrives: wait again for the exit.
	rc=0
	wait "$bench_pid" || rc=$?
	while kill -0 "$bench_pid" 2>/dev/null; do
		rc=0
		wait "$bench_pid" || rc=$?
	done
	bench_pid=""
	wait "$filter_pid" || true
	rm -f "$FIFO"
	[ "$rc" -ne 0 ] || passes_done=$pass
	[ "$rc" -eq 0 ] && [ "$interrupted" -eq 0 ] || break
done
trap - INT TERM
elapsed=$((EPOCHSECONDS - start))
if [ "$interrupted" -eq 1 ]; then
	rc=130
	if [ -e "$OUT/pass-$((passes_done + 1)).json" ]; then
		rm -f "$OUT/pass-$((passes_done + 1)).json"
		echo "== interrupted in pass $((passes_done + 1)) of $PASSES after $elapsed s: its" \
			"unfinished JSON is removed" | tee -a "$OUT/bench.log"
	fi
fi
echo "== framekit_bench finished in $elapsed s (rc $rc)"
{
	echo "passes=$passes_done"
	[ "$interrupted" -eq 0 ] || echo "interrupted=1"
	echo "end_utc=$(date -u +%FT%TZ)"
	echo "end_uptime=$(uptime)"
	echo "duration_s=$elapsed"
	echo "rc=$rc"
} >>"$OUT/run-info.txt"
if [ "$interrupted" -eq 1 ] && [ "$passes_done" -eq 0 ]; then
	echo "run-bench.sh: interrupted before any pass finished: nothing to summarise" \
		"(log: $OUT/bench.log)" >&2
	exit 130
fi
[ "$interrupted" -eq 1 ] || [ "$rc" -eq 0 ] || fk_die "framekit_bench failed (exit $rc): see $OUT/bench.log"

# One JSON with every pass (pass N = repetition_index N-1).
"$PY" scripts/summarize.py --merge "$OUT"/pass-*.json --merged-out "$OUT/bench.json"
rm -f "$OUT"/pass-*.json
axes=()
case " ${EXTRA[*]-} " in *" --benchmark_filter"*) axes=(--any-axes) ;; esac
"$PY" bench/check_json.py --bench "$BIN" --json "$OUT/bench.json" ${axes[@]+"${axes[@]}"} ||
	fk_die "the JSON check failed (see above)"
echo "== plots"
MPLBACKEND=Agg "$PY" scripts/plot_results.py "$OUT/bench.json" --out "$OUT/plots"
echo "== summary"
"$PY" scripts/summarize.py "$OUT/bench.json" --out "$OUT/summary.md"
if [ "$interrupted" -eq 1 ]; then
	echo "== interrupted: $passes_done of $PASSES passes finished and are summarised," \
		"marked PARTIAL: $OUT/summary.md, $OUT/plots/, $OUT/bench.json"
	exit 130
fi
echo "== done: $OUT/summary.md, $OUT/plots/, $OUT/bench.json"
