#!/bin/bash
# usage: scripts/compare-runs.sh OLD.json NEW.json [compare.py options]
#
# Compares two framekit_bench runs with Google Benchmark's compare.py
# (libbenchmark-tools; scipy, hence /usr/bin/python3): per benchmark the
# relative change of time and CPU (negative = NEW is faster) and, when
# both runs have several passes, a Mann-Whitney U-test over them.
# Exit: 0 ok, 1 compare.py missing or failed, 2 bad usage.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
case "${1-}" in
-h | --help)
	fk_usage
	exit 0
	;;
esac
[ $# -ge 2 ] && [ -f "$1" ] && [ -f "$2" ] || fk_bad_usage "need two existing JSON files"
CMP=/usr/share/benchmark/compare.py
[ -f "$CMP" ] || fk_die "$CMP not found: apt-get install libbenchmark-tools"
old=$1 new=$2
shift 2
[ -t 1 ] || set -- --no-color "$@" # no ANSI colours into files and pipes
exec /usr/bin/python3 "$CMP" "$@" benchmarks "$old" "$new"
