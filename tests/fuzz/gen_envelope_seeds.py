#!/usr/bin/env python3
"""gen_envelope_seeds.py -- writes tests/fuzz/corpus/envelope/, the seeds of
fuzz_envelope.c (layout documented there): byte 0 = flags (bit 0 key, bit 1
loopback peer, bit 2 --insecure, bit 3 fleet filter, bits 4-6 batch size,
bit 7 connection 3 does not drain), then records [peer byte][4-byte BE
length][Envelope]. Envelopes are encoded by `protoc --encode` from
proto/replay.proto so they are real messages; the Hello MACs are real
HMAC-SHA256 answers to the fixed nonces of fuzz_envelope.c (connection i:
bytes i, i+1, ..., i+31) under its key, so seeds reach the READY state with
the key configured and the fuzzer can mutate the rest of the Hello.

Deterministic: rerunning rewrites the same bytes. Files it did not write
(crash-*/regress-* reproducers) are left alone.

Usage: tests/fuzz/gen_envelope_seeds.py [--check]
"""
import hashlib
import hmac
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KEY = b"fuzz-envelope-key-0123456789"     # FZ_KEY in fuzz_envelope.c
ROLE_COPY = 1


def esc(b):
    return "".join("\\x%02x" % c for c in b)


def enc(text):
    proto = os.path.join(ROOT, "proto", "replay.proto")
    r = subprocess.run(["protoc", "--encode=rfpb.Envelope", "--proto_path=" + os.path.dirname(proto),
                        proto], input=text.encode(), capture_output=True, check=True)
    return r.stdout


def rec(peer, body, advance_ms=0):
    assert 0 <= peer < 4 and 0 <= advance_ms < 64
    return bytes([peer | (advance_ms << 2)]) + struct.pack("!I", len(body)) + body


def mac(peer, role=ROLE_COPY):
    nonce = bytes((peer + j) & 0xFF for j in range(32))
    return hmac.new(KEY, nonce + struct.pack("!I", role), hashlib.sha256).digest()


def hello(peer, owned, keyed=True, role="ROLE_COPY", ident="cap-1"):
    m = ' auth_mac: "%s"' % esc(mac(peer)) if keyed else ""
    o = "".join(" owned { addr: %d len: %d }" % (a, l) for a, l in owned)
    return enc('hello { version: 1 role: %s id: "%s" host: "h" software: "replay-copy 0.1.0"%s%s }'
               % (role, ident, m, o))


def ip(a):
    x = [int(p) for p in a.split(".")]
    return (x[0] << 24) | (x[1] << 16) | (x[2] << 8) | x[3]


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def resp_hdr(dst, dport, flags=0x12, payload=0, tcp_opts=b"", src="10.199.0.30", sport=80):
    """IPv4+TCP header of a target response (no payload copied, tot_len counts it)."""
    doff = 5 + len(tcp_opts) // 4
    t = struct.pack("!HHIIBBHHH", sport, dport, 5000, 1001, doff << 4, flags, 65535, 0, 0) + tcp_opts
    a = bytes(int(x) for x in src.split("."))
    b = bytes(int(x) for x in dst.split("."))
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(t) + payload, 1, 0x4000, 64, 6, 0, a, b)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + t


SYNACK_OPTS = b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00"


