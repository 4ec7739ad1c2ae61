#!/bin/bash
# build.sh [release|asan|all] -- configure and build into build/ (release,
# used by the demo, benchmarks and integration tests) and build-asan/
# (ASan+UBSan, used by unit and fuzz tests).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
jobs=$(nproc)
# ccache when installed (scripts/deps.sh installs it): a fresh clone on a
# machine that built before recompiles in seconds. base_dir + no hash_dir
# make the cache hit across clones in different directories (the debug
# info then names paths relative to the tree).
launcher=()
if command -v ccache >/dev/null; then
    export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# RF_WERROR=ON here (and so in CI): warnings are errors in our own builds;
# the CMake default is OFF for packagers (scripts/package.sh).
if [ "$what" = release ] || [ "$what" = all ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRF_WERROR=ON "${launcher[@]}" >/dev/null
    cmake --build build -j"$jobs"
fi
if [ "$what" = asan ] || [ "$what" = all ]; then
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRF_SANITIZE=ON -DRF_WERROR=ON "${launcher[@]}" >/dev/null
    cmake --build build-asan -j"$jobs"
fi
