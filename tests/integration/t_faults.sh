#!/usr/bin/env bash
# t_faults: fault injection under bounded load (issue 6). After each fault:
# nothing crashed (or it was restarted on purpose), replay resumes (the
# target's nginx access log keeps growing), the counters say what was lost,
# and no sanitizer report appears in any log.
#
# Standalone (replay-copy + replay-intercept from flags):
#   S1 kill -9 the intercept, restart it (as --user nobody: the privilege drop
#      under real load) -> the copy agent logs the loss and the reconnection,
#      replay resumes
#   S2 kill -9 the copy agent, restart it -> replay resumes
#   S3 cut the assistant's switch port for a few seconds (the copy<->intercept
#      channel and the responses both cross it) -> retransmission counters
#      rise during the cut (never silent), replay resumes, the loss identities
#      of both agents hold at exit
# Fleet (replayd + replayctl; replayd's state dir is a 64 KiB tmpfs in a
# private mount namespace that only this test's processes see):
#   F1 kill -9 replayd during load -> replay continues during the outage;
#      restarted, it serves identical assignments (status --json: client_range,
#      port_offset, paired_with per agent, generation, plan)
#   F2 kill -9 the intercept and the copy agent (one at a time), restart them
#      -> same assignments, replay resumes
#   F3 cut the controller's switch port past the heartbeat timeout -> replay
#      continues, status shows the agents down and then up again, assignments
#      identical
#   F4 fill the state tmpfs, then apply a changed plan -> apply fails (exit 1,
#      "No space left"), plan/generation/assignments unchanged; free the space,
#      restart replayd -> still unchanged; the changed plan then applies.
#
# Loads: wrk, 10 keep-alive connections paced by a Lua delay (~1k req/s),
# bounded in time; every process is ours and is stopped by PID (lib.sh trap).
# A step that cannot run here prints a loud "SKIP:" line and the test goes on;
# a missing prerequisite for everything exits 77.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns python3 unshare nsenter
require_bins replay-copy replay-intercept

CONNS=${T_CONNS:-10}
DELAY_MS=${T_DELAY_MS:-10}
CUT_S=${T_CUT_S:-4}
RANGE=10.250.9.0/24
declare -a SKIPS=()

part_skip() {
  printf '\n*** SKIP: %s ***\n\n' "$*" >&2
  SKIPS+=("$*")
}

tb_up
tb_nginx online
tb_nginx target
TIP=$(tb_ip target)
AIP=$(tb_ip assistant)
FILTER="tcp and src host $TIP and src port 80"
URL="http://$(tb_ip online)/"
LUA=$(tb_wrk_delay_lua "$DELAY_MS")

# ---- helpers -------------------------------------------------------------------

# load_start SECS: two wrk runs of at most SECS in the background, CONNS/2 keep-alive
# connections and CONNS/2 one-request connections (Connection: close). The
# short ones open new sessions all the time, so a restarted copy agent has
# something to replay (it skips connections it first sees mid-stream, and
# counts them: sess_skipped_midstream).
LOAD_N=0
load_start() {
  LOAD_N=$((LOAD_N + 1))
  local half=$(((CONNS + 1) / 2))
  tb_bg client "$TB_RUN/client/wrk-$LOAD_N-ka.txt" timeout $(($1 + 20)) \
    wrk -t1 -c"$half" -d"$1s" -s "$LUA" "$URL"
  LOAD_PIDS=("$TB_LASTPID")
  tb_bg client "$TB_RUN/client/wrk-$LOAD_N-close.txt" timeout $(($1 + 20)) \
    wrk -t1 -c"$half" -d"$1s" -s "$LUA" -H 'Connection: close' "$URL"
  LOAD_PIDS+=("$TB_LASTPID")
}
# load_stop: end the load now (SIGINT: timeout hands it to wrk, which stops
# and prints its summary). SECS is a bound, not a duration: the fault steps
# usually finish long before it, and an idle tail proves nothing.
load_stop() {
  local p
  for p in "${LOAD_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  tb_log "load $LOAD_N: keep-alive $(tb_wrk_rps "$TB_RUN/client/wrk-$LOAD_N-ka.txt") req/s," \
    "close $(tb_wrk_rps "$TB_RUN/client/wrk-$LOAD_N-close.txt") req/s"
}

# grows WHAT N TIMEOUT: the target's access log gains N lines within TIMEOUT s.
grows() {
  local base; base=$(tb_log_count target)
  wait_for "(( \$(tb_log_count target) >= $base + $2 ))" "$3"
}

