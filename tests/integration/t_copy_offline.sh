#!/usr/bin/env bash
# t_copy_offline: offline replay (`replay-copy --offline file.pcap`). The test records
# its own pcap with tcpdump on online during a bounded wrk run (keep-alive,
# then Connection: close), then replays the file to the target through the
# intercept, once paced by the capture timestamps (--speed 1), once as fast
# as possible (--speed 0), and once as fast as possible with three copies in
# a small memory budget (-n 3 -m 4 --speed 0: the reader must wait for room
# rather than shed), and checks the target's access log: every recorded
# request arrives, exactly once per copy, from inside -c, and every loss
# counter of the agent stays 0. Last, a --speed 1 replay stopped by
# --duration part-way: the unread rest is counted in undelivered_pkts.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns tcpdump
require_bins replay-copy replay-intercept

tb_up
tb_nginx online
tb_nginx target
OIP=$(tb_ip online)
TIP=$(tb_ip target)
URL="http://$OIP/"
PCAP="$TB_RUN/online/recorded.pcap"

# Record both directions, as a user would (`tcp port 80`); the agent must
# pick the client->server half by itself. --immediate-mode: packets reach
# tcpdump at once (not when a 1 s ring block retires), -U: and are written at
# once, so the file is complete when its size stops changing.
# -B 65536: a 64 MiB ring, so a busy 2-core machine does not drop packets
# while tcpdump writes them one by one.
tb_bg online "$TB_RUN/online/tcpdump.log" timeout 60 tcpdump -n --immediate-mode -U -B 65536 -i eth0 -s 0 \
  -w "$PCAP" "tcp port 80 and host $OIP"
DUMP_PID=$TB_LASTPID
wait_for "grep -q 'listening on' '$TB_RUN/online/tcpdump.log'" 10 || tb_die "tcpdump did not start: $(cat "$TB_RUN/online/tcpdump.log")"

tb_wrk "$TB_RUN/wrk-ka.txt" client "$URL" 3 10 10 || tb_die "wrk failed"
tb_wrk "$TB_RUN/wrk-close.txt" client "$URL" 2 10 10 -H 'Connection: close' || tb_die "wrk failed"
# Let the last FIN/ACKs be written before stopping tcpdump (bounded).
tb_wait_stable "stat -c %s '$PCAP'" 1 10 >/dev/null
tb_stop "$DUMP_PID" 10 || true
tb_log "tcpdump: $(grep -E 'captured|received|dropped' "$TB_RUN/online/tcpdump.log" | tr '\n' ' ')"
# The expected count is the server's: online's access log of the recording
# run. The file must hold every one of those requests (read from the pcap
# itself, retransmissions once), or a gap in the recording would be blamed
# on the agent.
ONLINE=$(tb_log_count online)
PREQS=$(tb_pcap_requests "$PCAP" "$OIP" 80)
tb_log "the recording holds $PREQS requests; online served $ONLINE"
((ONLINE >= 500)) || tb_die "too few requests recorded ($ONLINE)"
((PREQS == ONLINE)) || tb_die "the recording is incomplete ($PREQS of $ONLINE requests; $(grep dropped "$TB_RUN/online/tcpdump.log")): a bed problem, not the agent's"

tb_start_intercept assistant "tcp and src host $TIP and src port 80"
ICPT_PID=$TB_LASTPID

# Counters that would mean a recorded request was not replayed (or not as
# captured): every one must stay 0 in each pass.
LOSS="kernel_drops bad_pkts midstream_pkts shed_pkts send_errors sess_shed sess_rate_limited
  sess_aborted sess_timedout sess_reset undelivered_pkts"

