#!/bin/bash
# fuzz.sh [SECONDS] [TARGET...] -- real fuzzing: build the libFuzzer flavour
# (clang, -DRF_LIBFUZZER=ON, ASan+UBSan) into build-fuzz/ and run each fuzz
# target (tests/fuzz/fuzz_<name>.c) for SECONDS (default 60), RF_FUZZ_JOBS
# targets at a time (default: the number of cores).
#
# Each target starts from its committed corpus tests/fuzz/corpus/<name>,
# which this script never writes to; new inputs go to a scratch directory,
# RF_FUZZ_WORK (default: a new /tmp/rf-fuzz.XXXXXX, kept; pass the same
# directory again to continue a campaign):
#   $RF_FUZZ_WORK/corpus/<name>/   new corpus entries
#   $RF_FUZZ_WORK/crashes/<name>/  crash-*, leak-*, timeout-*, oom-* inputs
#   $RF_FUZZ_WORK/logs/<name>.log  libFuzzer's output
# A finding is reported with the target, the saved input and the command
# that reproduces it; docs/FUZZING.md says how it becomes a regress-* seed.
# RF_FUZZ_ARGS adds libFuzzer flags (e.g. -use_value_profile=1).
# Exit status: 0 nothing found, 1 a target failed (see its report), 2 usage
# or build error.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RF_FUZZ_BUILD:-$root/build-fuzz}
secs=${1:-60}
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
targets=("$@")
if ((${#targets[@]} == 0)); then
    for f in "$root"/tests/fuzz/fuzz_*.c; do
        n=${f##*/fuzz_}
        targets+=("${n%.c}")
    done
fi
jobs=${RF_FUZZ_JOBS:-$(nproc)}
command -v clang >/dev/null || { echo "fuzz.sh: clang missing (bash scripts/deps.sh)" >&2; exit 2; }

# Always (re)build: a stale fuzzer would explore yesterday's code. Not
# RF_WERROR: gcc is the compiler whose warnings gate (scripts/build.sh);
# clang warns about other things, and a warning is not a reason to skip
# fuzzing.
# ccache and Ninja as in scripts/build.sh (a fresh clone rebuilds from the
# cache).
# shellcheck source=scripts/cmake_args.sh
. "$root/scripts/cmake_args.sh"
rf_cmake_args "$root" "$build"
if [[ ! -f $build/CMakeCache.txt ]]; then
    CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DRF_LIBFUZZER=ON -DRF_SANITIZE=ON "${RF_CMAKE_ARGS[@]}" >/dev/null
fi
mkdir -p "$build"
if ! cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >"$build/fuzz-build.log" 2>&1; then
    tail -n 30 "$build/fuzz-build.log" >&2
    echo "fuzz.sh: the libFuzzer build failed (full log: $build/fuzz-build.log)" >&2
    exit 2
fi

work=${RF_FUZZ_WORK:-$(mktemp -d /tmp/rf-fuzz.XXXXXX)}
mkdir -p "$work/logs"
# Leaks count as findings; UBSan findings are fatal (as in the ctest build).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# fuzz_one NAME: one libFuzzer run; its exit status is the verdict.
fuzz_one() {
    local t=$1
    mkdir -p "$work/corpus/$t" "$work/crashes/$t"
    # The scratch corpus comes first: libFuzzer writes new inputs there only.
    # shellcheck disable=SC2086  # RF_FUZZ_ARGS is a list of flags
    "$build/bin/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/crashes/$t/" ${RF_FUZZ_ARGS:-} \
        "$work/corpus/$t" "$root/tests/fuzz/corpus/$t" >"$work/logs/$t.log" 2>&1
}

# report NAME RC: one summary line, and for a finding the input and how to
# replay it (either build: the gcc one replays files too).
report() {
    local t=$1 rc=$2 log=$work/logs/$1.log execs cov found
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2 || true)
    printf '%-9s %10s execs  cov %5s  new corpus %4s' "$t" "${execs:-?}" "${cov:-?}" \
        "$(find "$work/corpus/$t" -type f | wc -l)"
    found=$(find "$work/crashes/$t" -type f | head -n 1)
    if ((rc == 0)) && [[ -z $found ]]; then echo "  ok"; return 0; fi
    echo "  FAILED (exit $rc)"
    tail -n 25 "$log" | sed 's/^/    | /'
    echo "    input:     ${found:-none saved (see $log)}"
    echo "    reproduce: $build/bin/fuzz_$t ${found:-<input>}"
    echo "    then keep it: cp ${found:-<input>} $root/tests/fuzz/corpus/$t/regress-<issue>-<what>"
    return 1
}

echo "== fuzzing ${#targets[@]} targets for ${secs}s each, $jobs at a time (scratch: $work)"
declare -A rc_of=() name_of=()
running=0
# reap: wait for any one run to end and keep its exit status (bash >= 5.1).
reap() {
    local p rc=0
    wait -n -p p || rc=$?
    rc_of[${name_of[$p]}]=$rc
    running=$((running - 1))
}
for t in "${targets[@]}"; do
    while ((running >= jobs)); do reap; done
    fuzz_one "$t" &
    name_of[$!]=$t
    running=$((running + 1))
done
while ((running > 0)); do reap; done
status=0
for t in "${targets[@]}"; do
    report "$t" "${rc_of[$t]}" || status=1
done
((status == 0)) || echo "fuzz.sh: a target failed; inputs and logs in $work" >&2
exit $status
