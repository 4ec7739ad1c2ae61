#!/usr/bin/env bash
# t_security: issue 12's attacks against the default keyed configuration.
#
# Bed (lib.sh): client (curl), online (nginx, replay-copy cap-1), target
# (nginx; routes the pool via assistant), assistant (replay-intercept
# assist-1), controller (replayd --fleet-key-file, replayctl), mallory (the
# attacker, with 20 extra addresses; tests/integration/sec_attack.py).
# Keys come from `replayctl keys` (a fleet master, one derived key per id).
#
#   1 key files: made 0600 with O_EXCL; 0640 / another owner refused
#   2 state dir: symlinked, group-writable, planted state.json link refused
#   3 the keyed fleet works end to end (TLS agent->replayd, copy->intercept
#     with the pair key from the Assignment, replayctl admin)
#   4 replayctl without a key / with an agent's key: refused
#   5 id takeover: cap-1's key used as copy/cap-2 and as intercept assist-1
#     refused; assist-1's endpoint unchanged
#   6 MITM: a fake keyless controller gets a TLS ClientHello, never a Hello
#   7 tampered record through a relay after the handshake: replayd closes
#     the connection and counts tls_record_errors
#   8 plain --insecure replayd --user nobody (uid 65534, no capabilities): a
#     Hello id with a newline is logged escaped; keyless replayctl works on
#     replayd's host only
#   9 flood: 2,000 connections on replayd + 500 on the intercept (idle and
#     partial, 21 source addresses, reconnecting) while replayctl status
#     answers < 200 ms 5/5 and a restarted copy agent reconnects to both
# Bounded: every attacker has a deadline. Exit 77 (SKIP) without root/netns.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns --no-apps nginx curl
require_bins replayd replayctl replay-copy replay-intercept
ATK=$(cd "$(dirname "$0")" && pwd)/sec_attack.py
PY=$(command -v /usr/bin/python3 || command -v python3)

tb_up client online target assistant controller mallory
tb_nginx online
tb_nginx target
CIP=$(tb_ip controller)
TIP=$(tb_ip target)
AIP=$(tb_ip assistant)
OIP=$(tb_ip online)
MIP=$(tb_ip mallory)
POOL=$TB_CLIENT_RANGE
D=$(tb_dir controller)
M=$(tb_dir mallory)
K=$TB_RUN/keys
mkdir -m 700 "$K"
rctl() { "$RF_BIN/replayctl" "$@"; }

# ---- 1 key files -------------------------------------------------------------
rctl keys new-fleet --out "$K/fleet.key"
for x in admin/admin copy/cap-1 copy/cap-2 intercept/assist-1; do
  rctl keys derive --fleet-key-file "$K/fleet.key" --role "${x%/*}" --id "${x#*/}" --out "$K/${x#*/}.key"
done
tb_assert "key files are 0600" test "$(stat -c %a "$K"/*.key | sort -u)" = 600
tb_assert "keys new-fleet never overwrites" bash -c "! '$RF_BIN/replayctl' keys new-fleet --out '$K/fleet.key' 2>/dev/null"
tb_assert "derived keys differ" test "$(sort -u "$K"/*.key | wc -l)" -eq 5
cp "$K/fleet.key" "$K/g.key" && chmod 640 "$K/g.key"
out=$("$RF_BIN/replayd" --state-dir "$D/x" --fleet-key-file "$K/g.key" --check-config 2>&1) && rc=0 || rc=$?
tb_assert "fleet key 0640 refused (rc $rc: $out)" bash -c "[[ $rc == 2 && '$out' == *'chmod 600'* ]]"
cp "$K/fleet.key" "$K/o.key" && chown 65534 "$K/o.key"
out=$("$RF_BIN/replayd" --state-dir "$D/x" --fleet-key-file "$K/o.key" --check-config 2>&1) && rc=0 || rc=$?
tb_assert "key owned by another user refused (rc $rc)" bash -c "[[ $rc == 2 && '$out' == *'owned by uid 65534'* ]]"
out=$("$RF_BIN/replay-copy" --id cap-1 -i eth0 --key-file "$K/g.key" --check-config 2>&1) && rc=0 || rc=$?
tb_assert "replay-copy refuses a 0640 key (rc $rc)" test "$rc" -ne 0

