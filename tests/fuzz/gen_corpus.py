#!/usr/bin/env python3
"""gen_corpus.py -- writes the committed seed corpora of tests/fuzz/:
corpus/decap (one seed per link type and encapsulation), corpus/pkt (IPv4/TCP
datagrams), corpus/nexthop (rtnetlink answers) and corpus/frame (length-prefixed Envelope streams, encoded by
`protoc --encode` from proto/replay.proto so they are real messages).

Seeds are small and deterministic; rerunning rewrites the same bytes. Files
not written by this script (reproducers saved from fuzzing runs, named
crash-*/regress-*) are left alone.

Usage: tests/fuzz/gen_corpus.py [--check]   (--check: exit 1 if a seed differs)
"""
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# ---- packet builders (network order) ------------------------------------


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(proto, payload, src="10.199.0.10", dst="10.199.0.20", opts=b"", frag=0x4000):
    assert len(opts) % 4 == 0
    a = bytes(int(x) for x in src.split("."))
    b = bytes(int(x) for x in dst.split("."))
    ihl = 5 + len(opts) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), 0x1234, frag,
                      64, proto, 0, a, b) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def tcp(sport=40000, dport=80, seq=1000, ack=0, flags=0x02, opts=b"", data=b""):
    assert len(opts) % 4 == 0
    doff = 5 + len(opts) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 65535, 0, 0) + opts + data


SYN_OPTS = (b"\x02\x04\x05\xb4"              # MSS 1460
            b"\x04\x02"                      # SACK permitted
            b"\x08\x0a\x00\x00\x10\x00\x00\x00\x00\x00"  # timestamps
            b"\x01"                          # NOP
            b"\x03\x03\x07")                 # window scale 7
HTTP = b"GET / HTTP/1.1\r\nHost: online\r\n\r\n"


def tcp_syn():
    return ip4(6, tcp(flags=0x02, opts=SYN_OPTS))


def tcp_data():
    return ip4(6, tcp(seq=1001, ack=5001, flags=0x18, data=HTTP))


MAC_D = bytes.fromhex("020000000002")
MAC_S = bytes.fromhex("020000000001")


def eth(etype, payload, tags=()):
    out = MAC_D + MAC_S
    for tpid, tci in tags:
        out += struct.pack("!HH", tpid, tci)
    return out + struct.pack("!H", etype) + payload


def udp(dport, payload, sport=51000):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def vxlan(vni, inner_frame):
    return struct.pack("!BBHI", 0x08, 0, 0, vni << 8) + inner_frame


def gre(proto, payload, key=None, seq=None, csum_=False):
    flags = (0x8000 if csum_ else 0) | (0x2000 if key is not None else 0) | \
            (0x1000 if seq is not None else 0)
    out = struct.pack("!HH", flags, proto)
    if csum_:
        out += b"\0\0\0\0"
    if key is not None:
        out += struct.pack("!I", key)
    if seq is not None:
        out += struct.pack("!I", seq)
    return out + payload


def erspan2(inner_frame, session=42, vlan=100):
    return struct.pack("!HHI", (1 << 12) | vlan, session, 7) + inner_frame


def erspan3(inner, ft=0, o=False, session=42, vlan=100):
    hdr = struct.pack("!HHIHBB", (2 << 12) | vlan, session, 0xDEADBEEF, 0, (ft & 0x1F) << 2,
                      1 if o else 0)
    if o:
        hdr += bytes.fromhex("1111111122222222")
    return hdr + inner


def outer_ip(proto, payload):
    return ip4(proto, payload, src="10.199.0.20", dst="10.199.0.60")


# ---- corpora ------------------------------------------------------------

# fuzz_decap byte 0: bits 0-2 link type index (0 EN10MB, 1 SLL, 2 SLL2,
# 3 RAW, 4 LINKTYPE_RAW, 5 NULL, 6 LOOP), bit 3 VNI filter 0, bit 4 port 8472.
LT_EN10MB, LT_SLL, LT_SLL2, LT_RAW, LT_LRAW, LT_NULL, LT_LOOP = range(7)
F_VNI0, F_8472 = 0x08, 0x10


def sll(etype, payload):
    return struct.pack("!HHH8sH", 0, 1, 6, MAC_S + b"\0\0", etype) + payload


