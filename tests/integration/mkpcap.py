#!/usr/bin/env python3
"""Write the pcap files t_copy_badinput.sh feeds to replay-copy -o.

mkpcap.py DIR writes into DIR:
  valid.pcap            one well-formed HTTP session 10.1.1.1:40000 -> 10.1.1.2:80
  corrupt.pcap          random bytes (bad magic)
  trunc-header.pcap     the first 12 bytes of a pcap global header
  trunc-record.pcap     valid.pcap cut in the middle of its 4th record
  badpkts.pcap          a valid file of malformed packets (and the valid
                        session), which must be counted as bad_pkts, never crash
and prints the number of malformed IPv4/TCP packets in badpkts.pcap that a
kernel filter like "tcp and dst port 80" still passes (the ports are where
BPF looks for them), i.e. that must reach the agent's parser and be counted.
The IHL=3 and cut-IP-header packets are in the file too, but BPF may already
drop them, so they are not in that number.
No third-party modules: struct only.
"""
import os
import random
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def tcp_pkt(src, dst, sport, dport, seq, ack, flags, payload=b"", doff=5,
            ihl=5, tot_len=None, version=4):
    """Ethernet + IPv4 + TCP, checksums right unless a field is bogus."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (doff << 4), flags,
                      65535, 0, 0) + payload
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    if tot_len is None:
        tot_len = 20 + len(tcp)
    iph = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tot_len, 1, 0x4000,
                      64, 6, 0, ip4(src), ip4(dst))
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + iph + tcp


def pcap(records):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    t = 1_700_000_000
    for i, (data, caplen) in enumerate(records):
        if caplen is None:
            caplen = len(data)
        out += struct.pack("<IIII", t, i * 1000, caplen, len(data)) + data[:caplen]
    return out


def session():
    c, s = "10.1.1.1", "10.1.1.2"
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    return [
        (tcp_pkt(c, s, 40000, 80, 1000, 0, 0x02), None),                 # SYN
        (tcp_pkt(s, c, 80, 40000, 5000, 1001, 0x12), None),              # SYN-ACK
        (tcp_pkt(c, s, 40000, 80, 1001, 5001, 0x10), None),              # ACK
        (tcp_pkt(c, s, 40000, 80, 1001, 5001, 0x18, req), None),         # request
        (tcp_pkt(c, s, 40000, 80, 1001 + len(req), 5001, 0x11), None),   # FIN
    ]


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    valid = pcap(session())
    with open(os.path.join(d, "valid.pcap"), "wb") as f:
        f.write(valid)
    rnd = random.Random(7)
    with open(os.path.join(d, "corrupt.pcap"), "wb") as f:
        f.write(bytes(rnd.randrange(256) for _ in range(4096)))
    with open(os.path.join(d, "trunc-header.pcap"), "wb") as f:
        f.write(valid[:12])
    # Global header 24 + three records, then half of the 4th.
    off = 24
    for _ in range(3):
        caplen = struct.unpack("<I", valid[off + 8:off + 12])[0]
        off += 16 + caplen
    with open(os.path.join(d, "trunc-record.pcap"), "wb") as f:
        f.write(valid[:off + 16 + 10])

    c, s = "10.1.1.3", "10.1.1.2"
    good = tcp_pkt(c, s, 40001, 80, 1, 0, 0x02)
    # Malformed, but with the ports where BPF reads them: must be counted.
    bad = [
        (tcp_pkt(c, s, 40001, 80, 1, 0, 0x02, doff=2), None),           # TCP doff < 5
        (tcp_pkt(c, s, 40001, 80, 1, 0, 0x02, doff=15), None),          # doff past the end
        (tcp_pkt(c, s, 40001, 80, 1, 0, 0x02, tot_len=9000), None),     # IP length > frame
        (tcp_pkt(c, s, 40001, 80, 1, 0, 0x02, tot_len=10), None),       # IP length < header
        (good, 14 + 20 + 8),                                            # TCP header cut (caplen)
        (tcp_pkt(c, s, 40001, 80, 1, 0, 0x02, version=6), None),        # v6 in an IPv4 frame
    ]
    # Malformed where BPF may already reject them.
    bad_filtered = [
        (tcp_pkt(c, s, 40001, 80, 1, 0, 0x02, ihl=3), None),            # IHL < 5
        (good, 14 + 10),                                                # IP header cut (caplen)
    ]
    other = [
        (b"\xff" * 6 + b"\x02\0\0\0\0\x01" + b"\x08\x06" + b"\0" * 28, None),  # ARP
        (b"\x02\0\0\0\0\x02", None),                                   # 6-byte runt frame
        (b"", None),                                                   # empty record
    ]
    with open(os.path.join(d, "badpkts.pcap"), "wb") as f:
        f.write(pcap(bad + bad_filtered + other + session()))
    print(len(bad))


if __name__ == "__main__":
    main()