# ---- 2 state dir -------------------------------------------------------------
startfail() { # startfail NAME STATEDIR WANT: replayd must exit non-zero saying WANT
  local out rc=0
  out=$(timeout 5 "$RF_BIN/replayd" --listen 127.0.0.1:36599 --state-dir "$2" 2>&1) || rc=$?
  tb_assert "$1 refused (rc $rc: ${out##*] })" bash -c "[[ $rc == 1 && \$0 == *'$3'* ]]" "$out"
}
mkdir -m 700 "$D/real" && ln -s "$D/real" "$D/link"
startfail "symlinked state dir" "$D/link" "symbolic link"
mkdir -m 777 "$D/open"
startfail "world-writable state dir" "$D/open" "writable by group/other"
mkdir -m 700 "$D/planted" && echo "precious" >"$D/victim" && ln -s "$D/victim" "$D/planted/state.json"
startfail "planted state.json link" "$D/planted" "not a regular file"
tb_assert "link target untouched" grep -qx precious "$D/victim"

# ---- 3 the keyed fleet -------------------------------------------------------
tb_replayd controller --fleet-key-file "$K/fleet.key" --heartbeat-timeout 3
TB_CTL_ARGS=(--key-file "$K/admin.key")
rstat() { # rstat NAME: replayd's own counter NAME
  tb_ctl status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(next((a["counters"].get(sys.argv[1],0) for a in s["agents"] if a["id"]=="replayd"), s["totals"].get(sys.argv[1],0)))' "$1"
}
tb_fleet_intercept assistant assist-1 "tcp and src host $TIP" --key-file "$K/assist-1.key"
start_cap1() {
  tb_fleet_copy online cap-1 --key-file "$K/cap-1.key"
  COPY_PID=$TB_LASTPID
}
start_cap1
cat >"$D/plan.json" <<EOF
{"name":"sec","transfers":["80-$TIP:80"],"client_pool":"$POOL",
 "copy_agents":["cap-1"],"intercepts":["assist-1"],"session_timeout_s":30}
EOF
tb_apply "$D/plan.json"
tb_fleet_ready 20 cap-1 assist-1
tb_log "keyed fleet ready (TLS everywhere)"
for _ in $(seq 30); do tb_exec client curl -s -o /dev/null -m 2 "http://$OIP/" || true; done
tb_assert "responses flow back over the TLS copy<->intercept channel" \
  wait_for "(( \$(tb_stat $(tb_dir online)/copy.stats resp_received) > 0 ))" 10
tb_assert "replayd log says TLS" grep -q "TLS 1.3 with per-agent keys" "$D/replayd.log"

# ---- 4 replayctl without the admin key ---------------------------------------
rc=0; tb_exec controller timeout 10 "$RF_BIN/replayctl" -c "$CIP:36523" status >/dev/null 2>&1 || rc=$?
tb_assert "replayctl without a key refused (rc $rc)" test "$rc" -ne 0
rc=0; tb_exec controller timeout 10 "$RF_BIN/replayctl" -c "$CIP:36523" --key-file "$K/cap-1.key" --id cap-1 status >/dev/null 2>&1 || rc=$?
tb_assert "replayctl with an agent's key refused as auth (rc $rc)" test "$rc" -eq 5

# ---- 5 id takeover with a stolen agent key -------------------------------------
af0=$(rstat auth_failures)
tb_exec mallory timeout 4 "$RF_BIN/replay-copy" --controller "$CIP:36523" --id cap-2 -i eth0 \
  --key-file "$K/cap-1.key" >"$M/takeover-copy.log" 2>&1 || true
tb_exec mallory timeout 4 "$RF_BIN/replay-intercept" -i eth0 -F "tcp and port 9" --controller "$CIP:36523" --id assist-1 \
  --advertise "$MIP" --key-file "$K/cap-1.key" --port 36530 >"$M/takeover-icpt.log" 2>&1 || true
af1=$(rstat auth_failures)
tb_assert "takeover attempts refused and counted ($af0 -> $af1)" test "$af1" -gt "$af0"
tb_assert "cap-2 never came up" bash -c "! grep -q 'agent cap-2 (copy) up' '$D/replayd.log'"
tb_assert "assist-1's endpoint unchanged" bash -c "! grep -q 'intercept assist-1 now at' '$D/replayd.log'"
tb_assert "routes still via $AIP" bash -c "ip netns exec $(tb_ns controller) '$RF_BIN/replayctl' -c '$CIP:36523' --key-file '$K/admin.key' routes | grep -q 'via $AIP'"

