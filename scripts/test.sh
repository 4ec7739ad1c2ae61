#!/bin/bash
# test.sh -- the README's test command: install dependencies when missing,
# build the release flavour and run the integration tests on it (network
# namespaces, real nginx/redis/wrk, four at a time: ctest -j4; the classes
# that keep two load tests off the same cores are in cmake/RfTesting.cmake),
# with the sanitizer lane beside them: the ASan+UBSan build, unit +
# fuzz-corpus replays under it, and each fuzz target under libFuzzer for
# RF_FUZZ_SECONDS (default 60; 0 skips). Integration tests SKIP (exit 77)
# loudly without root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
    bash scripts/deps.sh
else
    echo "test.sh: not root: dependencies not checked, integration tests will SKIP"
fi
t0=$SECONDS
stage() { echo "== [$((SECONDS - t0)) s] $*"; }
stage "build: release"
bash scripts/build.sh release
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fuzz_secs=${RF_FUZZ_SECONDS:-60}
# The sanitizer lane, in the background beside the integration tests: the
# ASan+UBSan build, then unit + fuzz-corpus replays under it, then each fuzz
# target under libFuzzer for RF_FUZZ_SECONDS (default 60; 0 skips). The
# integration tests are CI's critical path and keep the machine's two cores
# busy, so they start first; the build runs at nice 10, the unit tests at
# nice 0 (a few seconds; some wait on real timers, and a starved one could
# reach its ctest timeout), the fuzzers at nice 19: what they get is the
# cores' spare turns, not the tests' share (at nice 10 they took 231 of a
# run's ~1,650 busy core-seconds, perf by command name). libFuzzer's
# -max_total_time is wall time, so the lane takes as long either way; the
# report gives each target's executions. A scratch corpus per run: what it
# finds is in the report; the committed corpus only grows by hand
# (docs/FUZZING.md).
lane=$(mktemp -d /tmp/rf-test-lane.XXXXXX)
(
    set -e
    t1=$SECONDS
    echo "== [lane $((SECONDS - t1)) s] build: ASan+UBSan (nice 10)"
    nice -n 10 bash scripts/build.sh asan
    echo "== [lane $((SECONDS - t1)) s] unit + fuzz corpora (ASan+UBSan)"
    (cd build-asan && ctest -L 'unit|fuzz' --output-on-failure -j2 </dev/null)
    if [ "$fuzz_secs" != 0 ]; then
        echo "== [lane $((SECONDS - t1)) s] fuzzing: every target ${fuzz_secs} s under libFuzzer, two at a time (nice 19)"
        RF_FUZZ_WORK=$lane/fuzz RF_FUZZ_JOBS=2 ASAN_OPTIONS='' UBSAN_OPTIONS='' \
            nice -n 19 bash scripts/fuzz.sh "$fuzz_secs"
    fi
    echo "== [lane $((SECONDS - t1)) s] done"
) >"$lane/report.txt" 2>&1 </dev/null &
lane_pid=$!
stage "integration (release build, network namespaces, four at a time; the sanitizer lane beside it)"
# -j4: the two long LIGHT tests (t_rollout, t_ansible) start at once beside
# the chain of load tests (one at a time: the rf_load lock) and beside the
# short LIGHT ones (fourth slot), which so stay off the chain.
integ=0
# </dev/null: no test inherits the caller's stdin (a terminal) and changes
# its flags. The tests still share this one, so those whose tools care
# (ssh, ansible-playbook) open their own (t_rollout, t_ansible).
(cd build && ctest -L integration --output-on-failure -j4 </dev/null) || integ=$?
lane_rc=0
wait "$lane_pid" || lane_rc=$?
stage "sanitizer lane: build, unit + fuzz corpora, fuzzing (exit $lane_rc)"
cat "$lane/report.txt"
[ "$lane_rc" != 0 ] || rm -rf "$lane"
if [ "$integ" != 0 ] || [ "$lane_rc" != 0 ]; then
    stage "FAILED (integration exit $integ, sanitizer lane exit $lane_rc)"
    exit 1
fi
stage "all tests passed"
