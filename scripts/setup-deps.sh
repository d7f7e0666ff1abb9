#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# setup-deps.sh: install the Debian 12 packages framekit needs, if missing.
#   usage: scripts/setup-deps.sh
#
# Runs apt-get as root, or via sudo when available; does nothing (and needs
# no root) when every package is installed already.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for a in "$@"; do
	case "$a" in
	-h | --help) fk_usage; exit 0 ;;
	*) fk_bad_usage "unknown option '$a'" ;;
	esac
done

PKGS=(
  build-essential cmake pkg-config git
  clang libclang-rt-14-dev
  liburcu-dev libck-dev libnuma-dev numactl libhwloc-dev hwloc
  libbenchmark-dev libbenchmark-tools
  python3 python3-matplotlib python3-scipy
  doxygen
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all packages present"
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null && SUDO="sudo" || { echo "setup-deps: need root to install ${missing[*]}" >&2; exit 1; }
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
