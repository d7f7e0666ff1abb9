#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build-docs.sh: build the API reference from the public headers with Doxygen.
#   usage: scripts/build-docs.sh [--out DIR]
#
# Runs doxygen on core/include/framekit/*.h (docs/Doxyfile) into DIR
# (default build/docs; open DIR/html/index.html). Every public declaration
# must carry a /** ... */ comment: an undocumented one, or any other Doxygen
# warning, fails the build (exit 1, warnings printed). Also checks that each
# README code block marked "<!-- verbatim: FILE -->" is FILE. Needs the Debian
# package doxygen (scripts/setup-deps.sh installs it). Takes about a second;
# scripts/run-tests.sh runs it, so the reference cannot fall behind.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

out=build/docs
while [ $# -gt 0 ]; do
	case "$1" in
	--out)
		[ $# -ge 2 ] || fk_bad_usage "--out needs a directory"
		out=$2
		shift 2
		;;
	-h | --help) fk_usage; exit 0 ;;
	*) fk_bad_usage "unknown option '$1'" ;;
	esac
done

# A README code block after "<!-- verbatim: FILE -->" must be FILE, byte for byte.
grep -o '<!-- verbatim: [^ ]* -->' README.md | awk '{print $3}' | while read -r f; do
	awk -v f="$f" 'index($0, "<!-- verbatim: " f " -->") { on = 1; next }
		on == 1 && /^```/ { on = 2; next } on == 2 && /^```/ { exit } on == 2' README.md |
		cmp -s - "$f" || fk_die "README.md: the block marked verbatim differs from $f"
done
# Doxygen checks the members of documented files only: every header needs @file.
for h in core/include/framekit/*.h; do
	grep -q '^ \* @file' "$h" || fk_die "$h: no /** @file ... */ comment (Doxygen would skip its members)"
done
command -v doxygen >/dev/null || fk_die "doxygen not found (apt-get install doxygen, or scripts/setup-deps.sh)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/html" "$out/warnings.log"
if ! FK_DOCS_OUT=$out doxygen docs/Doxyfile >"$out/doxygen.log" 2>&1 || [ -s "$out/warnings.log" ]; then
	cat "$out/warnings.log" "$out/doxygen.log" >&2 2>/dev/null || true
	fk_die "API reference has warnings (every public declaration needs a /** */ comment)"
fi
echo "build-docs: API reference in $out/html/index.html (no warnings)"
