#!/usr/bin/env bash
# run_bench.sh: live-replay benchmark in the network-namespace bed (the same
# topology and method as the tcpcopy anchor in shared/notes/testbed.md, so the
# numbers compare row by row). See docs/BENCH.md.
#
# For keep-alive and short-connection (Connection: close) HTTP at rising load
# it prints one row per level: requests served by online, requests seen by the
# target (its nginx access log), the fidelity ratio, replay-copy CPU % and peak
# RSS, replay-intercept CPU % and peak RSS, and how busy the machine was; then
# the online app's own throughput with and without the replay running.
#
# Every row starts fresh agents and empty logs. Load: wrk, 2 threads, bounded
# by -d and timeout; a Lua delay() paces moderate levels (wrk has no rate
# option); delay 0 = closed loop (as fast as the online app goes).
#
# Environment:
#   RF_BIN          build bin/ (default <source>/build/bin)
#   BENCH_SECONDS   load per row (default 10)
#   BENCH_DRAIN     max seconds to wait for the replay to drain (default 20)
#   BENCH_MODES     "ka short" (default both)
#   BENCH_KA        keep-alive levels, CONNS:DELAY_MS (default "10:10 50:10 50:2 50:0")
#   BENCH_SHORT     short levels (default "10:10 50:10 50:5 50:3 50:2 50:0")
#   BENCH_COPY_ARGS extra replay-copy flags (e.g. "-n 3": the ratio column is
#                   then target/online, 3.000 when every copy arrived; a row
#                   waits for COPIES x online before counting)
#   BENCH_ICPT_ARGS extra replay-intercept flags (e.g. "--capture-latency-ms 0")
#   BENCH_TLS       1: the copy<->intercept channel runs TLS 1.3 (one key
#                   file from `replayctl keys new-fleet`, --key-file on both)
#   BENCH_OUT       results dir (default /tmp/rf-bench-<date>)
#   BENCH_WORKERS   N > 1: N replay-copy workers sharing the capture
#                   (--fanout-group, each with 1/N of the -c range); CPU,
#                   RSS and counters are their sums
#   BENCH_PERF      1: `perf record -g` on replay-copy during each replay row
#                   (perf-<row>.data in the results dir; Debian's linux-perf)
#   BENCH_RX_THREAD 1: what online's host sends is received on the switch
#                   side by a NAPI kernel thread (GRO on its bridge port,
#                   threaded NAPI) instead of in the sender's own softirq,
#                   so the bridge and the target's receive path stop being
#                   charged to whoever sends: to the replay agent, as on a
#                   real capture host whose target is another machine. Both
#                   systems are measured the same way; see docs/BENCH.md
set -euo pipefail
# shellcheck source=../tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../tests/integration/lib.sh"

