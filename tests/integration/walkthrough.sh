#!/usr/bin/env bash
# walkthrough.sh OUTDIR -- the real run behind docs/WALKTHROUGH.md (not a
# test: it asserts nothing). On the namespace bed: replayd with --metrics,
# one intercept, one copy agent; a plan with mistakes, the good plan, a
# bounded paced load, `replayctl status` during it, `replayctl doctor`,
# then the target's route to the intercept removed and both again. Every
# screen is written to OUTDIR/NN-name.txt. Needs root; about a minute.
set -euo pipefail
OUT=$(realpath -m "${1:?usage: walkthrough.sh OUTDIR}")
mkdir -p "$OUT"
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_root_netns curl
require_bins replayd replayctl replay-copy replay-intercept

tb_up
tb_nginx online
tb_nginx target
CIP=$(tb_ip controller)
TIP=$(tb_ip target)
AIP=$(tb_ip assistant)
POOL=$TB_CLIENT_RANGE
D=$(tb_dir controller)
tb_replayd controller --insecure --metrics "$CIP:9464" --metrics-insecure
# shot NAME CMD...: run CMD, keep "$ CMD" and its output (stdout+stderr)
shot() {
  local name=$1; shift
  { printf '$ %s\n' "$*"; "$@" 2>&1 || printf '(exit %d)\n' "$?"; } >"$OUT/$name.txt"
  tb_log "screen $name"
}
replayctl() { tb_ctl "$@"; }

tb_fleet_intercept assistant assist-1 "tcp and src host $TIP and src port 80"
tb_fleet_copy online cap-1

cat >"$D/bad.json" <<EOF
{"name":"checkout-shadow","transfers":["80-$TIP:80","81-$TIP:99999"],
 "client_pool":"10.250.0.0/33","copy_agents":["cap-1"],"intercepts":["assist-1"],
 "copies":2,"colour":"blue"}
EOF
cat >"$D/plan.json" <<EOF
{"name":"checkout-shadow","transfers":["80-$TIP:80"],"client_pool":"$POOL",
 "copy_agents":["cap-1"],"intercepts":["assist-1"],"copies":2,"session_timeout_s":5}
EOF
{ printf '$ replayctl apply plan-with-mistakes.json\n'; tb_ctl apply "$D/bad.json" 2>&1 || printf '(exit %d)\n' "$?"; } >"$OUT/01-apply-bad.txt"
{ printf '$ replayctl apply plan.json\n'; tb_ctl apply "$D/plan.json" 2>&1 || printf '(exit %d)\n' "$?"; } >"$OUT/02-apply.txt"
tb_fleet_ready 20 cap-1 assist-1

# a paced load: 16 connections, 20 ms between requests, 20 s
tb_wrk "$TB_RUN/wrk.txt" client "http://$(tb_ip online)/" 20 16 20 &
WRK=$!
sleep 12
shot 03-status-under-load replayctl status
wait "$WRK" || true
sleep 3
shot 04-doctor-healthy replayctl doctor
shot 05-status-verbose-head replayctl status -v
tb_exec controller curl -s -m 5 "http://$CIP:9464/metrics" |
  grep -E '^(# (HELP|TYPE) )?replayfleet_(copy_replayed_packets_total|intercept_responses_forwarded_total|agent_up|build_info)' \
  >"$OUT/06-metrics-excerpt.txt" || true

# break the way back: the target no longer routes the pool to the intercept
tb_exec target ip route del "$POOL"
tb_wrk "$TB_RUN/wrk2.txt" client "http://$(tb_ip online)/" 4 4 50 || true
sleep 8   # past session_timeout_s (5) and a Stats round
shot 07-status-broken replayctl status
shot 08-doctor-broken replayctl doctor
tb_exec target ip route replace "$POOL" via "$AIP" dev eth0
tb_log "screens in $OUT"
