#!/usr/bin/env bash
# t_fleet_mirror: a capture group sharing one mirror (issue 15, part 1).
#
# Bed (lib.sh, one namespace per host, bridge in its own namespace):
#   client       wrk against online (bounded runs)
#   online       nginx; its eth0 ingress is mirrored (tc mirred) into a kernel
#                vxlan device (VNI 4242) replicating every frame to cap1..3
#   cap1..3      replay-copy cap-1..3 in fleet mode, --promisc --vxlan-port
#                4789 --vni 4242: all three see the SAME feed
#   assistant    replay-intercept assist-1 (fleet mode)
#   target       nginx under test; routes: exactly what `replayctl routes` prints
#   controller   replayd --insecure --heartbeat-timeout $HB, replayctl
# Plan: the three copy agents form capture group "span-a" (shared_feed), so
# replayd gives each a set of flow-hash buckets (rendezvous hashing).
#
# Phases and what each asserts:
#   A  all three up, Connection: close load: every online flow replayed
#      exactly once (each replayed connection is mapped back to its online
#      connection: the agent is the one whose client range holds the source
#      address, the original port is its port offset undone); each agent's
#      share is exactly the flows whose bucket status --json says it holds.
#   B  the same load; cap-2 killed (-9) a few seconds in: no flow replayed
#      twice; flows finished before the kill replayed exactly once; flows that
#      started more than one heartbeat timeout (+1 s tick) after the kill
#      replayed >= 99.9%; status: cap-2 down with 0 buckets, cap-1 + cap-3
#      hold all 1024, replayd counted a re-shard.
#   C  cap-2 restarted during a keep-alive load: the survivors give it back
#      its buckets but finish the connections they were replaying, cap-2 skips
#      them mid-stream: every request replayed exactly once, per-connection
#      request counts equal; status: all three hold buckets again.
# Network safety: only namespaces made by lib.sh; the mirror and tunnels live
# inside them; loads are bounded wrk runs; tb_down runs from the EXIT trap.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PY=$(command -v python3)
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
python3() { "$PY" "$@"; }

require_root_netns jq nginx wrk tc bridge
require_bins replayd replayctl replay-copy replay-intercept

SECS=${T_SECS:-4}            # phase A load
BSECS=${T_BSECS:-9}          # phase B load (cap-2 killed at KILL_AT)
KILL_AT=3
CSECS=${T_CSECS:-6}          # phase C load (cap-2 back at 2 s)
HB=3                         # replayd --heartbeat-timeout
POOL=$TB_CLIENT_RANGE
PORT=36523
VNI=4242
CAPS=(cap-1 cap-2 cap-3)
declare -A HOST_OF=([cap-1]=cap1 [cap-2]=cap2 [cap-3]=cap3)
declare -A CPID=() STATS=()

tb_fleet_bed client=10 online=20 target=30 assistant=40 cap1=61 cap2=62 cap3=63 controller=50
ONL=$(tb_ip online)

ctl() { tb_exec controller "$RF_BIN/replayctl" -c "$CIP:$PORT" --timeout 5 "$@"; }
st() { ctl status --json >"$1.tmp" 2>"$1.err" && mv "$1.tmp" "$1"; }
row() { jq -rc --arg id "$2" ".agents[] | select(.id == \$id) | .$3" "$1"; }

# ready IDS...: every named agent up and acked the current generation.
ready() {
  local f="$TB_RUN/ready.json"
  st "$f" || return 1
  jq -e --arg ids "$*" '($ids | split(" ")) as $w | .generation as $g
    | [.agents[] | select(.id as $i | $w | index([$i])) | select(.up and .acked_generation == $g)]
    | length == ($w | length)' "$f" >/dev/null
}

start_copy() {  # ID TAG
  local id=$1 h d
  h=${HOST_OF[$id]}; d=$(tb_dir "$h")
  STATS[$id]="$d/copy$2.stats"
  tb_bg "$h" "$d/copy$2.log" "$RF_BIN/replay-copy" --controller "$CIP:$PORT" --id "$id" \
    -i eth0 --promisc --vxlan-port 4789 --vni "$VNI" --stats-json "${STATS[$id]}"
  CPID[$id]=$TB_LASTPID
}

