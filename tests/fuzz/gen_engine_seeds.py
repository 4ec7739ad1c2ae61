#!/usr/bin/env python3
"""Seeds for fuzz_engine (layout in tests/fuzz/fuzz_engine.c): whole
sessions written as records, so the fuzzer starts from the interesting
states (held for causality, released, timed out, closed)."""
import os, struct, sys

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10

def rec(op, flags, sel, dt, seq, ack, plen):
    return struct.pack(">BBBBHHH", op, flags, sel, dt, seq, ack, plen)

def libpq(copies=0):
    # SSLRequest, 'N', StartupMessage, auth/ready, a query; reverse seen.
    r = [rec(0 | copies, SYN, 0, 1, 0, 0, 0),
         rec(1, SYN | ACK, 0, 0, 1, 0, 0),
         rec(0, ACK, 0, 0, 1, 1, 0),
         rec(0, ACK | PSH, 0, 0, 1, 1, 8),
         rec(1, ACK | PSH, 0, 1, 9, 1, 1),
         rec(0, ACK | PSH, 0, 0, 9, 2, 40),
         rec(2, SYN | ACK, 0, 2, 0, 1, 0),
         rec(2, ACK | PSH, 0, 1, 9, 1, 1),
         rec(2, ACK | PSH, 0, 1, 49, 2, 300),
         rec(3, 0, 0, 100, 0, 0, 0)]
    return b"".join(r)

def timeout():
    # A dependent segment the target never answers: the hold expires.
    r = [rec(0, SYN, 1, 1, 0, 0, 0),
         rec(0, ACK | PSH, 1, 0, 1, 1, 10),
         rec(0, ACK | PSH, 1, 0, 11, 30, 10),
         rec(2, SYN | ACK, 0, 1, 0, 1, 0),
         rec(3, 0, 0, 50, 0, 0, 0),
         rec(3, 0, 0, 50, 0, 0, 0),
         rec(0, ACK | FIN, 1, 1, 21, 40, 0),
         rec(3, 0, 0, 250, 0, 0, 0)]
    return b"".join(r)

def pipelined_long():
    # Pipelined requests longer than the MTU, then a client RST.
    r = [rec(0, SYN, 2, 1, 0, 0, 0),
         rec(0, ACK | PSH, 2, 0, 1, 1, 1400),
         rec(0, ACK | PSH, 2, 0, 1401, 1, 1400),
         rec(2, SYN | ACK, 0, 1, 0, 1, 0),
         rec(2, ACK, 0, 1, 1401, 1, 0),
         rec(0, ACK | RST, 2, 1, 2801, 1, 0),
         rec(3, 0, 0, 200, 0, 0, 0)]
    return b"".join(r)

def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "engine")
    os.makedirs(out, exist_ok=True)
    # 0x40: two outputs (target groups), 0x80: two copies
    seeds = {"libpq-ssl": libpq(), "libpq-copies": libpq(0x80), "libpq-outputs": libpq(0xc0),
             "causal-timeout": timeout(),
             "pipelined-rst": pipelined_long()}
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d engine seeds to %s" % (len(seeds), out))

if __name__ == "__main__":
    sys.exit(main())
