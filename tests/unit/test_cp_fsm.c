/* test_cp_fsm.c -- every transition of the replayed client connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cp_fsm.h"

static void
happy_paths(void **state)
{
    /* client closes first */
    assert_int_equal(cp_fsm_step(CP_ST_SYN_SENT, CP_EV_SYNACK), CP_ST_ESTABLISHED);
    assert_int_equal(cp_fsm_step(CP_ST_ESTABLISHED, CP_EV_FIN_SENT), CP_ST_FIN_WAIT1);
    assert_int_equal(cp_fsm_step(CP_ST_FIN_WAIT1, CP_EV_FIN_ACKED), CP_ST_FIN_WAIT2);
    assert_int_equal(cp_fsm_step(CP_ST_FIN_WAIT2, CP_EV_TARGET_FIN), CP_ST_TIME_WAIT);
    /* simultaneous */
    assert_int_equal(cp_fsm_step(CP_ST_FIN_WAIT1, CP_EV_TARGET_FIN), CP_ST_CLOSING);
    assert_int_equal(cp_fsm_step(CP_ST_CLOSING, CP_EV_FIN_ACKED), CP_ST_TIME_WAIT);
    /* server closes first (HTTP Connection: close) */
    assert_int_equal(cp_fsm_step(CP_ST_ESTABLISHED, CP_EV_TARGET_FIN), CP_ST_CLOSE_WAIT);
    assert_int_equal(cp_fsm_step(CP_ST_CLOSE_WAIT, CP_EV_FIN_SENT), CP_ST_LAST_ACK);
    assert_int_equal(cp_fsm_step(CP_ST_LAST_ACK, CP_EV_FIN_ACKED), CP_ST_TIME_WAIT);
}

static void
aborts(void **state)
{
    for (int s = CP_ST_SYN_SENT; s < CP_ST_TIME_WAIT; s++) {
        assert_int_equal(cp_fsm_step((cp_state_t)s, CP_EV_TARGET_RST), CP_ST_FREE);
        assert_int_equal(cp_fsm_step((cp_state_t)s, CP_EV_RST_SENT), CP_ST_TIME_WAIT);
        assert_int_equal(cp_fsm_step((cp_state_t)s, CP_EV_TIMEOUT), CP_ST_FREE);
    }
    assert_int_equal(cp_fsm_step(CP_ST_TIME_WAIT, CP_EV_TIMEOUT), CP_ST_FREE);
}

static void
invalid_pairs(void **state)
{
    /* Nothing moves a free slot; data-phase events before the handshake
     * are refused; out-of-range input is refused, not read. */
    for (int ev = 0; ev < CP_EV__COUNT; ev++)
        assert_int_equal(cp_fsm_step(CP_ST_FREE, (cp_event_t)ev), -1);
    assert_int_equal(cp_fsm_step(CP_ST_SYN_SENT, CP_EV_FIN_SENT), -1);
    assert_int_equal(cp_fsm_step(CP_ST_SYN_SENT, CP_EV_FIN_ACKED), -1);
    assert_int_equal(cp_fsm_step(CP_ST_FIN_WAIT2, CP_EV_FIN_SENT), -1);
    assert_int_equal(cp_fsm_step(CP_ST_TIME_WAIT, CP_EV_SYNACK), -1);
    assert_int_equal(cp_fsm_step((cp_state_t)99, CP_EV_SYNACK), -1);
    assert_int_equal(cp_fsm_step(CP_ST_SYN_SENT, (cp_event_t)99), -1);
    /* Every state has a name. */
    for (int s = 0; s < CP_ST__COUNT; s++)
        assert_string_not_equal(cp_state_name((cp_state_t)s), "?");
}

static void
can_send(void **state)
{
    assert_true(cp_fsm_can_send(CP_ST_ESTABLISHED));
    assert_true(cp_fsm_can_send(CP_ST_CLOSE_WAIT));
    assert_false(cp_fsm_can_send(CP_ST_SYN_SENT));
    assert_false(cp_fsm_can_send(CP_ST_FIN_WAIT1));
    assert_true(cp_fsm_done(CP_ST_TIME_WAIT));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(happy_paths), cmocka_unit_test(aborts),
        cmocka_unit_test(invalid_pairs), cmocka_unit_test(can_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