# ---- mirror: online eth0 ingress -> vxlan to the three capture hosts --------
tb_nginx online
tb_nginx target
tb_exec online ip link add vxm type vxlan id "$VNI" dstport 4789 local "$ONL" dev eth0 nolearning
tb_exec online ip link set vxm up
for h in cap1 cap2 cap3; do
  tb_exec online bridge fdb append 00:00:00:00:00:00 dev vxm dst "$(tb_ip "$h")"
  # a receiving vxlan device holds udp/4789: no port-unreachable back
  tb_exec "$h" ip link add vxs type vxlan id "$VNI" dstport 4789 local "$(tb_ip "$h")"
  tb_exec "$h" ip link set vxs up
done
tb_exec online tc qdisc add dev eth0 clsact
tb_exec online tc filter add dev eth0 ingress protocol all u32 match u32 0 0 \
  action mirred egress mirror dev vxm pipe

# ---- fleet -------------------------------------------------------------------
tb_bg controller "$CDIR/replayd.log" "$RF_BIN/replayd" --listen "$CIP:$PORT" \
  --state-dir "$CDIR/state" --insecure --heartbeat-timeout "$HB"
RD_PID=$TB_LASTPID
if ! wait_for "tb_listening controller $PORT || ! _tb_alive $RD_PID" 10 || ! _tb_alive "$RD_PID"; then
  cat "$CDIR/replayd.log" >&2
  tb_die "replayd did not come up"
fi
tb_start_intercept assistant "tcp and src host $TIP and src port 80" \
  --controller "$CIP:$PORT" --id assist-1 --advertise "$(tb_ip assistant)"
for a in "${CAPS[@]}"; do start_copy "$a" ""; done
wait_for "ready ${CAPS[*]} assist-1" 20 || { cat "$TB_RUN/ready.json" >&2; tb_die "agents did not register"; }

cat >"$CDIR/plan.json" <<EOF
{"name":"span","transfers":["$ONL:80-$TIP:80"],"client_pool":"$POOL",
 "copy_agents":["cap-1","cap-2","cap-3"],"intercepts":["assist-1"],"session_timeout_s":30,
 "capture_groups":[{"name":"span-a","agents":["cap-1","cap-2","cap-3"],"shared_feed":true}]}
EOF
out=$(ctl apply "$CDIR/plan.json" 2>&1) || tb_die "apply failed: $out"
printf '%s\n' "$out" | sed 's/^/  apply| /' >&2
wait_for "ready ${CAPS[*]} assist-1" 15 || { cat "$TB_RUN/ready.json" >&2; tb_die "plan not acked"; }
ctl routes >"$TB_RUN/routes.txt"
while read -r _ _ _ blk _ via; do
  tb_exec target ip route replace "$blk" via "$via" dev eth0
done < <(grep '^ip route add ' "$TB_RUN/routes.txt")
tb_exec target ip route show | sed 's/^/  target route| /' >&2
ctl status | sed -n '/^capture groups/,/^$/p' | sed 's/^/  status| /' >&2

st "$TB_RUN/st-A.json"
buckets() { jq -r '[.agents[] | select(.capture_group == "span-a") | "\(.id)=\(.shard_buckets)"] | join(" ")' "$1"; }
tb_log "buckets: $(buckets "$TB_RUN/st-A.json")"
tb_assert "status: the three members hold every bucket, each a share ($(buckets "$TB_RUN/st-A.json"))" \
  jq -e '[.agents[] | select(.capture_group == "span-a") | .shard_buckets] | (add == 1024 and all(. > 200) and length == 3)' "$TB_RUN/st-A.json"

