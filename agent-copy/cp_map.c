/* cp_map.c -- replayed 4-tuple arithmetic; see cp_map.h for the formulas. */
#include "cp_map.h"

#include "rf_hash.h"

#define PORT_SPAN 64512u   /* 1024..65535 */

uint16_t
cp_map_port(uint16_t orig_port, unsigned offset, unsigned copy, unsigned copies)
{
    if (copies == 0)
        copies = 1;
    uint32_t lane = PORT_SPAN / copies;
    uint32_t x = (uint32_t)orig_port + PORT_SPAN - 1024u;  /* p - 1024, kept positive */
    x += 61u * (offset % 1024u) + (copy % copies) * lane;
    return (uint16_t)(1024u + x % PORT_SPAN);
}

uint16_t
cp_map_port_probe(uint16_t port, unsigned attempt)
{
    /* A stride coprime with the span visits every port before repeating. */
    uint32_t x = (uint32_t)port - 1024u + 7919u * (attempt + 1u);
    return (uint16_t)(1024u + x % PORT_SPAN);
}

uint32_t
cp_map_addr(const rf_cidr_t *range, uint32_t orig_ip, unsigned copy, unsigned copies)
{
    uint32_t hosts = rf_cidr_host_count(range);
    if (hosts == 0)
        return range->addr;
    if (copies == 0)
        copies = 1;
    uint32_t stride = hosts / copies;
    uint64_t idx = rf_mix64((uint64_t)orig_ip ^ CP_MAP_SEED) % hosts;
    idx = (idx + (uint64_t)(copy % copies) * stride) % hosts;
    return rf_cidr_host_at(range, (uint32_t)idx);
}

int
cp_map_sampled(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport, unsigned percent)
{
    if (percent >= 100)
        return 1;
    uint64_t h = rf_hash_tuple(cip, cport, sip, sport, CP_MAP_SEED);
    return (h % 10000u) < (uint64_t)percent * 100u;
}

int
cp_map_shard_mine(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport, unsigned idx,
                  unsigned n)
{
    if (n <= 1)
        return 1;
    return rf_hash_flow(cip, cport, sip, sport, CP_MAP_SEED ^ 0x5a5a) % n == idx;
}
