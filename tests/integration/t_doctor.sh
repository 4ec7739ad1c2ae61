#!/usr/bin/env bash
# t_doctor: `replayctl doctor` (issue 7) names the hop that is broken.
#
# Bed (lib.sh): online (replay-copy cap-1, fleet mode), target (nginx; routes
# the client pool via assistant), assistant (replay-intercept assist-1, in
# the plan), assistant2 (replay-intercept assist-2: registered with replayd,
# idle, NOT in the plan, so it owns no range), controller (replayd
# --insecure, replayctl).
#
# Each case breaks one hop, runs `replayctl doctor --json` (bounded), checks
# the stage of every rule of cap-1 (and for WRONG_ROUTE the note naming
# assist-2), then repairs the hop:
#   a  healthy                                        -> OK (exit 0)
#   b  target: pool route deleted (no default route,  -> NO_SYNACK
#      so the SYN-ACK is dropped)
#   c  target: pool routed via assistant2             -> WRONG_ROUTE + note "assist-2"
#   d  online: `ip route add prohibit TARGET/32`      -> NOT_SENT with an errno
#   e  target: nginx stopped                          -> RESET
# Exit 77 (SKIP) without root/netns/nginx.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns
require_bins replayd replayctl replay-copy replay-intercept

tb_up online target assistant assistant2 controller
tb_nginx target
NGINX_PID=$TB_LASTPID
CIP=$(tb_ip controller)
TIP=$(tb_ip target)
AIP=$(tb_ip assistant)
A2IP=$(tb_ip assistant2)
POOL=$TB_CLIENT_RANGE
D=$(tb_dir controller)

tb_replayd controller --insecure
tb_fleet_intercept assistant assist-1 "tcp and src host $TIP"
tb_fleet_intercept assistant2 assist-2 "tcp and src host $TIP"
tb_fleet_copy online cap-1

cat >"$D/plan.json" <<EOF
{"name":"doctor","transfers":["80-$TIP:80"],"client_pool":"$POOL",
 "copy_agents":["cap-1"],"intercepts":["assist-1"],"session_timeout_s":60}
EOF
tb_apply "$D/plan.json"
# assist-2 is registered and idle (not in the plan: nothing to acknowledge).
tb_fleet_ready 20 cap-1 assist-1 assist-2=up
tb_log "fleet ready; routes: $(tb_ctl routes | tr '\n' ' ')"

# doctor_case NAME WANT_STAGE [NOTE_SUBSTRING]: run doctor, check cap-1's
# rules all have WANT_STAGE (and a note containing NOTE_SUBSTRING).
doctor_case() {
  local name=$1 want=$2 note=${3:-} rc=0 t0 t1
  t0=$(tb_now_ms)
  tb_ctl doctor --timeout 1000 --json >"$D/doctor_$name.json" 2>"$D/doctor_$name.err" || rc=$?
  t1=$(tb_now_ms)
  tb_ctl doctor --timeout 1000 >"$D/doctor_$name.txt" 2>&1 || true
  local verdict
  verdict=$(python3 - "$D/doctor_$name.json" "$want" "$note" <<'EOF'
import json, sys
path, want, note = sys.argv[1:4]
try:
    d = json.load(open(path))
except Exception as e:
    print("bad-json:%s" % e); sys.exit(0)
a = [x for x in d["agents"] if x["id"] == "cap-1"]
if not a or not a[0]["answered"]:
    print("no-answer"); sys.exit(0)
stages = sorted({r["stage"] for r in a[0]["rules"]})
errs = sorted({r["send_errno"] for r in a[0]["rules"]})
bad = stages != [want]
if want == "NOT_SENT" and 0 in errs:
    bad = True
if note and not any(note in n for n in d["notes"]):
    bad = True
print("%s stages=%s errno=%s notes=%d" % ("ok" if not bad else "mismatch", ",".join(stages),
      ",".join(map(str, errs)), len(d["notes"])))
EOF
)
  tb_log "case $name: exit $rc in $((t1 - t0)) ms: $verdict"
  sed 's/^/    /' "$D/doctor_$name.txt" >&2
  tb_assert "case $name: doctor says $want${note:+ (note: $note)}" test "${verdict%% *}" = ok
  if [[ $want == OK ]]; then
    tb_assert "case $name: exit 0" test "$rc" -eq 0
  else
    tb_assert "case $name: exit 1 ($rc)" test "$rc" -eq 1
  fi
  # Bounded: timeout + 2 s grace + 1.5 s for intercept Stats + slack.
  tb_assert "case $name: answered in $((t1 - t0)) ms (< 7000)" test $((t1 - t0)) -lt 7000
}

# The copy agent must have the canary feature; an older one never answers.
tb_ctl doctor --json >"$D/probe.json" 2>/dev/null || true
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(not a["answered"] for a in d["agents"]) else 1)' "$D/probe.json"; then
  cat "$D/probe.json" >&2
  tb_skip "replay-copy in $RF_BIN does not answer CanaryRequest (built before the copy-agent side of doctor)"
fi

# a: healthy
doctor_case a_healthy OK

# b: the target has no route back for the pool: SYN-ACKs are dropped
tb_exec target ip route del "$POOL"
doctor_case b_no_route NO_SYNACK
tb_exec target ip route replace "$POOL" via "$AIP" dev eth0

# c: the target routes the pool via assistant2, whose intercept owns nothing
tb_exec target ip route replace "$POOL" via "$A2IP" dev eth0
doctor_case c_wrong_route WRONG_ROUTE "assist-2"
tb_exec target ip route replace "$POOL" via "$AIP" dev eth0

# d: the capture host may not send to the target
tb_exec online ip route add prohibit "$TIP/32"
doctor_case d_not_sent NOT_SENT
tb_exec online ip route del prohibit "$TIP/32"

# e: nothing listens on the target port
tb_stop "$NGINX_PID" 10 || true
wait_for "! tb_listening target 80" 10 || tb_die "nginx did not stop"
doctor_case e_reset RESET

# and healthy again once repaired (the previous cases left nothing behind)
tb_nginx target
doctor_case f_healthy_again OK

tb_log "replayd doctor lines: $(grep -c 'doctor' "$D/replayd.log")"
tb_finish
