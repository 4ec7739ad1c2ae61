/* test_rf_parse.c -- the shared flag-value parsers: accepted forms, the
 * strictness every caller relies on (no blanks, signs, hex, trailing text,
 * overflow), ranges, and the flag-level messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <string.h>

#include "rf_parse.h"
#include "rf_ports.h"

static void
uint_ok(void **state)
{
    unsigned long v = 7;
    assert_int_equal(rf_parse_uint(&v, "0", 0, 10), 0);
    assert_int_equal(v, 0);
    assert_int_equal(rf_parse_uint(&v, "1023", 1, 1023), 0);
    assert_int_equal(v, 1023);
    assert_int_equal(rf_parse_uint(&v, "007", 0, 10), 0);
    assert_int_equal(v, 7);
    (void)state;
}

static void
uint_bad(void **state)
{
    const char *bad[] = { "", " 5", "+5", "-5", "5 ", "5x", "0x10", "1e3", "99999999999999999999999" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned long v = 42;
        assert_int_equal(rf_parse_uint(&v, bad[i], 0, ULONG_MAX), RF_EPARSE);
        assert_int_equal(v, 42);   /* untouched on error */
    }
    unsigned long v = 42;
    assert_int_equal(rf_parse_uint(&v, "0", 1, 10), RF_EPARSE);
    assert_int_equal(rf_parse_uint(&v, "11", 1, 10), RF_EPARSE);
    assert_int_equal(v, 42);
    (void)state;
}

static void
int_and_double(void **state)
{
    long l;
    assert_int_equal(rf_parse_int(&l, "-20", -20, 19), 0);
    assert_int_equal(l, -20);
    assert_int_equal(rf_parse_int(&l, "19", -20, 19), 0);
    assert_int_equal(rf_parse_int(&l, "20", -20, 19), RF_EPARSE);
    assert_int_equal(rf_parse_int(&l, "+1", -20, 19), RF_EPARSE);
    assert_int_equal(rf_parse_int(&l, "-", -20, 19), RF_EPARSE);
    assert_int_equal(rf_parse_int(&l, "--1", -20, 19), RF_EPARSE);
    double d;
    assert_int_equal(rf_parse_double(&d, "0.5", 0, 1000), 0);
    assert_true(d == 0.5);
    assert_int_equal(rf_parse_double(&d, "12", 0, 1000), 0);
    assert_true(d == 12);
    const char *bad[] = { "", ".5", "nan", "inf", "1e2", "-1", "1,5", "1.5.", " 1", "0x1", "1001" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rf_parse_double(&d, bad[i], 0, 1000), RF_EPARSE);
    (void)state;
}

static void
hostport(void **state)
{
    char h[16];
    uint16_t p = 0;
    assert_int_equal(rf_parse_hostport("10.0.0.1", h, sizeof(h), &p, RF_PORT_CONTROL), 0);
    assert_string_equal(h, "10.0.0.1");
    assert_int_equal(p, 36523);
    assert_int_equal(rf_parse_hostport("10.0.0.1:9", h, sizeof(h), &p, 1), 0);
    assert_int_equal(p, 9);
    assert_int_equal(rf_parse_hostport("255.255.255.255:65535", h, sizeof(h), &p, 1), 0);
    assert_int_equal(p, 65535);
    const char *bad[] = { "", ":80", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:+80",
                          "10.0.0.1: 80", "10.0.0.1:80x", "host:80", "10.0.0.1:80:90",
                          "10.0.0.256", "::1", "[::1]:80", "1.2.3.4.5:80" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(h, "keep");
        p = 7;
        assert_int_equal(rf_parse_hostport(bad[i], h, sizeof(h), &p, 1), RF_EPARSE);
        assert_string_equal(h, "keep");
        assert_int_equal(p, 7);
    }
    /* the host must fit the caller's buffer */
    char small[8];
    assert_int_equal(rf_parse_hostport("10.0.0.1:80", small, sizeof(small), &p, 1), RF_EPARSE);
    assert_int_equal(rf_parse_hostport("1.2.3.4:80", small, sizeof(small), &p, 1), 0);
    (void)state;
}

