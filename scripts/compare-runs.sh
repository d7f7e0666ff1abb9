#!/bin/bash
# SPDX-License-Identifier: MIT
# usage: scripts/compare-runs.sh OLD.json NEW.json [OPTIONS]
#
# Compares two framekit_bench runs with Google Benchmark's compare.py
# (libbenchmark-tools; scipy, hence /usr/bin/python3): per benchmark the
# relative change of time and CPU (negative = NEW is faster) and, when
# both runs have several passes, a Mann-Whitney U-test over them.
# Warns (one line each) when the runs differ in host, CPU, mode or pass
# count, or when one is partial or a --quick smoke test.
# OPTIONS (passed on to compare.py):
#   -a, --display_aggregates_only   aggregates only
#   --no-utest                      no U-test
#   --alpha A                       U-test significance level (default 0.05)
#   -d, --dump_to_json FILE         the comparison as JSON too
#   --no-color                      no ANSI colours (the default off a terminal)
# Exit: 0 ok, 1 compare.py or scipy missing, an unreadable JSON or
# compare.py failed, 2 bad usage.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
case "${1-}" in
-h | --help)
	fk_usage
	exit 0
	;;
esac
[ $# -ge 2 ] || fk_bad_usage "need two JSON files (OLD.json NEW.json)"
old=$1 new=$2
shift 2
for f in "$old" "$new"; do
	case "$f" in -*) fk_bad_usage "need two JSON files before any option, got '$f'" ;; esac
	[ -f "$f" ] || fk_bad_usage "no such file: '$f'"
done
opts=()
while [ $# -gt 0 ]; do
	case "$1" in
	-a | --display_aggregates_only | --no-utest | --no-color) opts+=("$1") ;;
	--alpha | -d | --dump_to_json)
		[ $# -ge 2 ] && [ -n "$2" ] || fk_bad_usage "$1 needs a value"
		if [ "$1" = --alpha ]; then
			[[ "$2" =~ ^(0?\.[0-9]+|1(\.0*)?)$ ]] || fk_bad_usage "--alpha wants 0..1, got '$2'"
		fi
		opts+=("$1" "$2")
		shift
		;;
	--alpha=*)
		[[ "${1#*=}" =~ ^(0?\.[0-9]+|1(\.0*)?)$ ]] || fk_bad_usage "--alpha wants 0..1, got '${1#*=}'"
		opts+=("$1")
		;;
	--dump_to_json=*) opts+=("$1") ;;
	*) fk_bad_usage "unknown option '$1'" ;;
	esac
	shift
done
PY=/usr/bin/python3
CMP=/usr/share/benchmark/compare.py
[ -f "$CMP" ] || fk_die "$CMP not found: apt-get install libbenchmark-tools"
"$PY" -c 'import scipy' 2>/dev/null || fk_die "compare.py needs SciPy: apt-get install python3-scipy"
# Both readable, and what differs between them (warnings on stderr).
"$PY" "$(dirname "$0")/bench_results.py" --comparable "$old" "$new" || exit 1
[ -t 1 ] || opts=(--no-color ${opts[@]+"${opts[@]}"}) # no ANSI colours into files and pipes
exec "$PY" "$CMP" ${opts[@]+"${opts[@]}"} benchmarks "$old" "$new"
