#!/usr/bin/env python3
"""sec_attack.py -- the attacker of t_security.sh. Every mode is bounded in
time and count and only talks to the address it is given (inside the test's
namespaces).

  flood HOST PORT N SECS SRC1,SRC2,...   keep N connections open to HOST:PORT
        from the given source addresses (round robin): half idle, half
        having sent a partial TLS record / frame; reconnect what the server
        drops (<= 250/s); print JSON {opened, dropped, max_open} at the end.
  relay LISTEN_IP PORT DST_IP DST_PORT SECS MODE   a TCP relay (a man in the
        middle on the wire). MODE pass: bytes unchanged; tamper: 2 s into
        a connection (handshake long done), flip the last byte of the next
        client->server chunk (once).
  fakectl LISTEN_IP PORT SECS   a fake v1 controller without any key: sends a
        plaintext Challenge, records what the agent answers (JSON at the end).
  hello HOST PORT ID   plain v1 client: answer the Challenge with a Hello
        whose id is ID (may contain control characters), print the reply.
"""
import json
import os
import resource
import select
import socket
import struct
import sys
import time


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def frame(env):
    return struct.pack(">I", len(env)) + env


def challenge():
    ch = field_varint(1, 1) + field_bytes(2, os.urandom(32))
    return frame(field_bytes(1, ch))          # Envelope.challenge = 1


def hello(ident, role=1):
    h = field_varint(1, 1) + field_varint(2, role) + field_bytes(3, ident) + field_bytes(4, b"mallory")
    return frame(field_bytes(2, h))           # Envelope.hello = 2


def flood(host, port, n, secs, srcs):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, n + 256)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    srcs = srcs.split(",")
    socks = {}
    opened = dropped = max_open = 0
    k = 0
    end = time.time() + secs
    ep = select.epoll()
    t0 = time.time()
    while time.time() < end:
        # top up: the first fill at once, then reconnects at <= 250/s (a
        # held flood, not a connection-rate flood)
        budget = int(n + 250 * (time.time() - t0)) - opened
        while len(socks) < n and budget > 0:
            budget -= 1
            s = socket.socket()
            s.setblocking(False)
            try:
                s.bind((srcs[k % len(srcs)], 0))
                s.connect_ex((host, port))
            except OSError:
                s.close()
                break
            k += 1
            opened += 1
            socks[s.fileno()] = (s, k % 2, time.time())
            ep.register(s.fileno(), select.EPOLLIN | select.EPOLLOUT | select.EPOLLRDHUP)
        max_open = max(max_open, len(socks))
        for fd, ev in ep.poll(0.2):
            s, partial, _ = socks.get(fd, (None, 0, 0))
            if s is None:
                continue
            if ev & (select.EPOLLERR | select.EPOLLHUP | select.EPOLLRDHUP):
                ep.unregister(fd)
                s.close()
                del socks[fd]
                dropped += 1
                continue
            if ev & select.EPOLLIN:
                try:
                    if s.recv(4096) == b"":
                        raise OSError
                except BlockingIOError:
                    pass
                except OSError:
                    ep.unregister(fd)
                    s.close()
                    del socks[fd]
                    dropped += 1
                    continue
            if ev & select.EPOLLOUT:
                if partial:
                    # A TLS handshake record header announcing 16 KiB, then
                    # 100 bytes of it; a plain server sees a huge frame length.
                    try:
                        s.send(b"\x16\x03\x01\x40\x00" + b"A" * 100)
                    except OSError:
                        pass
                ep.modify(fd, select.EPOLLIN | select.EPOLLRDHUP)
    for s, _, _ in socks.values():
        s.close()
    print(json.dumps({"opened": opened, "dropped": dropped, "max_open": max_open}))


def relay(lip, lport, dip, dport, secs, mode):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lip, lport))
    ls.listen(16)
    ls.setblocking(False)
    pairs = {}
    stats = {"conns": 0, "c2s": 0, "tampered": 0}
    since = time.time()
    end = time.time() + secs
    while time.time() < end:
        rl = [ls] + [p[0] for p in pairs.values()]
        r, _, _ = select.select(rl, [], [], 0.2)
        for s in r:
            if s is ls:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                u = socket.create_connection((dip, dport), timeout=3)
                stats["conns"] += 1
                pairs[c.fileno()] = (c, u, True)
                pairs[u.fileno()] = (u, c, False)
                since = time.time()
                continue
            if s.fileno() not in pairs:
                continue
            src, dst, c2s = pairs[s.fileno()]
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for x in (src, dst):
                    pairs.pop(x.fileno(), None)
                    x.close()
                continue
            if c2s:
                if mode == "tamper" and time.time() - since > 2.0 and not stats["tampered"]:
                    # The last byte of a chunk is the end of a record's
                    # AEAD tag: the record can no longer authenticate.
                    data = data[:-1] + bytes([data[-1] ^ 0x01])
                    stats["tampered"] += 1
                stats["c2s"] += len(data)
            try:
                dst.sendall(data)
            except OSError:
                pass
    print(json.dumps(stats))


def fakectl(lip, lport, secs):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lip, lport))
    ls.listen(16)
    ls.settimeout(0.5)
    seen = {"conns": 0, "first_bytes": [], "hello_frames": 0}
    end = time.time() + secs
    while time.time() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        seen["conns"] += 1
        c.settimeout(2)
        try:
            c.sendall(challenge())
            data = c.recv(4096)
        except OSError:
            data = b""
        seen["first_bytes"].append(data[:3].hex())
        # A v1 Hello is a frame whose envelope starts with field 2 (0x12).
        if len(data) > 5 and data[4] == 0x12:
            seen["hello_frames"] += 1
        c.close()
    print(json.dumps(seen))


def plain_hello(host, port, ident):
    s = socket.create_connection((host, port), timeout=3)
    s.recv(4096)
    s.sendall(hello(ident.encode("latin-1")))
    time.sleep(0.3)
    try:
        print(s.recv(4096)[4:].decode("latin-1", "replace"))
    except OSError as e:
        print("closed: %s" % e)
    s.close()


if __name__ == "__main__":
    m = sys.argv[1]
    a = sys.argv[2:]
    if m == "flood":
        flood(a[0], int(a[1]), int(a[2]), float(a[3]), a[4])
    elif m == "relay":
        relay(a[0], int(a[1]), a[2], int(a[3]), float(a[4]), a[5])
    elif m == "fakectl":
        fakectl(a[0], int(a[1]), float(a[2]))
    elif m == "hello":
        plain_hello(a[0], int(a[1]), a[2].encode().decode("unicode_escape"))
    else:
        sys.exit("unknown mode " + m)
