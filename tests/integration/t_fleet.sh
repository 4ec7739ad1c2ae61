#!/usr/bin/env bash
# t_fleet: the fleet control plane (issue 3) on one machine.
#
# Bed (lib.sh, one namespace per host, bridge in its own namespace):
#   client      wrk, one bounded wrk process per online host (the "load balancer")
#   online1/2   nginx + replay-copy cap-1 / cap-2
#   capture     a third capture host: nginx (light load) + replay-copy cap-3
#   assistant1/2  replay-intercept assist-1 / assist-2 (black holes)
#   target      nginx under test; routes: exactly what `replayctl routes` prints
#   controller  replayd --insecure, replayctl
#
# Phases, each with its own assertions:
#   A  baseline (copies 1): keep-alive, then Connection: close
#   B  replayd kill -9 + restart (same --state-dir) in the middle of the load
#   C  kill -9 of copy agent cap-2 (shown down, restarted: same slice/offset),
#      and SIGSTOP of cap-3 (only the heartbeat timeout can notice it)
#   D  broken plans: exit 3, JSON path in the message, nothing changes
#   E  apply --dry-run of a changed plan: a diff, nothing changes
#   F  amplification, copies 3 across the 3 agents: keep-alive, then close
#
# Evidence, and why each counter is the right one:
#   * requests: the target's access log ($remote_addr $remote_port $connection
#     $connection_requests $msec $connection_time ...) against the online
#     hosts' logs. Each source address is mapped to the agent whose
#     client_range (from `status --json`) contains it, so each slice is
#     compared with the one online host whose traffic that agent captures:
#     >= 99.9% (and never more) with copies 1, exactly 3x with copies 3 (there
#     also the per-connection request counts, per agent).
#   * connections: the copy agents' `sess_opened` counts replayed sessions
#     (one per captured SYN and copy), and nginx's stub_status `accepts`
#     counts accepted connections, including those a load generator opened
#     just before its deadline and closed without a request (they never reach
#     an access log). So, exactly, per agent: delta sess_opened ==
#     copies x delta accepts(its online host), and fleet-wide:
#     sum of delta sess_opened == delta accepts(target). The stub_status probes
#     are made from the host itself (loopback, never captured) and their own
#     accepted connection is subtracted.
#   * status --json: totals[k] == sum over agents of counters[k] (every key),
#     and each copy agent's row equals the agent's own --stats-json line.
#   * 4-tuples: keep-alive connections all live together, so distinct
#     (src ip, src port) == connections on the target is the "no shared live
#     tuple" check; with Connection: close a tuple may be reused, but only
#     after the previous connection's last request (checked from $msec -
#     $connection_time, 2 ms tolerance for the two millisecond roundings), and
#     the per-connection request counts must be the online ones (a collision
#     merges or loses requests). port_collisions must be 0 where no tuple can
#     be reused (keep-alive) and is reported elsewhere.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns jq
require_bins replayd replayctl replay-copy replay-intercept

SECS=${T_SECS:-5}            # seconds per load phase
HB=5                         # replayd --heartbeat-timeout (the default)
POOL=$TB_CLIENT_RANGE        # 10.250.0.0/16 unless overridden
PORT=36523
COPIES=(cap-1 cap-2 cap-3)
ICPTS=(assist-1 assist-2)
declare -A HOST_OF=([cap-1]=online1 [cap-2]=online2 [cap-3]=capture)
declare -A STATS=()          # copy agent id -> its current --stats-json file
declare -A CPID=()           # copy agent id -> pid
T0=$SECONDS

# Programs snapshot, CIP/TIP/CDIR, the target without lib.sh's client route.
tb_fleet_bed client=10 online1=21 online2=22 capture=23 target=30 assistant1=41 assistant2=42 controller=50

# ---- helpers -------------------------------------------------------------------

ctl() { tb_exec controller "$RF_BIN/replayctl" -c "$CIP:$PORT" --timeout 5 "$@"; }

# fl_status FILE: one `status --json` snapshot (atomically replaced).
fl_status() { ctl status --json >"$1.tmp" 2>"$1.err" && mv "$1.tmp" "$1"; }

# fl_q FILE JQ_FILTER: one value from a status snapshot (jq: python starts
# far too slowly on a loaded machine for polling loops).
fl_q() { jq -rc "$2" "$1"; }
# fl_row FILE ID FIELD: one field of one agent's row.
fl_row() { jq -rc --arg id "$2" ".agents[] | select(.id == \$id) | .$3" "$1"; }

# fl_ready [IDS...]: every named agent (default: all five) is up and has acked
# the current generation.
# shellcheck disable=SC2120 # called with ids through tb_assert
fl_ready() {
  local f="$TB_RUN/ready.json"
  local ids="${*:-${COPIES[*]} ${ICPTS[*]}}"
  fl_status "$f" || return 1
  jq -e --arg ids "$ids" '($ids | split(" ")) as $w | .generation as $g
    | [.agents[] | select(.id as $i | $w | index([$i])) | select(.up and .acked_generation == $g)]
    | length == ($w | length)' "$f" >/dev/null
}

# fl_agent_up FILE ID: prints true/false.
fl_agent_up() { fl_row "$1" "$2" up; }

