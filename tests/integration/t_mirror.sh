#!/usr/bin/env bash
# t_mirror: capture hosts fed mirrored traffic (issue 5), sharded by flow hash.
#
# The online host's eth0 ingress (the clients' packets) is mirrored with
# `tc ... action mirred egress mirror` to two capture hosts cap1 and cap2,
# each running replay-copy --promisc (mirrored-capture mode: tunnels in the
# capture filter, decapsulation) with --shard 0/2 and 1/2 and its own client
# slice; one replay-intercept on the assistant serves both. Modes, one after another
# on the same bed:
#   raw      mirred straight onto a veth to each capture host (SPAN port;
#            replay-copy --promisc on it)
#   vxlan    mirred into a kernel vxlan device replicating to both capture
#            hosts (VNI 4242), plus a decoy vxlan device (VNI 9) carrying the
#            same traffic: --vni 4242 must drop it, or everything is doubled
#   gre gretap erspan2 erspan3
#            kernel gre/gretap/erspan devices when this kernel has ip_gre;
#            otherwise a userspace encapsulator (python, raw IP socket,
#            protocol 47) fed by a mirred veth, which also sets GRE key/seq/
#            checksum flags and the ERSPAN III platform subheader (O bit).
# Asserted per mode, from the nginx access logs:
#   - target requests == online requests (each request exactly once: a flow
#     replayed by both hosts, or by neither, breaks it), with per-connection
#     request counts equal (tb_conn_check);
#   - requests from cap1's slice / cap2's slice == online requests whose flow
#     hash picks shard 0 / 1 (when the seed can be read from agent-copy/);
#     both shards non-empty; nothing from outside the two slices;
#   - each capture host's decap counter for the mode moved (the frames really
#     went through the decoder);
#   - no session counted mid-stream; the online host received no ICMP
#     unreachable (capture hosts never answer mirrored packets).
# Network safety: only namespaces made by lib.sh (bridge in its own namespace,
# nothing in the root namespace); mirrors and tunnels live inside them and go
# with them; loads are bounded wrk runs; tb_down runs from the EXIT trap.
# Skips (77) when not root, without netns, or when replay-copy lacks the
# mirrored-capture options (--promisc --vxlan-port --vni --shard).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# The distribution's python starts in a fraction of a second; a pyenv shim
# first in PATH takes seconds per call, and lib.sh calls python3 per check.
PY=$(command -v python3)
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
python3() { "$PY" "$@"; }   # PY is a path: no recursion

require_root_netns --no-apps nginx wrk tc bridge
require_bins replay-copy replay-intercept
help=$("$RF_BIN/replay-copy" --help 2>&1 || true)
for opt in --promisc --vxlan-port --vni --shard; do
  grep -q -- "$opt" <<<"$help" ||
    tb_skip "replay-copy --help does not mention $opt: mirrored capture (issue 5) not built in"
done

SECS=${T_SECS:-3}                    # per load phase; two phases per mode
CONNS=${T_CONNS:-4}
DELAY=${T_DELAY_MS:-10}
MODES=${T_MIRROR_MODES:-raw vxlan gre gretap erspan2 erspan3}
SLICE1=10.250.0.0/24
SLICE2=10.250.1.0/24
VNI=4242

tb_up client online target assistant cap1=61 cap2=62
tb_nginx online
tb_nginx target
ONL=$(tb_ip online)
TGT=$(tb_ip target)
AST=$(tb_ip assistant)
CAP1=$(tb_ip cap1)
CAP2=$(tb_ip cap2)
URL="http://$ONL/"

# ---- helpers ------------------------------------------------------------------

