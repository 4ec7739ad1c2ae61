#!/usr/bin/env python3
"""Read the TCP segments of a pcap file, for the integration tests' counts.

The tests count from files, not from tcpdump's text (whose summary lines
depend on its version, on segmentation and on the decoders it applies).
Ethernet (with 802.1Q/802.1ad tags) and raw IPv4 links; IPv4 only.
No third-party modules: struct only.

  pcap_tcp.py requests PCAP IP PORT
      number of HTTP requests sent to IP:PORT: segments whose payload
      starts a request line, each (source, port, sequence number) once, so
      a retransmission is not counted twice.

As a module: segments(path) yields Segment tuples in file order.
"""
import collections
import ipaddress
import re
import struct
import sys

Segment = collections.namedtuple("Segment", "ts src sport dst dport seq flags payload")

_LE_MAGIC = (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")   # usec, nsec
_NSEC_MAGIC = (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
_REQUEST = re.compile(rb"^[A-Z]{3,8} \S+ HTTP/1\.[01]\r\n")


def _ipv4(frame, link):
    """The IPv4 datagram inside one captured frame, or None."""
    if link in (101, 228):                        # LINKTYPE_RAW, LINKTYPE_IPV4
        return frame
    if len(frame) < 14:
        return None
    off, etype = 14, frame[12] << 8 | frame[13]
    while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        etype, off = frame[off + 2] << 8 | frame[off + 3], off + 4
    return frame[off:] if etype == 0x0800 else None


def segments(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            raise ValueError("%s: not a pcap file (%d bytes)" % (path, len(hdr)))
        end = "<" if hdr[:4] in _LE_MAGIC else ">"
        frac = 1e9 if hdr[:4] in _NSEC_MAGIC else 1e6
        link = struct.unpack(end + "I", hdr[20:24])[0]
        if link not in (1, 101, 228):
            raise ValueError("%s: link type %d not handled" % (path, link))
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, sub, caplen = struct.unpack(end + "III", rec[:12])
            p = _ipv4(f.read(caplen), link)
            if p is None or len(p) < 20 or p[0] >> 4 != 4 or p[9] != 6:
                continue
            t = p[(p[0] & 15) * 4:struct.unpack("!H", p[2:4])[0]]
            if len(t) < 20:
                continue
            sport, dport, seq = struct.unpack("!HHI", t[:8])
            yield Segment(sec + sub / frac, str(ipaddress.IPv4Address(p[12:16])), sport,
                          str(ipaddress.IPv4Address(p[16:20])), dport, seq, t[13],
                          t[(t[12] >> 4) * 4:])


def requests(path, ip, port):
    seen = {(s.src, s.sport, s.seq) for s in segments(path)
            if s.dst == ip and s.dport == port and _REQUEST.match(s.payload)}
    return len(seen)


def main(argv):
    if len(argv) == 5 and argv[1] == "requests":
        print(requests(argv[2], argv[3], int(argv[4])))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
