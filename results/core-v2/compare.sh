#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: results/core-v2/compare.sh BEFORE_COMMIT [AFTER_COMMIT] [ROUNDS]
# Before/after of two commits that both have the refcount policy and lookup
# mode fields (issue 10 items 1-4 and later). Builds libframekit (release
# preset) at each commit from `git archive` (so the work tree does not
# matter), builds core_v2_timing.c (this folder's copy) against each, and
# runs ROUNDS rounds (default 3), before and after interleaved within each
# round, printing `uptime` before each round:
#   shared2x  fast vs checked, 2 threads, trials alternating in one process
#   alloc512  fk_alloc_segment(512) + drop, fast and checked, raw on
#   single    single-thread clone+drop, slice, split, next (fast)
#   rmw_floor the same 2-thread pattern as bare fetch_add vs load+CAS loops
#             on 16 lines (rmw_floor.c): the hardware's own ratio, this round
# Work dir: /tmp/fk-core-v2-cmp. Needs the release preset's dependencies.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BEFORE=${1:?before commit}
AFTER=${2:-HEAD}
ROUNDS=${3:-3}
W=/tmp/fk-core-v2-cmp
LIBS="-lurcu-memb -lurcu-common -lnuma -lpthread"
for side in before after; do
  c=$BEFORE
  [ "$side" = after ] && c=$AFTER
  rm -rf "$W/$side" && mkdir -p "$W/$side"
  git -C "$REPO" archive "$c" | tar -x -C "$W/$side"
  (cd "$W/$side" && cmake --preset release -DFK_BUILD_BENCH=OFF >/dev/null &&
    cmake --build build/release -j2 --target framekit >/dev/null)
  cc -O2 -std=gnu11 -DHAVE_POLICY -DHAVE_LOOKUP -I"$W/$side/core/include" \
    "$REPO/results/core-v2/core_v2_timing.c" "$W/$side/build/release/core/libframekit.a" $LIBS \
    -o "$W/t_$side"
done
cc -O2 -std=gnu11 "$REPO/results/core-v2/rmw_floor.c" -lpthread -o "$W/rmw_floor"
echo "before=$(git -C "$REPO" rev-parse --short "$BEFORE") after=$(git -C "$REPO" rev-parse --short "$AFTER") $(uname -m) $(nproc) CPUs"
for r in $(seq "$ROUNDS"); do
  echo "== round $r: $(uptime)"
  for side in before after; do
    echo "$side:"
    "$W/t_$side" shared2x 0 1
  done
  "$W/rmw_floor"
  for side in before after; do
    echo "$side fast:    $("$W/t_$side" alloc512 0)"
    echo "$side checked: $("$W/t_$side" alloc512 1)"
  done
  for side in before after; do
    echo "$side: $("$W/t_$side" single 0)"
  done
done
