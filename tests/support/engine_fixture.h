/* engine_fixture.h -- the replay engine as its tests set it up: the bed's
 * transfer (80 -> 10.199.0.30:8080), client range 10.250.0.0/16, timeouts
 * and MTU of a default agent. One place, so test_cp_sess, test_cp_offline,
 * test_cp_trim and fuzz_engine start from the same engine and change only
 * what each is about. Header-only test code. */
#ifndef RF_TEST_ENGINE_FIXTURE_H
#define RF_TEST_ENGINE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cp_sess.h"
#include "rf_cidr.h"
#include "rf_rule.h"

static inline cp_engine_cfg_t
ef_cfg(unsigned copies, size_t memory_bytes)
{
    cp_engine_cfg_t c;
    memset(&c, 0, sizeof(c));
    rf_rules_parse(c.rules, &c.nrules, "80-10.199.0.30:8080", NULL);
    c.has_range = 1;
    rf_cidr_parse(&c.range, "10.250.0.0/16", NULL);
    c.copies = copies;
    c.sample_percent = 100;
    c.session_timeout_ms = 60000;
    c.causal_timeout_ms = 2000;
    c.mtu = 1500;
    c.mss = 1460;
    c.memory_bytes = memory_bytes;
    return c;
}

/* A sink that only counts the packets the engine sends. */
static unsigned ef_emitted;
static inline void
ef_count_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr)
{
    (void)ctx;
    (void)ip;
    (void)len;
    (void)daddr;
    ef_emitted++;
}

#endif
