#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-install.sh: install framekit as a user would; build consumers against it.
#   usage: [CC=clang CXX=clang++] scripts/check-install.sh [--keep]
#
# Builds libframekit.a and libframekit.so (the `lib` preset, with -Werror,
# by $CC/$CXX: default cc/c++), installs them into temporary prefixes with
# the default layout (lib/) and a multiarch libdir (lib/<triplet>), and for
# each builds and runs examples/ four times: as a CMake project with
# find_package(framekit) linking framekit::framekit (static) and
# framekit::framekit_shared, and with plain compiler calls: `$CC
# $(pkg-config --cflags --libs framekit)` (the shared library) and `$CC
# -static ... $(pkg-config --static --libs framekit)` (-std=c11 -pedantic;
# the umbrella header also as C++). Checks that each binary links the
# library it asked for (readelf), that libframekit.so has its soname and
# exports only what the public headers declare, that no private
# dependency's flags reach a consumer, and that a /usr multiarch install
# (staged with DESTDIR) names /usr/lib/<triplet> and /usr/include. Takes
# about a minute. --keep leaves the temporary tree.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
REPO=$(pwd)

keep=0
for a in "$@"; do
	case "$a" in
	--keep) keep=1 ;;
	-h | --help) fk_usage; exit 0 ;;
	*) fk_bad_usage "unknown option '$a'" ;;
	esac
done

CC=${CC:-cc}
CXX=${CXX:-c++}
command -v "$CC" >/dev/null || fk_die "no C compiler '$CC'"
COMPILER=$(basename "$CC")
BUILD=$REPO/build/install-check-$COMPILER
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fk-install.XXXXXX")
[ "$keep" -eq 1 ] && echo "check-install: keeping $TMP" || trap 'rm -rf "$TMP"' EXIT
TRIPLET=$(gcc -print-multiarch 2>/dev/null || true)
TRIPLET=${TRIPLET:-x86_64-linux-gnu}
EXAMPLES=(quickstart typed_meta hotplug bitmap_allocator)
SONAME=libframekit.so.0

configure() { # configure [cmake -D...]: the `lib` preset (release, the library alone)
	cmake --preset lib -B "$BUILD" -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
		-DFK_WERROR=ON "$@" >/dev/null
}

fail() { fk_die "FAILED: $*"; }

# needs BINARY yes|no: does BINARY load libframekit.so (DT_NEEDED)?
needs() {
	local got=no
	readelf -d "$1" | grep -q "NEEDED.*\[$SONAME\]" && got=yes
	[ "$got" = "$2" ] || fail "$1: DT_NEEDED $SONAME is '$got', expected '$2'"
}