def sll2(etype, payload):
    return struct.pack("!HHIHBB8s", etype, 0, 3, 1, 0, 6, MAC_S + b"\0\0") + payload


def decap_seeds():
    d = tcp_data()
    inner = eth(0x0800, d)
    vx = eth(0x0800, outer_ip(17, udp(4789, vxlan(4242, inner))))
    s = {
        "eth_tcp": (LT_EN10MB, eth(0x0800, d)),
        "eth_syn_padded": (LT_EN10MB, eth(0x0800, ip4(6, tcp())) + b"\0" * 6),
        "eth_ip_opts": (LT_EN10MB, eth(0x0800, ip4(6, tcp(flags=0x18, data=HTTP),
                                                   opts=b"\x01\x01\x01\x00"))),
        "vlan": (LT_EN10MB, eth(0x0800, d, tags=[(0x8100, 100)])),
        "qinq": (LT_EN10MB, eth(0x0800, d, tags=[(0x88A8, 10), (0x8100, 100)])),
        "arp": (LT_EN10MB, eth(0x0806, bytes(28))),
        "ipv6": (LT_EN10MB, eth(0x86DD, bytes.fromhex("6000000000000640") + bytes(32))),
        "udp_dns": (LT_EN10MB, eth(0x0800, ip4(17, udp(53, b"\xab\xcd\x01\x00")))),
        "sll": (LT_SLL, sll(0x0800, d)),
        "sll_vlan": (LT_SLL, sll(0x8100, struct.pack("!HH", 100, 0x0800) + d)),
        "sll2": (LT_SLL2, sll2(0x0800, d)),
        "raw": (LT_RAW, d),
        "linktype_raw": (LT_LRAW, d),
        "null_le": (LT_NULL, struct.pack("<I", 2) + d),
        "loop_be": (LT_LOOP, struct.pack("!I", 2) + d),
        "vxlan": (LT_EN10MB, vx),
        "vxlan_vni0_filtered": (LT_EN10MB | F_VNI0, vx),
        "vxlan_vni0": (LT_EN10MB | F_VNI0,
                       eth(0x0800, outer_ip(17, udp(4789, vxlan(0, inner))))),
        "vxlan_8472": (LT_EN10MB | F_8472,
                       eth(0x0800, outer_ip(17, udp(8472, vxlan(1, inner))))),
        "vxlan_inner_vlan": (LT_EN10MB, eth(0x0800, outer_ip(17, udp(4789, vxlan(
            7, eth(0x0800, d, tags=[(0x8100, 5)])))), tags=[(0x8100, 200)])),
        "vxlan_truncated": (LT_EN10MB, vx[:14 + 20 + 8 + 8 + 10]),
        "gre_ipv4": (LT_EN10MB, eth(0x0800, outer_ip(47, gre(0x0800, d)))),
        "gretap": (LT_EN10MB, eth(0x0800, outer_ip(47, gre(0x6558, inner)))),
        "gretap_key_seq_csum": (LT_EN10MB, eth(0x0800, outer_ip(47, gre(
            0x6558, inner, key=0xFEEDBEEF, seq=9, csum_=True)))),
        "erspan1": (LT_EN10MB, eth(0x0800, outer_ip(47, gre(0x88BE, inner)))),
        "erspan2": (LT_EN10MB, eth(0x0800, outer_ip(47, gre(0x88BE, erspan2(inner), seq=1)))),
        "erspan3": (LT_EN10MB, eth(0x0800, outer_ip(47, gre(0x22EB, erspan3(inner), seq=1)))),
        "erspan3_subheader": (LT_EN10MB, eth(0x0800, outer_ip(47, gre(
            0x22EB, erspan3(inner, o=True), seq=1)))),
        "erspan3_ip_frame": (LT_EN10MB, eth(0x0800, outer_ip(47, gre(
            0x22EB, erspan3(d, ft=2), seq=1)))),
        "gre_in_vxlan": (LT_EN10MB, eth(0x0800, outer_ip(17, udp(4789, vxlan(
            1, eth(0x0800, ip4(47, gre(0x0800, d), src="172.16.0.1", dst="172.16.0.2"))))))),
        "sll2_gretap": (LT_SLL2, sll2(0x0800, outer_ip(47, gre(0x6558, inner)))),
    }
    return {k: bytes([cfg]) + frame for k, (cfg, frame) in s.items()}


