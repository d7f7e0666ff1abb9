#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/lib.sh: the small shell library every script under scripts/ sources.
#   . "$(dirname "$0")/lib.sh"
# A script's usage is its opening comment block (lines after the #! line
# that start with "#", up to the first line that does not): fk_usage prints
# it, so the usage text lives in one place.

# Print the calling script's opening comment block without the "# ".
# An SPDX line (scripts/add-spdx.sh) is not usage.
fk_usage() {
	sed -n '2,/^[^#]/{/^#/!q;/SPDX-License-Identifier/d;s/^# \{0,1\}//;p}' "$0"
}

# One clear line on stderr and exit 2: for a bad flag or value.
fk_bad_usage() {
	echo "$(basename "$0"): $*; try --help" >&2
	exit 2
}

# One line on stderr and exit 1: for a failure that is not the caller's fault.
fk_die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# Parallel build jobs: FK_JOBS, else the number of CPUs.
fk_jobs() {
	echo "${FK_JOBS:-$(nproc 2>/dev/null || echo 2)}"
}

# Export the sanitizer options of scripts/sanitizers.env (their one home;
# CMake reads the same file). --keep: leave a variable that is already set.
fk_sanitizer_env() {
	local root line name
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	while IFS= read -r line; do
		case "$line" in [A-Z]*_OPTIONS=*) ;; *) continue ;; esac
		name=${line%%=*}
		[ "${1:-}" = --keep ] && [ -n "${!name:-}" ] && continue
		line=${line#*=}
		export "$name=${line//@SRC@/$root}"
	done <"$root/scripts/sanitizers.env"
}

# SPDX licence lines (scripts/add-spdx.sh adds them, scripts/check-spdx.sh
# checks them). The licence of every file in the repository: LICENSE.
FK_SPDX="SPDX-License-Identifier: MIT"

# The tracked files that carry an SPDX line, each with the comment syntax of
# its first line, as "c PATH" (/* ... */) or "sh PATH" (# ..., after any #!
# line): C and C++ sources and headers, shell and Python scripts, CMake
# files and templates, and any other file that starts with #!. Data
# (results' JSON and logs, corpora), documentation and tool configuration
# are not listed. Run from the repository root.
fk_spdx_files() {
	local f
	git ls-files | while IFS= read -r f; do
		[ -f "$f" ] || continue
		case "$f" in
		*.c | *.h | *.cc | *.cpp | *.hpp) echo "c $f" ;;
		*.sh | *.py | *.cmake | *.cmake.in | *.pc.in | */CMakeLists.txt | CMakeLists.txt | *.env) echo "sh $f" ;;
		*) [ "$(head -c 2 "$f" | tr -d '\0')" = "#!" ] && echo "sh $f" ;;
		esac
	done
	return 0
}

# Has FILE an SPDX line (the whole line a comment of it) among its first five lines?
fk_spdx_has() {
	head -n 5 "$1" | grep -qxE "(# |/\* |// )$FK_SPDX( \*/)?"
}

# Run directly rather than sourced: print this header (--help) or refuse.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	-h | --help) sed -n '2,/^$/{/SPDX-License-Identifier/d;/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) echo "lib.sh: sourced by the scripts in scripts/, not run; try --help" >&2; exit 2 ;;
	esac
fi