def seeds():
    pool = ip("10.250.0.0")
    h0_key = hello(0, [(pool, 18)])
    h1_key = hello(1, [(pool, 18)], ident="cap-2")               # same prefix: takes over
    h2_key = hello(2, [(ip("10.250.1.0"), 24)], ident="cap-3")   # nested: LPM decides
    h0_nokey = hello(0, [(pool, 16)], keyed=False)
    h_tuples_only = hello(3, [], ident="tcpcopy-style")
    batch = resp_hdr("10.250.0.1", 1025) + resp_hdr("10.250.1.7", 2000, flags=0x10, payload=512) + \
        resp_hdr("10.250.0.9", 1030, flags=0x12, tcp_opts=SYNACK_OPTS + b"\x00\x00") + \
        resp_hdr("10.251.0.1", 999, flags=0x04)
    responses = enc('responses { count: 4 headers: "%s" }' % esc(batch))
    responses_bad = enc('responses { count: 9 headers: "%s" }' % esc(batch[:-7] + b"\x4f" * 30))
    tuples = enc('tuples { add { client_ip: %d client_port: 999 target_ip: %d target_port: 80 } '
                 'add { client_ip: %d client_port: 7 target_ip: %d target_port: 80 } '
                 'del { client_ip: %d client_port: 1 target_ip: 1 target_port: 1 } }'
                 % (ip("10.251.0.1"), ip("10.199.0.30"), ip("10.9.9.9"), ip("10.199.0.30"), ip("1.2.3.4")))
    tuples_badport = enc('tuples { add { client_ip: 1 client_port: 70000 target_ip: 2 target_port: 80 } }')
    heartbeat = enc("heartbeat { mono_ms: 5 }")
    assign_icpt = enc('assignment { generation: 7 plan_name: "p" active: true '
                      'route_block { addr: %d len: 17 } }' % pool)
    assign_hostbits = enc('assignment { generation: 8 active: true route_block { addr: %d len: 8 } }'
                          % ip("10.250.0.1"))
    assign_len33 = enc('assignment { generation: 9 active: true route_block { addr: 0 len: 33 } }')
    assign_idle = enc('assignment { generation: 10 active: false }')
    assign_copy = enc('assignment { generation: 4 plan_name: "checkout-shadow" active: true '
                      'rules { online_ip: 0 online_port: 80 target_ip: %d target_port: 8080 } '
                      'client_range { addr: %d len: 18 } port_offset: 1 copies: 2 '
                      'sample_percent: 100 session_timeout_s: 120 '
                      'intercepts { host: "10.199.0.40" port: 36524 id: "assist-1" } }'
                      % (ip("10.0.2.10"), pool))
    def copy_assign(target, rng_addr, rng_len, copies):
        return enc('assignment { generation: 5 active: true '
                   'rules { online_ip: 0 online_port: 80 target_ip: %d target_port: 8080 } '
                   'client_range { addr: %d len: %d } copies: %d sample_percent: 100 '
                   'intercepts { host: "10.199.0.40" port: 36524 } }'
                   % (target, rng_addr, rng_len, copies))
    # each refused by cp_ctl / cp_opts_check_replay for one reason
    copy_refused = [copy_assign(ip("10.0.2.10"), 0, 4, 2),                 # wider than /8
                    copy_assign(ip("10.250.0.9"), pool, 16, 2),            # range holds target
                    copy_assign(ip("10.0.2.10"), pool, 18, 100),           # over --max-copies
                    copy_assign(ip("192.168.0.10"), pool, 18, 2)]          # outside allow-list
    # target groups (protocol 3): two outputs; first one refused (range outside the slice)
    def output(name, target, rng_addr, copies, rate):
        return ('outputs { name: "%s" rules { online_port: 80 target_ip: %d target_port: 8080 } '
                'client_range { addr: %d len: 19 } port_offset: 1 copies: %d sample_percent: 100 '
                'rate_limit_pps: %d }' % (name, target, rng_addr, copies, rate))
    assign_outputs = enc('assignment { generation: 4 plan_name: "checkout-ab" active: true '
                         'rules { online_port: 80 target_ip: %d target_port: 8080 } '
                         'client_range { addr: %d len: 18 } port_offset: 1 copies: 1 '
                         'sample_percent: 100 session_timeout_s: 120 '
                         'intercepts { host: "10.199.0.40" port: 36524 id: "assist-1" } %s %s }'
                         % (ip("10.0.2.10"), pool, output("v1", ip("10.0.2.10"), pool, 1, 0),
                            output("v2", ip("10.0.2.20"), pool + (1 << 13), 2, 500)))
    assign_outputs_bad = enc('assignment { generation: 5 active: true '
                             'rules { online_port: 80 target_ip: %d target_port: 8080 } '
                             'client_range { addr: %d len: 18 } copies: 1 sample_percent: 100 %s }'
                             % (ip("10.0.2.10"), pool, output("v2", ip("10.0.2.20"),
                                                              ip("10.251.0.0"), 1, 0)))
    challenge = enc('challenge { version: 1 nonce: "%s" }' % ("\\x5a" * 32))
    challenge_short = enc('challenge { version: 1 nonce: "abc" }')
    error = enc('error { code: 10004 reason: "bad or missing auth MAC" }')
    stats = enc('stats { generation: 4 counters { name: "cap_pkts" value: 1 } }')
    apply = enc('apply { plan_json: "{}" dry_run: true }')

    K, LO, INS, FLEET = 1, 2, 4, 8
    out = {
        # keyed: three copy agents, overlapping claims, responses, tuples, expiry
        "keyed_fleet": bytes([K | (3 << 4)]) + rec(0, h0_key) + rec(1, h1_key) + rec(2, h2_key) +
        rec(0, responses) + rec(1, responses, 5) + rec(2, tuples) + rec(2, responses) +
        rec(0, heartbeat, 60) + rec(0, responses, 63) + rec(1, apply),
        # a SYN-ACK arriving before its owner (parked), then the owner connects
        "park_then_hello": bytes([LO]) + rec(3, responses) + rec(0, h0_nokey, 10) + rec(0, heartbeat),
        "park_expire": bytes([LO]) + rec(3, responses) + rec(0, heartbeat, 63) + rec(0, h0_nokey),
        # wrong MAC for the connection (peer 1's answer on peer 0)
        "keyed_wrong_nonce": bytes([K]) + rec(0, h1_key) + rec(0, tuples),
        "no_key_remote": bytes([0]) + rec(0, h0_nokey) + rec(0, tuples),
        "no_key_insecure": bytes([INS]) + rec(0, h0_nokey) + rec(0, tuples) + rec(3, responses),
        "tuples_only": bytes([LO | FLEET]) + rec(3, h_tuples_only) + rec(3, tuples) + rec(0, responses) +
        rec(3, tuples_badport) + rec(0, responses),
        "slow_peer": bytes([LO | 0x80 | (1 << 4)]) + rec(3, hello(3, [(pool, 16)], keyed=False)) +
        rec(0, responses) + rec(0, responses),
        "role_admin": bytes([LO]) + rec(0, hello(0, [], keyed=False, role="ROLE_ADMIN")),
        "too_many_owned": bytes([LO]) + rec(0, hello(0, [(ip("10.%d.%d.0" % (i // 256, i % 256)), 24)
                                                        for i in range(257)], keyed=False)),
        "host_bits": bytes([LO]) + rec(0, hello(0, [(ip("10.250.0.1"), 24)], keyed=False)),
        "responses_bad": bytes([LO]) + rec(0, h0_nokey) + rec(0, responses_bad),
        "assign_intercept": bytes([FLEET]) + rec(0, assign_icpt) + rec(0, assign_hostbits) +
        rec(0, assign_len33) + rec(0, assign_idle) + rec(0, assign_icpt),
        "assign_copy": bytes([0]) + rec(0, assign_copy),
        "assign_copy_refused": bytes([FLEET]) + b"".join(rec(0, m) for m in copy_refused) +
        rec(0, assign_copy),
        "assign_copy_outputs": bytes([FLEET]) + rec(0, assign_outputs_bad) + rec(0, assign_outputs),
        "client_side": bytes([K]) + rec(0, challenge) + rec(1, challenge_short) + rec(2, error) + rec(3, stats),
        "oversize": bytes([LO]) + b"\x00" + b"\x00\x20\x00\x00" + b"\0" * 8,
        "undecodable": bytes([LO]) + rec(0, b"\xff\xff\xff") + rec(0, h0_nokey),
    }
    return out


def main():
    check = "--check" in sys.argv[1:]
    d = os.path.join(HERE, "corpus", "envelope")
    os.makedirs(d, exist_ok=True)
    bad = 0
    for k, v in sorted(seeds().items()):
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
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