static void
str_copy(void **state)
{
    char b[4] = "xyz";
    assert_int_equal(rf_parse_str(b, sizeof(b), "abcd"), RF_ERANGE);
    assert_string_equal(b, "xyz");
    assert_int_equal(rf_parse_str(b, sizeof(b), "abc"), 0);
    assert_string_equal(b, "abc");
    assert_int_equal(rf_parse_str(b, sizeof(b), ""), 0);
    assert_string_equal(b, "");
    (void)state;
}

static void
duration(void **state)
{
    uint64_t ms;
    assert_int_equal(rf_parse_duration_ms(&ms, "500ms", 1000, 0, UINT32_MAX), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(rf_parse_duration_ms(&ms, "2s", 1000, 0, UINT32_MAX), 0);
    assert_int_equal(ms, 2000);
    assert_int_equal(rf_parse_duration_ms(&ms, "1.5s", 1000, 0, UINT32_MAX), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(rf_parse_duration_ms(&ms, "5m", 1000, 0, UINT32_MAX), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(rf_parse_duration_ms(&ms, "1h", 1000, 0, UINT32_MAX), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(rf_parse_duration_ms(&ms, "0.1", 1000, 100, 3600000), 0);   /* bare: s */
    assert_int_equal(ms, 100);
    assert_int_equal(rf_parse_duration_ms(&ms, "250", 1, 0, 1000), 0);          /* bare: ms */
    assert_int_equal(ms, 250);
    const char *bad[] = { "", "s", "5 s", "5sec", "5S", "-1s", "1e3ms", "5ms ", "0.05", "3601" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 9;
        assert_int_equal(rf_parse_duration_ms(&ms, bad[i], 1000, 100, 3600000), RF_EPARSE);
        assert_int_equal(ms, 9);
    }
    (void)state;
}

static void
flag_messages(void **state)
{
    rf_errbuf_t err;
    unsigned long v;
    assert_int_equal(rf_flag_uint(&v, "-n", "0", 1, 1023, &err), RF_EPARSE);
    assert_string_equal(err.msg, "-n \"0\": expected an integer 1..1023");
    long l;
    assert_int_equal(rf_flag_int(&l, "--nice", "x", -20, 19, &err), RF_EPARSE);
    assert_string_equal(err.msg, "--nice \"x\": expected an integer -20..19");
    double d;
    assert_int_equal(rf_flag_double(&d, "--speed", "fast", 0, 1000, &err), RF_EPARSE);
    assert_string_equal(err.msg, "--speed \"fast\": expected a number 0..1000");
    char h[64];
    uint16_t p;
    assert_int_equal(rf_flag_hostport("--controller", "x:1", h, sizeof(h), &p, 1, &err),
                     RF_EPARSE);
    assert_string_equal(err.msg, "--controller \"x:1\": expected IPv4[:port] (numeric address, "
                                 "port 1..65535)");
    char s[4];
    assert_int_equal(rf_flag_str(s, sizeof(s), "--id", "abcd", RF_STR_ANY, &err), RF_EPARSE);
    assert_string_equal(err.msg, "--id: value too long (max 3 characters)");
    assert_int_equal(rf_flag_str(s, sizeof(s), "--id", "", RF_STR_NONEMPTY, &err), RF_EPARSE);
    assert_string_equal(err.msg, "--id: empty value");
    assert_int_equal(rf_flag_str(s, sizeof(s), "--id", "", RF_STR_ANY, &err), 0);
    (void)state;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uint_ok),  cmocka_unit_test(uint_bad), cmocka_unit_test(int_and_double),
        cmocka_unit_test(hostport), cmocka_unit_test(str_copy), cmocka_unit_test(duration),
        cmocka_unit_test(flag_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
