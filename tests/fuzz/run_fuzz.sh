#!/usr/bin/env bash
# run_fuzz.sh -- fuzz each libFuzzer target for SECONDS (clang, ASan+UBSan).
# Owns the fuzzing procedure only; targets are tests/fuzz/fuzz_<name>.c.
#
#   tests/fuzz/run_fuzz.sh SECONDS [TARGET...]     e.g.  run_fuzz.sh 300 decap pkt
#
# TARGET defaults to every tests/fuzz/fuzz_*.c. Configures and builds
# $RF_FUZZ_BUILD (default <repo>/build-fuzz) with -DRF_LIBFUZZER=ON
# -DRF_SANITIZE=ON when a target binary is missing. The working corpus grows
# in $RF_FUZZ_BUILD/fuzz-corpus/<name> (seeded from the committed
# corpus/<name>, which is never written to); crashes land in
# $RF_FUZZ_BUILD/fuzz-artifacts/<name>/. Extra libFuzzer flags: RF_FUZZ_ARGS.
# Exit status: 0 no crash, 1 a target crashed (see the artifacts), 2 usage.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${RF_FUZZ_BUILD:-$root/build-fuzz}

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ || $1 -eq 0 ]]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
fi
secs=$1
shift
targets=("$@")
explicit=$#
if [[ ${#targets[@]} -eq 0 ]]; then
    for f in "$here"/fuzz_*.c; do
        n=${f##*/fuzz_}
        targets+=("${n%.c}")
    done
fi

# Build what is missing, one target at a time: a fuzz_*.c that no cmake
# fragment registers yet is dropped with a warning unless it was asked for.
built=()
for t in "${targets[@]}"; do
    if [[ ! -x $build/bin/fuzz_$t ]]; then
        if [[ ! -f $build/CMakeCache.txt ]]; then
            CC=clang cmake -S "$root" -B "$build" -DRF_LIBFUZZER=ON -DRF_SANITIZE=ON \
                -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
        fi
        if ! cmake --build "$build" --target "fuzz_$t" >"$build/fuzz-build-$t.log" 2>&1; then
            if ((explicit)); then
                echo "fuzz_$t does not build (see $build/fuzz-build-$t.log)" >&2
                exit 2
            fi
            echo "== fuzz_$t skipped: not built (registered in tests/fuzz/*.cmake?)" >&2
            continue
        fi
    fi
    built+=("$t")
done
targets=("${built[@]}")

# A leak in a long run is worth knowing about but is not this script's
# verdict on memory safety; halt_on_error keeps UBSan findings fatal.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
summary=()
for t in "${targets[@]}"; do
    bin=$build/bin/fuzz_$t
    seeds=$here/corpus/$t
    work=$build/fuzz-corpus/$t
    art=$build/fuzz-artifacts/$t
    log=$build/fuzz-logs/$t.log
    mkdir -p "$work" "$art" "${log%/*}"
    echo "== fuzz_$t for ${secs}s (log: $log)"
    rc=0
    # shellcheck disable=SC2086  # RF_FUZZ_ARGS is a list of flags
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" ${RF_FUZZ_ARGS:-} "$work" "$seeds" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    ncorp=$(find "$work" -type f | wc -l)
    crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [[ $rc -ne 0 ]]; then
        status=1
        echo "   fuzz_$t FAILED (exit $rc); last lines:"
        tail -n 30 "$log" | sed 's/^/   | /'
    fi
    summary+=("$(printf '%-8s %12s execs  cov %6s  corpus %6s  artifacts %s' \
        "$t" "${execs:-?}" "${cov:-?}" "$ncorp" "$crashes")")
done
echo "== summary (${secs}s each)"
printf '%s\n' "${summary[@]}"
exit $status
