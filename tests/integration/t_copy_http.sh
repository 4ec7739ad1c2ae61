#!/usr/bin/env bash
# t_copy_http: live HTTP replay fidelity, standalone agents.
#
# wrk (client) -> nginx on online; replay-copy on online replays to nginx on
# target; replay-intercept on assistant feeds back the target's headers.
# Asserted from the target's own access log against online's:
#   - keep-alive and Connection: close loads are replayed >= 99.9 %, and never
#     more than once (target <= online);
#   - every replayed source address is inside -c.
# Loads stay below the knee measured for this 2-core bed (testbed.md gotcha 11:
# <= ~5k req/s keep-alive with <= 500 req/s per connection, <= ~4k conn/s short).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns
require_bins replay-copy replay-intercept

SECS=${T_SECS:-8}
RANGE=10.250.7.0/24      # a slice of the routed 10.250.0.0/16: the check is strict
tb_up
tb_nginx online
tb_nginx target
tb_replay_agents 80 "$RANGE"

URL="http://$(tb_ip online)/"

# run_phase NAME CONNS DELAY_MS [WRK_ARGS...]
run_phase() {
  local name=$1 conns=$2 delay=$3; shift 3
  tb_log_truncate online
  tb_log_truncate target
  tb_wrk "$TB_RUN/wrk-$name.txt" client "$URL" "$SECS" "$conns" "$delay" "$@" ||
    tb_die "wrk failed: $(cat "$TB_RUN/wrk-$name.txt")"
  local online target ratio outside
  online=$(tb_log_count online)
  # Wait for the replay to drain: bounded, and stops early once it is stuck.
  target=$(tb_wait_count "tb_log_count target" "$online" 30)
  ratio=$(tb_ratio "$target" "$online")
  tb_log "$name: online served $online ($(tb_wrk_rps "$TB_RUN/wrk-$name.txt") req/s), target saw $target, ratio $ratio"
  tb_assert "$name: online served a real load (>= 1000 requests)" test "$online" -ge 1000
  tb_assert "$name: target >= 99.9% of online ($target/$online)" tb_frac_ge "$target" "$online" 0.999
  tb_assert "$name: nothing replayed twice (target $target <= online $online)" test "$target" -le "$online"
  outside=$(tb_addrs_outside "$(tb_access_log target)" "$RANGE")
  tb_assert "$name: all target source addresses inside -c $RANGE ($outside outside)" test "$outside" -eq 0
  tb_log "$name: copy stats: $(tb_stats_last "$(tb_dir online)/copy.stats")"
  # Keep the evidence of each phase.
  cp "$(tb_access_log online)" "$TB_RUN/online-$name.log"
  cp "$(tb_access_log target)" "$TB_RUN/target-$name.log"
}

# Keep-alive: 50 connections x ~95 req/s each (~4.7k req/s).
run_phase keepalive 50 10
# Short connections: 40 connections, one request each, ~3.5k conn/s.
run_phase close 40 10 -H 'Connection: close'

tb_stop_agents
tb_finish
