#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# add-spdx.sh: give every tracked source, script and CMake file an SPDX line.
#   usage: scripts/add-spdx.sh [--dry-run]
#
# Adds "SPDX-License-Identifier: MIT" (LICENSE) as the first comment line
# of each file that lacks one among its first five lines: "/* ... */" as
# line 1 of C and C++ files, "# ..." as line 1 of shell, Python and CMake
# files (line 2 when line 1 is a #! line). Which files: fk_spdx_files in
# scripts/lib.sh. A README.md code block marked "<!-- verbatim: FILE -->"
# (scripts/build-docs.sh checks it is FILE byte for byte) is re-copied from
# a FILE it changed. Idempotent: a second run changes nothing. Prints each
# file it changes; --dry-run only prints them. scripts/check-spdx.sh checks.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

dry=0
for a in "$@"; do
	case "$a" in
	--dry-run) dry=1 ;;
	-h | --help) fk_usage; exit 0 ;;
	*) fk_bad_usage "unknown option '$a'" ;;
	esac
done

# recopy FILE: README.md's block marked verbatim for FILE becomes FILE again.
recopy() {
	grep -q -- "<!-- verbatim: $1 -->" README.md || return 0
	awk -v f="$1" 'index($0, "<!-- verbatim: " f " -->") { on = 1; print; next }
		on == 1 && /^```/ { print; while ((getline l < f) > 0) print l; on = 2; next }
		on == 2 && /^```/ { on = 0 } on != 2' README.md >README.md.spdx
	mv README.md.spdx README.md
	echo "README.md (verbatim copy of $1)"
}

n=0
while read -r style f; do
	fk_spdx_has "$f" && continue
	n=$((n + 1))
	echo "$f"
	[ "$dry" -eq 1 ] && continue
	tmp=$(mktemp "$f.spdx.XXXXXX")
	if [ "$style" = c ]; then
		{ echo "/* $FK_SPDX */"; cat "$f"; } >"$tmp"
	elif [ "$(head -c 2 "$f")" = "#!" ]; then
		{ head -n 1 "$f"; echo "# $FK_SPDX"; tail -n +2 "$f"; } >"$tmp"
	else
		{ echo "# $FK_SPDX"; cat "$f"; } >"$tmp"
	fi
	chmod --reference="$f" "$tmp"
	mv "$tmp" "$f"
	recopy "$f"
done < <(fk_spdx_files)
echo "add-spdx: $n file(s) $([ "$dry" -eq 1 ] && echo "lack" || echo "given") an SPDX line"
