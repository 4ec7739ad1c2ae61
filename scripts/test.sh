#!/bin/bash
# test.sh -- the README's test command: install dependencies when missing,
# build both flavours, then run every test: unit + fuzz-corpus replays under
# ASan/UBSan, integration (network namespaces, real nginx/redis/wrk) on the
# release build. Integration tests SKIP (exit 77) loudly without root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
    bash scripts/deps.sh
else
    echo "test.sh: not root: dependencies not checked, integration tests will SKIP"
fi
bash scripts/build.sh all
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== unit + fuzz corpora (ASan+UBSan) =="
(cd build-asan && ctest -L 'unit|fuzz' --output-on-failure -j2)
echo "== integration (release build, network namespaces) =="
(cd build && ctest -L integration --output-on-failure)
