#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: scripts/build-peers.sh [--llfree DIR] [--nbbs DIR] [--clone] [--out DIR]
# Build the peer allocators beside the suite (peers/README.md): each peer
# from a source checkout you give, and framekit's adapter for it
# (peers/<peer>/) into a plug-in the bench and stress load:
#   build/peers/fk_alloc_llfree.so   LLFree-c (luhsra/llfree-c, MIT)
#   build/peers/llf_direct           LLFree-c called directly against its
#                                    plug-in (peers/llfree/direct/)
#   build/peers/fk_alloc_nbbs.so     NBBS (HPDCS/NBBS, GPL-3.0; built here
#                                    from your checkout, never shipped)
#   framekit_bench --allocator-lib build/peers/fk_alloc_llfree.so ...
# A peer without a checkout is skipped with a message (exit 0), unless
# --clone fetches it (needs the network). The checkouts are only read: the
# peers are built under the output folder.
#   --llfree DIR   llfree-c checkout (or LLFREE_DIR)
#   --nbbs DIR     NBBS checkout (or NBBS_DIR)
#   --clone        git clone a peer that has no DIR into OUT/src/
#   --out DIR      output folder (default build/peers)
#   -h, --help     this text
# Environment: LLFREE_CC (default clang: LLFree's release build, -O2
# -DNDEBUG; gcc 12 cannot compile its `enum : uint8_t`), NBBS_LEVELS (NBBS's
# NUM_LEVELS, the arena size fixed at build time: 2^(LEVELS-1) frames;
# default 20 = 2 GiB of 4 KiB frames), CC (the NBBS build and its adapter).
# Exit: 0 built or skipped, 1 a build failed, 2 bad usage.

set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/lib.sh"

LLFREE_DIR=${LLFREE_DIR:-}
NBBS_DIR=${NBBS_DIR:-}
OUT=$REPO/build/peers
CLONE=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) fk_usage; exit 0 ;;
    --llfree|--nbbs|--out)
      [ $# -ge 2 ] || fk_bad_usage "option $1 needs a value"
      case "$1" in
        --llfree) LLFREE_DIR=$2 ;;
        --nbbs) NBBS_DIR=$2 ;;
        --out) OUT=$2 ;;
      esac
      shift 2 ;;
    --clone) CLONE=1; shift ;;
    *) fk_bad_usage "unknown option '$1'" ;;
  esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LLFREE_CC=${LLFREE_CC:-clang}
NBBS_LEVELS=${NBBS_LEVELS:-20}
CC=${CC:-cc}
[[ "$NBBS_LEVELS" =~ ^[0-9]+$ && "$NBBS_LEVELS" -ge 12 && "$NBBS_LEVELS" -le 26 ]] ||
  fk_bad_usage "NBBS_LEVELS wants 12..26, got '$NBBS_LEVELS'"
FK_INC=$REPO/core/include
# The adapters' flags: framekit's header only, no libframekit.
ADAPTER_CFLAGS="-std=gnu11 -O2 -DNDEBUG -fPIC -Wall -Wextra -fvisibility=hidden"

# peer_dir NAME DIR URL: the checkout to build from, or "" (skip).
peer_dir() {
  local name=$1 dir=$2 url=$3
  if [ -n "$dir" ]; then
    [ -d "$dir" ] || fk_die "$name: no such directory '$dir'"
    (cd "$dir" && pwd)
  elif [ "$CLONE" = 1 ]; then
    if [ ! -d "$OUT/src/$name" ]; then
      git clone -q "$url" "$OUT/src/$name" >&2 || fk_die "$name: git clone $url failed"
    fi
    echo "$OUT/src/$name"
  fi
}

# The commit a peer was built from, for the results.
peer_commit() {
  git -C "$1" rev-parse HEAD 2>/dev/null || echo "unknown (not a git checkout)"
}

built=0
skipped=0

