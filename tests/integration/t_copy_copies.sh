#!/usr/bin/env bash
# t_copy_copies: amplification. `-n 3` must deliver exactly 3x the requests,
# as 3 separate sessions per original, and no two live replayed sessions may
# share a source (ip, port) on the target.
#
# Evidence from the target's access log ($remote_addr $remote_port $connection
# $connection_requests ...):
#   - keep-alive phase: all sessions are alive together for the whole run, so
#     3 x (online connections) distinct source ip:port on target, each used by
#     exactly one nginx connection, is the "no shared live 4-tuple" check;
#   - both phases: the per-connection request counts on target are exactly
#     3 copies of online's (a collision would merge sessions or lose requests);
#   - our port_collisions counter is reported (collisions detected and avoided).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns
require_bins replay-copy replay-intercept

SECS=${T_SECS:-8}
K=3
RANGE=10.250.3.0/24
tb_up
tb_nginx online
tb_nginx target
tb_replay_agents 80 "$RANGE" -n "$K"
URL="http://$(tb_ip online)/"

# run_phase NAME CONNS DELAY_MS [WRK_ARGS...]
run_phase() {
  local name=$1 conns=$2 delay=$3; shift 3
  tb_log_truncate online
  tb_log_truncate target
  tb_wrk "$TB_RUN/wrk-$name.txt" client "$URL" "$SECS" "$conns" "$delay" "$@" ||
    tb_die "wrk failed: $(cat "$TB_RUN/wrk-$name.txt")"
  local online target r outside
  online=$(tb_log_count online)
  target=$(tb_wait_count "tb_log_count target" $((K * online)) 30)
  # wrk closes its keep-alive connections at the end; give the replayed FINs
  # a moment so the logs are final (bounded).
  target=$(tb_wait_stable "tb_log_count target" 2 10)
  r=$(tb_conn_check "$(tb_access_log online)" "$(tb_access_log target)" "$K")
  tb_log "$name: online $online requests ($(tb_wrk_rps "$TB_RUN/wrk-$name.txt") req/s), target $target, ratio $(tb_ratio "$target" "$online") (ideal $K)"
  tb_log "$name: $(tr '\n' ' ' <<<"$r")"
  tb_assert "$name: online served a real load (>= 1000 requests)" test "$online" -ge 1000
  tb_assert "$name: target got exactly ${K}x online ($target vs $((K * online)))" test "$target" -eq $((K * online))
  tb_assert "$name: per-connection request counts are $K copies of online's (diff got/want: $(tb_kv "$r" multiset_diff))" \
    test "$(tb_kv "$r" multiset_ok)" -eq 1
  tb_assert "$name: target connections = ${K}x online connections ($(tb_kv "$r" target_conns) vs $(tb_kv "$r" online_conns))" \
    test "$(tb_kv "$r" target_conns)" -eq $((K * $(tb_kv "$r" online_conns)))
  if [[ $name == keepalive ]]; then
    tb_assert "$name: every live session has its own src ip:port ($(tb_kv "$r" target_tuples) tuples for $(tb_kv "$r" target_conns) connections, max $(tb_kv "$r" max_conns_per_tuple) per tuple)" \
      test "$(tb_kv "$r" target_tuples)" -eq "$(tb_kv "$r" target_conns)"
  fi
  outside=$(tb_addrs_outside "$(tb_access_log target)" "$RANGE")
  tb_assert "$name: all target source addresses inside -c $RANGE ($outside outside)" test "$outside" -eq 0
  local st; st="$(tb_dir online)/copy.stats"
  tb_log "$name: port_collisions=$(tb_stat "$st" port_collisions) sess_opened=$(tb_stat "$st" sess_opened) sess_reset=$(tb_stat "$st" sess_reset) sess_timedout=$(tb_stat "$st" sess_timedout)"
  cp "$(tb_access_log online)" "$TB_RUN/online-$name.log"
  cp "$(tb_access_log target)" "$TB_RUN/target-$name.log"
}

# Keep-alive: 10 connections x ~95 req/s (~1k req/s online, ~3k replayed).
run_phase keepalive 10 10
# Short connections: ~900 conn/s online, ~2.7k replayed conn/s.
run_phase close 10 10 -H 'Connection: close'

st="$(tb_dir online)/copy.stats"
tb_assert "copy agent reports the port_collisions counter" \
  python3 -c 'import json,sys; l=[x for x in open(sys.argv[1]) if x.strip()]; sys.exit(0 if "port_collisions" in json.loads(l[-1])["counters"] else 1)' "$st"
tb_stop_agents
tb_finish