# ---- analysis ------------------------------------------------------------------
# flows.py STATUS ONLINE_LOG TARGET_LOG [T_KILL HB]: maps every replayed
# connection to its online connection (agent by client range, original port
# = replayed port with the agent's offset undone, nearest start time) and
# prints key=value lines. With the bucket sets of STATUS (shard_set) it also
# predicts each agent's share: bucket = the --shard flow hash % 1024, hashing
# as agent-copy/cp_map.c (seed read from the source).
cat >"$TB_RUN/flows.py" <<'EOF'
import ipaddress, json, re, sys
from collections import defaultdict
st, olog, tlog = sys.argv[1], sys.argv[2], sys.argv[3]
t_kill = float(sys.argv[4]) if sys.argv[4] else None
hb = float(sys.argv[5]) if sys.argv[5] else 0
server, src = int(ipaddress.ip_address(sys.argv[6])), sys.argv[7]
rows = [a for a in json.load(open(st))["agents"] if a.get("capture_group") == "span-a"]

def load(path):
    conns = {}
    for line in open(path):
        p = line.split(" ", 7)
        if len(p) < 7:
            continue
        c = conns.setdefault(p[2], {"n": 0, "start": 1e30, "end": 0.0, "ip": p[0], "port": int(p[1]), "hits": 0})
        c["n"] += 1
        c["start"] = min(c["start"], float(p[4]) - float(p[5]))
        c["end"] = max(c["end"], float(p[4]))
    return list(conns.values())

on, tg = load(olog), load(tlog)
by_port = defaultdict(list)
for c in on:
    by_port[c["port"]].append(c)
unmatched, per_agent = 0, defaultdict(int)
for t in tg:
    a = ipaddress.ip_address(t["ip"])
    ag = [r for r in rows if r["client_range"] and a in ipaddress.ip_network(r["client_range"])]
    if len(ag) != 1:
        unmatched += 1
        continue
    orig = 1024 + (t["port"] - 1024 - 61 * ag[0]["port_offset"]) % 64512
    cand = [c for c in by_port.get(orig, []) if abs(c["start"] - t["start"]) < 3.0]
    if not cand:
        unmatched += 1
        continue
    best = min(cand, key=lambda c: abs(c["start"] - t["start"]))
    best["hits"] += 1
    best.setdefault("by", set()).add(ag[0]["id"])
    if best["n"] != t["n"]:
        best["short"] = 1
    per_agent[ag[0]["id"]] += 1
out = {"online_flows": len(on), "target_flows": len(tg), "unmatched": unmatched,
       "twice": sum(1 for c in on if c["hits"] > 1), "missing": sum(1 for c in on if c["hits"] == 0),
       "reqs_differ": sum(1 for c in on if c.get("short"))}
for r in rows:
    out["got_" + r["id"]] = per_agent[r["id"]]
# prediction from the bucket sets
try:
    sys.path.insert(0, src + "/tests/integration")
    sys.dont_write_bytecode = True   # no __pycache__ in the tree
    import flowhash
    seed = flowhash.shard_seed(src)
    owner = {}
    for r in rows:
        for part in (r.get("shard_set") or "-").split(","):
            if part == "-":
                continue
            lo, _, hi = part.partition("-")
            for b in range(int(lo), int(hi or lo) + 1):
                owner[b] = r["id"]
    want = defaultdict(int)
    for c in on:
        want[owner.get(flowhash.flow(seed, int(ipaddress.ip_address(c["ip"])), c["port"], server, 80) % 1024, "?")] += 1
    for r in rows:
        out["want_" + r["id"]] = want[r["id"]]
    out["want_none"] = want["?"]
except (OSError, AttributeError, ValueError):
    out["want_none"] = "unknown"
if t_kill is not None:
    pre = [c for c in on if c["end"] < t_kill - 0.2]
    post = [c for c in on if c["start"] > t_kill + hb + 1.0]
    gap = [c for c in on if t_kill - 0.2 <= c["end"] and c["start"] <= t_kill + hb + 1.0]
    out["pre_flows"] = len(pre)
    out["pre_once"] = sum(1 for c in pre if c["hits"] == 1)
    out["post_flows"] = len(post)
    out["post_replayed"] = sum(1 for c in post if c["hits"] >= 1)
    out["gap_flows"] = len(gap)
    out["gap_missing"] = sum(1 for c in gap if c["hits"] == 0)
for k, v in out.items():
    print("%s=%s" % (k, v))
