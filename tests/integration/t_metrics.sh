#!/usr/bin/env bash
# t_metrics: replayd --metrics (issue 7) on the namespace bed.
#
# Bed (lib.sh defaults): client (wrk), online (nginx + replay-copy cap-1),
# target (nginx), assistant (replay-intercept assist-1), controller
# (replayd --insecure --metrics CIP:9464; curl and replayctl run there).
#
# Checks:
#   1. after a bounded wrk load has drained, every per-agent counter of
#      `replayctl status --json` equals the Prometheus sample of the family
#      the counter tables (cp_stats.c, ic_stats.c) declare for it, e.g.
#      replayed_pkts -> replayfleet_copy_replayed_packets_total{agent=...}
#      (read between two status calls; a counter that still moves must lie
#      between the two reads), with the declared TYPE, and replayed > 0;
#   2. the page is well formed (one # TYPE per family, samples right after
#      their TYPE) and `promtool check metrics` finds nothing to say;
#   3. agent_up, last_seen_timestamp, acked_generation, agents{role,state},
#      build_info, process_*; no replayfleet_total_* family; gzip when asked;
#      404 for another path; the Prometheus content type;
#   4. a replayd with no key and no --insecure asked for --metrics on the
#      bed address binds 127.0.0.1 instead (same default as its listener).
# Exit 77 (SKIP) without root/netns/curl.
set -euo pipefail
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
D=$(tb_dir controller)
mkdir -p "$D/state2"
MURL="http://$CIP:9464/metrics"

tb_replayd controller --insecure --metrics "$CIP:9464" --metrics-insecure
scrape() { tb_exec controller curl -s -m 5 "$@"; }

tb_fleet_intercept assistant assist-1 "tcp and src host $TIP and src port 80"
tb_fleet_copy online cap-1
COPY_PID=$TB_LASTPID

cat >"$D/plan.json" <<EOF
{"name":"metrics","transfers":["80-$TIP:80"],"client_pool":"$TB_CLIENT_RANGE",
 "copy_agents":["cap-1"],"intercepts":["assist-1"],"copies":1,"sample_percent":100,
 "rate_limit_pps":0,"session_timeout_s":60}
EOF
tb_apply "$D/plan.json"
# Both agents acknowledged the plan and the copy agent reaches its intercept.
tb_fleet_ready 15 cap-1 assist-1
tb_log "plan applied; agents up"

tb_wrk "$TB_RUN/wrk.txt" client "http://$(tb_ip online)/" 3 8 10
tb_log "wrk: $(tb_wrk_rps "$TB_RUN/wrk.txt") req/s"
replayed() { tb_ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"].get("replayed_pkts",0))'; }
# Drained: replayed_pkts unchanged for 3 s (Stats are sent every second).
n=$(tb_wait_stable replayed 3 30)
tb_log "replay drained: replayed_pkts=$n"

tb_ctl status --json >"$D/st1.json"
scrape -D "$D/hdr.txt" "$MURL" >"$D/metrics.txt"
tb_ctl status --json >"$D/st2.json"

out=$(python3 - "$D/st1.json" "$D/st2.json" "$D/metrics.txt" "$RF_SRC" <<'EOF'
import json, re, sys
s1, s2 = (json.load(open(p)) for p in sys.argv[1:3])
page = open(sys.argv[3]).read()
# The counter tables: wire name -> (Prometheus name, type), per role.
tables = {}
for role, path in (("copy", "agent-copy/cp_stats.c"), ("intercept", "agent-intercept/ic_stats.c")):
    src = open(sys.argv[4] + "/" + path).read()
    tables[role] = {m.group(2): (m.group(3), "gauge" if m.group(1) == "G" else "counter")
                    for m in re.finditer(r'\b([CG])\((\w+), "([a-z0-9_]+)"', src)}
samples, types, problems = {}, {}, []
cur = None
for line in page.splitlines():
    if line.startswith("# HELP "):
        continue
    if line.startswith("# TYPE "):
        _, _, fam, typ = line.split(" ")
        if fam in types:
            problems.append("family %s declared twice" % fam)
        types[fam] = typ
        cur = fam
        continue
    m = re.match(r'^([a-zA-Z_][a-zA-Z0-9_]*)(\{[^}]*\})? (\S+)$', line)
    if not m:
        problems.append("bad line %r" % line)
        continue
    if m.group(1) != cur:
        problems.append("sample %s outside its family block" % m.group(1))
    samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))

def check(series, v1, v2):
    if series not in samples:
        problems.append("missing %s" % series)
        return 0
    v = samples[series]
    lo, hi = min(v1, v2), max(v1, v2)
    if not (lo <= v <= hi):
        problems.append("%s = %s, status said %s then %s" % (series, v, v1, v2))
    return 1

