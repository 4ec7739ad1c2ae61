/* test_cp_trim.c -- cp_engine_trim: an idle engine gives the memory a burst
 * touched back (resident size drops), refuses while sessions live, and
 * works as before afterwards (structures consistent, sessions replay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cp_sess.h"
#include "engine_fixture.h"
#include "pkt_builder.h"

/* The sink counts what the engine sends (ef_emitted). */
static const cp_sink_t sink = { ef_count_emit, NULL };

static long
rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
check(cp_engine_t *e)
{
    char why[160] = "";
    if (cp_engine_check(e, why, sizeof(why)) != 0)
        fail_msg("cp_engine_check: %s", why);
}

/* n new sessions, each a SYN and a 100-byte request (small slots) held for its SYN-ACK. */
static void
burst(cp_engine_t *e, uint32_t n, uint32_t base, uint64_t now)
{
    uint8_t p[400];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = PB_CLIENT;
        uint16_t port = (uint16_t)(1024 + base + i);
        size_t len = pb_build(p, c, port, PB_ONLINE, 80, 1000, 0, RF_TH_SYN, 0, 1, 1, 0);
        cp_engine_on_client(e, p, len, now);
        len = pb_build(p, c, port, PB_ONLINE, 80, 1001, 1, RF_TH_ACK | RF_TH_PSH, 100, 1, 2, 0);
        cp_engine_on_client(e, p, len, now);
    }
}

static void
trim_after_burst(void **state)
{
    (void)state;
    cp_engine_cfg_t c = ef_cfg(1, 64u << 20);
    cp_engine_t *e = cp_engine_new(&c, &sink, NULL, 0);
    assert_non_null(e);
    const cp_stats_t *st = cp_engine_stats(e);

    assert_int_equal(cp_engine_trim(e), 0);   /* nothing touched yet */
    burst(e, 30000, 0, 1);
    assert_int_equal(st->sess_active, 30000);
    assert_int_equal(cp_engine_trim(e), 0);   /* sessions live: refused */
    check(e);
    long before = rss_kib();
    cp_engine_abort_all(e, 2);
    cp_engine_flush(e, 2);
    assert_int_equal(st->sess_active, 0);
    size_t n = cp_engine_trim(e);
    long after = rss_kib();
    /* 30000 sessions and 30000 small slots: several MB were touched */
    assert_true(n >= (4u << 20));
    assert_true(before > 0 && after > 0);
    assert_true(before - after >= 2048);
    check(e);
    assert_int_equal(cp_engine_trim(e), 0);   /* nothing left to give */

    /* Works as before: new sessions replay their SYN. */
    unsigned e0 = ef_emitted;
    burst(e, 100, 31000, 3);
    assert_int_equal(st->sess_active, 100);
    assert_true(ef_emitted >= e0 + 100);
    check(e);
    cp_engine_free(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trim_after_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
