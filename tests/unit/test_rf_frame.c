/* test_rf_frame.c -- framing: split at every byte, oversize, decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rf_envelope.h"
#include "rf_err.h"
#include "rf_frame.h"

static size_t
make_frame(uint8_t *buf)
{
    Rfpb__Heartbeat hb = RFPB__HEARTBEAT__INIT;
    hb.mono_ms = 123456789;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    size_t n = rfpb__envelope__pack(&env, buf + 4);
    rf_frame_put_header(buf, (uint32_t)n);
    return n + 4;
}

static void
split_every_byte(void **state)
{
    uint8_t buf[64];
    size_t total = make_frame(buf);
    for (size_t cut = 0; cut < total; cut++) {
        size_t body;
        assert_int_equal(rf_frame_next(buf, cut, 1024, &body), 0);
    }
    size_t body = 0;
    assert_int_equal(rf_frame_next(buf, total, 1024, &body), (long)total);
    Rfpb__Envelope *env;
    assert_int_equal(rf_env_decode(&env, buf + 4, body), 0);
    assert_int_equal(env->msg_case, RFPB__ENVELOPE__MSG_HEARTBEAT);
    assert_int_equal(env->heartbeat->mono_ms, 123456789);
    rf_env_free(env);
}

static void
oversize_and_garbage(void **state)
{
    uint8_t hdr[4];
    size_t body;
    rf_frame_put_header(hdr, 0xffffffffu);
    assert_int_equal(rf_frame_next(hdr, 4, RF_FRAME_MAX_DEFAULT, &body), RF_EFRAME_TOO_BIG);
    rf_frame_put_header(hdr, 1025);
    assert_int_equal(rf_frame_next(hdr, 4, 1024, &body), RF_EFRAME_TOO_BIG);
    uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
    Rfpb__Envelope *env;
    assert_int_equal(rf_env_decode(&env, junk, sizeof(junk)), RF_EDECODE);
    /* An empty message decodes to no oneof case: refused. */
    assert_int_equal(rf_env_decode(&env, junk, 0), RF_EDECODE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(split_every_byte),
                                        cmocka_unit_test(oversize_and_garbage) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