consume() { # consume NAME PREFIX LIBDIR
	local name=$1 prefix=$2 libdir=$3 lib=$2/$3
	[ -f "$lib/libframekit.a" ] || fail "$name: no $lib/libframekit.a"
	[ -f "$lib/$SONAME" ] && [ -L "$lib/libframekit.so" ] ||
		fail "$name: no $lib/$SONAME and libframekit.so link"
	[ -f "$prefix/include/framekit/framekit.h" ] || fail "$name: no headers"
	readelf -d "$lib/$SONAME" | grep -q "SONAME.*\[$SONAME\]" || fail "$name: soname is not $SONAME"
	# Exported: exactly the public headers' functions and objects, each
	# under the version node.
	local bad
	bad=$(nm -D --defined-only "$lib/$SONAME" | awk '$3 !~ /^(fk_|FRAMEKIT_)/ {print $3}')
	[ -z "$bad" ] || fail "$name: libframekit.so exports non-framekit symbols: $bad"
	local dyn sym
	dyn=$(nm -D --defined-only "$lib/$SONAME")
	for sym in $(nm -g --defined-only "$lib/libframekit.a" | awk 'NF == 3 {print $3}' | sort -u); do
		grep -qw -- "$sym" "$prefix"/include/framekit/*.h || continue # internal
		grep -q " $sym@@FRAMEKIT_0\$" <<<"$dyn" ||
			fail "$name: libframekit.so does not export $sym (declared in the headers)"
	done
	for sym in $(awk '$3 ~ /^fk_/ {sub(/@.*/, "", $3); print $3}' <<<"$dyn"); do
		grep -qw -- "$sym" "$prefix"/include/framekit/*.h ||
			fail "$name: libframekit.so exports $sym, which no public header declares"
	done

	# 1. CMake consumer: examples/ on its own, find_package(framekit), each target.
	local target kind cb ex
	for target in framekit::framekit framekit::framekit_shared; do
		kind=static
		[ "$target" = framekit::framekit ] || kind=shared
		cb=$TMP/$name-cmake-$kind
		cmake -S "$REPO/examples" -B "$cb" -DCMAKE_BUILD_TYPE=Release -DFK_WERROR=ON \
			-DCMAKE_C_COMPILER="$CC" -DFK_EXAMPLES_LINK=$target \
			-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null ||
			fail "$name: find_package(framekit) consumer ($target) does not configure"
		cmake --build "$cb" -j"$(fk_jobs)" >/dev/null ||
			fail "$name: find_package consumer ($target) does not build"
		if grep -q -e '-D__x86_64__' -e "-I/usr/include/$TRIPLET" "$cb/compile_commands.json"; then
			fail "$name: a private dependency's compile flags reached the CMake consumer"
		fi
		for ex in "${EXAMPLES[@]}"; do
			needs "$cb/fk_example_$ex" "$([ $kind = shared ] && echo yes || echo no)"
			# The shared build runs through its RUNPATH (CMake sets it).
			"$cb/fk_example_$ex" >/dev/null || fail "$name: $target build of $ex failed at run time"
		done
	done

	# 2. pkg-config consumer: plain compiler calls, shared and then -static.
	local pcdir=$lib/pkgconfig
	local cflags libs slibs
	cflags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags framekit) || fail "$name: pkg-config framekit"
	libs=$(PKG_CONFIG_PATH=$pcdir pkg-config --libs framekit)
	slibs=$(PKG_CONFIG_PATH=$pcdir pkg-config --static --libs framekit)
	[ "$(echo $cflags)" = "-I$prefix/include" ] ||
		fail "$name: pkg-config --cflags is '$cflags', expected only -I$prefix/include"
	case " $libs " in
	*" -L$lib "*) ;;
	*) fail "$name: pkg-config --libs '$libs' lacks -L$lib" ;;
	esac
	for ex in "${EXAMPLES[@]}"; do
		# shellcheck disable=SC2086 # flags are words
		$CC -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 $cflags "$REPO/examples/$ex.c" \
			-o "$TMP/$name-pc-$ex" $libs -pthread || fail "$name: pkg-config build of $ex"
		needs "$TMP/$name-pc-$ex" yes
		LD_LIBRARY_PATH=$lib "$TMP/$name-pc-$ex" >/dev/null ||
			fail "$name: pkg-config build of $ex failed at run time"
		# glibc warns about libnuma's getaddrinfo when linking statically:
		# show the linker's output only on failure.
		# shellcheck disable=SC2086
		$CC -std=c11 -Wall -Wextra -Wpedantic -O2 -static $cflags "$REPO/examples/$ex.c" \
			-o "$TMP/$name-static-$ex" $slibs -pthread 2>"$TMP/static.log" ||
			{ cat "$TMP/static.log" >&2; fail "$name: $ex linked -static (pkg-config --static)"; }
		needs "$TMP/$name-static-$ex" no
		"$TMP/$name-static-$ex" >/dev/null || fail "$name: -static build of $ex failed at run time"
	done
	# shellcheck disable=SC2086
	echo '#include <framekit/framekit.h>' |
		$CXX -x c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only $cflags - ||
		fail "$name: the headers do not compile as C++"
	echo "check-install: $name ($libdir, $COMPILER): find_package (static, shared) and" \
		"pkg-config (shared, --static) consumers built and ran"
}

echo "=== install check: build the libraries (release, $COMPILER)"
configure -DCMAKE_INSTALL_LIBDIR=lib
cmake --build "$BUILD" -j"$(fk_jobs)" --target framekit framekit_shared >/dev/null

cmake --install "$BUILD" --prefix "$TMP/default" >/dev/null
consume default "$TMP/default" lib

configure -DCMAKE_INSTALL_LIBDIR="lib/$TRIPLET"
cmake --install "$BUILD" --prefix "$TMP/multiarch" >/dev/null
consume multiarch "$TMP/multiarch" "lib/$TRIPLET"

# A distribution build: prefix /usr, multiarch libdir, staged with DESTDIR.
configure -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_LIBDIR="lib/$TRIPLET"
DESTDIR=$TMP/stage cmake --install "$BUILD" >/dev/null
pc=$TMP/stage/usr/lib/$TRIPLET/pkgconfig
for v in libdir:/usr/lib/$TRIPLET includedir:/usr/include; do
	got=$(PKG_CONFIG_PATH=$pc pkg-config --variable="${v%%:*}" framekit)
	[ "$got" = "${v#*:}" ] || fail "/usr: framekit.pc ${v%%:*} is '$got', expected '${v#*:}'"
done
for f in cmake/framekit/framekitConfig.cmake libframekit.a $SONAME libframekit.so; do
	[ -e "$TMP/stage/usr/lib/$TRIPLET/$f" ] || fail "/usr: no lib/$TRIPLET/$f"
done
echo "check-install: /usr (lib/$TRIPLET, DESTDIR): framekit.pc names /usr/lib/$TRIPLET and /usr/include"
configure -DCMAKE_INSTALL_PREFIX=/usr/local -DCMAKE_INSTALL_LIBDIR=lib # leave the tree as found
