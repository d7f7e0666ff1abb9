#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# insn_count.sh: instructions per call of split, slice+drop and next, counted
# by callgrind, for two framekit trees built with the release preset.
#   usage: results/proof/insn_count.sh TREE_A TREE_B [N]
# Each TREE must hold build/release/core/libframekit.a. Prints, per loop of
# insn_count.c, callgrind's inclusive instruction count divided by N.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,/^[^#]/{/^#/!q;s/^# \{0,1\}//;p}' "$0"; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
n=${3:-100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "$1" "$2"; do
	lib=$(find "$t/build/release" -name libframekit.a | head -1)
	cc -O2 -I"$t/core/include" "$here/insn_count.c" "$lib" $(pkg-config --libs liburcu-memb ck numa) \
		-lpthread -o "$work/ic"
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$work/ic" "$n" >/dev/null 2>&1
	echo "== $t"
	callgrind_annotate --inclusive=yes "$work/cg.out" 2>/dev/null |
		awk -v n="$n" 'match($0, /loop_(split|slice1_drop|slice16_drop|next)/) {
			f = substr($0, RSTART, RLENGTH); gsub(",", "", $1)
			printf "  %-20s %8.1f instructions per call (N=%d)\n", f, $1 / n, n }'
done
