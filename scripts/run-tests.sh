#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-tests.sh: the test command (.ci/run runs exactly this).
#   usage: scripts/run-tests.sh [--no-stress] [--no-werror]
#
#   1. installs missing Debian packages (scripts/setup-deps.sh), proves the
#      segment arithmetic's contracts with Frama-C WP (scripts/prove.sh), and
#      model-checks the refcount, raw and lock-free protocols with GenMC
#      (scripts/verify-genmc.sh; GenMC is not a Debian package: skipped with
#      one line when no GenMC build is found)
#   2. builds the API reference, failing on any undocumented public declaration
#      (scripts/build-docs.sh), and checks that every source, script and CMake
#      file carries an SPDX licence line (scripts/check-spdx.sh)
#   3. builds everything as a user or a distribution would, with gcc and with
#      clang: `cmake -DCMAKE_BUILD_TYPE=Release` (CMake's -O3), plus
#      -DFK_WERROR=ON (build/plain-gcc, build/plain-clang; built, not run)
#   4. for each compiler, installs the library into temporary prefixes
#      (default and multiarch libdir) and builds and runs examples/ against
#      each, with find_package(framekit) and with pkg-config, static and
#      shared (scripts/check-install.sh)
#   5. builds and runs every test in the `debug` preset (ASan+UBSan, FK_CHECKED)
#   6. builds and runs every test in the `tsan` preset (TSan, FK_CHECKED)
#   7. runs the bounded stress and fuzz suite (scripts/run-stress.sh): TSan and
#      ASan stress, a short stress with schedule perturbation (FK_SCHED_FUZZ)
#      of every allocator, fuzzing; JSON summary in build/stress-logs/
# Examples are tests too: steps 5 and 6 run them under the sanitizers.
# --no-stress skips step 7. --no-werror builds step 3 without -Werror
# (warnings are printed, not fatal). FK_JOBS sets the build parallelism
# (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

stress=1
werror=ON
for a in "$@"; do
	case "$a" in
	--no-stress) stress=0 ;;
	--no-werror) werror=OFF ;;
	-h | --help) fk_usage; exit 0 ;;
	*) fk_bad_usage "unknown option '$a'" ;;
	esac
done

start=$SECONDS
step() { echo "=== $* (at $((SECONDS - start)) s)"; }

bash scripts/setup-deps.sh
step "segment contracts: Frama-C WP proof (scripts/prove.sh)" && bash scripts/prove.sh
step "protocols: GenMC model checking (scripts/verify-genmc.sh)" && bash scripts/verify-genmc.sh

step "API reference (Doxygen, warnings are errors)"
bash scripts/build-docs.sh
bash scripts/check-spdx.sh

JOBS=$(fk_jobs)
COMPILERS=("gcc g++" "clang clang++")
for pair in "${COMPILERS[@]}"; do
	read -r cc cxx <<<"$pair"
	step "[plain $cc] cmake -DCMAKE_BUILD_TYPE=Release -DFK_WERROR=$werror: configure + build"
	cmake -S . -B "build/plain-$cc" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DFK_WERROR="$werror" >/dev/null
	cmake --build "build/plain-$cc" -j"$JOBS"
done

for pair in "${COMPILERS[@]}"; do
	read -r cc cxx <<<"$pair"
	step "install check ($cc): installed package consumed by find_package and pkg-config"
	CC=$cc CXX=$cxx bash scripts/check-install.sh
done

for preset in debug tsan; do
	step "[$preset] configure + build"
	cmake --preset "$preset" >/dev/null
	cmake --build --preset "$preset" -j"$JOBS"
	step "[$preset] ctest"
	ctest --preset "$preset" -j"$JOBS"
done

if [ "$stress" -eq 1 ] && [ -x scripts/run-stress.sh ]; then
	step "stress + fuzz"
	bash scripts/run-stress.sh
fi
echo "=== all tests passed in $((SECONDS - start)) s"