# fl_assign FILE: the assignment table, one sorted line per copy/intercept
# agent (id range offset paired), plus the generation.
fl_assign() {
  jq -r '"generation \(.generation)", (.agents | sort_by(.id)[]
    | select(.role == "copy" or .role == "intercept")
    | "\(.id) \(.role) \(if .client_range == "" then "-" else .client_range end) \(if .role == "copy" then .port_offset else "-" end) \(if .paired_with == "" then "-" else .paired_with end)")' "$1"
}

# fl_nginx HOST: tb_nginx plus a stub_status location (/rf_stub, not logged),
# loaded with a HUP before any traffic; `accepts` is an exact count of the
# connections the host's nginx accepted.
fl_nginx() {
  local h=$1 d
  d=$(tb_dir "$h")
  tb_nginx "$h"
  sed -i 's|^    location / {|    location = /rf_stub { stub_status; access_log off; }\n&|' "$d/nginx.conf"
  kill -HUP "$(cat "$d/nginx.pid")"
  wait_for "fl_accepts $h >/dev/null 2>&1" 10 || tb_die "stub_status on $h not available"
}

# fl_accepts HOST: nginx `accepts` of HOST (its own probe connection included).
fl_accepts() {
  local ip; ip=$(tb_ip "$1")
  # shellcheck disable=SC2016 # expanded by the inner bash
  tb_exec "$1" timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/80"; printf "GET /rf_stub HTTP/1.0\r\nHost: x\r\n\r\n" >&3; cat <&3' _ "$ip" |
    awk '/^server accepts/ { getline; print $1; ok = 1 } END { exit !ok }'
}

# fl_start_copy ID [TAG]: replay-copy in fleet mode on its host (pid in CPID).
fl_start_copy() {
  local id=$1 tag=${2:-} h d
  h=${HOST_OF[$id]}; d=$(tb_dir "$h")
  STATS[$id]="$d/copy$tag.stats"
  tb_bg "$h" "$d/copy$tag.log" "$RF_BIN/replay-copy" --controller "$CIP:$PORT" --id "$id" \
    -i eth0 --stats-json "${STATS[$id]}"
  CPID[$id]=$TB_LASTPID
}

# fl_replayd TAG: start replayd on the controller (pid in RD_PID).
fl_replayd() {
  tb_bg controller "$CDIR/replayd$1.log" "$RF_BIN/replayd" --listen "$CIP:$PORT" \
    --state-dir "$CDIR/state" --insecure --heartbeat-timeout "$HB"
  RD_PID=$TB_LASTPID
  RD_LOG="$CDIR/replayd$1.log"
  if ! wait_for "tb_listening controller $PORT || ! _tb_alive $RD_PID" 10 || ! _tb_alive "$RD_PID"; then
    cat "$CDIR/replayd$1.log" >&2
    tb_die "replayd did not come up"
  fi
}

# fl_plan FILE COPIES [EXTRA_JSON_MEMBERS]: write a plan.
fl_plan() {
  cat >"$1" <<EOF
{"name":"fleet","transfers":["80-$TIP:80"],"client_pool":"$POOL",
 "copy_agents":["cap-1","cap-2","cap-3"],"intercepts":["assist-1","assist-2"],
 "copies":$2,"sample_percent":100,"rate_limit_pps":0,"session_timeout_s":60${3:+,$3}}
EOF
}

# fl_apply_ok FILE: apply a plan, wait until every agent acked it.
fl_apply_ok() {
  local out rc=0
  out=$(ctl apply "$1" 2>&1) || rc=$?
  printf '%s\n' "$out" | sed 's/^/  apply| /' >&2
  [[ $rc -eq 0 ]] || tb_die "apply $1 failed (exit $rc)"
  wait_for fl_ready 15 || { cat "$TB_RUN/ready.json" >&2; tb_die "agents did not ack the plan"; }
}

# Load: one bounded wrk process per online host, all from the client host (a
# load balancer spreading the clients over the pool of online servers).
# fl_load_start TAG SECS DELAY_MS C_ONLINE1 C_ONLINE2 C_CAPTURE [WRK_ARGS...]
WRK_PIDS=()
fl_load_start() {
  local tag=$1 secs=$2 delay=$3 h c i=0 lua; shift 3
  local -a conns=("$1" "$2" "$3"); shift 3
  lua=$(tb_wrk_delay_lua "$delay")
  WRK_PIDS=()
  for h in online1 online2 capture; do
    c=${conns[$i]}; i=$((i + 1))
    tb_bg client "$TB_RUN/wrk-$tag-$h.txt" timeout $((secs + 30)) \
      wrk -t1 "-c$c" "-d${secs}s" -s "$lua" "$@" "http://$(tb_ip "$h")/"
    WRK_PIDS+=("$TB_LASTPID")
  done
}
fl_load_wait() {
  local p rc
  for p in "${WRK_PIDS[@]}"; do
    rc=0; wait "$p" || rc=$?
    [[ $rc -eq 0 ]] || tb_die "wrk (pid $p) failed with $rc: $(cat "$TB_RUN"/wrk-*.txt)"
  done
}
fl_online_total() { echo $(($(tb_log_count online1) + $(tb_log_count online2) + $(tb_log_count capture))); }
fl_truncate() { local h; for h in online1 online2 capture target; do tb_log_truncate "$h"; done; }