def pkt_seeds():
    # fuzz_pkt byte 0: bit 0 need_payload.
    syn = tcp_syn()
    data = tcp_data()
    return {
        "syn_opts": b"\x01" + syn,
        "data": b"\x01" + data,
        "data_hdr_only": b"\x00" + data[:40],          # intercept-style header
        "ip_opts": b"\x01" + ip4(6, tcp(flags=0x18, data=b"x"), opts=b"\x94\x04\x00\x00"),
        "fin_ack": b"\x01" + ip4(6, tcp(flags=0x11, seq=2000, ack=3000)),
        "rst": b"\x01" + ip4(6, tcp(flags=0x04)),
        "fragment": b"\x01" + ip4(6, tcp(data=b"y" * 8), frag=0x2000),
        "udp": b"\x01" + ip4(17, udp(53, b"q")),
        "bad_opts": b"\x01" + ip4(6, tcp(opts=b"\x02\x09\x05\xb4\x08\x00\x00\x00")),
        "truncated": b"\x01" + data[:30],
    }


def protoc_encode(text):
    proto = os.path.join(ROOT, "proto", "replay.proto")
    r = subprocess.run(["protoc", "--encode=rfpb.Envelope", "--proto_path=" + os.path.dirname(proto),
                        proto], input=text.encode(), capture_output=True, check=True)
    return r.stdout


def frame(body):
    return struct.pack("!I", len(body)) + body


def frame_seeds():
    msgs = {
        "challenge": 'challenge { version: 1 nonce: "%s" }' % ("\\x5a" * 32),
        "hello_copy": 'hello { version: 1 role: ROLE_COPY id: "cap-1" host: "cap-1" '
                      'software: "replay-copy 0.1.0" interfaces: "eth0" auth_mac: "%s" '
                      'owned { addr: 184156160 len: 18 } last_generation: 3 }' % ("\\x01" * 32),
        "assignment": 'assignment { generation: 4 plan_name: "checkout-shadow" active: true '
                      'rules { online_ip: 0 online_port: 80 target_ip: 180879370 target_port: 8080 } '
                      'client_range { addr: 184156160 len: 18 } port_offset: 1 copies: 2 '
                      'sample_percent: 100 session_timeout_s: 120 '
                      'intercepts { host: "10.199.0.40" port: 36524 id: "assist-1" } }',
        "stats": 'stats { generation: 4 uptime_ms: 1000 counters { name: "cap_pkts" value: 12345 } '
                 'counters { name: "replayed_pkts" value: 12000 } }',
        "heartbeat": "heartbeat { mono_ms: 987654321 }",
        "responses": 'responses { count: 1 headers: "%s" }' % "".join(
            "\\x%02x" % c for c in ip4(6, tcp(sport=80, dport=1025, flags=0x12, ack=1001),
                                       src="10.199.0.30", dst="10.250.0.1")),
        "apply": 'apply { plan_json: "{\\"name\\":\\"x\\",\\"transfers\\":[\\"80-10.0.2.10:8080\\"]}" '
                 'dry_run: true }',
        "ack": 'ack { generation: 4 ok: true }',
        "error": 'error { code: 4 reason: "auth failed" }',
        "status": "status { }",
    }
    enc = {k: protoc_encode(v) for k, v in msgs.items()}
    out = {}
    # byte 0 selects the maximum body: 0 -> 0, 1 -> 16, 2 -> 1024, 3 -> 64 KiB.
    for k, body in enc.items():
        out[k] = b"\x03" + frame(body)
    out["stream_handshake"] = b"\x03" + frame(enc["challenge"]) + frame(enc["hello_copy"]) + \
        frame(enc["assignment"]) + frame(enc["ack"]) + frame(enc["heartbeat"])
    out["stream_partial"] = b"\x03" + frame(enc["heartbeat"]) + frame(enc["stats"])[:9]
    out["too_big_for_16"] = b"\x01" + frame(enc["assignment"])
    out["empty_body"] = b"\x03" + frame(b"")              # decodes to NOT_SET
    out["unknown_field"] = b"\x03" + frame(b"\xfa\x01\x00")  # field 31, empty
    out["huge_length"] = b"\x03" + b"\xff\xff\xff\xff" + b"\0" * 4
    return out


