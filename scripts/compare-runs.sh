#!/bin/bash
# usage: scripts/compare-runs.sh OLD.json NEW.json [compare.py options]
#
# Compares two framekit_bench runs with Google Benchmark's compare.py
# (libbenchmark-tools; scipy, hence /usr/bin/python3): per benchmark the
# relative change of time and CPU (negative = NEW is faster) and, when
# both runs have several passes, a Mann-Whitney U-test over them.
# Exit: 0 ok, 1 compare.py missing or failed, 2 bad usage.
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
case "${1-}" in
-h | --help)
	usage
	exit 0
	;;
esac
if [ $# -lt 2 ] || [ ! -f "$1" ] || [ ! -f "$2" ]; then
	echo "compare-runs.sh: need two existing JSON files (try --help)" >&2
	exit 2
fi
CMP=/usr/share/benchmark/compare.py
if [ ! -f "$CMP" ]; then
	echo "compare-runs.sh: $CMP not found: apt-get install libbenchmark-tools" >&2
	exit 1
fi
old=$1 new=$2
shift 2
[ -t 1 ] || set -- --no-color "$@" # no ANSI colours into files and pipes
exec /usr/bin/python3 "$CMP" "$@" benchmarks "$old" "$new"
