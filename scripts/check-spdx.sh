#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-spdx.sh: fail if a tracked source, script or CMake file has no SPDX line.
#   usage: scripts/check-spdx.sh
#
# Lists every file (fk_spdx_files in scripts/lib.sh) without
# "SPDX-License-Identifier: MIT" among its first five lines. Exit: 0 all
# have one; 1 some lack it (scripts/add-spdx.sh adds them); 2 bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

for a in "$@"; do
	case "$a" in
	-h | --help) fk_usage; exit 0 ;;
	*) fk_bad_usage "unknown option '$a'" ;;
	esac
done

missing=()
total=0
while read -r _ f; do
	total=$((total + 1))
	fk_spdx_has "$f" || missing+=("$f")
done < <(fk_spdx_files)
if [ ${#missing[@]} -gt 0 ]; then
	printf '  %s\n' "${missing[@]}" >&2
	fk_die "${#missing[@]} of $total file(s) above lack '$FK_SPDX' (scripts/add-spdx.sh adds it)"
fi
echo "check-spdx: all $total source, script and CMake files carry '$FK_SPDX'"
