/* test_cp_offline.c -- the offline reader's policy (intercept gate, pacing,
 * waiting for room, giving up a stuck wait, the end of the replay) and the
 * engine's room query it relies on: while cp_engine_has_room says yes, the
 * engine neither sheds nor aborts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cp_offline.h"
#include "cp_sess.h"
#include "engine_fixture.h"
#include "pkt_builder.h"

static void
gate_waits_for_intercepts(void **state)
{
    (void)state;
    cp_offline_t o;
    cp_offline_init(&o, 0, 60000, 1000);
    assert_int_equal(cp_offline_next(&o, 5, 0, 1, 0, 1000), CP_OFF_NOT_READY);
    assert_int_equal(cp_offline_next(&o, 5, 0, 1, 0, 1000 + CP_OFFLINE_ICPT_WAIT_MS - 1),
                     CP_OFF_NOT_READY);
    /* Bounded: past the wait the replay starts anyway. */
    assert_int_equal(cp_offline_next(&o, 5, 0, 1, 0, 1000 + CP_OFFLINE_ICPT_WAIT_MS),
                     CP_OFF_DELIVER);
    /* Once started, a lost intercept does not stop the file. */
    assert_int_equal(cp_offline_next(&o, 6, 0, 1, 0, 20000), CP_OFF_DELIVER);

    cp_offline_init(&o, 0, 60000, 1000);
    assert_int_equal(cp_offline_next(&o, 5, 1, 1, 0, 1001), CP_OFF_DELIVER);
}

static void
pacing_follows_timestamps(void **state)
{
    (void)state;
    cp_offline_t o;
    cp_offline_init(&o, 2.0, 60000, 0);
    uint64_t t0 = 1700000000000000ull;
    assert_int_equal(cp_offline_next(&o, t0, 1, 1, 0, 500), CP_OFF_DELIVER);
    /* 100 ms later in the file = 50 ms later at --speed 2 */
    assert_int_equal(cp_offline_next(&o, t0 + 100000, 1, 1, 0, 549), CP_OFF_NOT_DUE);
    assert_int_equal(cp_offline_next(&o, t0 + 100000, 1, 1, 0, 550), CP_OFF_DELIVER);
    /* out of order in the file: due at once */
    assert_int_equal(cp_offline_next(&o, t0 - 5, 1, 1, 0, 550), CP_OFF_DELIVER);
    /* --speed 0: everything is due */
    cp_offline_init(&o, 0, 60000, 0);
    assert_int_equal(cp_offline_next(&o, t0, 1, 1, 0, 1), CP_OFF_DELIVER);
    assert_int_equal(cp_offline_next(&o, t0 + 3600000000ull, 1, 1, 0, 1), CP_OFF_DELIVER);
}

static void
waits_for_room(void **state)
{
    (void)state;
    cp_offline_t o;
    cp_offline_init(&o, 0, 60000, 0);
    assert_int_equal(cp_offline_next(&o, 1, 1, 1, 0, 10), CP_OFF_DELIVER);
    assert_int_equal(o.waits, 0);
    assert_int_equal(cp_offline_next(&o, 2, 1, 0, 0, 20), CP_OFF_NO_ROOM);
    assert_int_equal(o.waits, 1);
    /* The engine makes progress: the wait goes on past the stall bound. */
    uint64_t t = 20;
    for (int i = 0; i < 30; i++) {
        t += 1000;
        assert_int_equal(cp_offline_next(&o, 2, 1, 0, 1, t), CP_OFF_NO_ROOM);
    }
    assert_int_equal(o.waits, 1);   /* one wait, however many looks */
    assert_int_equal(o.stalls, 0);
    assert_int_equal(cp_offline_next(&o, 2, 1, 1, 0, t + 1), CP_OFF_DELIVER);
    assert_int_equal(cp_offline_next(&o, 3, 1, 0, 0, t + 2), CP_OFF_NO_ROOM);
    assert_int_equal(o.waits, 2);
}

static void
stuck_wait_is_given_up(void **state)
{
    (void)state;
    cp_offline_t o;
    cp_offline_init(&o, 0, 60000, 0);
    assert_int_equal(cp_offline_next(&o, 1, 1, 1, 0, 10), CP_OFF_DELIVER);
    assert_int_equal(cp_offline_next(&o, 2, 1, 0, 0, 100), CP_OFF_NO_ROOM);
    assert_int_equal(cp_offline_next(&o, 2, 1, 0, 0, 100 + CP_OFFLINE_STALL_MS - 1),
                     CP_OFF_NO_ROOM);
    assert_int_equal(cp_offline_next(&o, 2, 1, 0, 0, 100 + CP_OFFLINE_STALL_MS), CP_OFF_DELIVER);
    assert_int_equal(o.stalls, 1);
    /* Stalled: packets go on without waiting until room comes back ... */
    assert_int_equal(cp_offline_next(&o, 3, 1, 0, 0, 100 + CP_OFFLINE_STALL_MS), CP_OFF_DELIVER);
    assert_int_equal(o.waits, 1);
    /* ... then waiting resumes. */
    assert_int_equal(cp_offline_next(&o, 4, 1, 1, 0, 20000), CP_OFF_DELIVER);
    assert_int_equal(cp_offline_next(&o, 5, 1, 0, 0, 20001), CP_OFF_NO_ROOM);
    assert_int_equal(o.waits, 2);
}