# Userspace GRE/ERSPAN encapsulator: reads the mirrored frames from a veth end
# and sends each one, encapsulated, to every capture host. The kernel adds
# the outer IPv4 header (raw socket, protocol 47). Bounded by a deadline.
cat >"$TB_RUN/encap.py" <<'EOF'
import socket, struct, sys, time
mode, ifname, deadline = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[3])
dsts = sys.argv[4:]

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
rx.bind((ifname, 0))
rx.settimeout(0.5)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
seq = 0
while time.time() < deadline:
    try:
        fr = rx.recv(65535)
    except socket.timeout:
        continue
    seq = (seq + 1) & 0xFFFFFFFF
    if mode == "gre":            # plain GRE carries the IPv4 packet only
        if len(fr) < 14 or fr[12:14] != b"\x08\x00":
            continue
        pkt = struct.pack("!HH", 0, 0x0800) + fr[14:]
    elif mode == "gretap":       # C, K and S flags: 12 extra bytes skipped by length
        body = struct.pack("!II", 0xFEEDBEEF, seq) + fr
        hdr = struct.pack("!HHHH", 0xB000, 0x6558, 0, 0)
        c = csum(hdr + body)
        pkt = struct.pack("!HHHH", 0xB000, 0x6558, c, 0) + body
    elif mode == "erspan2":      # GRE S flag + 8-byte ERSPAN II header
        pkt = struct.pack("!HHI", 0x1000, 0x88BE, seq) + \
            struct.pack("!HHI", (1 << 12) | 0, 7, 1) + fr
    elif mode == "erspan3":      # 12-byte ERSPAN III header, O bit + subheader
        pkt = struct.pack("!HHI", 0x1000, 0x22EB, seq) + \
            struct.pack("!HHIHBB", (2 << 12) | 0, 7, int(time.time() * 1e6) & 0xFFFFFFFF, 0, 0, 1) + \
            struct.pack("!II", 0x00010002, 0x00030004) + fr
    else:
        sys.exit("unknown mode " + mode)
    for d in dsts:
        try:
            tx.sendto(pkt, (d, 0))
        except OSError:
            pass   # e.g. a GSO super-frame over 64 KiB; counted by the test's totals
EOF

# Discard sink for GRE on a capture host without ip_gre: a raw socket for
# protocol 47 makes the kernel consider the packets delivered, so it sends no
# ICMP protocol-unreachable back to the online host. Bounded by a deadline.
cat >"$TB_RUN/sink.py" <<'EOF'
import socket, sys, time
deadline = time.time() + float(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
s.settimeout(0.5)
while time.time() < deadline:
    try:
        s.recv(65535)
    except socket.timeout:
        pass
EOF

HELPER_PIDS=()
MIRROR_DEVS=()       # "host dev" pairs to delete after the mode
kernel_gre=0
if tb_exec online ip link add rfgreprobe type gretap local "$ONL" remote "$CAP1" 2>/dev/null; then
  tb_exec online ip link del rfgreprobe
  kernel_gre=1
else
  tb_log "this kernel has no gre/gretap/erspan devices: GRE modes use the userspace encapsulator"
fi

mirror_to() {  # DEV...: mirror online's eth0 ingress to each DEV
  local -a acts=()
  local d
  for d in "$@"; do acts+=(action mirred egress mirror dev "$d" pipe); done
  tb_exec online tc qdisc add dev eth0 clsact
  # u32 "match anything": matchall is not built into every kernel.
  tb_exec online tc filter add dev eth0 ingress protocol all u32 match u32 0 0 "${acts[@]}"
}

link_add() {  # HOST DEV SPEC...: create and bring up, remember for cleanup
  local h=$1 d=$2; shift 2
  tb_exec "$h" ip link add "$d" "$@"
  tb_exec "$h" ip link set "$d" up
  MIRROR_DEVS+=("$h $d")
}

# mirror_setup MODE: sets IFACE (what the copy agents capture on) and
# EXTRA (their mode-specific flags).
mirror_setup() {
  local mode=$1 h i
  case $mode in
    raw)
      for i in 1 2; do
        tb_exec online ip link add "m$i" type veth peer name mir0 netns "$(tb_ns "cap$i")"
        tb_exec online ip link set "m$i" up
        tb_exec "cap$i" ip link set mir0 up
        MIRROR_DEVS+=("online m$i")
      done
      mirror_to m1 m2
      IFACE=mir0
      EXTRA=(--promisc)
      ;;
    vxlan)
      link_add online vxm type vxlan id "$VNI" dstport 4789 local "$ONL" dev eth0 nolearning
      link_add online vxd type vxlan id 9 dstport 4789 local "$ONL" dev eth0 nolearning
      for d in vxm vxd; do
        for h in "$CAP1" "$CAP2"; do
          tb_exec online bridge fdb append 00:00:00:00:00:00 dev "$d" dst "$h"
        done
      done
      # Receiving vxlan devices hold UDP 4789 on the capture hosts, so the
      # kernel consumes the packets instead of answering port-unreachable.
      link_add cap1 vxs type vxlan id "$VNI" dstport 4789 local "$CAP1"
      link_add cap2 vxs type vxlan id "$VNI" dstport 4789 local "$CAP2"
      mirror_to vxm vxd
      IFACE=eth0
      EXTRA=(--promisc --vxlan-port 4789 --vni "$VNI")
      ;;
    gre | gretap | erspan2 | erspan3)
      IFACE=eth0
      EXTRA=(--promisc)
      if ((kernel_gre)); then
        local -a spec
        for i in 1 2; do
          local cap=$CAP1
          ((i == 1)) || cap=$CAP2
          case $mode in
            gre) spec=(type gre ttl 64) ;;
            gretap) spec=(type gretap key 7 seq csum) ;;
            erspan2) spec=(type erspan seq key 10 erspan_ver 1 erspan 123) ;;
            erspan3) spec=(type erspan seq key 10 erspan_ver 2 erspan_dir ingress erspan_hwid 7) ;;
          esac
          link_add online "t$i" "${spec[@]}" local "$ONL" remote "$cap"
          link_add "cap$i" tsink "${spec[@]}" local "$cap" remote "$ONL"
        done
        mirror_to t1 t2
      else
        tb_exec online ip link add gm type veth peer name gmx
        tb_exec online ip link set gm up
        tb_exec online ip link set gmx up
        MIRROR_DEVS+=("online gm")
        for h in cap1 cap2; do
          tb_bg "$h" "$(tb_dir "$h")/sink.log" timeout 300 "$PY" "$TB_RUN/sink.py" 290
          HELPER_PIDS+=("$TB_LASTPID")
        done
        tb_bg online "$(tb_dir online)/encap-$mode.log" timeout 300 \
          "$PY" "$TB_RUN/encap.py" "$mode" gmx 290 "$CAP1" "$CAP2"
        HELPER_PIDS+=("$TB_LASTPID")
        mirror_to gm
        sleep 0.5   # let the python sockets bind (no readiness signal to poll)
      fi
      ;;
    *) tb_die "unknown mode $mode" ;;
  esac
}

