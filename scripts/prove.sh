#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# prove.sh: prove the segment contracts (core/src/segment_arith.h) with Frama-C WP.
#   usage: scripts/prove.sh [--no-install] [--no-planted]
#
#   1. installs frama-c-base, why3, z3 and cvc4 when missing (apt-get
#      --no-install-recommends, as root or via sudo), then registers the
#      provers with `why3 config detect` when why3 does not list them yet
#   2. checks the proof of every ACSL axiom of the header with z3: axiom NAME
#      needs verify/wp/lemmas/NAME.smt2, whose every (check-sat) must answer
#      unsat
#   3. runs WP (-wp-rte, unsigned overflow and downcast checks, provers cvc4
#      and z3; Alt-Ergo is not in Debian 12) and fails unless every goal is
#      proved; prints the goal count
#   4. planted-bug checks: WP on a copy of the header with each
#      verify/wp/planted/*.patch applied (its "Function:" line names the
#      function to prove) must leave unproved a goal whose name starts with
#      its "Expect-fail:" line; a planted bug that proves fails this script
# --no-install skips step 1 (the tools must be there); --no-planted skips
# step 4. FK_JOBS sets WP's parallel prover runs (default: nproc).
# Exit 0 only when every step passed. What is proved: verify/wp/README.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

install=1
planted=1
for a in "$@"; do
	case "$a" in
	--no-install) install=0 ;;
	--no-planted) planted=0 ;;
	-h | --help) fk_usage; exit 0 ;;
	*) fk_bad_usage "unknown option '$a'" ;;
	esac
done

cd "$(dirname "$0")/.."
root=$(pwd)
header=core/src/segment_arith.h
unit=verify/wp/segment_arith.c
start=$SECONDS

# --- 1. tools -----------------------------------------------------------------
PKGS=(frama-c-base why3 z3 cvc4)
if [ "$install" -eq 1 ]; then
	missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "prove: installing ${missing[*]}"
		SUDO=""
		if [ "$(id -u)" -ne 0 ]; then
			command -v sudo >/dev/null || fk_die "need root to install ${missing[*]}"
			SUDO=sudo
		fi
		export DEBIAN_FRONTEND=noninteractive
		$SUDO apt-get update -q
		$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
fi
for t in frama-c why3 z3 cvc4; do
	command -v "$t" >/dev/null || fk_die "$t not found (run without --no-install)"
done
provers=$(why3 config list-provers 2>/dev/null || true)
if ! grep -q '^CVC4 ' <<<"$provers" || ! grep -q '^Z3 ' <<<"$provers"; then
	why3 config detect >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# WP on one copy of the header: $1 = folder holding segment_arith.h, $2 = log,
# then extra frama-c options. Returns frama-c's status.
run_wp() {
	local src=$1 log=$2
	shift 2
	frama-c -c11 -cpp-extra-args="-I$src -I$root/core/include" \
		-warn-unsigned-overflow -warn-unsigned-downcast -warn-signed-downcast \
		-wp -wp-rte -wp-prover cvc4,z3 -wp-timeout 30 -wp-par "$(fk_jobs)" \
		-wp-session "$work/session" "$@" "$root/$unit" \
		-then -report-classify -report-unclassified-unknown ERROR >"$log" 2>&1
}

# "Proved goals:  N / M" of a WP log, as "N M".
goal_count() {
	sed -n 's/^\[wp\] Proved goals: *\([0-9]*\) *\/ *\([0-9]*\).*/\1 \2/p' "$1" | tail -1
}

# --- 2. axioms ----------------------------------------------------------------
axioms=$(sed -n 's/^ *axiom \(fk_[a-z0-9_]*\):.*/\1/p' "$header")
[ -n "$axioms" ] || fk_die "no axiom found in $header (the pattern is out of date?)"
for ax in $axioms; do
	f=verify/wp/lemmas/$ax.smt2
	[ -f "$f" ] || fk_die "axiom $ax in $header has no proof file $f"
	want=$(grep -c '^(check-sat)' "$f")
	got=$(timeout 120 z3 "$f" 2>&1 || true)
	if [ "$(grep -c '^unsat$' <<<"$got")" -ne "$want" ] || [ "$(wc -l <<<"$got")" -ne "$want" ]; then
		echo "$got" >&2
		fk_die "z3 did not prove axiom $ax ($f): expected $want x unsat"
	fi
	echo "prove: axiom $ax proved by z3 ($f)"
done
for f in verify/wp/lemmas/*.smt2; do
	grep -qx "$(basename "$f" .smt2)" <<<"$axioms" || fk_die "$f proves no axiom of $header"
done

# --- 3. the proof ---------------------------------------------------------------
log=$work/wp.log
t0=$SECONDS
status=0
run_wp "$root/core/src" "$log" || status=$?
read -r proved total <<<"$(goal_count "$log")" || true
if [ "$status" -ne 0 ] || [ -z "${total:-}" ] || [ "$proved" != "$total" ]; then
	grep -v '^\[wp\] \[.*\] Goal .*: Valid' "$log" >&2 || true
	fk_die "WP failed: ${proved:-?} of ${total:-?} goals proved (frama-c status $status)"
fi
echo "prove: WP proved $proved / $total goals of $header in $((SECONDS - t0)) s"
sed -n '/^\[wp\] Proved goals/,/^\[/{/^  /p}' "$log"

# --- 4. planted bugs ------------------------------------------------------------
if [ "$planted" -eq 1 ]; then
	n=0
	for patch in verify/wp/planted/*.patch; do
		fct=$(sed -n 's/^Function: *\([a-z0-9_]*\).*/\1/p' "$patch")
		goal=$(sed -n 's/^Expect-fail: *\([a-z0-9_]*\).*/\1/p' "$patch")
		[ -n "$fct" ] && [ -n "$goal" ] || fk_die "$patch lacks a Function: or Expect-fail: line"
		copy=$work/planted/$(basename "$patch" .patch)
		mkdir -p "$copy/core/src"
		cp "$header" "$copy/core/src/"
		patch -s -p1 -d "$copy" <"$patch" || fk_die "$patch no longer applies to $header"
		plog=$copy/wp.log
		status=0
		# A shorter timeout: the goals a planted bug breaks are false, so
		# a prover can only give up on them.
		run_wp "$copy/core/src" "$plog" -wp-fct "$fct" -wp-timeout 5 || status=$?
		read -r proved total <<<"$(goal_count "$plog")" || true
		if [ -z "${total:-}" ]; then
			cat "$plog" >&2
			fk_die "planted $patch: WP did not run"
		fi
		if [ "$status" -eq 0 ] || [ "$proved" = "$total" ]; then
			fk_die "planted $patch: WP proved it ($proved / $total goals, status $status)"
		fi
		failed=$(grep -c "^\[wp\] \[\(Failed\|Timeout\|Unknown\)\] Goal typed_${fct}_" "$plog" || true)
		grep -q "^\[wp\] \[\(Failed\|Timeout\|Unknown\)\] Goal ${goal}" "$plog" || {
			cat "$plog" >&2
			fk_die "planted $patch: no unproved goal ${goal}*: refused for another reason"
		}
		echo "prove: planted $(basename "$patch"): refused as it must be" \
			"($failed goal(s) of $fct unproved, $proved / $total proved):"
		sed -n "s/^\[wp\] \[\(Failed\|Timeout\|Unknown\)\] Goal \(typed_${fct}_[a-z0-9_]*\).*/  \2/p" "$plog"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fk_die "no planted bug in verify/wp/planted/"
fi
echo "prove: all passed in $((SECONDS - start)) s"
