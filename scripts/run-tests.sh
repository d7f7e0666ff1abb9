#!/usr/bin/env bash
# framekit's test command (README "Run the tests"; .ci/run calls exactly this).
#   1. installs missing Debian packages (scripts/setup-deps.sh)
#   2. builds and runs every test in the `debug` preset (ASan + UBSan + FK_CHECKED)
#   3. builds and runs every test in the `tsan` preset (ThreadSanitizer + FK_CHECKED)
#   4. runs the bounded stress and fuzz suite (scripts/run-stress.sh)
# Options: --no-stress skips step 4.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

stress=1
for a in "$@"; do
  case "$a" in
    --no-stress) stress=0 ;;
    *) echo "usage: $0 [--no-stress]" >&2; exit 2 ;;
  esac
done

bash scripts/setup-deps.sh

JOBS=$(nproc 2>/dev/null || echo 2)
for preset in debug tsan; do
  echo "=== [$preset] configure + build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$JOBS"
  echo "=== [$preset] ctest"
  ctest --preset "$preset" -j"$JOBS"
done

if [ "$stress" -eq 1 ] && [ -x scripts/run-stress.sh ]; then
  echo "=== stress + fuzz"
  bash scripts/run-stress.sh
fi
echo "=== all tests passed"
