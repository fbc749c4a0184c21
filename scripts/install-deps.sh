#!/usr/bin/env bash
# Installs what metarec's build, tests, examples and benchmarks need from Debian/Ubuntu
# packages, skipping what is already there. Runs apt-get as root, or through sudo.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail

# clang and its runtime libraries (libFuzzer, the sanitizers) for scripts/run-fuzz.sh:
# libclang-rt-dev on Debian 12 and Ubuntu 24.04; where the distribution has no such package
# (Ubuntu 22.04: the runtimes come with clang's libclang-common-<N>-dev) it is left out.
packages=(cmake ninja-build g++ make libeigen3-dev doctest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libxtensor-dev libopenmpi-dev openmpi-bin libthrust-dev libtbb-dev doxygen
          librsvg2-bin python3-venv
          clang libclang-rt-dev)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for package in "${packages[@]}"; do
  if [ "$package" = libclang-rt-dev ] && compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" > /dev/null; then
    continue  # libFuzzer is there (from libclang-rt-<N>-dev or libclang-common-<N>-dev)
  fi
  installed "$package" || missing+=("$package")
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
# libclang-rt-dev unknown here: the versioned libclang-rt-<N>-dev of the default clang-<N>, or
# nothing (then clang's own libclang-common-<N>-dev holds the runtimes)
if [[ " ${missing[*]} " == *" libclang-rt-dev "* ]] && ! apt-cache show libclang-rt-dev > /dev/null 2>&1; then
  clang_package=$(apt-cache depends clang 2>/dev/null | grep -o 'clang-[0-9][0-9]*' | head -n 1 || true)
  runtime=""
  if [ -n "$clang_package" ] && apt-cache show "lib${clang_package/clang/clang-rt}-dev" > /dev/null 2>&1; then
    runtime="lib${clang_package/clang/clang-rt}-dev"
  fi
  kept=()
  for package in "${missing[@]}"; do
    if [ "$package" != libclang-rt-dev ]; then kept+=("$package"); elif [ -n "$runtime" ]; then kept+=("$runtime"); fi
  done
  missing=("${kept[@]}")
fi
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
