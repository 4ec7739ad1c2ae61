#!/usr/bin/env bash
# t_copy_fanout: two replay-copy workers share one capture with
# --fanout-group (PACKET_FANOUT by symmetric flow hash), each with its own
# disjoint -c range (its own port and address space), one intercept.
# Asserted from the target's access log against online's:
#   - short-connection HTTP is replayed >= 99.9 %, and never twice (without
#     the fanout both workers would see and replay every connection: 2x);
#   - both workers replayed a real share (the split happened), and the
#     target saw each worker's sessions only from that worker's range.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns
require_bins replay-copy replay-intercept

SECS=${T_SECS:-6}
RANGE=10.250.7.0/24
HALF=(10.250.7.0/25 10.250.7.128/25)
tb_up
tb_nginx online
tb_nginx target
TIP=$(tb_ip target)
tb_start_intercept assistant "tcp and src host $TIP and src port 80"
ICPT_PID=$TB_LASTPID
d=$(tb_dir online)
PIDS=()
for w in 0 1; do
  tb_bg online "$d/copy$w.log" "$RF_BIN/replay-copy" --stats-json "$d/copy$w.stats" \
    -x "80-$TIP:80" -s "$(tb_ip assistant)" -c "${HALF[$w]}" -i eth0 --fanout-group 7
  PIDS+=("$TB_LASTPID")
done
for w in 0 1; do
  wait_for "[[ -s $d/copy$w.stats ]] || ! _tb_alive ${PIDS[$w]}" 10 || true
done
sleep 1.5
for w in 0 1; do
  _tb_alive "${PIDS[$w]}" || { tail -n 30 "$d/copy$w.log" >&2; tb_die "worker $w exited at start"; }
done
tb_log "two workers up (pids ${PIDS[*]}), intercept $ICPT_PID"

tb_log_truncate online
tb_log_truncate target
tb_wrk "$TB_RUN/wrk.txt" client "http://$(tb_ip online)/" "$SECS" 20 10 -H 'Connection: close' ||
  tb_die "wrk failed: $(cat "$TB_RUN/wrk.txt")"
online=$(tb_log_count online)
target=$(tb_wait_count "tb_log_count target" "$online" 30)
tb_log "online served $online, target saw $target, ratio $(tb_ratio "$target" "$online")"
tb_assert "online served a real load (>= 1000 requests)" test "$online" -ge 1000
tb_assert "target >= 99.9% of online ($target/$online)" tb_frac_ge "$target" "$online" 0.999
tb_assert "nothing replayed twice (target $target <= online $online)" test "$target" -le "$online"
outside=$(tb_addrs_outside "$(tb_access_log target)" "$RANGE")
tb_assert "all target source addresses inside $RANGE ($outside outside)" test "$outside" -eq 0

rc=0
for w in 0 1; do
  tb_stop "${PIDS[$w]}" 10 || rc=$?
  tb_assert "worker $w exited cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
done
tb_stop "$ICPT_PID" 10 || true
s0=$(tb_stat "$d/copy0.stats" sess_opened)
s1=$(tb_stat "$d/copy1.stats" sess_opened)
tb_log "sessions: worker 0 $s0, worker 1 $s1"
# A flow hash splits ~50/50; 20 % is far outside chance for >= 1000 flows.
tb_assert "worker 0 replayed a share ($s0 of $online)" tb_frac_ge "$s0" "$online" 0.2
tb_assert "worker 1 replayed a share ($s1 of $online)" tb_frac_ge "$s1" "$online" 0.2
in0=$(tb_addrs_outside "$(tb_access_log target)" "${HALF[0]}")
tb_assert "both ranges reached the target (worker 1's: $in0 requests)" test "$in0" -gt 0
tb_assert "no sanitizer report in the workers' logs" \
  bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' '$d/copy0.log' '$d/copy1.log'"
tb_finish