# fl_snap TAG: accepts of every nginx, for the connection counts of a phase.
declare -A ACC=()
fl_snap() {
  local h
  for h in online1 online2 capture target; do
    ACC[$1-$h]=$(fl_accepts "$h") || tb_die "stub_status of nginx on $h did not answer"
  done
}

# fl_settled FILE: status rows of the copy agents equal the agents' own last
# --stats-json lines (the replay is over and both have reported since).
SETTLE_KEYS='[.cap_pkts, .accepted_pkts, .replayed_pkts, .replayed_bytes, .sess_opened, .sess_completed, .port_collisions, .resp_received] | @tsv'
fl_settled() {
  fl_status "$1" || return 1
  local a own row
  for a in "${COPIES[@]}"; do
    row=$(jq -r --arg id "$a" ".agents[] | select(.id == \$id) | .counters | $SETTLE_KEYS" "$1") || return 1
    own=$(tail -n 1 "${STATS[$a]}" | jq -r ".counters | $SETTLE_KEYS" 2>/dev/null) || return 1
    [[ -n $row && $row == "$own" ]] || return 1
  done
}

# The analysis scripts (written once).
cat >"$TB_RUN/analyze.py" <<'EOF'
# analyze.py STATUS POOL K TARGET_LOG ID=ONLINE_LOG...: the target's access log
# against the online hosts' logs and the agents' slices. key=value lines.
import ipaddress, json, sys
from collections import Counter, defaultdict
st, pool, k, tlog = sys.argv[1], ipaddress.ip_network(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
pairs = [a.split("=", 1) for a in sys.argv[5:]]
d = json.load(open(st))
rows = {a["id"]: a for a in d["agents"]}
slices = {i: ipaddress.ip_network(rows[i]["client_range"]) for i, _ in pairs}

def load(path):
    conns = defaultdict(lambda: {"n": 0, "start": 1e30, "end": 0.0, "tuple": None})
    lines = 0
    for line in open(path):
        p = line.split(" ", 7)
        if len(p) < 7:
            continue
        lines += 1
        c = conns[p[2]]
        c["n"] += 1
        c["tuple"] = (p[0], p[1])
        msec, age = float(p[4]), float(p[5])
        c["start"] = min(c["start"], msec - age)
        c["end"] = max(c["end"], msec)
    return lines, conns

tl, tc = load(tlog)
out = {"target_reqs": tl, "target_conns": len(tc)}
out["online_reqs"] = 0
out["online_conns"] = 0
outside_pool = outside_slices = 0
slice_reqs, slice_conns = Counter(), defaultdict(list)
for c in tc.values():
    a = ipaddress.ip_address(c["tuple"][0])
    if a not in pool:
        outside_pool += c["n"]
        continue
    owner = [i for i, n in slices.items() if a in n]
    if len(owner) != 1:
        outside_slices += c["n"]
        continue
    slice_reqs[owner[0]] += c["n"]
    slice_conns[owner[0]].append(c)
out["outside_pool"] = outside_pool
out["outside_slices"] = outside_slices
ms_bad = []
for i, path in pairs:
    ol, oc = load(path)
    out["online_reqs"] += ol
    out["online_conns"] += len(oc)
    out["on_reqs_" + i] = ol
    out["on_conns_" + i] = len(oc)
    out["sl_reqs_" + i] = slice_reqs[i]
    out["sl_conns_" + i] = len(slice_conns[i])
    out["sl_addrs_" + i] = len({c["tuple"][0] for c in slice_conns[i]})
    out["range_" + i] = rows[i]["client_range"]
    want = Counter()
    for c in oc.values():
        want[c["n"]] += k
    got = Counter(c["n"] for c in slice_conns[i])
    diff = ["%d:%d/%d" % (n, got[n], want[n]) for n in sorted(set(want) | set(got)) if want[n] != got[n]]
    out["ms_ok_" + i] = 0 if diff else 1
    out["ms_diff_" + i] = ",".join(diff[:8]) or "-"
    if diff:
        ms_bad.append(i)
out["ms_bad"] = ",".join(ms_bad) or "-"
tuples = defaultdict(list)
for c in tc.values():
    tuples[c["tuple"]].append(c)
out["target_tuples"] = len(tuples)
out["max_conns_per_tuple"] = max([len(v) for v in tuples.values()] or [0])
gap, overlaps = None, 0
for cs in tuples.values():
    cs.sort(key=lambda c: c["start"])
    for a, b in zip(cs, cs[1:]):
        g = (b["start"] - a["end"]) * 1000
        if g < -2.0:
            overlaps += 1
        gap = g if gap is None or g < gap else gap
out["reused_tuples"] = sum(1 for v in tuples.values() if len(v) > 1)
out["overlaps"] = overlaps
out["min_reuse_gap_ms"] = "-" if gap is None else "%.0f" % gap
# Slices: inside the pool, pairwise disjoint, inside the block of the paired
# intercept; offsets unique.
bad = []
ids = [i for i, _ in pairs]
for x in ids:
    if not slices[x].subnet_of(pool):
        bad.append(x + " outside pool")
    p = rows[x]["paired_with"]
    if p not in rows or not slices[x].subnet_of(ipaddress.ip_network(rows[p]["client_range"])):
        bad.append("%s not inside block of %s" % (x, p))
    for y in ids:
        if x < y and slices[x].overlaps(slices[y]):
            bad.append(x + "~" + y)
offs = [rows[x]["port_offset"] for x in ids]
if len(set(offs)) != len(offs):
    bad.append("offsets %s" % offs)
out["slice_problems"] = ";".join(bad) or "-"
for kk, v in out.items():
    print("%s=%s" % (kk, v))
EOF
cat >"$TB_RUN/counters.py" <<'EOF'
# counters.py BEFORE AFTER ID=STATSFILE...: status --json consistency and
# per-agent deltas. key=value lines.
import json, sys
b, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
files = [x.split("=", 1) for x in sys.argv[3:]]
rb = {r["id"]: r for r in b["agents"]}
ra = {r["id"]: r for r in a["agents"]}
out = {}
# totals == sum of rows, for every counter name.
bad = []
for key, v in a["totals"].items():
    s = sum(r["counters"].get(key, 0) for r in a["agents"])
    if s != v:
        bad.append("%s:%s!=%s" % (key, v, s))
out["totals_keys"] = len(a["totals"])
out["totals_bad"] = ",".join(bad[:8]) or "-"
# each copy agent's row == its own last stats line.
KEYS = ("cap_pkts", "accepted_pkts", "replayed_pkts", "replayed_bytes", "sess_opened",
        "sess_completed", "port_collisions", "resp_received")
mism = []
for i, path in files:
    last = None
    for line in open(path):
        try:
            last = json.loads(line)
        except ValueError:
            pass
    own = (last or {}).get("counters", {})
    for key in KEYS:
        if ra[i]["counters"].get(key) != own.get(key):
            mism.append("%s.%s:%s/%s" % (i, key, ra[i]["counters"].get(key), own.get(key)))
out["agent_mismatch"] = ",".join(mism[:8]) or "-"
for key in ("sess_opened", "port_collisions", "sess_reset", "sess_timedout", "sess_shed",
            "retransmits", "send_errors", "replayed_pkts", "accepted_pkts"):
    tot = 0
    for i, _ in files:
        dlt = ra[i]["counters"].get(key, 0) - rb[i]["counters"].get(key, 0)
        out["d_%s_%s" % (key, i)] = dlt
        tot += dlt
    out["d_" + key] = tot
for kk, v in out.items():
    print("%s=%s" % (kk, v))
EOF

kv() { tb_kv "$1" "$2"; }

# fl_drain K: after the load, wait until the target has K x online requests
# (or stops moving), then until it is stable; prints the target count.
fl_drain() {
  local want=$(($1 * $(fl_online_total)))
  tb_wait_count "tb_log_count target" "$want" 30 >/dev/null
  tb_wait_stable "tb_log_count target" 2 10
}

# fl_check NAME K MODE EXACT: every assertion on one phase's logs and
# counters. Needs ACC[NAME0-*] (before) and $TB_RUN/NAME-before.json.
fl_check() {
  local name=$1 k=$2 mode=$3 exact=$4 a h
  local before="$TB_RUN/$name-before.json" after="$TB_RUN/$name-after.json"
  # Counters settle: both the status row and the agent's own line are final.
  wait_for "fl_settled $after" 10 || true
  fl_snap "$name"1
  local -a pairs=() files=()
  for a in "${COPIES[@]}"; do
    pairs+=("$a=$(tb_access_log "${HOST_OF[$a]}")")
    files+=("$a=${STATS[$a]}")
  done
  local r c
  r=$(python3 "$TB_RUN/analyze.py" "$after" "$POOL" "$k" "$(tb_access_log target)" "${pairs[@]}")
  c=$(python3 "$TB_RUN/counters.py" "$before" "$after" "${files[@]}")
  printf '%s\n' "$r" >"$TB_RUN/$name.analysis"
  printf '%s\n' "$c" >"$TB_RUN/$name.counters"
  for h in online1 online2 capture target; do cp "$(tb_access_log "$h")" "$TB_RUN/$name-$h.log"; done
  local on t
  on=$(kv "$r" online_reqs); t=$(kv "$r" target_reqs)
  tb_log "$name: online $on requests ($(for h in online1 online2 capture; do printf '%s=%s ' "$h" "$(tb_wrk_rps "$TB_RUN/wrk-$name-$h.txt")"; done)req/s), target $t, ratio $(tb_ratio "$t" "$on") (ideal $k)"
  tb_log "$name: $(grep -v '^ms_diff_.*=-$' <<<"$r" | tr '\n' ' ')"
  tb_log "$name: $(tr '\n' ' ' <<<"$c")"
  tb_log "$name: status achieved=$(fl_q "$after" .achieved) requested=$(fl_q "$after" .requested)"

  tb_assert "$name: the online hosts served a real load (>= 1500 requests: $on)" test "$on" -ge 1500
  if ((exact)); then
    tb_assert "$name: target got exactly ${k}x online ($t vs $((k * on)))" test "$t" -eq $((k * on))
  else
    tb_assert "$name: target got >= 99.9% of ${k}x online ($t vs $((k * on)))" tb_frac_ge "$t" $((k * on)) 0.999
    tb_assert "$name: target got no more than ${k}x online ($t vs $((k * on)))" test "$t" -le $((k * on))
  fi
  for a in "${COPIES[@]}"; do
    local on_i sl_i
    on_i=$(kv "$r" "on_reqs_$a"); sl_i=$(kv "$r" "sl_reqs_$a")
    if ((exact)); then
      tb_assert "$name: $a's slice $(kv "$r" "range_$a") got exactly ${k}x ${HOST_OF[$a]}'s requests ($sl_i vs $((k * on_i)))" \
        test "$sl_i" -eq $((k * on_i))
    else
      tb_assert "$name: $a's slice $(kv "$r" "range_$a") got >= 99.9% and <= 100% of ${HOST_OF[$a]}'s requests ($sl_i vs $((k * on_i)))" \
        eval "tb_frac_ge $sl_i $((k * on_i)) 0.999 && ((sl_i <= k * on_i))"
    fi
    # Exact connection accounting (see the header): sess_opened vs accepts.
    local acc_i=$((ACC[${name}1-${HOST_OF[$a]}] - ACC[${name}0-${HOST_OF[$a]}] - 1))
    tb_assert "$name: $a sess_opened delta == ${k} x ${HOST_OF[$a]} accepted connections ($(kv "$c" "d_sess_opened_$a") vs $k x $acc_i)" \
      test "$(kv "$c" "d_sess_opened_$a")" -eq $((k * acc_i))
    tb_assert "$name: $a used $k source address(es) in its slice ($(kv "$r" "sl_addrs_$a"); one client IP, $k copies)" \
      test "$(kv "$r" "sl_addrs_$a")" -eq "$k"
  done
  local tacc=$((ACC[${name}1-target] - ACC[${name}0-target] - 1))
  tb_assert "$name: fleet sum of sess_opened delta == target accepted connections ($(kv "$c" d_sess_opened) vs $tacc; target log has $(kv "$r" target_conns) connections with requests)" \
    test "$(kv "$c" d_sess_opened)" -eq "$tacc"
  tb_assert "$name: every target source address inside the pool $POOL ($(kv "$r" outside_pool) requests outside)" \
    test "$(kv "$r" outside_pool)" -eq 0
  tb_assert "$name: every target source address inside its agent's slice ($(kv "$r" outside_slices) requests in no slice)" \
    test "$(kv "$r" outside_slices)" -eq 0
  tb_assert "$name: slices disjoint, inside their intercept's block, offsets unique ($(kv "$r" slice_problems))" \
    test "$(kv "$r" slice_problems)" = -
  if ((exact)); then
    tb_assert "$name: per-connection request counts are $k copies of the online ones, per agent (bad: $(kv "$r" ms_bad))" \
      test "$(kv "$r" ms_bad)" = -
  fi
  if [[ $mode == keepalive ]]; then
    tb_assert "$name: every live session has its own src ip:port ($(kv "$r" target_tuples) tuples for $(kv "$r" target_conns) connections)" \
      test "$(kv "$r" target_tuples)" -eq "$(kv "$r" target_conns)"
    tb_assert "$name: port_collisions delta is 0 (keep-alive: no tuple can be reused; got $(kv "$c" d_port_collisions))" \
      test "$(kv "$c" d_port_collisions)" -eq 0
  else
    tb_assert "$name: a reused src ip:port only after the previous connection ($(kv "$r" overlaps) overlaps; $(kv "$r" reused_tuples) reused tuples, min gap $(kv "$r" min_reuse_gap_ms) ms)" \
      test "$(kv "$r" overlaps)" -eq 0
  fi
  tb_assert "$name: status totals == sum of agents for all $(kv "$c" totals_keys) counters (bad: $(kv "$c" totals_bad))" \
    test "$(kv "$c" totals_bad)" = -
  tb_assert "$name: status rows == the copy agents' own counters (mismatch: $(kv "$c" agent_mismatch))" \
    test "$(kv "$c" agent_mismatch)" = -
  tb_assert "$name: no send errors ($(kv "$c" d_send_errors))" test "$(kv "$c" d_send_errors)" -eq 0
}

# fl_phase NAME K MODE EXACT SECS DELAY C1 C2 C3 [WRK_ARGS...]
fl_phase() {
  local name=$1 k=$2 mode=$3 exact=$4 secs=$5 delay=$6 c1=$7 c2=$8 c3=$9; shift 9
  fl_truncate
  fl_status "$TB_RUN/$name-before.json"
  fl_snap "$name"0
  fl_load_start "$name" "$secs" "$delay" "$c1" "$c2" "$c3" "$@"
  fl_load_wait
  fl_drain "$k" >/dev/null
  fl_check "$name" "$k" "$mode" "$exact"
}

# ---- bring the fleet up ------------------------------------------------------------

for h in online1 online2 capture target; do fl_nginx "$h"; done
fl_replayd ""
# Intercepts first (a copy agent connects to its intercept right after its
# assignment).
tb_start_intercept assistant1 "tcp and src host $TIP and src port 80" \
  --controller "$CIP:$PORT" --id assist-1 --advertise "$(tb_ip assistant1)"
IPID1=$TB_LASTPID
tb_start_intercept assistant2 "tcp and src host $TIP and src port 80" \
  --controller "$CIP:$PORT" --id assist-2 --advertise "$(tb_ip assistant2)"
IPID2=$TB_LASTPID
for a in "${COPIES[@]}"; do fl_start_copy "$a"; done
wait_for fl_ready 20 || { cat "$TB_RUN/ready.json" >&2; tb_die "the five agents did not register"; }
tb_log "fleet registered in $((SECONDS - T0)) s"

fl_plan "$CDIR/plan1.json" 1
fl_apply_ok "$CDIR/plan1.json"
fl_status "$TB_RUN/st-applied.json"
fl_assign "$TB_RUN/st-applied.json" >"$TB_RUN/assign0.txt"
tb_log "assignments: $(tr '\n' ';' <"$TB_RUN/assign0.txt")"
GEN1=$(fl_q "$TB_RUN/st-applied.json" .generation)

# Routes: exactly what replayctl prints, one block per intercept.
ctl routes >"$TB_RUN/routes.txt"
sed 's/^/  routes| /' "$TB_RUN/routes.txt" >&2
mapfile -t ROUTES < <(sed -nE 's/^ip route add ([0-9./]+) via ([0-9.]+).*/\1 \2/p' "$TB_RUN/routes.txt")
tb_assert "routes: one block per intercept (${#ROUTES[@]} lines)" test "${#ROUTES[@]}" -eq 2
want_routes=$(printf '%s %s\n' "$(fl_row "$TB_RUN/st-applied.json" assist-1 client_range)" "$(tb_ip assistant1)" \
  "$(fl_row "$TB_RUN/st-applied.json" assist-2 client_range)" "$(tb_ip assistant2)" | sort)
tb_assert "routes: each block is its intercept's range, via that assistant" \
  test "$(printf '%s\n' "${ROUTES[@]}" | sort)" = "$want_routes"
for r in "${ROUTES[@]}"; do
  read -r blk via <<<"$r"
  tb_exec target ip route replace "$blk" via "$via" dev eth0
done
tb_exec target ip route show | sed 's/^/  target route| /' >&2

# ---- A: baseline (copies 1) ------------------------------------------------------
# ~1.1k req/s online in total: 5 + 5 + 2 connections paced at 10 ms.
fl_phase A-keepalive 1 keepalive 0 "$SECS" 10 5 5 2
fl_phase A-close 1 close 0 "$SECS" 10 5 5 2 -H 'Connection: close'

# ---- B: replayd killed (-9) and restarted in the middle of the load ----------------------
name=B-restart
fl_truncate
fl_status "$TB_RUN/$name-before.json"
fl_assign "$TB_RUN/$name-before.json" >"$TB_RUN/assign-B0.txt"
ctl plan >"$TB_RUN/plan-B0.txt"
fl_snap "$name"0
fl_load_start "$name" 8 10 4 4 2 -H 'Connection: close'
# shellcheck disable=SC2016 # eval'd by wait_for
wait_for '(( $(tb_log_count target) >= 500 ))' 15 || tb_die "no replayed traffic before the replayd restart"
kill -KILL "$RD_PID"
wait "$RD_PID" 2>/dev/null || true
c0=$(tb_log_count target)
rc=0; ctl status >/dev/null 2>&1 || rc=$?
tb_assert "B: replayctl reports the controller unreachable (exit 4; got $rc)" test "$rc" -eq 4
# Replay must go on without the controller: the target log keeps growing.
grew=0
wait_for "(( \$(tb_log_count target) >= c0 + 500 ))" 5 && grew=1
c1=$(tb_log_count target)
tb_assert "B: replay continues while replayd is down (target log $c0 -> $c1)" test "$grew" -eq 1
t_restart=$SECONDS
fl_replayd "-2"
ok=0
wait_for fl_ready 25 && ok=1
tb_assert "B: all 5 agents reconnected to the restarted replayd and acked (in $((SECONDS - t_restart)) s)" test "$ok" -eq 1
fl_load_wait
fl_drain 1 >/dev/null
fl_status "$TB_RUN/$name-after.json"
fl_assign "$TB_RUN/$name-after.json" >"$TB_RUN/assign-B1.txt"
tb_assert "B: assignments and generation unchanged after the restart ($(diff "$TB_RUN/assign-B0.txt" "$TB_RUN/assign-B1.txt" | tr '\n' ' '))" \
  cmp -s "$TB_RUN/assign-B0.txt" "$TB_RUN/assign-B1.txt"
tb_assert "B: replayctl plan unchanged after the restart" cmp -s "$TB_RUN/plan-B0.txt" <(ctl plan)
tb_assert "B: replayctl routes unchanged after the restart" cmp -s "$TB_RUN/routes.txt" <(ctl routes)
fl_check "$name" 1 close 0

# ---- C: a copy agent killed (-9), then one frozen (SIGSTOP) --------------------------
fl_status "$TB_RUN/C-before.json"
fl_assign "$TB_RUN/C-before.json" >"$TB_RUN/assign-C0.txt"
t0=$(tb_now_ms)
kill -KILL "${CPID[cap-2]}"
wait "${CPID[cap-2]}" 2>/dev/null || true
ok=0
wait_for "fl_status $TB_RUN/C-down.json && [[ \$(fl_agent_up $TB_RUN/C-down.json cap-2) == false ]]" $((HB + 5)) && ok=1
dt=$(($(tb_now_ms) - t0))
tb_assert "C: cap-2 (kill -9) shown down within the heartbeat timeout (${dt} ms, timeout ${HB} s + 1 s tick)" \
  eval "((ok && dt <= (HB + 1) * 1000))"
tb_assert "C: the other agents stay up" fl_ready cap-1 cap-3 assist-1 assist-2
c=$(python3 "$TB_RUN/counters.py" "$TB_RUN/C-down.json" "$TB_RUN/C-down.json" "cap-1=${STATS[cap-1]}")
tb_assert "C: totals == sum of agents with an agent down (bad: $(kv "$c" totals_bad))" test "$(kv "$c" totals_bad)" = -
fl_start_copy cap-2 -r
ok=0
wait_for fl_ready 20 && ok=1
tb_assert "C: the restarted cap-2 is up and acked the current generation" test "$ok" -eq 1
fl_status "$TB_RUN/C-after.json"
fl_assign "$TB_RUN/C-after.json" >"$TB_RUN/assign-C1.txt"
tb_assert "C: cap-2 got the same slice, offset and intercept back ($(grep '^cap-2 ' "$TB_RUN/assign-C1.txt"))" \
  cmp -s "$TB_RUN/assign-C0.txt" "$TB_RUN/assign-C1.txt"

# A frozen agent keeps its TCP connection open: only the heartbeat timeout can
# notice it. The wall clock below includes the status polls (each one is a
# replayctl round trip on a loaded machine), so the precise figure is
# replayd's own "down: silent for N ms" log line.
t0=$(tb_now_ms)
kill -STOP "${CPID[cap-3]}"
ok=0
wait_for "fl_status $TB_RUN/C-stop.json && [[ \$(fl_agent_up $TB_RUN/C-stop.json cap-3) == false ]]" $((HB + 6)) && ok=1
dt=$(($(tb_now_ms) - t0))
kill -CONT "${CPID[cap-3]}"
silent=$(sed -nE 's/.*agent cap-3 \(copy\) down: silent for ([0-9]+) ms.*/\1/p' "$RD_LOG" | tail -n 1)
tb_assert "C: cap-3 (SIGSTOP, silent) shown down in status (${dt} ms after the SIGSTOP, polls included)" test "$ok" -eq 1
tb_assert "C: replayd declared cap-3 down after ${silent:-?} ms of silence (heartbeat timeout ${HB} s + its 1 s tick)" \
  eval "[[ -n '$silent' ]] && (( ${silent:-0} >= HB * 1000 && ${silent:-0} <= (HB + 1) * 1000 ))"
ok=0
wait_for "fl_ready || ! _tb_alive ${CPID[cap-3]}" 20 && _tb_alive "${CPID[cap-3]}" && fl_ready && ok=1
rc=alive
if ! _tb_alive "${CPID[cap-3]}"; then
  rc=0; wait "${CPID[cap-3]}" || rc=$?
fi
tb_assert "C: cap-3 came back by itself after SIGCONT and acked (process: $rc)" test "$ok" -eq 1
if [[ $rc != alive ]]; then
  # It died (the failure is counted above); restart it so that the later
  # phases still test what they are about.
  tb_log "C: cap-3 exited with $rc after SIGCONT; restarting it for the next phases"
  fl_start_copy cap-3 -r
  wait_for fl_ready 20 || tb_die "the restarted cap-3 did not come up"
fi
fl_status "$TB_RUN/C-after2.json"
tb_assert "C: cap-3 kept its slice, offset and intercept" \
  cmp -s "$TB_RUN/assign-C0.txt" <(fl_assign "$TB_RUN/C-after2.json")

# ---- D: broken plans are rejected, nothing changes -------------------------------
fl_status "$TB_RUN/D-before.json"
fl_assign "$TB_RUN/D-before.json" >"$TB_RUN/assign-D0.txt"
ctl plan >"$TB_RUN/plan-D0.txt"
rej0=$(fl_q "$TB_RUN/D-before.json" .totals.applies_rejected)
# fl_bad NAME PATH_IN_MESSAGE PLAN_JSON
fl_bad() {
  local n=$1 path=$2 f="$CDIR/bad-$1.json" out rc=0
  printf '%s\n' "$3" >"$f"
  out=$(ctl apply "$f" 2>&1) || rc=$?
  tb_log "D: $n -> exit $rc: $(tr '\n' ' ' <<<"$out")"
  tb_assert "D: $n: exit 3 (plan rejected; got $rc)" test "$rc" -eq 3
  tb_assert "D: $n: the message names the JSON path '$path'" grep -qF -- "$path" <<<"$out"
}
P="\"transfers\":[\"80-$TIP:80\"],\"intercepts\":[\"assist-1\",\"assist-2\"],\"copies\":1"
fl_bad bad-cidr "client_pool" "{$P,\"client_pool\":\"10.250.0.0/33\",\"copy_agents\":[\"cap-1\",\"cap-2\",\"cap-3\"]}"
fl_bad bad-cidr2 "client_pool" "{$P,\"client_pool\":\"10.250.0/16\",\"copy_agents\":[\"cap-1\",\"cap-2\",\"cap-3\"]}"
fl_bad unknown-agent "copy_agents[3]" "{$P,\"client_pool\":\"$POOL\",\"copy_agents\":[\"cap-1\",\"cap-2\",\"cap-3\",\"cap-9\"]}"
fl_bad unknown-key "colour" "{$P,\"client_pool\":\"$POOL\",\"copy_agents\":[\"cap-1\",\"cap-2\",\"cap-3\"],\"colour\":\"blue\"}"
fl_bad bad-rule "transfers[0]" "{\"transfers\":[\"80-10.199.0:80\"],\"intercepts\":[\"assist-1\",\"assist-2\"],\"client_pool\":\"$POOL\",\"copy_agents\":[\"cap-1\",\"cap-2\",\"cap-3\"]}"
fl_status "$TB_RUN/D-after.json"
tb_assert "D: replayctl plan unchanged after 5 rejected plans" cmp -s "$TB_RUN/plan-D0.txt" <(ctl plan)
tb_assert "D: generation and assignments unchanged ($(diff "$TB_RUN/assign-D0.txt" <(fl_assign "$TB_RUN/D-after.json") | tr '\n' ' '))" \
  cmp -s "$TB_RUN/assign-D0.txt" <(fl_assign "$TB_RUN/D-after.json")
rej1=$(fl_q "$TB_RUN/D-after.json" .totals.applies_rejected)
tb_assert "D: applies_rejected counted 5 ($rej0 -> $rej1)" test "$rej1" -eq $((rej0 + 5))
tb_assert "D: every agent still up on the generation in force" fl_ready

# ---- E: apply --dry-run of a changed plan ------------------------------------------
fl_plan "$CDIR/plan3.json" 3
dry0=$(fl_q "$TB_RUN/D-after.json" .totals.dry_runs)
rc=0; out=$(ctl apply "$CDIR/plan3.json" --dry-run 2>&1) || rc=$?
printf '%s\n' "$out" | sed 's/^/  dry-run| /' >&2
tb_assert "E: dry-run exits 0 (got $rc)" test "$rc" -eq 0
tb_assert "E: dry-run prints the diff (plan: copies 1 -> 3)" grep -q '^plan: copies 1 -> 3' <<<"$out"
tb_assert "E: dry-run prints a line per agent and a summary (5 agents unchanged: sticky)" \
  eval "(( \$(grep -cE '^= +(cap|assist)-[0-9]' <<<\"\$out\") == 5 )) && grep -q '^summary: 0 added, 0 changed, 5 unchanged, 0 removed' <<<\"\$out\""
tb_assert "E: dry-run says nothing was applied" grep -q 'dry run: nothing applied' <<<"$out"
fl_status "$TB_RUN/E-after.json"
tb_assert "E: generation and assignments unchanged by the dry run" \
  cmp -s "$TB_RUN/assign-D0.txt" <(fl_assign "$TB_RUN/E-after.json")
tb_assert "E: replayctl plan unchanged by the dry run" cmp -s "$TB_RUN/plan-D0.txt" <(ctl plan)
tb_assert "E: dry_runs counted ($dry0 -> $(fl_q "$TB_RUN/E-after.json" .totals.dry_runs))" \
  test "$(fl_q "$TB_RUN/E-after.json" .totals.dry_runs)" -eq $((dry0 + 1))
tb_assert "E: requested copies still 1" test "$(fl_q "$TB_RUN/E-after.json" .requested.copies)" -eq 1

# ---- F: amplification, copies 3 across the 3 agents -----------------------------
fl_apply_ok "$CDIR/plan3.json"
fl_status "$TB_RUN/F-applied.json"
gen=$(fl_q "$TB_RUN/F-applied.json" .generation)
tb_assert "F: the copies-3 plan is a new generation ($GEN1 -> $gen)" test "$gen" -eq $((GEN1 + 1))
tb_assert "F: status requests copies 3" test "$(fl_q "$TB_RUN/F-applied.json" .requested.copies)" -eq 3
tb_assert "F: nobody moved (slices, offsets, intercepts as before)" \
  cmp -s <(tail -n +2 "$TB_RUN/assign-D0.txt") <(fl_assign "$TB_RUN/F-applied.json" | tail -n +2)
# ~450 req/s online (3 + 3 + 1 connections paced at 12 ms), ~1.3k at the target.
fl_phase F-keepalive 3 keepalive 1 "$SECS" 12 3 3 1
fl_phase F-close 3 close 1 "$SECS" 12 3 3 1 -H 'Connection: close'

# ---- orderly shutdown ------------------------------------------------------------
for a in "${COPIES[@]}"; do
  rc=0; tb_stop "${CPID[$a]}" 10 || rc=$?
  tb_assert "$a exited cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
done
for p in "assist-1:$IPID1" "assist-2:$IPID2" "replayd:$RD_PID"; do
  rc=0; tb_stop "${p#*:}" 10 || rc=$?
  tb_assert "${p%%:*} exited cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
done
# A sanitizer build reports at exit into the logs.
tb_assert "no sanitizer report in the agents' or replayd's logs" \
  bash -c "! grep -Eqs 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \"\$@\"" _ \
  "$TB_RUN"/*/copy*.log "$TB_RUN"/*/intercept.log "$CDIR"/replayd*.log
tb_log "total runtime $((SECONDS - T0)) s"
tb_finish