# kill9 PID: SIGKILL one of our processes and reap it.
kill9() {
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# keep_log FILE TAG: keep a log aside before a restart overwrites it.
keep_log() { [[ -f $1 ]] && cp "$1" "$1.$2"; return 0; }

# count_in FILE REGEX: matching lines (0 if none).
count_in() { grep -cE "$2" "$1" 2>/dev/null || true; }

# sanitizer_clean: no ASan/UBSan/LSan report in any log of this run.
sanitizer_clean() {
  ! grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' \
    "$TB_RUN" --include='*.log*' --include='*.out' --exclude='access.log*' >/dev/null 2>&1
}

# alive PID...: every PID is running.
alive() { local p; for p; do _tb_alive "$p" || return 1; done; }

copy_stat() { tb_stat "$(tb_dir online)/copy.stats" "$1"; }
icpt_stat() { tb_stat "$(tb_dir assistant)/intercept.stats" "$1"; }

# copy_identity FILE: replay-copy's loss identity on its last stats line.
copy_identity() {
  python3 - "$1" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    try:
        last = json.loads(line)
    except ValueError:
        pass
c = (last or {}).get("counters", {})
parts = ["bad_pkts", "no_rule", "shard_out", "sampled_out", "midstream_pkts", "shed_pkts",
         "pure_acks", "client_dups", "accepted_pkts", "server_pkts"]
s = sum(c.get(k, 0) for k in parts)
print("cap_pkts=%d sum=%d" % (c.get("cap_pkts", -1), s))
sys.exit(0 if c.get("cap_pkts", -1) == s and s > 0 else 1)
EOF
}
icpt_identity() {
  python3 - "$1" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    try:
        last = json.loads(line)
    except ValueError:
        pass
c = (last or {}).get("counters", {})
parts = ["bad_pkts", "resp_forwarded", "resp_lost", "resp_unroutable", "resp_park_expired",
         "parked_now"]
s = sum(c.get(k, 0) for k in parts)
print("cap_pkts=%d sum=%d" % (c.get("cap_pkts", -1), s))
sys.exit(0 if c.get("cap_pkts", -1) == s and s > 0 else 1)
EOF
}

start_intercept() {
  keep_log "$(tb_dir assistant)/intercept.log" "$1"
  shift
  tb_start_intercept assistant "$FILTER" "$@"
  ICPT_PID=$TB_LASTPID
}
start_copy() {
  keep_log "$(tb_dir online)/copy.log" "$1"
  shift
  tb_start_copy online -i eth0 "$@"
  COPY_PID=$TB_LASTPID
}

# ================================ standalone ================================
tb_log "== standalone"
start_intercept 0
start_copy 0 -x "80-$TIP:80" -s "$AIP" -c "$RANGE"
SA_COPY_ARGS=(-x "80-$TIP:80" -s "$AIP" -c "$RANGE")
load_start 45
tb_assert "S0: replay runs before any fault" grows target 200 15

# ---- S1: kill -9 the intercept, restart it as --user nobody
CLOG=$(tb_dir online)/copy.log
lost0=$(count_in "$CLOG" 'intercept .*: lost')
conn0=$(count_in "$CLOG" 'intercept .*: connected')
kill9 "$ICPT_PID"
tb_assert "S1: copy agent logs the lost intercept" wait_for "(( \$(count_in $CLOG 'intercept .*: lost') > $lost0 ))" 10
tb_assert "S1: copy agent survives the intercept's death" alive "$COPY_PID"
user_args=()
if id nobody >/dev/null 2>&1; then user_args=(--user nobody); else part_skip "S1: no user 'nobody': restarted intercept keeps root"; fi
start_intercept s1 "${user_args[@]}"
tb_assert "S1: copy agent reconnects (logs 'connected' again)" \
  wait_for "(( \$(count_in $CLOG 'intercept .*: connected') > $conn0 ))" 20
if ((${#user_args[@]})); then
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$ICPT_PID/status")
  capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$ICPT_PID/status")
  tb_assert "S1: restarted intercept runs as nobody with no capabilities (uid $uid, CapEff $capeff)" \
    test "$uid" = "$(id -u nobody)" -a "$capeff" = 0000000000000000
fi
tb_assert "S1: replay resumes after the intercept restart" grows target 300 20
r=$(icpt_stat resp_forwarded)
tb_assert "S1: the unprivileged intercept forwards responses (resp_forwarded $r)" \
  wait_for "(( \$(icpt_stat resp_forwarded) > 0 ))" 10

# ---- S2: kill -9 the copy agent, restart it
kill9 "$COPY_PID"
tb_assert "S2: intercept survives the copy agent's death" alive "$ICPT_PID"
start_copy s2 "${SA_COPY_ARGS[@]}"
tb_assert "S2: replay resumes after the copy agent restart" grows target 300 20
tb_assert "S2: the restarted copy agent opens sessions" \
  wait_for "(( \$(copy_stat sess_opened) > 0 ))" 10
tb_assert "S2: keep-alive connections it joined mid-stream are counted, not replayed ($(copy_stat sess_skipped_midstream))" \
  wait_for "(( \$(copy_stat sess_skipped_midstream) > 0 ))" 10

# ---- S3: cut the assistant's link for a few seconds
SW=$(tb_ns sw)
rt0=$(( $(copy_stat retransmits) + $(copy_stat syn_retransmits) ))
to0=$(copy_stat sess_timedout)
ip -n "$SW" link set p-assistant down
tb_log "S3: assistant link down for ${CUT_S}s"
sleep "$CUT_S"
rt1=$(( $(copy_stat retransmits) + $(copy_stat syn_retransmits) ))
ip -n "$SW" link set p-assistant up
tb_log "S3: assistant link up again"
tb_assert "S3: retransmissions counted during the cut ($rt0 -> $rt1)" test "$rt1" -gt "$rt0"
tb_assert "S3: both agents survive the cut" alive "$COPY_PID" "$ICPT_PID"
tb_assert "S3: replay resumes after the link is restored" grows target 300 25
to1=$(copy_stat sess_timedout)
tb_log "S3: sess_timedout $to0 -> $to1, retransmits+syn_retransmits $rt0 -> $(( $(copy_stat retransmits) + $(copy_stat syn_retransmits) ))"
load_stop

rc=0; tb_stop "$COPY_PID" 15 || rc=$?
tb_assert "S: replay-copy exits cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
rc=0; tb_stop "$ICPT_PID" 15 || rc=$?
tb_assert "S: replay-intercept exits cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
tb_assert "S: copy loss identity at exit ($(copy_identity "$(tb_dir online)/copy.stats" || true))" \
  eval 'copy_identity "$(tb_dir online)/copy.stats" >/dev/null'
tb_assert "S: intercept loss identity at exit ($(icpt_identity "$(tb_dir assistant)/intercept.stats" || true))" \
  eval 'icpt_identity "$(tb_dir assistant)/intercept.stats" >/dev/null'
tb_log "S: copy final: $(tb_stats_last "$(tb_dir online)/copy.stats")"
tb_assert "S: no sanitizer report in any log" sanitizer_clean

# ================================== fleet ==================================
if [[ ! -x $RF_BIN/replayd || ! -x $RF_BIN/replayctl ]]; then
  part_skip "fleet steps F1-F4: replayd/replayctl not built in $RF_BIN"
  tb_finish
  exit 0
fi
tb_log "== fleet"
CIP=$(tb_ip controller)
CTRL="$CIP:36523"
STATE=$(tb_dir controller)/state
mkdir -p "$STATE"
for f in copy.stats intercept.stats; do
  for h in online assistant; do [[ -f $(tb_dir $h)/$f ]] && mv "$(tb_dir $h)/$f" "$(tb_dir $h)/$f.standalone"; done
done

# The state dir: a 64 KiB tmpfs mounted in a private mount namespace held by
# a sleeping process (in the controller's netns, so lib.sh reaps it). Only
# processes entered into that namespace (replayd, the fill/free steps) see it;
# the root mount namespace never does, and it disappears with the holder.
HOLDER=
tb_bg controller "$(tb_dir controller)/holder.log" unshare -m --propagation private \
  sh -c "mount -t tmpfs -o size=64k,mode=0755 rf-state '$STATE' && echo mounted && exec sleep 900"
HOLDER=$TB_LASTPID
if ! wait_for "grep -q mounted '$(tb_dir controller)/holder.log' || ! _tb_alive $HOLDER" 5 ||
  ! _tb_alive "$HOLDER"; then
  part_skip "F4: cannot mount a tmpfs in a private mount namespace ($(cat "$(tb_dir controller)/holder.log"))"
  HOLDER=
fi
in_state_ns() {
  if [[ -n $HOLDER ]]; then nsenter -t "$HOLDER" -m -- "$@"; else "$@"; fi
}
RDLOG=$(tb_dir controller)/replayd.log
RD_N=0
start_replayd() {
  RD_N=$((RD_N + 1))
  [[ -f $RDLOG ]] && mv "$RDLOG" "$RDLOG.$RD_N"
  if [[ -n $HOLDER ]]; then
    tb_bg controller "$RDLOG" nsenter -t "$HOLDER" -m -- \
      "$RF_BIN/replayd" --listen "$CTRL" --state-dir "$STATE" --insecure --heartbeat-timeout 3
  else
    tb_bg controller "$RDLOG" "$RF_BIN/replayd" --listen "$CTRL" --state-dir "$STATE" --insecure \
      --heartbeat-timeout 3
  fi
  RD_PID=$TB_LASTPID
  if ! wait_for "tb_listening controller 36523 || ! _tb_alive $RD_PID" 10 || ! _tb_alive "$RD_PID"; then
    tail -n 20 "$RDLOG" >&2
    tb_die "replayd did not start"
  fi
}
ctl() { tb_exec controller timeout 20 "$RF_BIN/replayctl" -c "$CTRL" "$@"; }

# assignments: the sticky part of status --json, one line per agent, sorted.
assignments() {
  ctl status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("generation=%s plan=%s" % (s.get("generation"), s.get("plan")))
for a in sorted(s.get("agents", []), key=lambda a: a.get("id", "")):
    if a.get("role") == "controller":
        continue
    print("%s role=%s range=%s offset=%s paired=%s" % (a.get("id"), a.get("role"),
          a.get("client_range"), a.get("port_offset"), a.get("paired_with")))
'
}
# agent_up ID: status --json says ID is up.
agent_up() {
  ctl status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if any(a.get("id") == sys.argv[1] and a.get("up") for a in s.get("agents", [])) else 1)
' "$1"
}

start_replayd
start_intercept f0 --controller "$CTRL" --id assist-1 --advertise "$AIP"
start_copy f0 --controller "$CTRL" --id cap-1
wait_for "agent_up cap-1 && agent_up assist-1" 20 || { ctl agents || true; tb_die "agents did not register with replayd"; }
cat >"$TB_RUN/plan.json" <<EOF
{
  "name": "faults",
  "transfers": ["80-$TIP:80"],
  "client_pool": "10.250.0.0/16",
  "copy_agents": ["cap-1"],
  "intercepts": ["assist-1"],
  "copies": 1,
  "sample_percent": 100,
  "rate_limit_pps": 0,
  "session_timeout_s": 60
}
EOF
sed -e 's/"name": "faults"/"name": "faults-2"/' -e 's/"copies": 1/"copies": 2/' "$TB_RUN/plan.json" >"$TB_RUN/plan2.json"
ctl apply "$TB_RUN/plan.json" >"$TB_RUN/apply1.txt" 2>&1 || { cat "$TB_RUN/apply1.txt" >&2; tb_die "apply failed"; }
wait_for "(( \$(copy_stat icpt_up) >= 1 ))" 20 || tb_die "copy agent never connected to its intercept"
A0=$(assignments)
tb_log "assignments: $(tr '\n' ';' <<<"$A0")"

load_start 60
tb_assert "F0: fleet replay runs" grows target 200 15

# ---- F1: kill -9 replayd, replay continues, restart: identical assignments
kill9 "$RD_PID"
tb_assert "F1: replay continues while replayd is dead" grows target 300 15
tb_assert "F1: both agents survive the controller's death" alive "$COPY_PID" "$ICPT_PID"
start_replayd
tb_assert "F1: agents re-register with the restarted replayd" wait_for "agent_up cap-1 && agent_up assist-1" 20
A1=$(assignments)
tb_assert "F1: assignments identical after the replayd restart" test "$A1" = "$A0"
[[ $A1 == "$A0" ]] || tb_log "F1: before: $A0 / after: $A1"
tb_assert "F1: replay continues after the restart" grows target 200 15

# ---- F2: kill -9 the intercept, then the copy agent, restart each
ilog=$(tb_dir online)/copy.log
conn0=$(count_in "$ilog" 'intercept .*: connected')
kill9 "$ICPT_PID"
start_intercept f2 --controller "$CTRL" --id assist-1 --advertise "$AIP"
tb_assert "F2: copy agent reconnects to the restarted intercept" \
  wait_for "(( \$(count_in $ilog 'intercept .*: connected') > $conn0 ))" 20
tb_assert "F2: replay resumes after the intercept restart" grows target 300 20
kill9 "$COPY_PID"
start_copy f2 --controller "$CTRL" --id cap-1
tb_assert "F2: replay resumes after the copy agent restart" grows target 300 25
wait_for "agent_up cap-1 && agent_up assist-1" 15 || true
A2=$(assignments)
tb_assert "F2: assignments identical after agent restarts" test "$A2" = "$A0"
[[ $A2 == "$A0" ]] || tb_log "F2: before: $A0 / after: $A2"

# ---- F3: cut the controller's link past the heartbeat timeout (3 s)
silent0=$(count_in "$RDLOG" 'down: silent for')
ip -n "$SW" link set p-controller down
tb_log "F3: controller link down for 6s"
base=$(tb_log_count target)
sleep 6
now=$(tb_log_count target)
tb_assert "F3: replay continues without the controller ($base -> $now)" test "$now" -gt $((base + 300))
# replayctl runs in the controller's namespace: replayd is still reachable
# there, and must already say the silent agents are down.
tb_assert "F3: status shows cap-1 down during the cut" eval '! agent_up cap-1'
tb_assert "F3: replayd logged the heartbeat timeouts" \
  test "$(count_in "$RDLOG" 'down: silent for')" -gt "$silent0"
ip -n "$SW" link set p-controller up
tb_assert "F3: agents are up again after the link returns" wait_for "agent_up cap-1 && agent_up assist-1" 30
A3=$(assignments)
tb_assert "F3: assignments identical after the controller link cut" test "$A3" = "$A0"
[[ $A3 == "$A0" ]] || tb_log "F3: before: $A0 / after: $A3"
load_stop

# ---- F4: state dir full during apply
if [[ -n $HOLDER ]]; then
  in_state_ns sh -c "dd if=/dev/zero of='$STATE/fill' bs=4k 2>/dev/null; sync" || true
  tb_log "F4: state tmpfs: $(in_state_ns df -k "$STATE" | tail -n 1)"
  rc=0
  ctl apply "$TB_RUN/plan2.json" >"$TB_RUN/apply-full.txt" 2>&1 || rc=$?
  tb_log "F4: apply on a full disk: rc=$rc: $(tr '\n' ' ' <"$TB_RUN/apply-full.txt" | cut -c1-300)"
  tb_assert "F4: apply fails when the state cannot be written (rc=$rc)" test "$rc" -ne 0
  tb_assert "F4: the error says why (No space left on device)" grep -q "No space left" "$TB_RUN/apply-full.txt"
  A4=$(assignments)
  tb_assert "F4: plan, generation and assignments unchanged after the failed apply" test "$A4" = "$A0"
  tb_assert "F4: replayd survives the failed write" alive "$RD_PID"
  in_state_ns rm -f "$STATE/fill"
  tb_assert "F4: no temp file left in the state dir ($(in_state_ns ls -A "$STATE" | tr '\n' ' '))" \
    test -z "$(in_state_ns ls -A "$STATE" | grep -v '^state\.json$' || true)"
  kill9 "$RD_PID"
  start_replayd
  wait_for "agent_up cap-1 && agent_up assist-1" 20 || true
  A5=$(assignments)
  tb_assert "F4: after freeing space and restarting replayd nothing is lost" test "$A5" = "$A0"
  [[ $A5 == "$A0" ]] || tb_log "F4: before: $A0 / after: $A5"
  rc=0
  ctl apply "$TB_RUN/plan2.json" >"$TB_RUN/apply2.txt" 2>&1 || rc=$?
  tb_assert "F4: the changed plan applies once there is space (rc=$rc)" test "$rc" -eq 0
  A6=$(assignments)
  tb_assert "F4: ...and is in force (plan faults-2)" grep -q "plan=faults-2" <<<"$A6"
else
  part_skip "F4 (state dir full during apply): no private tmpfs"
fi

# ---- end: clean exits, no sanitizer report
rc=0; tb_stop "$COPY_PID" 15 || rc=$?
tb_assert "F: replay-copy exits cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
rc=0; tb_stop "$ICPT_PID" 15 || rc=$?
tb_assert "F: replay-intercept exits cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
rc=0; tb_stop "$RD_PID" 15 || rc=$?
tb_assert "F: replayd exits cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
tb_assert "F: copy loss identity at exit ($(copy_identity "$(tb_dir online)/copy.stats" || true))" \
  eval 'copy_identity "$(tb_dir online)/copy.stats" >/dev/null'
tb_assert "F: no sanitizer report in any log" sanitizer_clean
if [[ -n $HOLDER ]]; then kill -TERM "$HOLDER" 2>/dev/null || true; wait "$HOLDER" 2>/dev/null || true; fi

if ((${#SKIPS[@]})); then
  tb_log "steps skipped (see SKIP lines): ${#SKIPS[@]}"
  for s in "${SKIPS[@]}"; do tb_log "  SKIP: $s"; done
fi
tb_finish
