#!/usr/bin/env bash
# demo.sh: a small replay fleet in network namespaces, with real load, in one
# command (the README's main job; it builds nothing: RF_BIN = the build's bin/).
#
#   client ──wrk──> online1 (nginx + replay-copy cap-1) ─┐ replayed, sources
#          └─wrk──> online2 (nginx + replay-copy cap-2) ─┤ from 10.250.0.0/16
#                                                        v
#   target (nginx) ── replies for 10.250/16 routed via ──> assistant
#                                     (replay-intercept assist-1, ip_forward=0)
#   controller (replayd): holds the plan, assigns client ranges and port
#   offsets, aggregates the counters shown by `replayctl status`.
#
# Fleet mode (replayd + replayctl) is used when both are built; otherwise the
# agents run standalone from flags and their own stats lines are shown.
# Everything is torn down on exit, also on Ctrl-C or failure.
#
# Environment: RF_BIN (default <source>/build/bin), DEMO_SECONDS (load time,
# default 15), DEMO_MODE=fleet|standalone (default: fleet when available).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

RF_BIN=${RF_BIN:-$RF_SRC/build/bin}
SECS=${DEMO_SECONDS:-15}
require_root_netns
require_bins replay-copy replay-intercept
if [[ -z ${DEMO_MODE:-} ]]; then
  if [[ -x $RF_BIN/replayd && -x $RF_BIN/replayctl ]]; then DEMO_MODE=fleet; else DEMO_MODE=standalone; fi
fi
[[ $DEMO_MODE == fleet ]] && require_bins replayd replayctl

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "bringing up the bed (mode: $DEMO_MODE)"
tb_up client=10 online1=21 online2=22 target=30 assistant=40 controller=50
TIP=$(tb_ip target)
AIP=$(tb_ip assistant)
CTRL="$(tb_ip controller):36523"
for h in online1 online2 target; do tb_nginx "$h"; done
FILTER="tcp and src host $TIP and src port 80"

ctl() { tb_exec controller timeout 20 "$RF_BIN/replayctl" -c "$CTRL" "$@"; }

if [[ $DEMO_MODE == fleet ]]; then
  say "starting replayd on the controller ($CTRL)"
  mkdir -p "$TB_RUN/controller/state"
  tb_bg controller "$TB_RUN/controller/replayd.log" "$RF_BIN/replayd" --listen "$CTRL" \
    --state-dir "$TB_RUN/controller/state" --insecure
  RD_PID=$TB_LASTPID
  wait_for "tb_listening controller 36523 || ! _tb_alive $RD_PID" 10 || true
  if ! _tb_alive "$RD_PID" || ! tb_listening controller 36523; then
    tail -n 20 "$TB_RUN/controller/replayd.log" >&2
    tb_die "replayd did not start"
  fi

  say "starting agents: replay-intercept assist-1, replay-copy cap-1 and cap-2 (fleet mode)"
  tb_start_intercept assistant "$FILTER" --controller "$CTRL" --id assist-1 --advertise "$AIP"
  tb_start_copy online1 -i eth0 --controller "$CTRL" --id cap-1
  tb_start_copy online2 -i eth0 --controller "$CTRL" --id cap-2
  wait_for "ctl agents 2>/dev/null | grep -q cap-1 && ctl agents 2>/dev/null | grep -q cap-2 && ctl agents 2>/dev/null | grep -q assist-1" 20 ||
    { ctl agents || true; tb_die "agents did not register with replayd"; }
  ctl agents

  cat >"$TB_RUN/plan.json" <<EOF
{
  "name": "demo-shadow",
  "transfers": ["80-$TIP:80"],
  "client_pool": "10.250.0.0/16",
  "copy_agents": ["cap-1", "cap-2"],
  "intercepts": ["assist-1"],
  "copies": 1,
  "sample_percent": 100,
  "rate_limit_pps": 0,
  "session_timeout_s": 120
}
EOF
  say "the plan"
  cat "$TB_RUN/plan.json"
  say "replayctl apply --dry-run"
  ctl apply "$TB_RUN/plan.json" --dry-run
  say "replayctl apply"
  ctl apply "$TB_RUN/plan.json"
  say "replayctl routes (the target already routes 10.250.0.0/16 via $AIP)"
  ctl routes
  tb_exec target ip route show 10.250.0.0/16
  # Assignments are pushed asynchronously; wait until both copy agents run
  # the new generation before the load starts (bounded).
  wait_for "[[ \$(tb_stat '$TB_RUN/online1/copy.stats' icpt_up) -ge 1 && \$(tb_stat '$TB_RUN/online2/copy.stats' icpt_up) -ge 1 ]]" 15 ||
    tb_log "warning: copy agents do not report icpt_up yet; continuing"
