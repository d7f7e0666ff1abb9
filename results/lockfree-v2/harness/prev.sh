#!/bin/sh
# prev.sh COMMIT OUT.o: compile lockfree of COMMIT (this repository) into one object whose
# global symbols carry a prev_ prefix, for build.sh's PREV (the "lockfree-prev" allocator).
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
git -C "$HERE/../../.." archive "$1" core | tar -x -C "$T"
for f in "$T"/core/src/alloc/lockfree/*.c; do
  gcc -O2 -DNDEBUG -std=c11 -D_GNU_SOURCE -DFK_HAVE_LIBNUMA=1 -I"$T/core/src" -I"$T/core/include" \
      -c "$f" -o "$T/$(basename "$f" .c).o"
done
ld -r "$T"/*.o -o "$T/all.o"
nm --defined-only -g "$T/all.o" | awk '{print $3" prev_"$3}' > "$T/syms.map"
objcopy --redefine-syms="$T/syms.map" "$T/all.o" "$2"
rm -rf "$T"
