#!/bin/bash
# Build the release preset and run the framekit benchmark suite.
#
#   scripts/run-bench.sh [--quick|--full] [--out DIR] [-- EXTRA GBENCH FLAGS]
#
#   (default)  every benchmark, threads 1,2,4,8,16, min_time 0.05 s, 3 passes (~5 min on 2 cores)
#   --quick    threads 1 and 2 only, min_time 0.005 s, 1 pass                (< 1 min)
#   --full     min_time 0.3 s, 5 passes                                     (~35 min on 2 cores)
# Default and full run the benchmarks in random order in each pass.
# The summary and plots use the median over passes.
#
# Writes into results/<YYYY-MM-DD>-<hostname>[-N]/ (a new directory, never an
# earlier run's; or --out DIR):
#   bench.json   Google Benchmark JSON (context: compiler, flags, nodes, split)
#   bench.log    the console output
#   plots/*.png  throughput vs threads, one line per allocator, one file per family
#   summary.md   machine, results table, lock-free vs baseline ratios
# Compare two runs: scripts/compare-runs.sh OLD.json NEW.json
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MODE=default
OUT=""
EXTRA=()
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) MODE=quick ;;
	--full) MODE=full ;;
	--default) MODE=default ;;
	--out)
		OUT=${2:?--out needs a directory}
		shift
		;;
	--out=*) OUT=${1#--out=} ;;
	--) shift; EXTRA=("$@"); break ;;
	-h | --help)
		sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "run-bench.sh: unknown argument '$1' (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

PY=/usr/bin/python3
if [ -x scripts/setup-deps.sh ]; then
	echo "== scripts/setup-deps.sh"
	scripts/setup-deps.sh
elif [ -f scripts/setup-deps.sh ]; then
	echo "== scripts/setup-deps.sh"
	bash scripts/setup-deps.sh
fi

echo "== configure + build (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target framekit_bench
BIN=build/release/bench/framekit_bench

if [ -z "$OUT" ]; then
	# Never overwrite an earlier run (e.g. a committed reference): the
	# second run of a day on a host gets -2, then -3, ...
	OUT="results/$(date -u +%Y-%m-%d)-$(hostname -s)"
	if [ -e "$OUT" ]; then
		n=2
		while [ -e "$OUT-$n" ]; do n=$((n + 1)); done
		OUT="$OUT-$n"
	fi
fi
mkdir -p "$OUT/plots"

# FK_BENCH_BUDGET: per-run wall-clock cap in seconds. Spinlock baselines
# convoy when threads > CPUs (a few thousand ops/s); such runs end as
# "timeout: ..." errors carrying their estimated rate (see summary.md).
# Repetitions are whole passes over the suite (pass-N.json, merged into
# bench.json), not --benchmark_repetitions: 1.7.1's aggregate code aborts
# (statistics.cc "run_iterations == run.iterations") when one repetition of
# a benchmark failed, e.g. on the time budget. Passes also spread each
# benchmark's samples over minutes, which helps on a shared machine.
case "$MODE" in
quick)
	ARGS=(--benchmark_min_time=0.005 "--benchmark_filter=threads:(1|2)$")
	PASSES=1
	: "${FK_BENCH_BUDGET:=1}"
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

# Context recorded in the JSON (values must not contain commas).
CC_VER=$(gcc --version | head -1 | tr -d ',')
CXX_VER=$(g++ --version | head -1 | tr -d ',')
CACHE=build/release/CMakeCache.txt
cflags=$(sed -n 's/^CMAKE_C_FLAGS_RELEASE:[A-Z]*=//p' "$CACHE" | tr -d ',')
lto=$(grep -q -- '-flto' build/release/bench/CMakeFiles/framekit_bench.dir/flags.make 2>/dev/null &&
	echo "-flto (bench objects)" || echo "no LTO")
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
[ "$nodes" -gt 0 ] || nodes=1
cpus=$(nproc)
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | tr -d ',')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo "+dirty" || true)
kernel=$(uname -r)
CONTEXT="mode=$MODE,run_budget_s=$FK_BENCH_BUDGET,compiler=$CC_VER,cxx_compiler=$CXX_VER,cflags=$cflags,bench_lto=$lto"
CONTEXT+=",physical_numa_nodes=$nodes,online_cpus=$cpus,cpu_model=$model,kernel=$kernel"
CONTEXT+=",numa_split=logical (numa family: nr_nodes 2 and 4 on $nodes physical node(s))"
CONTEXT+=",git_commit=$commit$dirty,hostname=$(hostname -s)"

# Other work on the machine skews every number: record it.
busy() { ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && $1>5 {printf "%s(%s%%) ", $2, $1}'; }
{
	echo "start_utc=$(date -u +%FT%TZ)"
	echo "start_loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "start_busy=$(busy)"
} >"$OUT/run-info.txt"

echo "== framekit_bench ($MODE) -> $OUT"
start=$(date +%s)
: >"$OUT/bench.log"
rc=0
for pass in $(seq 1 "$PASSES"); do
	echo "== pass $pass/$PASSES ($(($(date +%s) - start)) s elapsed)" | tee -a "$OUT/bench.log"
	set +e
	"$BIN" "${ARGS[@]}" --benchmark_color=false \
		--benchmark_out="$OUT/pass-$pass.json" --benchmark_out_format=json \
		"--benchmark_context=$CONTEXT,pass=$pass/$PASSES" "${EXTRA[@]}" 2>&1 | tee -a "$OUT/bench.log"
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" -eq 0 ] || break
done
echo "== framekit_bench finished in $(($(date +%s) - start)) s (rc $rc)"
{
	echo "end_utc=$(date -u +%FT%TZ)"
	echo "end_loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "duration_s=$(($(date +%s) - start))"
	echo "rc=$rc"
} >>"$OUT/run-info.txt"
[ "$rc" -eq 0 ] || exit "$rc"

# One JSON with every pass (pass N = repetition_index N-1; compare.py and
# the scripts treat them as repetitions).
"$PY" scripts/summarize.py --merge "$OUT"/pass-*.json --merged-out "$OUT/bench.json"
rm -f "$OUT"/pass-*.json

"$PY" bench/check_json.py --bench "$BIN" --json "$OUT/bench.json" || echo "WARNING: check_json reported a problem (see above)"
echo "== plots"
MPLBACKEND=Agg "$PY" scripts/plot_results.py "$OUT/bench.json" --out "$OUT/plots"
echo "== summary"
"$PY" scripts/summarize.py "$OUT/bench.json" --out "$OUT/summary.md"
echo "== done: $OUT/summary.md, $OUT/plots/, $OUT/bench.json"
