#!/usr/bin/env bash
# t_fleet_targets: one capture replayed to two targets (issue 15, part 2:
# target groups, the A/B case).
#
# Bed (lib.sh): client (wrk), online (nginx + replay-copy cap-1, fleet mode),
# targeta and targetb (nginx each: the "old" and the "new" version),
# assistant (replay-intercept assist-1, capturing both targets' answers),
# controller (replayd, replayctl).
# Plan: one transfer to targeta, target_groups v1 (the transfer's own target)
# and v2 (targetb). Asserted:
#   - `replayctl routes` prints one route per target group, naming the
#     group's target; each target gets only the lines of its group;
#   - cap-1's assignment carries two outputs whose ranges are the two halves
#     of its slot;
#   - every online request reaches each target exactly once (ratio 1.000 on
#     each, from the access logs);
#   - no foreign source on either target: targeta sees only v1's half,
#     targetb only v2's half (so the two never share a source address);
#   - `replayctl status --json` reports both groups with ratio 1.000 and
#     their sessions; the text status has a line per group; /metrics has
#     replayfleet_target_group_sessions_opened_total{group="v2"}.
# Network safety: only namespaces made by lib.sh; bounded wrk; tb_down on EXIT.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns jq nginx wrk curl
require_bins replayd replayctl replay-copy replay-intercept

POOL=$TB_CLIENT_RANGE
tb_up client=10 online=20 targeta=30 targetb=31 assistant=40 controller=50
ONL=$(tb_ip online)
TA=$(tb_ip targeta)
TB=$(tb_ip targetb)
CDIR=$(tb_dir controller)
# routes come from `replayctl routes` below, not from the bed
tb_exec targeta ip route del "$POOL"
tb_exec targetb ip route del "$POOL"

tb_nginx online
tb_nginx targeta
tb_nginx targetb
tb_replayd controller --insecure --metrics 127.0.0.1:9464
tb_fleet_intercept assistant assist-1 "tcp and src port 80 and (src host $TA or src host $TB)"
d=$(tb_dir online)
tb_fleet_copy online cap-1
CPID=$TB_LASTPID
tb_fleet_ready 20 cap-1=up assist-1=up

cat >"$CDIR/plan.json" <<EOF
{"name":"ab","transfers":["80-$TA:80"],"client_pool":"$POOL",
 "copy_agents":["cap-1"],"intercepts":["assist-1"],"session_timeout_s":30,
 "target_groups":[{"name":"v1"},{"name":"v2","target":"$TB"}]}
EOF
tb_apply "$CDIR/plan.json"
tb_fleet_ready 20 cap-1 assist-1

tb_ctl routes >"$TB_RUN/routes.txt"
sed 's/^/  routes| /' "$TB_RUN/routes.txt" >&2
tb_assert "routes: one line per target group, each naming its target" \
  bash -c "grep -c '# on target group v1 ($TA)\$' '$TB_RUN/routes.txt' | grep -qx 1 &&
           grep -c '# on target group v2 ($TB)\$' '$TB_RUN/routes.txt' | grep -qx 1"
for h in targeta targetb; do
  ip=$(tb_ip "$h")
  while read -r _ _ _ blk _ via _; do
    tb_exec "$h" ip route replace "$blk" via "$via" dev eth0
  done < <(grep "^ip route add .*($ip)\$" "$TB_RUN/routes.txt")
done

