#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-docs.sh: check facts the README repeats against their one home.
#   usage: scripts/check-docs.sh
#
# The README's error table ("| code | meaning | typical source |") must list
# every FK_E* code of FK_ERROR_LIST (core/include/framekit/error.h) in list
# order, with the list's `meaning` as its second column; the third column is
# README prose. Fails (exit 1) naming the first difference. CC picks the C
# preprocessor's compiler (default cc). Runs as the ctest check_docs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

case "${1:-}" in
-h | --help) fk_usage; exit 0 ;;
"") ;;
*) fk_bad_usage "unknown option '$1'" ;;
esac

# "NAME<TAB>meaning" per code, from the list itself (the preprocessor expands it).
want=$(printf '#include <framekit/error.h>\n#define P(n, v, m, d) @ #n d\nFK_ERROR_LIST(P)\n' |
	"${CC:-cc}" -E -P -Icore/include -x c - |
	python3 -c '
import re, sys
for name, meaning in re.findall(r"@\s*\"(\w+)\"\s*\"((?:[^\"\\]|\\.)*)\"", sys.stdin.read()):
    if name != "FK_OK":
        print(name + "\t" + meaning)')
[ -n "$want" ] || fk_die "could not expand FK_ERROR_LIST from core/include/framekit/error.h"

# The same from README's table rows: | `FK_X` | meaning | ... |
have=$(awk -F' \\| ' '/^\| code \| meaning \|/ { on = 1; next }
	on && !/^\|/ { exit }
	on && /^\| `FK_/ { c = $1; sub(/^\| `/, "", c); sub(/`$/, "", c); print c "\t" $2 }' README.md)

if [ "$want" != "$have" ]; then
	diff <(echo "$want") <(echo "$have") | sed 's/^/  /' >&2 || true
	fk_die "README.md error table differs from FK_ERROR_LIST (< list, > README)"
fi
echo "check-docs: README error table matches FK_ERROR_LIST ($(echo "$want" | wc -l) codes)"
