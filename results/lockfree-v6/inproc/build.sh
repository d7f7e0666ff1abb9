#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds lockfree v4 (0ae064e), v5 (ef485ae) and v6 (HEAD) as plug-ins
# lf-v4.so, lf-v5.so, lf-v6.so under /tmp/lf-plugins: each version's
# core/src/alloc/lockfree/*.c with the release preset's flags (-O2 -DNDEBUG,
# libnuma, no LTO), its own headers, and plugin_stub.c. -fvisibility=hidden
# keeps each copy's lf_* symbols inside its .so, so the three and the
# built-in lockfree of framekit_bench never bind to each other's.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(git -C "$HERE" rev-parse --show-toplevel)
OUT=/tmp/lf-plugins
CFLAGS=(-O2 -DNDEBUG -fPIC -std=gnu11 -D_GNU_SOURCE -DFK_HAVE_LIBNUMA=1 -DFK_URCU_INLINE=1
        -fvisibility=hidden)
mkdir -p $OUT
for v in 0ae064e:v4 ef485ae:v5 HEAD:v6; do
  c=${v%%:*}; n=${v##*:}
  src=$OUT/src-$n
  rm -rf "$src" && mkdir -p "$src" && git -C "$ROOT" archive "$c" core | tar -x -C "$src"
  # The ops table must have the current layout (the plug-in ABI checks its size only).
  diff <(sed -n '/^struct fk_allocator_ops {/,/^};/p' "$src/core/include/framekit/allocator.h") \
       <(sed -n '/^struct fk_allocator_ops {/,/^};/p' "$ROOT/core/include/framekit/allocator.h") >/dev/null
  objs=()
  for f in "$src"/core/src/alloc/lockfree/*.c; do
    o="$OUT/$n-$(basename "$f" .c).o"
    gcc "${CFLAGS[@]}" -I"$src/core/include" -I"$src/core/src" -c "$f" -o "$o"
    objs+=("$o")
  done
  gcc "${CFLAGS[@]}" -I"$ROOT/core/include" -c "$HERE/plugin_stub.c" -o "$OUT/$n-stub.o"
  gcc -shared -Wl,-Bsymbolic -o "$OUT/lf-$n.so" "${objs[@]}" "$OUT/$n-stub.o" -lnuma
  echo "$n: $(git -C "$ROOT" rev-parse --short "$c") -> $OUT/lf-$n.so"
done