EOF
# flows STATUS [T_KILL HB]
flows() { python3 "$TB_RUN/flows.py" "$1" "$(tb_access_log online)" "$(tb_access_log target)" "${2:-}" "${3:-}" "$ONL" "$RF_SRC"; }
settle() {  # wait until the target log stops growing (the replay drained)
  tb_wait_stable "tb_log_count target" 2 30 >/dev/null
}

# ---- A: three members, each flow replayed exactly once ------------------------------
tb_log_truncate online
tb_log_truncate target
tb_wrk "$TB_RUN/wrk-A.txt" client "http://$ONL/" "$SECS" 4 10 -H 'Connection: close' ||
  tb_die "wrk failed: $(cat "$TB_RUN/wrk-A.txt")"
settle
st "$TB_RUN/st-A2.json"
fa=$(flows "$TB_RUN/st-A.json")
tb_log "A: $(tr '\n' ' ' <<<"$fa")"
tb_assert "A: online served a real load ($(tb_kv "$fa" online_flows) flows >= 200)" test "$(tb_kv "$fa" online_flows)" -ge 200
tb_assert "A: every replayed connection maps to an online one (unmatched $(tb_kv "$fa" unmatched))" test "$(tb_kv "$fa" unmatched)" -eq 0
tb_assert "A: no flow replayed twice ($(tb_kv "$fa" twice))" test "$(tb_kv "$fa" twice)" -eq 0
tb_assert "A: no flow missing ($(tb_kv "$fa" missing))" test "$(tb_kv "$fa" missing)" -eq 0
tb_assert "A: request counts equal per connection (differ $(tb_kv "$fa" reqs_differ))" test "$(tb_kv "$fa" reqs_differ)" -eq 0
for a in "${CAPS[@]}"; do
  tb_assert "A: $a replayed a share ($(tb_kv "$fa" "got_$a"))" test "$(tb_kv "$fa" "got_$a")" -gt 0
  if [[ $(tb_kv "$fa" want_none) != unknown ]]; then
    tb_assert "A: $a replayed exactly the flows of its buckets (want $(tb_kv "$fa" "want_$a"), got $(tb_kv "$fa" "got_$a"))" \
      test "$(tb_kv "$fa" "want_$a")" -eq "$(tb_kv "$fa" "got_$a")"
  fi
done

# ---- B: cap-2 killed mid-run ---------------------------------------------------------
tb_log_truncate online
tb_log_truncate target
lua=$(tb_wrk_delay_lua 10)
tb_bg client "$TB_RUN/wrk-B.txt" timeout $((BSECS + 30)) wrk -t2 -c4 "-d${BSECS}s" -s "$lua" \
  -H 'Connection: close' "http://$ONL/"
WRK=$TB_LASTPID
sleep "$KILL_AT"
T_KILL=$(date +%s.%N)
kill -KILL "${CPID[cap-2]}"
wait "${CPID[cap-2]}" 2>/dev/null || true
T0=$SECONDS
wait_for "st $TB_RUN/st-B.json && [[ \$(row $TB_RUN/st-B.json cap-2 shard_buckets) == 0 ]] && ready cap-1 cap-3" $((HB + 5)) ||
  { cat "$TB_RUN/st-B.json" >&2; tb_die "no re-shard after cap-2 was killed"; }
tb_log "B: re-shard seen $((SECONDS - T0)) s after the kill: $(buckets "$TB_RUN/st-B.json")"
rc=0; wait "$WRK" || rc=$?
[[ $rc -eq 0 ]] || tb_die "wrk failed ($rc): $(cat "$TB_RUN/wrk-B.txt")"
settle
st "$TB_RUN/st-B.json"
fb=$(flows "$TB_RUN/st-B.json" "$T_KILL" "$HB")
tb_log "B: $(tr '\n' ' ' <<<"$fb")"
tb_assert "B: status shows cap-2 down" test "$(row "$TB_RUN/st-B.json" cap-2 up)" = false
tb_assert "B: cap-1 + cap-3 hold all 1024 buckets ($(buckets "$TB_RUN/st-B.json"))" \
  jq -e '[.agents[] | select(.id == "cap-1" or .id == "cap-3") | .shard_buckets] | add == 1024' "$TB_RUN/st-B.json"
