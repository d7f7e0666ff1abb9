#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: scripts/verify-genmc.sh [options] [GENMC_SRC_DIR]
# Model-check the protocol harnesses verify/genmc/*.c with GenMC (the
# stateless model checker for C11 under RC11 and IMM, MPI-SWS/genmc): every
# harness unmutated (GenMC must report no error) and with each of its
# planted mutations (GenMC must report an error). Prints a table, writes it
# to the log, exits 1 on any mismatch.
# GenMC is GPL-3.0 and not a Debian package: build v0.10.3 from a source
# checkout (verify/genmc/README.md). It is looked for as GENMC_SRC_DIR/genmc,
# then $GENMC (the binary, or its source directory), then
# /tmp/genmc-src/genmc; when there is none, one line says so and the script
# exits 0 (CI has no network to fetch it).
#   --log FILE      where the table goes (default build/genmc/verify-genmc.log;
#                   each run's full GenMC output lands beside it)
#   --tree DIR      check the headers of another checkout (e.g. an older
#                   commit): -I DIR/core/include -I DIR/core/src
#   --only PATTERN  only harnesses whose name matches the shell PATTERN
#   --timeout S     per GenMC run (default 600)
#   -h, --help      this text
# A harness's leading comment holds "expect: pass", "mutations: 1 2 ..."
# (each run with -DFK_MUTATION=k) and, optionally, "genmc: FLAGS" (extra
# GenMC options, e.g. --imm) and "cflags: FLAGS" (extra clang flags). Every
# harness is compiled at -O1 (at -O0 GenMC rejects some verdict structs as
# mixed-size accesses).

set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/lib.sh"

LOG=
TREE=$REPO
ONLY='*'
TIMEOUT=600
SRC=
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) fk_usage; exit 0 ;;
    --log|--tree|--only|--timeout)
      [ $# -ge 2 ] || fk_bad_usage "option $1 needs a value"
      case "$1" in
        --log) LOG=$2 ;;
        --tree) TREE=$(cd "$2" 2>/dev/null && pwd) || fk_bad_usage "no directory '$2'" ;;
        --only) ONLY=$2 ;;
        --timeout) TIMEOUT=$2 ;;
      esac
      shift 2 ;;
    -*) fk_bad_usage "unknown option '$1'" ;;
    *) [ -z "$SRC" ] || fk_bad_usage "one GENMC_SRC_DIR only"; SRC=$1; shift ;;
  esac
done
[[ "$TIMEOUT" =~ ^[0-9]+$ && "$TIMEOUT" -gt 0 ]] ||
  fk_bad_usage "--timeout must be a positive integer, got '$TIMEOUT'"
[ -d "$TREE/core/include/framekit" ] || fk_bad_usage "--tree $TREE has no core/include/framekit"

# Find the binary: the argument, $GENMC, the conventional build place.
GENMC_BIN=
for cand in ${SRC:+"$SRC/genmc"} ${GENMC:+"$GENMC" "$GENMC/genmc"} /tmp/genmc-src/genmc; do
  if [ -f "$cand" ] && [ -x "$cand" ]; then GENMC_BIN=$cand; break; fi
done
if [ -z "$GENMC_BIN" ]; then
  echo "verify-genmc.sh: skipped: no GenMC binary (looked at ${SRC:+$SRC/genmc, }${GENMC:+\$GENMC=$GENMC, }/tmp/genmc-src/genmc); build GenMC v0.10.3 from source to run it (verify/genmc/README.md)"
  exit 0
fi

OUTDIR=$REPO/build/genmc
LOG=${LOG:-$OUTDIR/verify-genmc.log}
mkdir -p "$OUTDIR" "$(dirname "$LOG")"

# One key of a harness's leading comment block ("key: value"), or empty.
harness_key() {
  sed -n '1,/\*\//p' "$1" | sed -n "s/^[ /*]*$2:[ ]*//p" | head -1
}

VERSION=$("$GENMC_BIN" --version 2>&1 | sed -n 's/^ *\(GenMC v[^ ]*\).*/\1/p' | head -1)
CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
COMMIT=$(git -C "$TREE" rev-parse --short HEAD 2>/dev/null || echo "not a git checkout")
[ -n "$(git -C "$TREE" status --porcelain 2>/dev/null)" ] && COMMIT="$COMMIT (with local changes)"

{
  echo "# scripts/verify-genmc.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "# ${VERSION:-GenMC (unknown version)} at $GENMC_BIN"
  echo "# host: $(hostname), ${CPU:-unknown CPU}, $(nproc) CPUs"
  echo "# headers: $TREE (commit $COMMIT)"
  printf '%-28s %-9s %-8s %-30s %10s %8s\n' harness run expected got executions seconds
} | tee "$LOG"

fail=0
shopt -s nullglob
harnesses=("$REPO"/verify/genmc/*.c)
[ ${#harnesses[@]} -gt 0 ] || fk_die "no harness in verify/genmc/"
for h in "${harnesses[@]}"; do
  name=$(basename "$h" .c)
  # shellcheck disable=SC2053 # PATTERN is a glob on purpose
  [[ $name == $ONLY ]] || continue
  expect=$(harness_key "$h" expect)
  muts=$(harness_key "$h" mutations)
  gflags=$(harness_key "$h" genmc)
  cflags=$(harness_key "$h" cflags)
  if [ "$expect" != pass ]; then
    printf '%-28s %-9s %-8s %-30s\n' "$name" - pass "no 'expect: pass' line" | tee -a "$LOG"
    fail=1
    continue
  fi
  for m in 0 $muts; do
    run=$([ "$m" = 0 ] && echo plain || echo "mut-$m")
    want=$([ "$m" = 0 ] && echo pass || echo error)
    out=$OUTDIR/$name.$run.out
    rc=0
    # shellcheck disable=SC2086 # flag lists split on purpose
    timeout "$TIMEOUT" "$GENMC_BIN" --disable-estimation $gflags -- \
      -O1 -DFK_MUTATION="$m" -I "$TREE/core/include" -I "$TREE/core/src" \
      -I "$REPO/verify/genmc" $cflags "$h" >"$out" 2>&1 || rc=$?
    execs=$(sed -n 's/^Number of complete executions explored: //p' "$out")
    secs=$(sed -n 's/^Total wall-clock time: \([0-9.]*\)s/\1/p' "$out")
    if [ "$rc" = 124 ]; then
      got="timeout (${TIMEOUT}s)"
    elif ! grep -q '^\*\*\* Compilation complete' "$out"; then
      got="compile error"
    elif grep -q '^\*\*\* Verification complete' "$out" && [ "$rc" = 0 ]; then
      got=pass
    elif grep -q '^\*\*\* Verification unsuccessful' "$out"; then
      got="error: $(sed -n 's/^Error: \(.*\)!$/\1/p' "$out" | head -1)"
    else
      got="no verdict (rc $rc)"
    fi
    verdict=ok
    case "$want:$got" in
      pass:pass | error:error:*) ;;
      *) verdict=MISMATCH; fail=1 ;;
    esac
    printf '%-28s %-9s %-8s %-30s %10s %8s  %s\n' "$name" "$run" "$want" "$got" \
      "${execs:--}" "${secs:--}" "$verdict" | tee -a "$LOG"
  done
done
if [ "$fail" = 0 ]; then
  echo "# all harnesses as expected" | tee -a "$LOG"
else
  echo "# MISMATCH: see the rows above and $OUTDIR/<harness>.<run>.out" | tee -a "$LOG"
fi
exit "$fail"
