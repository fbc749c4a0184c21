#!/usr/bin/env bash
# Installs what metarec's build, tests, examples and benchmarks need from Debian/Ubuntu
# packages, skipping what is already there. Runs apt-get as root, or through sudo.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

packages=(cmake g++ make libeigen3-dev doctest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libxtensor-dev libopenmpi-dev openmpi-bin
          clang libclang-rt-dev)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "metarec: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "metarec: these packages are missing and neither root nor sudo is available: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