compared = 0
a1 = {a["id"]: a for a in s1["agents"]}
for a in s2["agents"]:
    if a["role"] == "controller":
        continue   # replayd's own counters move with every request we make
    b = a1.get(a["id"])
    tab = tables[a["role"]]
    for k, v2 in a["counters"].items():
        if k not in tab:
            problems.append("%s: counter %s is not in the %s table" % (a["id"], k, a["role"]))
            continue
        prom, typ = tab[k]
        fam = "replayfleet_%s_%s" % (a["role"], prom)
        if types.get(fam) != typ:
            problems.append("TYPE of %s is %s, the table says %s" % (fam, types.get(fam), typ))
        v1 = b["counters"].get(k, v2) if b else v2
        compared += check('%s{agent="%s"}' % (fam, a["id"]), v1, v2)
    check('replayfleet_agent_up{agent="%s",role="%s"}' % (a["id"], a["role"]), 1 if a["up"] else 0, 1 if a["up"] else 0)
    check('replayfleet_agent_acked_generation{agent="%s",role="%s"}' % (a["id"], a["role"]),
          b["acked_generation"] if b else a["acked_generation"], a["acked_generation"])
    if 'replayfleet_agent_last_seen_timestamp_seconds{agent="%s",role="%s"}' % (a["id"], a["role"]) not in samples:
        problems.append("no last_seen_timestamp for %s" % a["id"])
check("replayfleet_plan_generation", s1["generation"], s2["generation"])
check('replayfleet_agents{role="copy",state="up"}', 1, 1)
check('replayfleet_agents{role="intercept",state="up"}', 1, 1)
for fam in types:
    if fam.startswith("replayfleet_total_"):
        problems.append("fleet-total family %s" % fam)
    if types[fam] == "counter" and not fam.endswith("_total"):
        problems.append("counter %s does not end in _total" % fam)
for fam in ("replayfleet_build_info", "process_cpu_seconds_total", "process_resident_memory_bytes",
            "process_open_fds", "process_start_time_seconds"):
    if fam not in types:
        problems.append("no %s" % fam)
rep = samples.get('replayfleet_copy_replayed_packets_total{agent="cap-1"}', 0)
fwd = samples.get('replayfleet_intercept_responses_forwarded_total{agent="assist-1"}', 0)
print("compared=%d" % compared)
print("replayed=%d" % rep)
print("forwarded=%d" % fwd)
print("families=%d" % len(types))
print("problems=%d" % len(problems))
for p in problems[:20]:
    print("problem: " + p)
EOF
)
echo "$out" >&2
tb_assert "metrics equal status --json for $(tb_kv "$out" compared) series" test "$(tb_kv "$out" problems)" -eq 0
tb_assert "replayed_pkts > 0 in metrics ($(tb_kv "$out" replayed))" test "$(tb_kv "$out" replayed)" -gt 0
tb_assert "resp_forwarded > 0 in metrics ($(tb_kv "$out" forwarded))" test "$(tb_kv "$out" forwarded)" -gt 0
tb_assert "Prometheus content type" grep -qi '^Content-Type: text/plain; version=0.0.4' "$D/hdr.txt"
if command -v promtool >/dev/null; then
  promtool check metrics <"$D/metrics.txt" >"$D/promtool.txt" 2>&1 || true
  tb_assert "promtool check metrics: no findings ($(wc -l <"$D/promtool.txt") lines)" \
    test ! -s "$D/promtool.txt"
else
  tb_log "SKIP promtool check (package prometheus not installed)"
fi
# gzip when the scraper asks (Prometheus always does)
scrape -H 'Accept-Encoding: gzip' -D "$D/hdr_gz.txt" -o "$D/metrics.gz" "$MURL"
tb_assert "gzip when asked" grep -qi '^Content-Encoding: gzip' "$D/hdr_gz.txt"
tb_assert "gzip body inflates to a page" bash -c "gzip -dc '$D/metrics.gz' | grep -q '^replayfleet_build_info{'"
plain=$(wc -c <"$D/metrics.txt"); packed=$(wc -c <"$D/metrics.gz")
tb_log "page: $plain bytes plain, $packed gzipped"
code=$(scrape -o /dev/null -w '%{http_code}' "http://$CIP:9464/other" || true)
tb_assert "404 for another path (got $code)" test "$code" = 404

