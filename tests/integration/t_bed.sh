#!/usr/bin/env bash
# t_bed: the test bed itself, without any of our programs (so a failing data
# plane test can be told apart from a broken bed):
#   - every host reaches every other host (TCP to nginx), none has a way out;
#   - a spoofed SYN from the replayed client range, sent by online through a
#     raw socket, reaches the target; the target's SYN-ACK goes to the
#     assistant, which captures it and does NOT forward it (IpForwDatagrams
#     unchanged, nothing for 10.250/16 leaves the assistant);
#   - libpcap on online sees the client's requests;
#   - tb_down leaves no namespace and no process behind.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns tcpdump curl

tb_up
for h in online target; do tb_nginx "$h"; done

# Reachability: curl from every host to both web servers.
for h in "${TB_HOSTS[@]}"; do
  for srv in online target; do
    tb_assert "$h reaches $srv:80" tb_exec "$h" curl -fsS -m 3 -o /dev/null "http://$(tb_ip "$srv")/"
  done
  tb_assert "$h has no route out of the bed" bash -c "! ip netns exec '$(tb_ns "$h")' ip route get 1.1.1.1 >/dev/null 2>&1"
done
tb_assert "assistant has ip_forward=0" test "$(tb_exec assistant sysctl -n net.ipv4.ip_forward)" -eq 0
tb_assert "target routes $TB_CLIENT_RANGE via the assistant" \
  bash -c "ip -n '$(tb_ns target)' route show '$TB_CLIENT_RANGE' | grep -q 'via $(tb_ip assistant)'"

# fwd_count: IpForwDatagrams on the assistant.
# shellcheck disable=SC2016 # awk program, not shell
fwd_count() { tb_exec assistant awk '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (k[i] == "ForwDatagrams") print $i }' /proc/net/snmp; }

# Captures (bounded by timeout): SYN on target, SYN-ACK into / out of assistant.
D=$TB_RUN
tb_bg target "$D/target.cap" timeout 60 tcpdump -n -l -i eth0 "tcp port 18080"
P1=$TB_LASTPID
tb_bg assistant "$D/assist-in.cap" timeout 60 tcpdump -n -l -Q in -i eth0 "tcp port 18080"
P2=$TB_LASTPID
tb_bg assistant "$D/assist-out.cap" timeout 60 tcpdump -n -l -Q out -i eth0 "net 10.250.0.0/16"
P3=$TB_LASTPID
tb_bg target "$D/listener.out" timeout 60 python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 18080)); s.listen(8); time.sleep(59)' "$(tb_ip target)"
# Generous start-up bounds (wait_for returns as soon as they are up; the
# captures and the listener are stopped below, their timeouts only bound
# them): CI once found no listener after 5 s, with t_rollout's containers
# booting and its packages building beside this test.
wait_for "tb_listening target 18080" 30 || tb_die "listener did not start"
wait_for "grep -q 'listening on' '$D/target.cap' && grep -q 'listening on' '$D/assist-in.cap' && grep -q 'listening on' '$D/assist-out.cap'" 30 ||
  tb_die "tcpdump did not start"
F0=$(fwd_count)
tb_exec online python3 -c '
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = sys.argv[1], sys.argv[2]
tcp = struct.pack("!HHIIBBHHH", 40001, 18080, 123456, 0, 5 << 4, 0x02, 65535, 0, 0)
ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + tcp, (dst, 0))' 10.250.7.7 "$(tb_ip target)"
tb_assert "target sees the spoofed SYN" wait_for "grep -q '10.250.7.7.40001 > $(tb_ip target).18080: Flags \[S\]' '$D/target.cap'" 15
tb_assert "assistant captures the target's SYN-ACK" wait_for "grep -q '$(tb_ip target).18080 > 10.250.7.7.40001: Flags \[S.\]' '$D/assist-in.cap'" 15
sleep 1   # give a wrongly forwarded packet time to show up
tb_assert "assistant forwards nothing (IpForwDatagrams $F0 -> $(fwd_count))" test "$(fwd_count)" -eq "$F0"
tb_assert "nothing for 10.250/16 leaves the assistant" bash -c "! grep -q ' IP ' '$D/assist-out.cap'"
for p in "$P1" "$P2" "$P3"; do tb_stop "$p" 5 || true; done

# libpcap on online sees the client's requests (what replay-copy relies on).
tb_bg online "$D/online.cap" timeout 60 tcpdump -n -l -i eth0 "tcp dst port 80 and tcp[tcpflags] & tcp-push != 0"
P4=$TB_LASTPID
wait_for "grep -q 'listening on' '$D/online.cap'" 30 || tb_die "tcpdump did not start"
tb_exec client curl -fsS -m 3 -o /dev/null "http://$(tb_ip online)/"
tb_assert "libpcap on online captures the client's request" wait_for "grep -q '$(tb_ip client).* > $(tb_ip online).80: Flags \[P' '$D/online.cap'" 15
tb_stop "$P4" 5 || true

# Teardown leaves nothing: run it now and check.
NSS=$(cat "$TB_RUN/netns")
PIDS=("${TB_PIDS[@]}")
TB_KEEP=1
tb_down
left=0
for ns in $NSS; do ip netns list | grep -qw "$ns" && left=$((left + 1)); done
for p in "${PIDS[@]}"; do _tb_alive "$p" && left=$((left + 1)); done
tb_assert "tb_down removed every namespace and process ($left left)" test "$left" -eq 0
rm -rf "$TB_RUN"
tb_finish
