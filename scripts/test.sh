#!/bin/bash
# test.sh -- the README's test command: install dependencies when missing,
# build both flavours, then run every test: unit + fuzz-corpus replays under
# ASan/UBSan, each fuzz target under libFuzzer for RF_FUZZ_SECONDS (default
# 20; 0 skips), integration (network namespaces, real nginx/redis/wrk) on the
# release build, two at a time (ctest -j2; the classes that keep two load
# tests off the same cores are in cmake/RfTesting.cmake). Integration tests
# SKIP (exit 77) loudly without root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
    bash scripts/deps.sh
else
    echo "test.sh: not root: dependencies not checked, integration tests will SKIP"
fi
t0=$SECONDS
stage() { echo "== [$((SECONDS - t0)) s] $*"; }
stage "build: release + ASan+UBSan"
bash scripts/build.sh all
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
stage "unit + fuzz corpora (ASan+UBSan)"
(cd build-asan && ctest -L 'unit|fuzz' --output-on-failure -j2)
fuzz_secs=${RF_FUZZ_SECONDS:-20}
if [ "$fuzz_secs" != 0 ]; then
    stage "fuzzing: every target ${fuzz_secs} s under libFuzzer, two at a time"
    # A scratch corpus per run: what it finds is in the report; the committed
    # corpus only grows by hand (docs/FUZZING.md).
    work=$(mktemp -d /tmp/rf-fuzz-test.XXXXXX)
    RF_FUZZ_WORK=$work RF_FUZZ_JOBS=2 ASAN_OPTIONS= UBSAN_OPTIONS= bash scripts/fuzz.sh "$fuzz_secs"
    rm -rf "$work"
fi
stage "integration (release build, network namespaces, two at a time)"
(cd build && ctest -L integration --output-on-failure -j2)
stage "all tests passed"