# ---- 6 + 7 fake controller and tampering relay (in parallel) -------------------
re0=$(rstat tls_record_errors)
tb_bg mallory "$M/fakectl.out" "$PY" "$ATK" fakectl "$MIP" 36523 8
FAKE_PID=$TB_LASTPID
tb_bg mallory "$M/relay.out" "$PY" "$ATK" relay "$MIP" 36600 "$CIP" 36523 10 tamper
RELAY_PID=$TB_LASTPID
wait_for "tb_listening mallory 36523 && tb_listening mallory 36600" 10 || tb_die "attacker did not come up"
tb_bg mallory "$M/victim1.log" timeout 5 "$RF_BIN/replay-copy" --controller "$MIP:36523" --id cap-2 \
  -i eth0 --key-file "$K/cap-2.key"
V1=$TB_LASTPID
tb_bg mallory "$M/victim2.log" timeout 8 "$RF_BIN/replay-copy" --controller "$MIP:36600" --id cap-2 \
  -i eth0 --key-file "$K/cap-2.key"
V2=$TB_LASTPID
for p in "$V1" "$V2" "$FAKE_PID" "$RELAY_PID"; do wait_for "! _tb_alive $p" 15 || true; done
fake=$(cat "$M/fakectl.out"); relay=$(cat "$M/relay.out")
tb_log "fake controller saw: $fake; relay: $relay"
tb_assert "MITM: the agent spoke TLS to the fake controller" bash -c "[[ '$fake' == *'\"160301'* || '$fake' == *'\"160303'* ]]"
tb_assert "MITM: the fake controller never got a Hello" bash -c "[[ '$fake' == *'\"hello_frames\": 0'* ]]"
tb_assert "MITM: the agent took no assignment" bash -c "! grep -q 'assignment generation' '$M/victim1.log'"
tb_assert "tamper: the relay flipped a byte" bash -c "[[ '$relay' == *'\"tampered\": 1'* ]]"
re1=$(rstat tls_record_errors)
tb_assert "tamper: replayd closed it and counted tls_record_errors ($re0 -> $re1)" test "$re1" -gt "$re0"
tb_assert "tamper: logged" grep -q "TLS record error" "$D/replayd.log"

# ---- 8 plain --insecure replayd: log injection; admin stays on its host -------
mkdir -m 700 "$D/state2" && chown 65534:65534 "$D/state2"
tb_bg controller "$D/replayd2.log" "$RF_BIN/replayd" --listen "$CIP:36591" --state-dir "$D/state2" \
  --insecure --user nobody
RD2=$TB_LASTPID
wait_for "tb_listening controller 36591" 10 || { cat "$D/replayd2.log" >&2; tb_die "replayd #2 did not come up"; }
tb_assert "--insecure is logged at WARN" grep -q "WARN INSECURE" "$D/replayd2.log"
tb_assert "--user nobody: runs as uid 65534" bash -c "grep -Eq '^Uid:[[:space:]]+65534' /proc/$RD2/status"
tb_assert "--user nobody: no capabilities" bash -c "grep -Eq '^CapEff:[[:space:]]+0+$' /proc/$RD2/status"
tb_exec mallory "$PY" "$ATK" hello "$CIP" 36591 'evil\nFAKE-LINE replayd[replayd] INFO all good' >/dev/null || true
wait_for "grep -q 'evil' '$D/replayd2.log'" 5 || true
tb_assert "log injection: no forged line" bash -c "! grep -q '^FAKE-LINE' '$D/replayd2.log'"
tb_assert "log injection: newline shown escaped" grep -q 'evil\\x0aFAKE-LINE' "$D/replayd2.log"
rc=0; tb_exec mallory timeout 10 "$RF_BIN/replayctl" -c "$CIP:36591" status >/dev/null 2>&1 || rc=$?
tb_assert "keyless replayctl from another host refused even with --insecure (rc $rc)" test "$rc" -eq 5
tb_assert "keyless replayctl on replayd's own host works" \
  tb_exec controller timeout 10 "$RF_BIN/replayctl" -c "$CIP:36591" status --summary
tb_stop "$RD2" 10 || true