# the two halves of cap-1's slot: v1 the first, v2 the second
tb_ctl status --json >"$TB_RUN/st0.json"
SLOT=$(jq -r '.agents[] | select(.id == "cap-1") | .client_range' "$TB_RUN/st0.json")
read -r RA RB < <(python3 -c 'import ipaddress, sys
n = ipaddress.ip_network(sys.argv[1])
a, b = n.subnets(prefixlen_diff=1)
print(a, b)' "$SLOT")
tb_log "cap-1 slot $SLOT: v1 $RA, v2 $RB"
tb_assert "cap-1 logged both outputs with their halves" \
  bash -c "grep -q 'target group 0 \"v1\": range $RA, first target $TA:80' '$d/copy.log' &&
           grep -q 'target group 1 \"v2\": range $RB, first target $TB:80' '$d/copy.log'"

# load: paced Connection: close, every request its own session
lua=$(tb_wrk_delay_lua 10)
tb_exec client timeout 40 wrk -t2 -c4 -d8s -s "$lua" -H 'Connection: close' "http://$ONL/" \
  >"$TB_RUN/wrk.txt" 2>&1 || tb_die "wrk failed: $(cat "$TB_RUN/wrk.txt")"
on=$(tb_wait_stable "tb_log_count online" 2 10)
na=$(tb_wait_count "tb_log_count targeta" "$on" 30)
nb=$(tb_wait_count "tb_log_count targetb" "$on" 30)
tb_log "online $on requests, targeta $na ($(tb_ratio "$na" "$on")), targetb $nb ($(tb_ratio "$nb" "$on"))"
tb_assert "a real load ($on >= 500 online requests)" test "$on" -ge 500
tb_assert "targeta: ratio 1.000 ($na of $on)" test "$na" -eq "$on"
tb_assert "targetb: ratio 1.000 ($nb of $on)" test "$nb" -eq "$on"
oa=$(tb_addrs_outside "$(tb_access_log targeta)" "$RA")
ob=$(tb_addrs_outside "$(tb_access_log targetb)" "$RB")
tb_assert "targeta: no source outside v1's $RA ($oa foreign)" test "$oa" -eq 0
tb_assert "targetb: no source outside v2's $RB ($ob foreign)" test "$ob" -eq 0

# status: per group, the counters reach replayd within a Stats period or two.
# Sessions, not requests: wrk's last connections may end before a request,
# so the reference is the captured sessions (orig_sessions), each of which
# must be replayed once to each group.
want_status() {
  tb_ctl status --json >"$TB_RUN/st.json" 2>/dev/null &&
    jq -e '.totals.orig_sessions as $o | [.target_groups[] | select(.ratio == 1 and
      .sess_opened == $o)] | length == 2' "$TB_RUN/st.json" >/dev/null
}
wait_for want_status 10 || true
jq -c '.target_groups' "$TB_RUN/st.json" >&2
orig=$(jq '.totals.orig_sessions' "$TB_RUN/st.json")
tb_assert "status --json: v1 and v2 each at ratio 1.000, $orig sessions (of $orig captured), no drops" \
  jq -e --arg ta "$TA:80" --arg tb "$TB:80" --argjson o "$orig" --argjson on "$on" '.target_groups as $g
    | ($g | length) == 2 and $g[0].name == "v1" and $g[0].targets == $ta
    and $g[1].name == "v2" and $g[1].targets == $tb and $o >= $on
    and all($g[]; .ratio == 1 and .sess_opened == $o and .sess_shed == 0
                  and .sess_rate_limited == 0 and .sess_sampled_out == 0)' "$TB_RUN/st.json"
tb_ctl status >"$TB_RUN/status.txt"
sed -n '/^target groups/,/^$/p' "$TB_RUN/status.txt" | sed 's/^/  status| /' >&2
tb_assert "status text: a line per group with ratio 1.000" \
  bash -c "grep -q '^  v1 .*ratio 1.000' '$TB_RUN/status.txt' && grep -q '^  v2 .*ratio 1.000' '$TB_RUN/status.txt'"
tb_exec controller curl -s "http://127.0.0.1:9464/metrics" >"$TB_RUN/metrics.txt"
tb_assert "metrics: sessions per target group with the group label" \
  grep -q "^replayfleet_target_group_sessions_opened_total{agent=\"cap-1\",group=\"v2\"} $orig\$" "$TB_RUN/metrics.txt"

rc=0
tb_stop "$CPID" 10 || rc=$?
tb_assert "replay-copy exited cleanly (rc=$rc)" test "$rc" -eq 0
tb_finish