static void
wait_shifts_the_schedule(void **state)
{
    (void)state;
    cp_offline_t o;
    cp_offline_init(&o, 1.0, 60000, 0);
    assert_int_equal(cp_offline_next(&o, 1000000, 1, 1, 0, 100), CP_OFF_DELIVER);
    /* due at 200; no room until 700 */
    assert_int_equal(cp_offline_next(&o, 1100000, 1, 0, 0, 200), CP_OFF_NO_ROOM);
    assert_int_equal(cp_offline_next(&o, 1100000, 1, 1, 1, 700), CP_OFF_DELIVER);
    /* the next one was 100 ms behind it in the file: still 100 ms behind */
    assert_int_equal(cp_offline_next(&o, 1200000, 1, 1, 0, 799), CP_OFF_NOT_DUE);
    assert_int_equal(cp_offline_next(&o, 1200000, 1, 1, 0, 800), CP_OFF_DELIVER);
}

static void
end_counts_from_the_end_of_the_file(void **state)
{
    (void)state;
    cp_offline_t o;
    cp_offline_init(&o, 1.0, 5000, 0);
    assert_false(cp_offline_finished(&o, 0, 1000000));   /* file not done */
    cp_offline_eof(&o, 900000);   /* a 15-minute file */
    assert_false(cp_offline_finished(&o, 3, 900000 + 5000 + CP_OFFLINE_GRACE_MS));
    assert_true(cp_offline_finished(&o, 3, 900000 + 5000 + CP_OFFLINE_GRACE_MS + 1));
    assert_true(cp_offline_finished(&o, 0, 900001));
    cp_offline_eof(&o, 950000);   /* only the first end counts */
    assert_true(cp_offline_finished(&o, 3, 900000 + 5000 + CP_OFFLINE_GRACE_MS + 1));
}

/* ---- cp_engine_has_room ---- */

/* The sink counts what the engine sends (ef_emitted). */
static const cp_sink_t sink = { ef_count_emit, NULL };

static cp_engine_cfg_t
small_cfg(unsigned copies)
{
    return ef_cfg(copies, 4u << 20);
}

/* New sessions (three copies each) while there is room: none shed; room
 * runs out before the sessions do. */
static void
room_for_sessions(void **state)
{
    (void)state;
    cp_engine_cfg_t c = small_cfg(3);
    cp_engine_t *e = cp_engine_new(&c, &sink, NULL, 0);
    assert_non_null(e);
    const cp_stats_t *st = cp_engine_stats(e);
    uint8_t p[1600];
    unsigned made = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        size_t n = pb_build(p, PB_CLIENT + (i >> 14), (uint16_t)(1024 + (i & 0x3fff)), PB_ONLINE,
                            80, 1000 + i, 0, RF_TH_SYN, 0, 1, 1, 0);
        if (!cp_engine_has_room(e, n))
            break;
        cp_engine_on_client(e, p, n, 1);
        made++;
    }
    assert_true(made > 100 && made < 100000);
    assert_int_equal(st->sess_shed, 0);
    assert_int_equal(st->shed_pkts, 0);
    assert_int_equal(st->orig_sessions, made);
    assert_int_equal(st->sess_active, 3u * made);
    /* The query is not just timid: the engine really is full now. */
    size_t n = pb_build(p, PB_CLIENT + 99, 1024, PB_ONLINE, 80, 5, 0, RF_TH_SYN, 0, 1, 1, 0);
    cp_engine_on_client(e, p, n, 1);
    assert_true(st->sess_shed > 0);
    cp_engine_free(e);
}

/* MTU-sized data held for a session whose SYN-ACK has not come: room runs
 * out before the engine would abort the session. */
static void
room_for_segments(void **state)
{
    (void)state;
    cp_engine_cfg_t c = small_cfg(1);
    cp_engine_t *e = cp_engine_new(&c, &sink, NULL, 0);
    assert_non_null(e);
    const cp_stats_t *st = cp_engine_stats(e);
    uint8_t p[1600];
    size_t n = pb_build(p, PB_CLIENT, 40000, PB_ONLINE, 80, 1000, 0, RF_TH_SYN, 0, 1, 1, 0);
    assert_true(cp_engine_has_room(e, n));
    cp_engine_on_client(e, p, n, 1);
    uint32_t seq = 1001;
    unsigned held = 0;
    for (int i = 0; i < 100000; i++) {
        n = pb_build(p, PB_CLIENT, 40000, PB_ONLINE, 80, seq, 1, RF_TH_ACK | RF_TH_PSH, 1400, 1,
                     2, 0);
        if (!cp_engine_has_room(e, n))
            break;
        cp_engine_on_client(e, p, n, 2);
        seq += 1400;
        held++;
    }
    assert_true(held > 100 && held < 100000);
    assert_int_equal(st->sess_aborted, 0);
    assert_int_equal(st->shed_pkts, 0);
    assert_int_equal(st->accepted_pkts, held + 1);
    /* Small requests still fit in the small class. */
    n = pb_build(p, PB_CLIENT, 40001, PB_ONLINE, 80, 1000, 0, RF_TH_SYN, 0, 1, 1, 0);
    assert_true(cp_engine_has_room(e, n));
    cp_engine_free(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gate_waits_for_intercepts),
        cmocka_unit_test(pacing_follows_timestamps),
        cmocka_unit_test(waits_for_room),
        cmocka_unit_test(stuck_wait_is_given_up),
        cmocka_unit_test(wait_shifts_the_schedule),
        cmocka_unit_test(end_counts_from_the_end_of_the_file),
        cmocka_unit_test(room_for_sessions),
        cmocka_unit_test(room_for_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