# replayctl for automation and for humans (issue 16): a plan with three
# errors lists all three, path first, and changes nothing; --json says
# whether the generation moved; agents/routes --json parse; status names
# no problem on this healthy bed.
cat >"$D/bad.json" <<EOF
{"bogus":1,"transfers":["80-$TIP:80"],"client_pool":"10.250.0.0/33",
 "copy_agents":["cap-1"],"intercepts":["assist-1"],"copies":0}
EOF
gen0=$(tb_ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
rc=0; tb_ctl apply "$D/bad.json" >"$D/bad.out" 2>&1 || rc=$?
cat "$D/bad.out" >&2
tb_assert "bad plan: exit 3 (rc=$rc)" test "$rc" -eq 3
tb_assert "bad plan: all three errors listed, path first" python3 -c "
import sys
l = open('$D/bad.out').read().splitlines()
want = ('replayctl apply: plan rejected (3 errors):', 'bogus: unknown key',
        'client_pool: \"10.250.0.0/33\": ', 'copies: 0 is out of range')
sys.exit(0 if len(l) >= 4 and all(l[i].startswith(w) for i, w in enumerate(want)) else 1)"
rc=0; tb_ctl apply --json "$D/bad.json" >"$D/bad.json.out" 2>/dev/null || rc=$?
tb_assert "bad plan --json: exit 3, 3 errors, generation did not move" python3 -c "
import json, sys
j = json.load(open('$D/bad.json.out'))
sys.exit(0 if $rc == 3 and not j['ok'] and len(j['errors']) == 3 and not j['generation_moved']
         and j['generation'] == $gen0 else 1)"
tb_ctl apply --json --dry-run "$D/plan.json" >"$D/dry.json.out"
tb_assert "dry run --json: ok, generation did not move" python3 -c "
import json, sys
j = json.load(open('$D/dry.json.out'))
sys.exit(0 if j['ok'] and j['dry_run'] and not j['generation_moved'] and j['generation'] == $gen0 else 1)"
tb_ctl agents --json >"$D/agents.json"
tb_assert "agents --json lists both agents" python3 -c "
import json, sys
a = json.load(open('$D/agents.json'))['agents']
sys.exit(0 if sorted(x['id'] for x in a) == ['assist-1', 'cap-1'] else 1)"
tb_ctl routes --json >"$D/routes.json"
tb_assert "routes --json: one block via the assistant" python3 -c "
import json, sys
r = json.load(open('$D/routes.json'))['routes']
sys.exit(0 if len(r) == 1 and r[0]['via'] == '$AIP' else 1)"
tb_ctl status >"$D/status.txt"
cat "$D/status.txt" >&2
tb_assert "status: header with fidelity and agents 2/2 up" \
  bash -c "grep -q '^fidelity ' '$D/status.txt' && grep -q 'agents 2/2 up' '$D/status.txt'"
tb_assert "status: no raw totals, no summed gauges" bash -c "! grep -qE 'TOTALS|icpt_up|ctl_up' '$D/status.txt'"

# Down is visible: stop the copy agent, its agent_up goes 0 within the
# heartbeat timeout (the connection close is immediate).
tb_stop "$COPY_PID" 10 || true
down() { grep -q '^replayfleet_agent_up{agent="cap-1",role="copy"} 0$' <<<"$(scrape "$MURL")"; }
tb_assert "agent_up 0 after the copy agent stops" wait_for down 10

# Loopback default: no key, no --insecure -> the metrics endpoint binds
# 127.0.0.1 whatever --metrics says.
tb_bg controller "$D/replayd2.log" "$RF_BIN/replayd" --listen "127.0.0.1:36533" \
  --state-dir "$D/state2" --metrics "$CIP:9465"
RD2=$TB_LASTPID
wait_for "tb_listening controller 9465" 10 || { cat "$D/replayd2.log" >&2; tb_die "replayd #2 did not come up"; }
tb_assert "keyless replayd: metrics not on $CIP" \
  bash -c "! ip netns exec $(tb_ns controller) curl -s -m 2 -o /dev/null http://$CIP:9465/metrics"
tb_assert "keyless replayd: metrics on 127.0.0.1" \
  bash -c "ip netns exec $(tb_ns controller) curl -sf -m 5 http://127.0.0.1:9465/metrics | grep -q '^replayfleet_plan_generation 0$'"
tb_assert "keyless replayd logged why" grep -q "metrics bind 127.0.0.1" "$D/replayd2.log"
tb_stop "$RD2" 10 || tb_assert "replayd #2 exits 0 on SIGTERM" false
rc=0
tb_stop "$RD_PID" 10 || rc=$?
tb_assert "replayd exits 0 on SIGTERM (rc=$rc)" test "$rc" -eq 0
tb_finish