mirror_teardown() {
  local p hd
  tb_exec online tc qdisc del dev eth0 clsact 2>/dev/null || true
  for p in "${HELPER_PIDS[@]}"; do tb_stop "$p" 5 || true; done
  for hd in "${MIRROR_DEVS[@]}"; do
    # shellcheck disable=SC2086 # "host dev"
    set -- $hd
    tb_exec "$1" ip link del "$2" 2>/dev/null || true
  done
  HELPER_PIDS=()
  MIRROR_DEVS=()
}

icmp_unreach() {  # HOST: ICMP destination-unreachable messages received
  tb_exec "$1" awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
    else for (i = 1; i <= NF; i++) if (k[i] == "InDestUnreachs") print $i }' /proc/net/snmp
}

# shard_split ONLINE_LOG: "N0 N1" = online requests whose flow hash picks shard
# 0 / 1, hashing as agent-copy/cp_map.c's cp_map_shard_mine (flowhash.py:
# rf_hash_flow on the original client and server, seed read from the source). Prints nothing
# when the seed cannot be found.
shard_split() {
  python3 - "$1" "$ONL" "$RF_SRC" <<'EOF'
import ipaddress, sys
log, server, src = sys.argv[1], int(ipaddress.ip_address(sys.argv[2])), sys.argv[3]
sys.path.insert(0, src + "/tests/integration")
sys.dont_write_bytecode = True   # no __pycache__ in the tree
import flowhash
try:
    seed = flowhash.shard_seed(src)
except (OSError, AttributeError, ValueError):
    sys.exit(0)
n = [0, 0]
for line in open(log):
    p = line.split(" ", 2)
    if len(p) < 3:
        continue
    n[flowhash.flow(seed, int(ipaddress.ip_address(p[0])), int(p[1]), server, 80) % 2] += 1
print(n[0], n[1])
EOF
}

# ---- one mode ---------------------------------------------------------------------

