#!/usr/bin/env bash
# t_fleet_schedule: a 3-step stress schedule (issue 15, part 3).
#
# Bed (lib.sh): client (wrk), online (nginx + replay-copy cap-1, fleet mode),
# assistant (replay-intercept assist-1), target (nginx; routes from
# `replayctl routes`), controller (replayd, replayctl).
# Plan: copies 1 at 0 s, 2 at STEP s, 3 at 2*STEP s. A paced Connection:
# close load runs through all three (each new connection is a new session, so
# it gets the copies in force). Asserted:
#   - per step, the target's request rate is copies x the online rate (+-10%),
#     measured in the middle of the step (1 s margins);
#   - status --json shows the step in force and the next one in each step;
#   - replayd killed (-9) and restarted in step 2: step 3 still comes at its
#     time (the schedule start is in state.json);
#   - pause holds the step (no new generation while paused), resume runs on.
# Network safety: only namespaces made by lib.sh; bounded wrk; tb_down on EXIT.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PY=$(command -v python3)
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
python3() { "$PY" "$@"; }

require_root_netns jq nginx wrk
require_bins replayd replayctl replay-copy replay-intercept

STEP=${T_STEP:-10}
PORT=36523
POOL=$TB_CLIENT_RANGE
tb_fleet_bed client=10 online=20 target=30 assistant=40 controller=50
ONL=$(tb_ip online)

ctl() { tb_exec controller "$RF_BIN/replayctl" -c "$CIP:$PORT" --timeout 5 "$@"; }
st() { ctl status --json >"$1.tmp" 2>"$1.err" && mv "$1.tmp" "$1"; }
ready() {
  local f="$TB_RUN/ready.json"
  st "$f" || return 1
  jq -e '.generation as $g | [.agents[] | select(.id == "cap-1" or .id == "assist-1")
    | select(.up and .acked_generation == $g)] | length == 2' "$f" >/dev/null
}
start_replayd() {
  tb_bg controller "$CDIR/replayd$1.log" "$RF_BIN/replayd" --listen "$CIP:$PORT" \
    --state-dir "$CDIR/state" --insecure
  RD_PID=$TB_LASTPID
  if ! wait_for "tb_listening controller $PORT || ! _tb_alive $RD_PID" 10 || ! _tb_alive "$RD_PID"; then
    cat "$CDIR/replayd$1.log" >&2
    tb_die "replayd did not come up"
  fi
}

tb_nginx online
tb_nginx target
start_replayd ""
tb_start_intercept assistant "tcp and src host $TIP and src port 80" \
  --controller "$CIP:$PORT" --id assist-1 --advertise "$(tb_ip assistant)"
d=$(tb_dir online)
tb_bg online "$d/copy.log" "$RF_BIN/replay-copy" --controller "$CIP:$PORT" --id cap-1 -i eth0 \
  --stats-json "$d/copy.stats"
CPID=$TB_LASTPID
wait_for ready 20 || { cat "$TB_RUN/ready.json" >&2; tb_die "agents did not register"; }

cat >"$CDIR/plan.json" <<EOF
{"name":"ramp","transfers":["80-$TIP:80"],"client_pool":"$POOL",
 "copy_agents":["cap-1"],"intercepts":["assist-1"],"session_timeout_s":30,
 "schedule":[{"after":0,"copies":1},{"after":"${STEP}s","copies":2},{"after":"$((2 * STEP))s","copies":3}]}
EOF
out=$(ctl apply "$CDIR/plan.json" 2>&1) || tb_die "apply failed: $out"
T0=$(date +%s.%N)
wait_for ready 10 || tb_die "plan not acked"
ctl routes >"$TB_RUN/routes.txt"
while read -r _ _ _ blk _ via; do
  tb_exec target ip route replace "$blk" via "$via" dev eth0
done < <(grep '^ip route add ' "$TB_RUN/routes.txt")

lua=$(tb_wrk_delay_lua 10)
tb_bg client "$TB_RUN/wrk.txt" timeout $((3 * STEP + 30)) wrk -t2 -c4 "-d$((3 * STEP))s" -s "$lua" \
  -H 'Connection: close' "http://$ONL/"
WRK=$TB_LASTPID

since() { awk -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - t0 }'; }
wait_until() { while awk -v a="$(since)" -v b="$1" 'BEGIN { exit !(a < b) }'; do sleep 0.2; done; }

