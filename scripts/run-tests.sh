#!/usr/bin/env bash
# run-tests.sh: the test command (.ci/run runs exactly this).
#   usage: scripts/run-tests.sh [--no-stress]
#
#   1. installs missing Debian packages (scripts/setup-deps.sh)
#   2. builds the API reference, failing on any undocumented public declaration
#      (scripts/build-docs.sh)
#   3. installs the library into temporary prefixes (default and multiarch
#      libdir) and builds and runs examples/ against each, with
#      find_package(framekit) and with pkg-config (scripts/check-install.sh)
#   4. builds and runs every test in the `debug` preset (ASan+UBSan, FK_CHECKED)
#   5. builds and runs every test in the `tsan` preset (TSan, FK_CHECKED)
#   6. runs the bounded stress and fuzz suite (scripts/run-stress.sh): TSan and
#      ASan stress, a short stress with schedule perturbation (FK_SCHED_FUZZ)
#      of every allocator, fuzzing; JSON summary in build/stress-logs/
# Examples are tests too: steps 4 and 5 run them under the sanitizers.
# --no-stress skips step 6. FK_JOBS sets the build parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

stress=1
for a in "$@"; do
	case "$a" in
	--no-stress) stress=0 ;;
	-h | --help) fk_usage; exit 0 ;;
	*) fk_bad_usage "unknown option '$a'" ;;
	esac
done

start=$SECONDS
step() { echo "=== $* (at $((SECONDS - start)) s)"; }

bash scripts/setup-deps.sh

step "API reference (Doxygen, warnings are errors)"
bash scripts/build-docs.sh

step "install check: installed package consumed by find_package and pkg-config"
bash scripts/check-install.sh

JOBS=$(fk_jobs)
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
