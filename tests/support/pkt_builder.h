/* pkt_builder.h -- well-formed IPv4/TCP packets for the replay engine's unit
 * tests (test_cp_sess.c) and its fuzzer (fuzz_engine.c), on the addresses of
 * the integration bed. One builder, so the fuzzer drives the engine with the
 * same packets the unit tests reason about. Header-only: test code, linked
 * into nothing shipped. */
#ifndef RF_TEST_PKT_BUILDER_H
#define RF_TEST_PKT_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rf_pkt.h"

#define PB_CLIENT 0x0ac70a0au   /* 10.199.10.10 */
#define PB_ONLINE 0x0ac70014u   /* 10.199.0.20 */
#define PB_TARGET 0x0ac7001eu   /* 10.199.0.30 */

/* pb_build: one IPv4 (DF, TTL 64) + TCP packet from s:sp to d:dp into p
 * (room for 60 + plen bytes). A SYN carries MSS 1460 and window scale 7;
 * ts != 0 adds the timestamp option (tsval, tsecr). The payload is
 * 'a'..'z' repeated, so a test can tell bytes apart. Checksums are valid.
 * Returns the total length. */
static inline size_t
pb_build(uint8_t *p, uint32_t s, uint16_t sp, uint32_t d, uint16_t dp, uint32_t seq,
         uint32_t ack, uint8_t flags, uint16_t plen, int ts, uint32_t tsval, uint32_t tsecr)
{
    uint16_t th = (uint16_t)(20 + (ts ? 12 : 0) + ((flags & RF_TH_SYN) ? 8 : 0));
    uint16_t tot = (uint16_t)(20 + th + plen);
    memset(p, 0, tot);
    p[0] = 0x45;
    wr16(p + 2, tot);
    wr16(p + 6, 0x4000);
    p[8] = 64;
    p[9] = 6;
    wr32(p + 12, s);
    wr32(p + 16, d);
    uint8_t *t = p + 20;
    wr16(t, sp);
    wr16(t + 2, dp);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = (uint8_t)((th / 4) << 4);
    t[13] = flags;
    wr16(t + 14, 502);
    uint8_t *o = t + 20;
    if (flags & RF_TH_SYN) {
        o[0] = 2; o[1] = 4; wr16(o + 2, 1460);          /* MSS */
        o[4] = 1; o[5] = 3; o[6] = 3; o[7] = 7;          /* NOP, wscale 7 */
        o += 8;
    }
    if (ts) {
        o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
        wr32(o + 4, tsval);
        wr32(o + 8, tsecr);
    }
    for (uint16_t i = 0; i < plen; i++)
        p[20 + th + i] = (uint8_t)('a' + i % 26);
    rf_pkt_fix_checksums(p);
    return tot;
}

#endif
