#!/bin/bash
# test.sh -- the README's test command: install dependencies when missing,
# build both flavours, then run every test: unit + fuzz-corpus replays under
# ASan/UBSan, each fuzz target under libFuzzer for RF_FUZZ_SECONDS (default
# 60; 0 skips), integration (network namespaces, real nginx/redis/wrk) on the
# release build, four at a time (ctest -j4; the classes that keep two load
# tests off the same cores are in cmake/RfTesting.cmake), while the fuzzing
# runs in the background at nice 10. Integration tests
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
fuzz_secs=${RF_FUZZ_SECONDS:-60}
fuzz_pid=
if [ "$fuzz_secs" != 0 ]; then
    stage "fuzzing: every target ${fuzz_secs} s under libFuzzer, two at a time, in the background"
    # Beside the integration tests, at nice 10: libFuzzer's -max_total_time
    # is wall time, so the lane takes as long either way, and the tests'
    # load keeps its priority over it. Niced, a target gets a fraction of a
    # core (20 s ran 18x fewer inputs than the old serial lane), so each runs
    # 60 s: nine targets two at a time end ~270 s in, well inside the
    # integration tests' ~11 minutes. A scratch corpus per run: what it
    # finds is in the report; the committed corpus only grows by hand
    # (docs/FUZZING.md).
    fuzz_work=$(mktemp -d /tmp/rf-fuzz-test.XXXXXX)
    RF_FUZZ_WORK=$fuzz_work RF_FUZZ_JOBS=2 ASAN_OPTIONS='' UBSAN_OPTIONS='' \
        nice -n 10 bash scripts/fuzz.sh "$fuzz_secs" >"$fuzz_work/report.txt" 2>&1 &
    fuzz_pid=$!
fi
stage "integration (release build, network namespaces, four at a time)"
# -j4: the two long LIGHT tests (t_rollout, t_ansible) start at once beside
# the chain of load tests (one at a time: the rf_load lock) and beside the
# short LIGHT ones (fourth slot), which so stay off the chain.
integ=0
# </dev/null: no test inherits the caller's stdin (a terminal) and changes
# its flags. The tests still share this one, so those whose tools care
# (ssh, ansible-playbook) open their own (t_rollout, t_ansible).
(cd build && ctest -L integration --output-on-failure -j4 </dev/null) || integ=$?
fuzz=0
if [ -n "$fuzz_pid" ]; then
    wait "$fuzz_pid" || fuzz=$?
    stage "fuzzing report (exit $fuzz)"
    cat "$fuzz_work/report.txt"
    [ "$fuzz" != 0 ] || rm -rf "$fuzz_work"
fi
if [ "$integ" != 0 ] || [ "$fuzz" != 0 ]; then
    stage "FAILED (integration exit $integ, fuzzing exit $fuzz)"
    exit 1
fi
stage "all tests passed"