# status in the middle of each step; replayd restarted in step 2
for k in 1 2 3; do
  wait_until "$(((k - 1) * STEP + STEP / 2))"
  st "$TB_RUN/st-$k.json" || tb_die "status failed: $(cat "$TB_RUN/st-$k.json.err")"
  tb_log "step $k at $(since) s: $(ctl status | grep '^schedule\|^requested' | tr '\n' ' ')"
  want_next=$((k < 3 ? k + 1 : 0))
  tb_assert "status in step $k shows step $k of 3, next $want_next, copies $k" \
    jq -e --argjson k "$k" --argjson n "$want_next" \
    '.schedule.step == $k and .schedule.next == $n and .schedule.steps == 3 and .requested.copies == $k' \
    "$TB_RUN/st-$k.json"
  if ((k == 2)); then
    kill -KILL "$RD_PID"
    wait "$RD_PID" 2>/dev/null || true
    start_replayd "-2"
    tb_log "replayd restarted at $(since) s"
  fi
done
rc=0
wait "$WRK" || rc=$?
[[ $rc -eq 0 ]] || tb_die "wrk failed ($rc): $(cat "$TB_RUN/wrk.txt")"
tb_wait_stable "tb_log_count target" 2 30 >/dev/null

# request rates per step window (1.5 s / 1 s margins), target vs online
cat >"$TB_RUN/rates.py" <<'PYEOF'
import sys
on, tg, t0, step = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
def times(p):
    return [float(l.split(" ")[4]) for l in open(p) if len(l.split(" ")) > 5]
o, t = times(on), times(tg)
for k in range(3):
    a, b = t0 + k * step + 1.5, t0 + (k + 1) * step - 1.0
    no = sum(1 for x in o if a <= x < b)
    nt = sum(1 for x in t if a <= x < b)
    print("k%d_online=%d k%d_target=%d k%d_ratio=%.3f" % (k + 1, no, k + 1, nt, k + 1, nt / no if no else 0))
PYEOF
rates=$(python3 "$TB_RUN/rates.py" "$(tb_access_log online)" "$(tb_access_log target)" "$T0" "$STEP")
tb_log "rates: $(tr '\n' ' ' <<<"$rates")"
for k in 1 2 3; do
  r=$(grep -o "k${k}_ratio=[0-9.]*" <<<"$rates" | cut -d= -f2)
  n=$(grep -o "k${k}_online=[0-9]*" <<<"$rates" | cut -d= -f2)
  tb_assert "step $k: target request rate $r x online (want $k +-10%, $n online requests)" \
    tb_within "$r" "$(awk -v k="$k" 'BEGIN { print k * 0.9 }')" "$(awk -v k="$k" 'BEGIN { print k * 1.1 }')"
  tb_assert "step $k: a real load ($n >= 200 online requests)" test "$n" -ge 200
done

# pause / resume on a fresh 2-step plan (status only)
cat >"$CDIR/plan2.json" <<EOF
{"name":"ramp2","transfers":["80-$TIP:80"],"client_pool":"$POOL",
 "copy_agents":["cap-1"],"intercepts":["assist-1"],
 "schedule":[{"after":0,"copies":1},{"after":"4s","copies":2}]}
EOF
ctl apply "$CDIR/plan2.json" >/dev/null || tb_die "apply plan2 failed"
ctl pause | sed 's/^/  pause| /' >&2
st "$TB_RUN/st-p.json"
g=$(jq .generation "$TB_RUN/st-p.json")
sleep 6
st "$TB_RUN/st-p2.json"
tb_assert "paused: still step 1, copies 1, same generation, status says paused" \
  jq -e --argjson g "$g" '.schedule.paused and .schedule.step == 1 and .requested.copies == 1 and .generation == $g' "$TB_RUN/st-p2.json"
rc=0
ctl pause >/dev/null 2>&1 || rc=$?
tb_assert "pause while paused is refused (exit $rc)" test "$rc" -ne 0
ctl resume | sed 's/^/  resume| /' >&2
wait_for "st $TB_RUN/st-r.json && jq -e '.schedule.step == 2 and .requested.copies == 2 and (.schedule.paused | not)' $TB_RUN/st-r.json >/dev/null" 10 || true
tb_assert "resumed: step 2 came after the rest of its wait" \
  jq -e '.schedule.step == 2 and .requested.copies == 2' "$TB_RUN/st-r.json"

rc=0
tb_stop "$CPID" 10 || rc=$?
tb_assert "replay-copy exited cleanly (rc=$rc)" test "$rc" -eq 0
tb_finish