# replay SPEED RANGE COPIES [replay-copy options...]: one offline replay;
# asserts on the target log (COPIES x the recorded requests) and the loss
# counters.
# Each pass uses its own client range: the pcap carries the same ISNs and
# timestamps each time, so reusing pass 1's 4-tuples would hit the target's
# TIME_WAIT sockets of pass 1 (a property of replaying one file twice, not
# what this test is about).
replay() {
  local speed=$1 range=$2 copies=$3; shift 3
  local tag="speed $speed${*:+ $*}"
  local st="$TB_RUN/online/offline-$speed-$copies.stats" log="$TB_RUN/online/offline-$speed-$copies.log"
  local want=$((copies * ONLINE))
  tb_log_truncate target
  # Offline mode ends by itself once the file is read and its sessions are
  # done; --duration 90 only bounds a run that would not.
  tb_bg online "$log" "$RF_BIN/replay-copy" --offline "$PCAP" --speed "$speed" -x "80-$TIP:80" \
    -s "$(tb_ip assistant)" -c "$range" -n "$copies" --duration 90 --stats-json "$st" "$@"
  local pid=$TB_LASTPID t0=$SECONDS
  local target
  target=$(tb_wait_count "tb_log_count target" "$want" 80)
  local rc=0 alone=1
  if ! wait_for "! _tb_alive $pid" 80; then alone=0; tb_log "$tag: still running; stopping it"; fi
  tb_stop "$pid" 15 || rc=$?
  tb_assert "$tag: replay-copy --offline ended by itself after the file" test "$alone" -eq 1
  target=$(tb_log_count target)
  tb_log "$tag: target $target of $want (${copies} x $ONLINE recorded) requests in $((SECONDS - t0)) s; exit $rc"
  tb_log "$tag: stats: $(tb_stats_last "$st")"
  tb_assert "$tag: replay-copy --offline exited 0 (rc=$rc)" test "$rc" -eq 0
  tb_assert "$tag: every recorded request reached the target $copies time(s) ($target/$want)" test "$target" -ge "$want"
  tb_assert "$tag: no request replayed twice ($target <= $want)" test "$target" -le "$want"
  local c v
  for c in $LOSS; do
    v=$(tb_stat "$st" "$c")
    tb_assert "$tag: loss counter $c is 0 ($v)" test "$v" -eq 0
  done
  if ((copies > 1)); then
    # The point of this pass: the pools were too small and the reader
    # waited, rather than the engine shedding.
    v=$(tb_stat "$st" offline_waits)
    tb_assert "$tag: the reader waited for room ($v times)" test "$v" -gt 0
  fi
  local outside; outside=$(tb_addrs_outside "$(tb_access_log target)" "$range")
  tb_assert "$tag: all source addresses inside -c $range ($outside outside)" test "$outside" -eq 0
  if ((TB_FAILS > 0)); then tail -n 20 "$log" >&2; fi
}

# cut_short: --duration stops a --speed 1 replay part-way through the file;
# what was not read is counted (undelivered_pkts), not silently dropped:
# every packet of the file is either handed to the engine or counted.
cut_short() {
  local st="$TB_RUN/online/offline-cut.stats" log="$TB_RUN/online/offline-cut.log"
  local file_pkts; file_pkts=$(tcpdump -r "$PCAP" -n 2>/dev/null | wc -l)
  tb_bg online "$log" "$RF_BIN/replay-copy" --offline "$PCAP" --speed 1 -x "80-$TIP:80" \
    -s "$(tb_ip assistant)" -c 10.250.14.0/24 --duration 2 --stats-json "$st"
  local pid=$TB_LASTPID rc=0
  wait_for "! _tb_alive $pid" 20 || true
  tb_stop "$pid" 10 || rc=$?
  local cap und
  cap=$(tb_stat "$st" cap_pkts); und=$(tb_stat "$st" undelivered_pkts)
  tb_log "cut short: $cap packets replayed, $und undelivered, of $file_pkts in the file; exit $rc"
  tb_assert "cut short: replay-copy exited 0 (rc=$rc)" test "$rc" -eq 0
  tb_assert "cut short: the unread part is counted ($und)" test "$und" -gt 0
  tb_assert "cut short: every packet of the file replayed or counted ($cap + $und = $file_pkts)" \
    test $((cap + und)) -eq "$file_pkts"
}

replay 1 10.250.11.0/24 1
replay 0 10.250.12.0/24 1
# Three copies of every session at full speed in 4 MB: far more held
# segments than the pools have room for; backpressure, not loss.
replay 0 10.250.13.0/24 3 -m 4
cut_short

rc=0
tb_stop "$ICPT_PID" 10 || rc=$?
tb_assert "replay-intercept exited cleanly (rc=$rc)" test "$rc" -eq 0
tb_finish