RF_BIN=${RF_BIN:-$RF_SRC/build/bin}
SECS=${BENCH_SECONDS:-10}
DRAIN=${BENCH_DRAIN:-20}
MODES=${BENCH_MODES:-ka short}
KA_LEVELS=${BENCH_KA:-10:10 50:10 50:2 50:0}
SHORT_LEVELS=${BENCH_SHORT:-10:10 50:10 50:5 50:3 50:2 50:0}
read -r -a COPY_EXTRA <<<"${BENCH_COPY_ARGS:-}"
read -r -a ICPT_EXTRA <<<"${BENCH_ICPT_ARGS:-}"
# Copies of every session (-n/--copies in BENCH_COPY_ARGS): a row's replay
# has drained when the target served COPIES x what online served. Waiting
# for only 1x counted a -n 3 row while two thirds were still on their way
# (1.09-1.18x measured that way on 2026-12-01).
COPIES=1
for ((i = 0; i < ${#COPY_EXTRA[@]}; i++)); do
  case ${COPY_EXTRA[$i]} in
    -n | --copies) COPIES=${COPY_EXTRA[$((i + 1))]:-1} ;;
    --copies=*) COPIES=${COPY_EXTRA[$i]#--copies=} ;;
    -n[0-9]*) COPIES=${COPY_EXTRA[$i]#-n} ;;
  esac
done
if ! [[ $COPIES =~ ^[1-9][0-9]*$ ]]; then
  echo "run_bench.sh: bad -n '$COPIES' in BENCH_COPY_ARGS" >&2
  exit 2
fi
KEY_ARGS=()
OUT=${BENCH_OUT:-/tmp/rf-bench-$(date +%Y%m%d-%H%M%S)}
RANGE=10.250.0.0/16
WORKERS=${BENCH_WORKERS:-1}

require_root_netns
require_bins replay-copy replay-intercept
mkdir -p "$OUT"
# Other work on the host moves every number (the 2 cores are shared by wrk,
# two nginx and both agents already): record and flag it.
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
COMMIT=$(git -C "$RF_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
if awk -v l="$LOAD0" 'BEGIN { exit !(l > 0.5) }'; then
  tb_log "WARNING: load average is $LOAD0 before the benchmark starts; the host is not idle and the figures will be low"
fi
TB_KEEP=1
tb_up
if [[ ${BENCH_RX_THREAD:-0} == 1 ]]; then
  # veth receives through NAPI once GRO is on (kernel >= 5.13); threaded,
  # that NAPI runs in its own kthread (napi/p-online-*), not in the softirq
  # the sender's transmit raises and runs on its way out.
  # veth hands a packet to that NAPI only when the sending end does no TSO
  # (veth_skb_is_eligible_for_gro); online's replies are 18-byte pages.
  port="p-online"
  ip netns exec "$(tb_ns online)" ethtool -K eth0 tso off >/dev/null
  ip netns exec "$(tb_ns sw)" ethtool -K "$port" gro on >/dev/null
  ip netns exec "$(tb_ns sw)" sh -c "echo 1 > /sys/class/net/$port/threaded"
  tb_log "switch port $port: GRO on, threaded NAPI ($(ip netns exec "$(tb_ns sw)" cat /sys/class/net/$port/threaded))"
fi
if [[ ${BENCH_TLS:-0} == 1 ]]; then
  mkdir -m 700 "$TB_RUN/keys"
  "$RF_BIN/replayctl" keys new-fleet --out "$TB_RUN/keys/pair.key"
  KEY_ARGS=(--key-file "$TB_RUN/keys/pair.key")
fi
tb_nginx online
tb_nginx target
URL="http://$(tb_ip online)/"
TIP=$(tb_ip target)

# machine_ticks: "busy total" jiffies from /proc/stat (busy = all - idle - iowait).
machine_ticks() {
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# mb KIB: MiB with one decimal, "-" for 0 (no agent in that row).
mb() { awk -v k="$1" 'BEGIN { if (k > 0) printf "%.1f", k / 1024; else print "-" }'; }

# rss_now_kb PID: VmRSS alone (tb_rss_kb includes the high-water mark).
rss_now_kb() { awk '/^VmRSS:/ { print $2 + 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# sum_pids FN: FN (tb_rss_kb, tb_cpu_ticks) summed over the row's copy workers.
sum_pids() {
  local t=0 p
  for p in "${cpids[@]}"; do t=$((t + $("$1" "$p"))); done
  echo "$t"
}

# wakeups PID: times the process went to sleep and was woken again
# (voluntary context switches): the cost of a wake-up is the VM's, not ours.
wakeups() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# held_peak ROW: the most slot memory held segments took (held_bytes, a
# gauge sampled every second), in MB, summed over the row's workers; "-"
# for builds without the gauge.
held_peak() {
  python3 - "$OUT/copy-$1"*.stats <<'PY'
import json, sys
tot, seen = 0, False
for path in sys.argv[1:]:
    peak = 0
    try:
        for line in open(path):
            c = json.loads(line).get("counters", {})
            if "held_bytes" in c:
                seen, peak = True, max(peak, c["held_bytes"])
    except (OSError, ValueError):
        pass
    tot += peak
print("%.1f" % (tot / 1048576) if seen else "-")
PY
}

# sum_stat ROW KEY: a counter summed over the row's copy stats files.
sum_stat() {
  local t=0 f
  for f in "$OUT/copy-$1"*.stats; do [[ -s $f ]] && t=$((t + $(tb_stat "$f" "$2"))); done
  echo "$t"
}

# start_workers: BENCH_WORKERS agents in one fanout group, the -c range
# split in equal parts (disjoint replayed addresses: each its own sessions
# and ports, all on one intercept).
start_workers() {
  local d w bits=0 n=1
  d=$(tb_dir online)
  while ((n < WORKERS)); do n=$((n * 2)); bits=$((bits + 1)); done
  ((n == WORKERS)) || tb_die "BENCH_WORKERS must be a power of two"
  local plen=$((16 + bits)) step=$((65536 / WORKERS))
  for ((w = 0; w < WORKERS; w++)); do
    local base=$((w * step))
    tb_bg online "$d/copy$w.log" "$RF_BIN/replay-copy" --stats-json "$d/copy$w.stats" \
      -x "80-$TIP:80" -s "$(tb_ip assistant)" -c "10.250.$((base / 256)).0/$plen" -i eth0 \
      --fanout-group 7 "${COPY_EXTRA[@]}" "${KEY_ARGS[@]}"
    cpids+=("$TB_LASTPID")
  done
  for ((w = 0; w < WORKERS; w++)); do
    wait_for "[[ -s $d/copy$w.stats ]] || ! _tb_alive ${cpids[$w]}" 10 || true
  done
  sleep 1.5
  for ((w = 0; w < WORKERS; w++)); do
    _tb_alive "${cpids[$w]}" || { tail -n 20 "$d/copy$w.log" >&2; tb_die "worker $w exited at start"; }
  done
}

ROWS="$OUT/rows.tsv"
: >"$ROWS"

# row MODE CONNS DELAY REPLAY(0|1)
row() {
  local mode=$1 conns=$2 delay=$3 replay=$4
  local name="${mode}-c${conns}-d${delay}-r${replay}"
  local -a wrkargs=()
  [[ $mode == short ]] && wrkargs=(-H 'Connection: close')
  tb_log_truncate online
  tb_log_truncate target
  local cpid="" ipid="" cpids=()
  if ((replay)); then
    rm -f "$(tb_dir online)"/copy*.stats "$(tb_dir assistant)/intercept.stats"
    tb_start_intercept assistant "tcp and src host $TIP and src port 80" "${KEY_ARGS[@]}" "${ICPT_EXTRA[@]}"
    ipid=$TB_LASTPID
    if ((WORKERS > 1)); then
      start_workers
    else
      tb_start_copy online -x "80-$TIP:80" -s "$(tb_ip assistant)" -c "$RANGE" -i eth0 "${COPY_EXTRA[@]}" "${KEY_ARGS[@]}"
      cpids=("$TB_LASTPID")
    fi
    cpid=${cpids[0]}
  fi
  local c0=0 c1=0 i0=0 i1=0 w0=0 w1=0 m0 m1 t0 t1 idle=0 after=0
  if ((replay)); then
    sleep 2   # started and connected, no traffic yet: the idle footprint
    idle=$(sum_pids tb_rss_kb)
    c0=$(sum_pids tb_cpu_ticks); i0=$(tb_cpu_ticks "$ipid"); w0=$(sum_pids wakeups)
  fi
  local perfpid=""
  if ((replay)) && [[ ${BENCH_PERF:-0} == 1 ]]; then
    perf record -q -g -p "$cpid" -o "$OUT/perf-$name.data" >/dev/null 2>&1 &
    perfpid=$!
  fi
  read -r -a m0 <<<"$(machine_ticks)"
  t0=$(tb_now_ms)
  tb_wrk "$OUT/wrk-$name.txt" client "$URL" "$SECS" "$conns" "$delay" "${wrkargs[@]}" || true
  t1=$(tb_now_ms)
  if [[ -n $perfpid ]]; then kill -INT "$perfpid" 2>/dev/null; wait "$perfpid" 2>/dev/null || true; fi
  read -r -a m1 <<<"$(machine_ticks)"
  local wall; wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
  local ccpu=- icpu=- crss=0 irss=0
  if ((replay)); then
    c1=$(sum_pids tb_cpu_ticks); i1=$(tb_cpu_ticks "$ipid"); w1=$(sum_pids wakeups)
    ccpu=$(tb_cpu_pct "$c0" "$c1" "$wall"); icpu=$(tb_cpu_pct "$i0" "$i1" "$wall")
    crss=$(sum_pids tb_rss_kb); irss=$(tb_rss_kb "$ipid")
  fi
  local busy; busy=$(awk -v b0="${m0[0]}" -v t0="${m0[1]}" -v b1="${m1[0]}" -v t1="${m1[1]}" \
    'BEGIN { if (t1 > t0) printf "%.0f", (b1 - b0) * 100 / (t1 - t0); else print "-" }')
  local online target ratio rps status=ok
  online=$(tb_log_count online)
  rps=$(tb_wrk_rps "$OUT/wrk-$name.txt")
  target=-; ratio=-
  if ((replay)); then
    target=$(tb_wait_count "tb_log_count target" "$((COPIES * online))" "$DRAIN")
    ratio=$(tb_ratio "$target" "$online")
    # Peak RSS: max(VmRSS at end of load, VmHWM after the drain), gotcha 12.
    local r2; r2=$(sum_pids tb_rss_kb); ((r2 > crss)) && crss=$r2
    r2=$(tb_rss_kb "$ipid"); ((r2 > irss)) && irss=$r2
    # Idle again: the agent gives a burst's session memory back once its
    # last session is gone (cp_engine_trim, on the 1 s stats timer).
    sleep 3
    after=$(sum_pids rss_now_kb)
    for cpid in "${cpids[@]}"; do _tb_alive "$cpid" || status="copy-died"; done
    _tb_alive "$ipid" || status="intercept-died"
    for cpid in "${cpids[@]}"; do tb_stop "$cpid" 10 || status="copy-rc$?"; done
    tb_stop "$ipid" 10 || status="intercept-rc$?"
    cp "$(tb_dir online)/copy.stats" "$OUT/copy-$name.stats" 2>/dev/null || true
    for ((w = 0; w < WORKERS && WORKERS > 1; w++)); do
      cp "$(tb_dir online)/copy$w.stats" "$OUT/copy-$name-w$w.stats" 2>/dev/null || true
    done
    cp "$(tb_dir assistant)/intercept.stats" "$OUT/intercept-$name.stats" 2>/dev/null || true
    cp "$(tb_dir online)/copy.log" "$OUT/copy-$name.log" 2>/dev/null || true
  fi
  local sess; sess=$( ((replay)) && sum_stat "$name" sess_opened || echo -)
  local load; if ((delay > 0)); then load="c$conns, ${delay} ms"; else load="c$conns, closed loop"; fi
  ((replay)) || load="$load (no replay)"
  local drops; drops=$( ((replay)) && ls "$OUT/copy-$name"*.stats >/dev/null 2>&1 && sum_stat "$name" kernel_drops || echo -)
  local held; held=$( ((replay)) && held_peak "$name" || echo -)
  local us=- wps=-   # replay-copy CPU microseconds per online request (connection in short mode)
  if ((replay)) && ((online > 0)); then
    us=$(awk -v p="$ccpu" -v w="$wall" -v n="$online" 'BEGIN { printf "%.0f", p / 100 * w * 1e6 / n }')
    wps=$(awk -v a="$w0" -v b="$w1" -v w="$wall" 'BEGIN { printf "%.0f", (b - a) / w }')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$load" "$rps" "$online" "$target" "$ratio" \
    "$ccpu" "$(mb "$crss")" "$icpu" "$(mb "$irss")" "$busy" "$sess" "$status" "$(mb "$idle")" "$us" "$drops" "$(mb "$after")" "$wps" "$held" >>"$ROWS"
  tb_log "row $name: online $online ($rps/s), target $target, ratio $ratio, copy ${ccpu}% $((crss / 1024)) MB, intercept ${icpu}%, busy ${busy}%, $status"
}

for mode in $MODES; do
  case $mode in
    ka) levels=$KA_LEVELS ;;
    short) levels=$SHORT_LEVELS ;;
    *) tb_die "unknown mode '$mode' (ka, short)" ;;
  esac
  # The app alone first: the "without replay" throughput.
  row "$mode" 50 0 0
  for lv in $levels; do
    row "$mode" "${lv%%:*}" "${lv##*:}" 1
  done
done

{
  echo "# replayfleet live-replay benchmark ($(date -u +%FT%TZ), $(nproc) CPUs, ${SECS} s per row)"
  echo
  echo "commit $COMMIT; load average before the run: $LOAD0; replay-copy workers: $WORKERS; replay-copy extra flags: ${COPY_EXTRA[*]:-none}; replay-intercept extra flags: ${ICPT_EXTRA[*]:-none} (ratio = target/online: $COPIES.000 is every copy); copy<->intercept: $([[ ${#KEY_ARGS[@]} -gt 0 ]] && echo "TLS 1.3 PSK" || echo plain)"
  echo
  echo "| mode | load | online req/s | online reqs | target reqs | ratio | replay-copy CPU | copy µs/req | copy wake-ups/s | replay-copy RSS MB (idle / peak / idle after) | held segments MB peak | kernel drops | intercept CPU | intercept RSS MB | machine busy % | sessions | status |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '{ m = ($1 == "ka") ? "keep-alive" : "short"; printf "| %s | %s | %s | %s | %s | **%s** | %s%% | %s | %s | %s / %s / %s | %s | %s | %s%% | %s | %s | %s | %s |\n", m, $2, $3, $4, $5, $6, $7, $15, $18, $14, $8, $17, $19, $16, $9, $10, $11, $12, $13 }' "$ROWS" |
    sed 's/| -% |/| - |/g'
  echo
  echo "Online app throughput, closed loop (c50), without vs with replay:"
  for mode in $MODES; do
    awk -F'\t' -v m="$mode" '
      $1 == m && $2 ~ /closed loop \(no replay\)/ { base = $3 }
      $1 == m && $2 ~ /closed loop$/ { with = $3 }
      END { if (base > 0 && with > 0) printf "  %-10s %s req/s alone, %s req/s with replay (%.0f%% of alone)\n",
              (m == "ka" ? "keep-alive" : "short"), base, with, with * 100 / base }' "$ROWS"
  done
} | tee "$OUT/results.md"
tb_log "results and per-row agent stats in $OUT"
