#!/bin/bash
# build.sh [release|asan|all] -- configure and build into build/ (release,
# used by the demo, benchmarks and integration tests) and build-asan/
# (ASan+UBSan, used by unit and fuzz tests).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
jobs=$(nproc)
# ccache and Ninja when installed: scripts/cmake_args.sh.
# shellcheck source=scripts/cmake_args.sh
. scripts/cmake_args.sh
# RF_WERROR=ON here (and so in CI): warnings are errors in our own builds;
# the CMake default is OFF for packagers (scripts/package.sh).
if [ "$what" = release ] || [ "$what" = all ]; then
    rf_cmake_args "$PWD" build
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRF_WERROR=ON "${RF_CMAKE_ARGS[@]}" >/dev/null
    cmake --build build -j"$jobs"
fi
if [ "$what" = asan ] || [ "$what" = all ]; then
    rf_cmake_args "$PWD" build-asan
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRF_SANITIZE=ON -DRF_WERROR=ON "${RF_CMAKE_ARGS[@]}" >/dev/null
    cmake --build build-asan -j"$jobs"
fi
