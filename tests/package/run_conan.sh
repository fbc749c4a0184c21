#!/usr/bin/env bash
# ctest package.conan: the Conan recipe, executed. A virtual environment in the build tree gets
# Conan 2 from PyPI; `conan create packaging/conan` builds the package with every dependency
# taken from the system ([platform_requires] in a profile written here: nothing comes from a
# Conan remote), then the recipe's test_package (a copy in the build tree) is built against it
# through CMakeDeps and run. Twice: the core alone, and with_xtensor + with_openmp + with_tbb
# (their components required at configure, METAREC_REQUIRE_COMPONENTS). with_cuda is not run
# (it needs nvcc). Skipped (it prints "skipped: ...") only when no venv can be created.
# Usage: run_conan.sh <metarec source> <work dir> <C++ compiler id: GNU|Clang> <compiler version>
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
source=$1 work=$2 compiler_id=$3 compiler_version=${4%%.*}
mkdir -p "$work"
export CONAN_HOME=$work/home PYTHONDONTWRITEBYTECODE=1

# Conan 2 in a venv, reused while its version stamp holds
venv=$work/venv
if [ ! -x "$venv/bin/conan" ] || [ "$(cat "$venv/.metarec-conan" 2>/dev/null)" != "conan>=2,<3" ]; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" > "$work/venv.log" 2>&1; then
    echo "skipped: python3 -m venv failed (Debian: python3-venv): $(tail -n 1 "$work/venv.log")"
    exit 0
  fi
  "$venv/bin/pip" install --quiet "conan>=2,<3" || { echo "package.conan: pip could not install conan from PyPI" >&2; exit 1; }
  echo "conan>=2,<3" > "$venv/.metarec-conan"
fi
conan=$venv/bin/conan
echo "$("$conan" --version)"

# the system's compiler and packages (Debian 12: Eigen 3.4.0, xtensor 0.24.3, Thrust 1.17.2,
# oneTBB 2021.8.0); versions inside the recipe's ranges
case $compiler_id in
  GNU) compiler=gcc ;;
  Clang) compiler=clang ;;
  *) echo "package.conan: compiler $compiler_id is not set up here" >&2; exit 1 ;;
esac
version_of() {  # the Debian package's upstream version, or the given fallback
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null | sed -E 's/^[0-9]+://; s/[-+~].*$//' || true
}
eigen=$(version_of libeigen3-dev); xtensor=$(version_of libxtensor-dev)
thrust=$(version_of libthrust-dev); tbb=$(version_of libtbb-dev)
profile=$work/system.profile
cat > "$profile" <<PROFILE
[settings]
os=Linux
arch=$(uname -m | sed 's/aarch64/armv8/')
build_type=Release
compiler=$compiler
compiler.version=$compiler_version
compiler.libcxx=libstdc++11
compiler.cppstd=20
[platform_requires]
eigen/${eigen:-3.4.0}
xtensor/${xtensor:-0.24.3}
thrust/${thrust:-1.17.2}
onetbb/${tbb:-2021.8.0}
[conf]
tools.cmake.cmaketoolchain:generator=Ninja
PROFILE
cat "$profile"

version=$(sed -nE 's/^#define METAREC_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+).*/\2/p' "$source/include/metarec/version.hpp" | paste -sd.)
for options in "" "-o metarec/*:with_xtensor=True -o metarec/*:with_openmp=True -o metarec/*:with_tbb=True"; do
  echo "== conan create packaging/conan ${options:-(defaults)}"
  # shellcheck disable=SC2086  # the options are words
  "$conan" create "$source/packaging/conan" -pr:a "$profile" $options --no-remote --test-folder "" > "$work/create.log" 2>&1 \
    || { tail -n 40 "$work/create.log"; echo "package.conan: conan create failed (log: $work/create.log)" >&2; exit 1; }
  grep -E "^(Requirements|    [a-z]+/)" "$work/create.log" | sort -u
  rm -rf "$work/test_package"
  cp -r "$source/packaging/conan/test_package" "$work/test_package"
  rm -rf "$work/test_package/__pycache__" "$work/test_package/build"
  # shellcheck disable=SC2086
  "$conan" test "$work/test_package" "metarec/$version" -pr:a "$profile" $options --no-remote > "$work/test.log" 2>&1 \
    || { tail -n 40 "$work/test.log"; echo "package.conan: the test package failed (log: $work/test.log)" >&2; exit 1; }
  grep -E "^metarec [0-9]+\.[0-9]+\.[0-9]+, 2 parameters" "$work/test.log" \
    || { tail -n 20 "$work/test.log"; echo "package.conan: the test package printed no 'metarec $version, 2 parameters'" >&2; exit 1; }
done
echo "package.conan: conan create and the test package passed, dependencies from the system"