LL=$(peer_dir llfree-c "$LLFREE_DIR" https://github.com/luhsra/llfree-c)
if [ -z "$LL" ]; then
  echo "build-peers: llfree: skipped (no checkout: --llfree DIR, LLFREE_DIR, or --clone)"
  skipped=$((skipped + 1))
elif ! command -v "$LLFREE_CC" >/dev/null; then
  echo "build-peers: llfree: skipped ($LLFREE_CC not found; LLFree needs clang)"
  skipped=$((skipped + 1))
else
  [ -f "$LL/include/llfree.h" ] || fk_die "llfree: $LL has no include/llfree.h"
  echo "build-peers: llfree: building $LL at $(peer_commit "$LL")"
  # LLFree's own release build (its Makefile, DEBUG=0), position independent
  # so it can go into a shared object; objects under OUT, not in the checkout.
  make -s -C "$LL" DEBUG=0 CC="$LLFREE_CC -DNDEBUG -DNO_LOG -fPIC -fvisibility=hidden -w" BUILDDIR="$OUT/llfree-build" \
    "$OUT/llfree-build/libllc.a" || fk_die "llfree: LLFree's build failed"
  "$LLFREE_CC" $ADAPTER_CFLAGS -DSTD -I"$FK_INC" -I"$LL/include" -I"$LL/std" -DNO_LOG -shared \
    -o "$OUT/fk_alloc_llfree.so" "$REPO/peers/llfree/fk_llfree.c" "$OUT/llfree-build/libllc.a" \
    -lpthread || fk_die "llfree: adapter build failed"
  # The direct driver (peers/llfree/direct/): LLFree called as its own
  # benchmarks call it, against plug-ins, for the adapter's overhead.
  "$LLFREE_CC" -std=gnu11 -O2 -DNDEBUG -Wall -Wextra -DSTD -DNO_LOG -I"$FK_INC" -I"$LL/include" \
    -I"$LL/std" -o "$OUT/llf_direct" "$REPO/peers/llfree/direct/llf_direct.c" \
    "$OUT/llfree-build/libllc.a" -ldl -lpthread || fk_die "llfree: direct driver build failed"
  peer_commit "$LL" >"$OUT/fk_alloc_llfree.commit"
  echo "build-peers: llfree: $OUT/fk_alloc_llfree.so, $OUT/llf_direct"
  built=$((built + 1))
fi

NB=$(peer_dir NBBS "$NBBS_DIR" https://github.com/HPDCS/NBBS)
if [ -z "$NB" ]; then
  echo "build-peers: nbbs: skipped (no checkout: --nbbs DIR, NBBS_DIR, or --clone)"
  skipped=$((skipped + 1))
else
  [ -f "$NB/allocators/1lvl-nb/nballoc.c" ] || fk_die "nbbs: $NB has no allocators/1lvl-nb/nballoc.c"
  echo "build-peers: nbbs: building $NB at $(peer_commit "$NB") with NUM_LEVELS=$NBBS_LEVELS"
  # NBBS's 1lvl-nb allocator and its utils, compiled as its Makefiles do
  # (-O3) plus -fPIC, with the arena size fixed at build time.
  mkdir -p "$OUT/nbbs-build"
  "$CC" -c -O3 -fPIC -fvisibility=hidden -w -I"$NB/utils" -DNUM_LEVELS="${NBBS_LEVELS}ULL" \
    -o "$OUT/nbbs-build/nballoc.o" "$NB/allocators/1lvl-nb/nballoc.c" || fk_die "nbbs: build failed"
  "$CC" -c -O3 -fPIC -fvisibility=hidden -w -I"$NB/utils" -o "$OUT/nbbs-build/utils.o" "$NB/utils/utils.c" ||
    fk_die "nbbs: build of utils failed"
  "$CC" $ADAPTER_CFLAGS -I"$FK_INC" -I"$NB/allocators/1lvl-nb" -I"$NB/utils" \
    -DNUM_LEVELS="${NBBS_LEVELS}ULL" -shared -o "$OUT/fk_alloc_nbbs.so" \
    "$REPO/peers/nbbs/fk_nbbs.c" "$OUT/nbbs-build/nballoc.o" "$OUT/nbbs-build/utils.o" \
    -lpthread || fk_die "nbbs: adapter build failed"
  peer_commit "$NB" >"$OUT/fk_alloc_nbbs.commit"
  echo "build-peers: nbbs: $OUT/fk_alloc_nbbs.so"
  built=$((built + 1))
fi

echo "build-peers: $built built, $skipped skipped; load with --allocator-lib $OUT/fk_alloc_<peer>.so"
