"""agent-copy's flow hash, for the tests that predict which copy agent
replays a flow (t_mirror: --shard I/N; t_fleet_mirror: the controller's
buckets): common/rf_hash.h's rf_hash_flow with agent-copy/cp_map.c's
SHARD_SEED. The seed is read from the source, so a changed constant makes
the prediction fail loudly instead of drifting. Standard library only.

  seed = flowhash.shard_seed(SRC)          # OSError/AttributeError/ValueError
  flowhash.flow(seed, client_ip, client_port, server_ip, server_port) % N
"""
import re

M = (1 << 64) - 1


def shard_seed(src):
    """CP_MAP_SEED ^ SHARD_SEED's constant, from the tree at src."""
    seed = int(re.search(r"#define\s+CP_MAP_SEED\s+(0x[0-9a-fA-F]+)",
                         open(src + "/agent-copy/cp_map.h").read()).group(1), 16)
    return seed ^ int(re.search(r"#define SHARD_SEED \(CP_MAP_SEED \^ (0x[0-9a-fA-F]+)\)",
                                open(src + "/agent-copy/cp_map.c").read()).group(1), 16)


def mix(x):
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)


def tup(seed, sip, sp, dip, dp):
    return mix(mix(((sip << 32) | dip) ^ seed) ^ ((((sp << 16) | dp) + 0x9e3779b97f4a7c15) & M))


def flow(seed, i1, p1, i2, p2):
    """The same value for both directions of a flow (rf_hash_flow)."""
    return tup(seed, i2, p2, i1, p1) if (i1 > i2 or (i1 == i2 and p1 > p2)) else tup(seed, i1, p1, i2, p2)