# ---- rtnetlink answers (host order: the kernel's) for fuzz_nexthop ------
# byte 0: bit 0 the parser (0 route, 1 neighbour), bit 1 seq 7 / port 4242
# checked; the rest one answer.


def nlattr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def nlmsg(t, body, seq=7, pid=4242):
    return struct.pack("=IHHII", 16 + len(body), t, 0, seq, pid) + body


def nexthop_seeds():
    RTM_NEWROUTE, RTM_NEWNEIGH, NLMSG_ERROR = 24, 28, 2
    RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_VIA = 1, 4, 5, 18
    NDA_DST, NDA_LLADDR = 1, 2
    ip = lambda s: bytes(int(x) for x in s.split("."))
    rt = lambda typ, fam=2: struct.pack("=BBBBBBBBI", fam, 32, 0, 0, 254, 2, 0, typ, 0)
    nd = lambda state: struct.pack("=BBHiHBB", 2, 0, 0, 3, state, 0, 1)
    err = lambda e: struct.pack("=i", -e) + struct.pack("=IHHII", 16, 26, 1, 7, 4242)
    mac = b"\x02\x00\x0a\x00\x00\x1e"
    out = {}
    out["route_gw"] = b"\2" + nlmsg(RTM_NEWROUTE, rt(1) + nlattr(RTA_DST, ip("10.0.0.30")) +
                                    nlattr(RTA_OIF, struct.pack("=I", 3)) +
                                    nlattr(RTA_GATEWAY, ip("10.0.0.1")))
    out["route_onlink"] = b"\0" + nlmsg(RTM_NEWROUTE, rt(1) + nlattr(RTA_OIF, struct.pack("=I", 4)))
    out["route_local"] = b"\0" + nlmsg(RTM_NEWROUTE, rt(2) + nlattr(RTA_OIF, struct.pack("=I", 1)))
    out["route_via6"] = b"\0" + nlmsg(RTM_NEWROUTE, rt(1) + nlattr(RTA_OIF, struct.pack("=I", 3)) +
                                      nlattr(RTA_VIA, b"\x0a\x00" + b"\xfe\x80" + b"\0" * 14))
    out["route_other_seq"] = b"\2" + nlmsg(RTM_NEWROUTE, rt(1), seq=6)
    out["route_enetunreach"] = b"\2" + nlmsg(NLMSG_ERROR, err(101))
    out["neigh_reachable"] = b"\3" + nlmsg(RTM_NEWNEIGH, nd(0x02) + nlattr(NDA_DST, ip("10.0.0.1")) +
                                           nlattr(NDA_LLADDR, mac))
    out["neigh_incomplete"] = b"\1" + nlmsg(RTM_NEWNEIGH, nd(0x01) + nlattr(NDA_DST, ip("10.0.0.1")))
    out["neigh_short_mac"] = b"\1" + nlmsg(RTM_NEWNEIGH, nd(0x02) + nlattr(NDA_LLADDR, mac[:4]))
    out["neigh_eproto"] = b"\3" + nlmsg(NLMSG_ERROR, err(71))
    out["two_messages"] = b"\1" + nlmsg(RTM_NEWNEIGH, nd(0x04) + nlattr(NDA_LLADDR, mac)) + \
        nlmsg(NLMSG_ERROR, err(0))
    return out


def write(name, seeds, check):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    bad = 0
    for k, v in sorted(seeds.items()):
        p = os.path.join(d, k)
        old = open(p, "rb").read() if os.path.exists(p) else None
        if old == v:
            continue
        if check:
            print("differs: %s" % p)
            bad += 1
        else:
            with open(p, "wb") as f:
                f.write(v)
    return bad


def main():
    check = "--check" in sys.argv[1:]
    bad = write("decap", decap_seeds(), check)
    bad += write("pkt", pkt_seeds(), check)
    bad += write("nexthop", nexthop_seeds(), check)
    bad += write("frame", frame_seeds(), check)   # last: needs protoc
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
