#!/usr/bin/env bash
# t_copy_expect: HTTP `Expect: 100-continue` replayed in the client's order
# (issue 10). curl sends the request headers, waits for nginx's
# "100 Continue", and only then sends the body. The replay must do the same
# against the target: asserted from a capture on the target itself, where
# for every replayed connection the first body byte arrives after the
# target's own "100 Continue" left it; and from the target's access log
# (every request replayed once) and the agent's counters (holds released by
# the target's answer, none by timeout).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns tcpdump curl
require_bins replay-copy replay-intercept

N=${T_EXPECT_N:-40}
RANGE=10.250.13.0/24
tb_up
tb_nginx online
tb_nginx target
# shellcheck disable=SC2086 # extra agent flags for experiments
tb_replay_agents 80 "$RANGE" ${T_COPY_ARGS:-}

# The target's side of every replayed connection, with payload lengths.
# -U: each packet is written at once, so the file is complete when its size
# stops changing; read with pcap_tcp.py, not from tcpdump's text.
PCAP=$TB_RUN/target.pcap
tb_bg target "$TB_RUN/tcpdump.log" tcpdump -i eth0 -nn -U -w "$PCAP" 'tcp port 80'
TD_PID=$TB_LASTPID
wait_for "grep -q 'listening on' '$TB_RUN/tcpdump.log'" 10 || tb_die "tcpdump on target did not start"

head -c 3000 /dev/zero | tr '\0' 'b' >"$TB_RUN/body"
URL="http://$(tb_ip online)/post"
# N sequential POSTs, one connection each, bounded.
tb_exec client timeout 60 bash -c "for i in \$(seq 1 $N); do
  curl -s -o /dev/null --max-time 5 --expect100-timeout 3 -H 'Expect: 100-continue' \
    -H 'Connection: close' --data-binary @$TB_RUN/body '$URL' || exit 1
done" || tb_die "curl failed"

online=$(tb_log_count online)
target=$(tb_wait_count "tb_log_count target" "$online" 30)
# The last FIN/ACKs reach tcpdump's output before it stops (bounded).
tb_wait_stable "stat -c %s '$PCAP'" 1 10 >/dev/null
tb_stop "$TD_PID" 5 || true
st=$(tb_dir online)/copy.stats
held=$(tb_stat "$st" causal_held)
released=$(tb_stat "$st" causal_released)
tmo=$(tb_stat "$st" causal_timeouts)
tb_log "requests: online $online, target $target; causal held $held, released $released, timeouts $tmo"
tb_stop_agents

# Per replayed connection on the target: when the target sent its
# "100 Continue" (25 bytes) and when the client's first body bytes arrived.
read -r conns ordered bad < <(python3 - "$PCAP" "$(tb_ip target)" "$(dirname "$0")" <<'PY'
import sys
path, tip = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
import pcap_tcp
cont, body = {}, {}
for s in pcap_tcp.segments(path):
    if s.src == tip and s.payload.startswith(b"HTTP/1.1 100 Continue"):
        cont.setdefault((s.dst, s.dport), s.ts)
    elif s.dst == tip and s.payload:
        # The request headers are the client's first segment; the body follows.
        body.setdefault((s.src, s.sport), []).append(s.ts)
n = ordered = bad = 0
for key, ts in body.items():
    if len(ts) < 2 or key not in cont:
        continue
    n += 1
    if ts[1] >= cont[key]:
        ordered += 1
    else:
        bad += 1
print(n, ordered, bad)
PY
)
tb_log "target capture: $conns connections with a 100 Continue, $ordered with the body after it, $bad before"
tb_assert "online served every request ($online of $N)" test "$online" -eq "$N"
tb_assert "target saw every request once ($target vs $online)" test "$target" -eq "$online"
tb_assert "the target's capture shows the replayed connections ($conns >= $((N * 9 / 10)))" test "$conns" -ge $((N * 9 / 10))
tb_assert "every body reached the target after its 100 Continue ($bad before)" test "$bad" -eq 0
tb_assert "bodies were held for the 100 Continue (causal_held $held >= $N)" test "$held" -ge "$N"
tb_assert "every hold was released by the target's answer ($released of $held; $tmo timeouts)" test "$tmo" -eq 0
tb_finish
