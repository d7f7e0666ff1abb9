#!/bin/sh
# Build the comparison harness (results/lockfree-v2/README.md) in the current directory.
#   FK=<framekit tree with build/release/core/libframekit.a> (default: this tree)
#   LL=<llfree-c checkout built with: make DEBUG=0 CC="clang -DNDEBUG"> (default /tmp/llfree-c)
#   PREV=<object with an earlier lockfree, symbols prefixed prev_> (optional; prev.sh makes one)
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
FK=${FK:-$(cd "$HERE/../../.." && pwd)}
LL=${LL:-/tmp/llfree-c}
CFL="-O2 -DNDEBUG -std=c11 -D_GNU_SOURCE -DFK_HAVE_LIBNUMA=1"
clang $CFL -I$FK/core/include -I$LL/include -I$LL/std -I$LL/src -DSTD -c "$HERE/harness.c" -o harness.o
gcc -o harness harness.o ${PREV:-} $FK/build/release/core/libframekit.a $LL/build/libllc.a \
    -lurcu-memb -lurcu-common -lck -lnuma -lpthread
