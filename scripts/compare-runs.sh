#!/bin/bash
# Compare two framekit_bench JSON runs with Google Benchmark's compare.py
# (libbenchmark-tools; needs scipy, hence /usr/bin/python3).
#
#   scripts/compare-runs.sh OLD.json NEW.json [extra compare.py flags]
#
# Prints per benchmark the relative change of time and CPU (negative = NEW
# is faster) and a U-test when the runs have repetitions (--full).
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: $0 OLD.json NEW.json [compare.py options]" >&2
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