# ---- 9 floods ------------------------------------------------------------------
status5() { # status5: five `replayctl status` calls; sets TIMES, WORST, MEDIAN, FAILED
  local t0 t1 ok
  TIMES=""; WORST=0; FAILED=0
  for _ in 1 2 3 4 5; do
    t0=$(tb_now_ms); ok=1
    tb_ctl status --summary >/dev/null 2>"$D/status.err" || ok=0
    t1=$(tb_now_ms); TIMES+="$((t1 - t0)) "
    ((ok)) || { FAILED=$((FAILED + 1)); tb_log "status failed: $(cat "$D/status.err")"; }
    ((t1 - t0 > WORST)) && WORST=$((t1 - t0))
    sleep 0.3
  done
  MEDIAN=$(tr ' ' '\n' <<<"$TIMES" | grep . | sort -n | sed -n 3p)
}
srcs=$MIP
for i in $(seq 101 120); do
  tb_exec mallory ip addr add "${MIP%.*}.$i/24" dev eth0
  srcs+=",${MIP%.*}.$i"
done
status5
BASE=$MEDIAN
tb_log "replayctl status before the flood: ${TIMES}ms (median $BASE)"
rss0=$(tb_rss_kb "$RD_PID")
tb_bg mallory "$M/flood-rd.out" "$PY" "$ATK" flood "$CIP" 36523 2000 22 "$srcs"
F1=$TB_LASTPID
tb_bg mallory "$M/flood-ic.out" "$PY" "$ATK" flood "$AIP" 36524 500 22 "$srcs"
F2=$TB_LASTPID
sleep 4   # the flood is at full size
status5
tb_log "replayctl status during the flood: ${TIMES}ms (median $MEDIAN, worst $WORST)"
tb_assert "status answers 5/5 during the flood (${TIMES}ms)" test "$FAILED" -eq 0
((FAILED == 0)) || grep -E "refus|drop|timeout" "$D/replayd.log" | tail -5 >&2
# The bar is 200 ms on an idle host. On a loaded, shared CI host a single
# call can lose a second to scheduling (or a SYN retransmit) with or without
# the flood, so: the median may not exceed the no-flood median by 200 ms,
# and no call may take seconds (the lockout this guards against refused
# 10 of 11 calls for 24 s).
tb_assert "status during the flood: median $MEDIAN ms < 200 ms + no-flood median $BASE ms" \
  test "$MEDIAN" -lt $((200 + BASE))
tb_assert "status during the flood: worst $WORST ms < 2000 ms" test "$WORST" -lt 2000
tb_stop "$COPY_PID" 10 || true
: >"$(tb_dir online)/copy.stats"
start_cap1
tb_assert "copy agent reconnects to replayd during the flood" wait_for "tb_fleet_is_ready cap-1 assist-1" 12
tb_assert "and to its intercept (500 idle sockets there)" \
  wait_for "(( \$(tb_stat $(tb_dir online)/copy.stats icpt_up) >= 1 ))" 10
rss1=$(tb_rss_kb "$RD_PID")
tb_log "replayd RSS ${rss0} -> ${rss1} KiB during the flood"
tb_assert "replayd RSS bounded (${rss1} KiB < 65536)" test "$rss1" -lt 65536
wait_for "! _tb_alive $F1 && ! _tb_alive $F2" 30 || true
tb_log "flood on replayd: $(cat "$M/flood-rd.out"); on the intercept: $(cat "$M/flood-ic.out")"
tb_assert "flood on replayd reached 2000 open attempts" \
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["opened"] >= 2000 else 1)' "$M/flood-rd.out"
pre=$(( $(rstat preauth_refused) + $(rstat preauth_dropped) + $(rstat hello_timeouts) ))
tb_assert "pre-auth caps engaged ($pre refusals/drops/timeouts counted)" test "$pre" -gt 100
nwarn=$(grep -c 'WARN' "$D/replayd.log" || true)
tb_assert "refusals logged rate-limited ($nwarn WARN lines in the whole run)" test "$nwarn" -lt 60

tb_stop "$COPY_PID" 10 || true
rc=0; tb_stop "$RD_PID" 10 || rc=$?
tb_assert "replayd exits cleanly (rc $rc)" test "$rc" -eq 0
tb_assert "no sanitizer report" bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' '$D/replayd.log' '$(tb_dir assistant)/intercept.log' '$(tb_dir online)/copy.log'"
tb_finish