tb_assert "B: replayd counted the re-shard" \
  jq -e '.agents[] | select(.id == "replayd") | .counters.reshards >= 1' "$TB_RUN/st-B.json"
tb_log "B: sessions lost with cap-2 (its last sess_active): $(jq -r '.agents[] | select(.id == "replayd") | .counters.shard_sessions_lost' "$TB_RUN/st-B.json")"
tb_assert "B: no flow replayed twice ($(tb_kv "$fb" twice))" test "$(tb_kv "$fb" twice)" -eq 0
tb_assert "B: every mapped replay is an online flow (unmatched $(tb_kv "$fb" unmatched))" test "$(tb_kv "$fb" unmatched)" -eq 0
tb_assert "B: flows finished before the kill replayed exactly once ($(tb_kv "$fb" pre_once)/$(tb_kv "$fb" pre_flows))" \
  test "$(tb_kv "$fb" pre_once)" -eq "$(tb_kv "$fb" pre_flows)" -a "$(tb_kv "$fb" pre_flows)" -gt 50
post=$(tb_kv "$fb" post_flows); postr=$(tb_kv "$fb" post_replayed)
tb_assert "B: flows started > heartbeat timeout after the kill replayed by the survivors: $postr/$post = $(tb_ratio "$postr" "$post") >= 0.999" \
  tb_frac_ge "$postr" "$post" 0.999
tb_assert "B: there were such flows ($post >= 100)" test "$post" -ge 100
tb_log "B: flows around the kill (lost with cap-2 or before the re-shard): $(tb_kv "$fb" gap_missing) of $(tb_kv "$fb" gap_flows) not replayed"

# ---- C: cap-2 comes back during keep-alive connections ---------------------------------
tb_log_truncate online
tb_log_truncate target
tb_bg client "$TB_RUN/wrk-C.txt" timeout $((CSECS + 30)) wrk -t2 -c8 "-d${CSECS}s" -s "$lua" "http://$ONL/"
WRK=$TB_LASTPID
sleep 2
start_copy cap-2 -2
wait_for "ready ${CAPS[*]} && st $TB_RUN/st-C.json && jq -e '[.agents[] | select(.capture_group == \"span-a\") | .shard_buckets] | all(. > 200)' $TB_RUN/st-C.json >/dev/null" 10 ||
  { cat "$TB_RUN/st-C.json" >&2; tb_die "cap-2 did not get its buckets back"; }
tb_log "C: cap-2 back: $(buckets "$TB_RUN/st-C.json")"
rc=0; wait "$WRK" || rc=$?
[[ $rc -eq 0 ]] || tb_die "wrk failed ($rc): $(cat "$TB_RUN/wrk-C.txt")"
settle
chk=$(tb_conn_check "$(tb_access_log online)" "$(tb_access_log target)" 1)
tb_log "C: $(tr '\n' ' ' <<<"$chk")"
tb_assert "C: every request replayed exactly once (target $(tb_kv "$chk" target_reqs) == online $(tb_kv "$chk" online_reqs))" \
  test "$(tb_kv "$chk" target_reqs)" -eq "$(tb_kv "$chk" online_reqs)" -a "$(tb_kv "$chk" online_reqs)" -ge 200
tb_assert "C: per-connection request counts equal ($(tb_kv "$chk" multiset_diff))" test "$(tb_kv "$chk" multiset_ok)" = 1
fin=0
for a in cap-1 cap-3; do fin=$((fin + $(tb_stat "${STATS[$a]}" shard_finishing))); done
tb_log "C: packets finished by cap-1/cap-3 after their buckets moved: $fin; cap-2 mid-stream sessions skipped: $(tb_stat "${STATS[cap-2]}" sess_skipped_midstream)"

for a in "${CAPS[@]}"; do
  rc=0; tb_stop "${CPID[$a]}" 10 || rc=$?
  tb_assert "$a exited cleanly (rc=$rc)" test "$rc" -eq 0
done
tb_finish
