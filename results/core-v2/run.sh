#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: results/core-v2/run.sh [BEFORE_COMMIT] [ROUNDS]
# Builds libframekit (release) at BEFORE_COMMIT (default 7c29b0a, main just
# before issue 10 landed) and at HEAD, builds core_v2_timing.c against each,
# and runs every measurement ROUNDS times (default 3), before and after
# interleaved, printing `uptime` before each round. Needs the release
# preset's dependencies (scripts/setup-deps.sh). Work dir: /tmp/fk-core-v2.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BEFORE=${1:-7c29b0a}
ROUNDS=${2:-3}
W=/tmp/fk-core-v2
LIBS="-lurcu-memb -lurcu-common -lnuma -lpthread"
mkdir -p "$W/before"
git -C "$REPO" archive "$BEFORE" | tar -x -C "$W/before"
(cd "$W/before" && cmake --preset release -DFK_BUILD_BENCH=OFF >/dev/null && cmake --build build/release -j2 --target framekit >/dev/null)
(cd "$REPO" && cmake --preset release >/dev/null && cmake --build build/release -j2 --target framekit >/dev/null)
cc -O2 -std=gnu11 -I"$W/before/core/include" "$REPO/results/core-v2/core_v2_timing.c" \
  "$W/before/build/release/core/libframekit.a" $LIBS -o "$W/t_before"
cc -O2 -std=gnu11 -DHAVE_POLICY -DHAVE_LOOKUP -I"$REPO/core/include" "$REPO/results/core-v2/core_v2_timing.c" \
  "$REPO/build/release/core/libframekit.a" $LIBS -o "$W/t_after"
echo "before=$(git -C "$REPO" rev-parse --short "$BEFORE") after=$(git -C "$REPO" rev-parse --short HEAD) $(uname -m) $(nproc) CPUs"
for r in $(seq "$ROUNDS"); do
  echo "== round $r: $(uptime)"
  # fast vs checked, trials interleaved in one process (raw tracking on, off)
  "$W/t_after" shared2x 0 1
  "$W/t_after" shared2x 0 0
  # before vs after (separate processes), and one thread
  echo "before: $("$W/t_before" shared2q)"
  echo "after:  $("$W/t_after" shared2q 0)"
  echo "before: $("$W/t_before" shared1)"
  echo "fast:   $("$W/t_after" shared1 0)"
  echo "checked:$("$W/t_after" shared1 1)"
  echo "before: $("$W/t_before" alloc512)"
  echo "fast:   $("$W/t_after" alloc512 0)"
  echo "checked:$("$W/t_after" alloc512 1)"
  echo "fast, raw off: $("$W/t_after" alloc512 0 0)"
  # RCU vs rwlock, trials interleaved, hot-plug churn off and on
  "$W/t_after" lookup2x 0 1
  "$W/t_after" lookup2cx 0 1
  echo "before: $("$W/t_before" single)"
  echo "fast:   $("$W/t_after" single 0)"
  echo "checked:$("$W/t_after" single 1)"
done