ran=()
run_mode() {
  local mode=$1 i
  tb_log "=== mode $mode"
  IFACE=
  EXTRA=()
  mirror_setup "$mode"
  case $mode in
    raw) DECAP_COUNTER= ;;
    vxlan) DECAP_COUNTER=decap_vxlan ;;
    gre | gretap) DECAP_COUNTER=decap_gre ;;
    erspan*) DECAP_COUNTER=decap_erspan ;;
  esac
  rm -f "$(tb_dir cap1)/copy.stats" "$(tb_dir cap2)/copy.stats" "$(tb_dir assistant)/intercept.stats"
  tb_start_intercept assistant "tcp and src host $TGT and src port 80"
  local icpt=$TB_LASTPID
  local -a copy=()
  for i in 1 2; do
    local slice=$SLICE1
    ((i == 1)) || slice=$SLICE2
    tb_start_copy "cap$i" -x "$ONL:80-$TGT:80" -s "$AST" -c "$slice" -f "$i" -i "$IFACE" \
      --shard "$((i - 1))/2" "${EXTRA[@]}"
    copy+=("$TB_LASTPID")
  done
  local u0 c0
  u0=$(icmp_unreach online)
  c0=$(icmp_unreach client)

  tb_log_truncate online
  tb_log_truncate target
  tb_wrk "$TB_RUN/wrk-$mode-ka.txt" client "$URL" "$SECS" "$CONNS" "$DELAY" ||
    tb_die "wrk failed: $(cat "$TB_RUN/wrk-$mode-ka.txt")"
  tb_wrk "$TB_RUN/wrk-$mode-close.txt" client "$URL" "$SECS" "$CONNS" "$DELAY" -H 'Connection: close' ||
    tb_die "wrk failed: $(cat "$TB_RUN/wrk-$mode-close.txt")"
  local online target
  online=$(tb_log_count online)
  target=$(tb_wait_count "tb_log_count target" "$online" 30)
  # A replay that runs over (a flow replayed twice) shows up a moment later.
  sleep 1
  target=$(tb_log_count target)

  local rc=0
  for i in 0 1; do
    rc=0
    tb_stop "${copy[$i]}" 10 || rc=$?
    tb_assert "$mode: replay-copy on cap$((i + 1)) exited cleanly (rc=$rc)" test "$rc" -eq 0
  done
  rc=0
  tb_stop "$icpt" 10 || rc=$?
  tb_assert "$mode: replay-intercept exited cleanly (rc=$rc)" test "$rc" -eq 0

  local olog tlog
  olog="$TB_RUN/online-$mode.log"
  tlog="$TB_RUN/target-$mode.log"
  cp "$(tb_access_log online)" "$olog"
  cp "$(tb_access_log target)" "$tlog"
  local s1 s2 outside chk
  s1=$(tb_ip_count "$tlog" "$SLICE1")
  s2=$(tb_ip_count "$tlog" "$SLICE2")
  outside=$((target - s1 - s2))
  chk=$(tb_conn_check "$olog" "$tlog" 1)
  tb_log "$mode: online $online requests, target $target (cap1 slice $s1, cap2 slice $s2)"
  tb_assert "$mode: online served a real load (>= 200 requests)" test "$online" -ge 200
  tb_assert "$mode: every request replayed exactly once (target $target == online $online)" \
    test "$target" -eq "$online"
  tb_assert "$mode: per-connection request counts match ($(tb_kv "$chk" multiset_diff))" \
    test "$(tb_kv "$chk" multiset_ok)" = 1
  tb_assert "$mode: both capture hosts replayed a share ($s1 / $s2)" test "$s1" -gt 0 -a "$s2" -gt 0
  tb_assert "$mode: no request from outside the two slices ($outside)" test "$outside" -eq 0
  local want
  want=$(shard_split "$olog")
  if [[ -n $want ]]; then
    tb_assert "$mode: split follows the flow hash (want ${want/ / \/ }, got $s1 / $s2)" \
      test "$want" = "$s1 $s2"
  else
    tb_log "$mode: shard seed not found in agent-copy/cp_map.[ch]; split not predicted"
  fi
  for i in 1 2; do
    local st mid
    st="$(tb_dir "cap$i")/copy.stats"
    mid=$(tb_stat "$st" sess_skipped_midstream)
    tb_assert "$mode: cap$i counted no session mid-stream ($mid)" test "$mid" -eq 0
    if [[ -n $DECAP_COUNTER ]]; then
      local dc
      dc=$(tb_stat "$st" "$DECAP_COUNTER")
      tb_assert "$mode: cap$i decapsulated the mirror ($DECAP_COUNTER $dc)" test "$dc" -gt 0
    fi
    tb_log "$mode: cap$i final: $(tb_stats_last "$st")"
  done
  local u1 c1
  u1=$(icmp_unreach online)
  c1=$(icmp_unreach client)
  tb_assert "$mode: capture hosts never answered (ICMP unreachable at online +$((u1 - u0)), client +$((c1 - c0)))" \
    test "$u1" -eq "$u0" -a "$c1" -eq "$c0"

  mirror_teardown
  ran+=("$mode")
}

# tb_ip_count LOG CIDR: access-log lines whose source address is in CIDR.
tb_ip_count() {
  local total outside
  total=$(wc -l <"$1" | tr -d ' ')
  outside=$(tb_addrs_outside "$1" "$2")
  echo $((total - outside))
}

for m in $MODES; do
  run_mode "$m"
done
tb_log "modes run: ${ran[*]}$( ((kernel_gre)) || echo ' (GRE family via the userspace encapsulator: no ip_gre in this kernel)')"
tb_finish