else
  say "replayd/replayctl not built: standalone agents from flags"
  tb_start_intercept assistant "$FILTER"
  tb_start_copy online1 -x "80-$TIP:80" -s "$AIP" -c 10.250.1.0/24 -f 0 -i eth0 --id cap-1
  tb_start_copy online2 -x "80-$TIP:80" -s "$AIP" -c 10.250.2.0/24 -f 1 -i eth0 --id cap-2
fi

for h in online1 online2 target; do tb_log_truncate "$h"; done
say "driving load for ${SECS}s: wrk, 20 keep-alive connections to each online host (~2k req/s each)"
LUA=$(tb_wrk_delay_lua 10)
tb_bg client "$TB_RUN/client/wrk1.txt" timeout $((SECS + 20)) wrk -t1 -c20 -d"${SECS}s" -s "$LUA" "http://$(tb_ip online1)/"
W1=$TB_LASTPID
tb_bg client "$TB_RUN/client/wrk2.txt" timeout $((SECS + 20)) wrk -t1 -c20 -d"${SECS}s" -s "$LUA" "http://$(tb_ip online2)/"
W2=$TB_LASTPID

if [[ $DEMO_MODE == fleet ]]; then
  # The live view; bounded by timeout so it ends with the load.
  tb_exec controller timeout "$SECS" "$RF_BIN/replayctl" -c "$CTRL" status --watch 3 || true
else
  end=$((SECONDS + SECS))
  while ((SECONDS < end)); do
    sleep 3
    printf '%s  cap-1 replayed_pkts=%s sess_active=%s | cap-2 replayed_pkts=%s sess_active=%s | assist-1 resp_forwarded=%s\n' \
      "$(date +%T)" \
      "$(tb_stat "$TB_RUN/online1/copy.stats" replayed_pkts)" "$(tb_stat "$TB_RUN/online1/copy.stats" sess_active)" \
      "$(tb_stat "$TB_RUN/online2/copy.stats" replayed_pkts)" "$(tb_stat "$TB_RUN/online2/copy.stats" sess_active)" \
      "$(tb_stat "$TB_RUN/assistant/intercept.stats" resp_forwarded)"
  done
fi
wait "$W1" || true
wait "$W2" || true

O1=$(tb_log_count online1)
O2=$(tb_log_count online2)
ONLINE=$((O1 + O2))
TARGET=$(tb_wait_count "tb_log_count target" "$ONLINE" 30)

if [[ $DEMO_MODE == fleet ]]; then
  say "replayctl status (after the load)"
  ctl status || true
else
  say "agent counters (last --stats-json lines)"
  for f in online1/copy.stats online2/copy.stats assistant/intercept.stats; do
    printf '%s: %s\n' "$f" "$(tb_stats_last "$TB_RUN/$f")"
  done
fi

say "result: requests served by online vs seen by the target (from the nginx logs)"
printf '  online1 served   %8d\n  online2 served   %8d\n  online total     %8d\n  target received  %8d\n  ratio            %8s\n' \
  "$O1" "$O2" "$ONLINE" "$TARGET" "$(tb_ratio "$TARGET" "$ONLINE")"
echo "  target requests by replayed source /24:"
awk '{ split($1, a, "."); n[a[1] "." a[2] "." a[3] ".0/24"]++ } END { for (k in n) printf "    %-18s %d\n", k, n[k] }' \
  "$(tb_access_log target)" | sort

if [[ $ONLINE -gt 0 ]] && tb_frac_ge "$TARGET" "$ONLINE" 0.99; then
  say "demo OK: the target saw $(tb_ratio "$TARGET" "$ONLINE") of online's requests; tearing down"
else
  tb_dump_agents
  tb_die "the target saw $TARGET of $ONLINE requests"
fi
