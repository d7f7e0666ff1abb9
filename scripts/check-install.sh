#!/usr/bin/env bash
# check-install.sh: install framekit as a user would; build consumers against it.
#   usage: scripts/check-install.sh [--keep]
#
# Builds libframekit (release), installs it into temporary prefixes with the
# default layout (lib/) and a multiarch libdir (lib/<triplet>), and for each
# builds and runs examples/ twice: as a CMake project with
# find_package(framekit), and with plain `cc $(pkg-config --cflags --libs
# framekit)` (-std=c11 -pedantic; quickstart.c also with clang and -static,
# the umbrella header also as C++). Checks that no private dependency's
# flags reach a consumer, and that a /usr multiarch install (staged with
# DESTDIR) names /usr/lib/<triplet> and /usr/include. Takes seconds.
# --keep leaves the temporary tree.
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

BUILD=$REPO/build/install-check
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fk-install.XXXXXX")
[ "$keep" -eq 1 ] && echo "check-install: keeping $TMP" || trap 'rm -rf "$TMP"' EXIT
TRIPLET=$(gcc -print-multiarch 2>/dev/null || true)
TRIPLET=${TRIPLET:-x86_64-linux-gnu}
EXAMPLES=(quickstart typed_meta hotplug bitmap_allocator)
CC=${CC:-cc}
CXX=${CXX:-c++}

configure() { # configure [cmake -D...]: the `lib` preset (release, the library alone)
	cmake --preset lib -B "$BUILD" "$@" >/dev/null
}

fail() { fk_die "FAILED: $*"; }

consume() { # consume NAME PREFIX LIBDIR
	local name=$1 prefix=$2 libdir=$3
	[ -f "$prefix/$libdir/libframekit.a" ] || fail "$name: no $prefix/$libdir/libframekit.a"
	[ -f "$prefix/include/framekit/framekit.h" ] || fail "$name: no headers"

	# 1. CMake consumer: examples/ on its own, find_package(framekit).
	local cb=$TMP/$name-cmake
	cmake -S "$REPO/examples" -B "$cb" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null ||
		fail "$name: find_package(framekit) consumer does not configure"
	cmake --build "$cb" -j"$(fk_jobs)" >/dev/null || fail "$name: find_package consumer does not build"
	if grep -q -e '-D__x86_64__' -e "-I/usr/include/$TRIPLET" "$cb/compile_commands.json"; then
		fail "$name: a private dependency's compile flags reached the CMake consumer"
	fi
	for ex in "${EXAMPLES[@]}"; do
		"$cb/fk_example_$ex" >/dev/null || fail "$name: find_package build of $ex failed at run time"
	done

	# 2. pkg-config consumer: plain compiler calls.
	local pcdir=$prefix/$libdir/pkgconfig
	local cflags libs
	cflags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags framekit) || fail "$name: pkg-config framekit"
	libs=$(PKG_CONFIG_PATH=$pcdir pkg-config --libs framekit)
	[ "$(echo $cflags)" = "-I$prefix/include" ] ||
		fail "$name: pkg-config --cflags is '$cflags', expected only -I$prefix/include"
	case " $libs " in
	*" -L$prefix/$libdir "*) ;;
	*) fail "$name: pkg-config --libs '$libs' lacks -L$prefix/$libdir" ;;
	esac
	for ex in "${EXAMPLES[@]}"; do
		# shellcheck disable=SC2086 # flags are words
		$CC -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 $cflags "$REPO/examples/$ex.c" \
			-o "$TMP/$name-pc-$ex" $libs -pthread || fail "$name: pkg-config build of $ex"
		"$TMP/$name-pc-$ex" >/dev/null || fail "$name: pkg-config build of $ex failed at run time"
	done
	# The README example with clang and fully static as well (once is enough).
	if [ "$name" = default ]; then
		if command -v clang >/dev/null; then
			# shellcheck disable=SC2086
			clang -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$REPO/examples/quickstart.c" \
				-o "$TMP/clang-quickstart" $libs -pthread && "$TMP/clang-quickstart" >/dev/null ||
				fail "$name: quickstart.c with clang"
		fi
		# glibc warns about libnuma's getaddrinfo when linking statically: show
		# the linker's output only on failure.
		# shellcheck disable=SC2086
		$CC -std=c11 -static "$REPO/examples/quickstart.c" $cflags -o "$TMP/static-quickstart" \
			$(PKG_CONFIG_PATH=$pcdir pkg-config --static --libs framekit) -pthread \
			2>"$TMP/static.log" && "$TMP/static-quickstart" >/dev/null ||
			{ cat "$TMP/static.log" >&2; fail "$name: quickstart.c linked -static"; }
	fi
	# shellcheck disable=SC2086
	echo '#include <framekit/framekit.h>' |
		$CXX -x c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only $cflags - ||
		fail "$name: the headers do not compile as C++"
	echo "check-install: $name ($libdir): find_package and pkg-config consumers built and ran"
}

echo "=== install check: build the library (release)"
configure -DCMAKE_INSTALL_LIBDIR=lib
cmake --build "$BUILD" -j"$(fk_jobs)" --target framekit >/dev/null

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
[ -f "$TMP/stage/usr/lib/$TRIPLET/cmake/framekit/framekitConfig.cmake" ] ||
	fail "/usr: no lib/$TRIPLET/cmake/framekit/framekitConfig.cmake"
echo "check-install: /usr (lib/$TRIPLET, DESTDIR): framekit.pc names /usr/lib/$TRIPLET and /usr/include"
configure -DCMAKE_INSTALL_PREFIX=/usr/local -DCMAKE_INSTALL_LIBDIR=lib # leave the tree as found
