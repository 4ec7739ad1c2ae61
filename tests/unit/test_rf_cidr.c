/* test_rf_cidr.c -- CIDR parsing (incl. tcpcopy's A.B.C.x), split, hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rf_cidr.h"

static void
parse_ok(void **state)
{
    rf_cidr_t c;
    assert_int_equal(rf_cidr_parse(&c, "10.250.0.0/16", NULL), 0);
    assert_int_equal(c.addr, 0x0afa0000u);
    assert_int_equal(c.len, 16);
    assert_int_equal(rf_cidr_parse(&c, "62.135.200.x", NULL), 0);
    assert_int_equal(c.addr, (62u << 24) | (135u << 16) | (200u << 8));
    assert_int_equal(c.len, 24);
    assert_int_equal(rf_cidr_parse(&c, "1.2.3.4", NULL), 0);
    assert_int_equal(c.len, 32);
    assert_int_equal(rf_cidr_parse(&c, "0.0.0.0/0", NULL), 0);
}

static void
parse_bad(void **state)
{
    rf_cidr_t c;
    rf_errbuf_t err;
    assert_int_not_equal(rf_cidr_parse(&c, "300.1.1.0/24", &err), 0);
    assert_non_null(strstr(err.msg, "300.1.1.0"));
    assert_int_not_equal(rf_cidr_parse(&c, "10.0.0.1/24", &err), 0);
    assert_non_null(strstr(err.msg, "host bits"));
    const char *bad[] = { "", "10.0.0.0/33", "10.0.0/24", "10.0.0.0/", "a.b.c.d", "10.0.0.0/-1",
                          "1.2.3.4.5", "01234.1.1.1", "1.2.3.4/8x", "x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(rf_cidr_parse(&c, bad[i], NULL), 0);
}

static void
split_disjoint(void **state)
{
    rf_cidr_t pool, a, b;
    rf_cidr_parse(&pool, "10.250.0.0/16", NULL);
    for (uint32_t i = 0; i < 16; i++) {
        assert_int_equal(rf_cidr_subnet(&a, &pool, 4, i), 0);
        assert_true(rf_cidr_contains(&pool, a.addr));
        for (uint32_t j = i + 1; j < 16; j++) {
            rf_cidr_subnet(&b, &pool, 4, j);
            assert_false(rf_cidr_overlap(&a, &b));
        }
    }
    assert_int_not_equal(rf_cidr_subnet(&a, &pool, 4, 16), 0);
    assert_int_not_equal(rf_cidr_subnet(&a, &pool, 17, 0), 0);
}

static void
hosts(void **state)
{
    rf_cidr_t c;
    rf_cidr_parse(&c, "10.0.0.0/30", NULL);
    assert_int_equal(rf_cidr_host_count(&c), 2);
    assert_int_equal(rf_cidr_host_at(&c, 0), 0x0a000001u);
    rf_cidr_parse(&c, "10.0.0.8/32", NULL);
    assert_int_equal(rf_cidr_host_count(&c), 1);
    assert_int_equal(rf_cidr_host_at(&c, 0), 0x0a000008u);
    char buf[32];
    rf_cidr_parse(&c, "10.250.16.0/20", NULL);
    rf_cidr_format(&c, buf, sizeof(buf));
    assert_string_equal(buf, "10.250.16.0/20");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_ok), cmocka_unit_test(parse_bad),
        cmocka_unit_test(split_disjoint), cmocka_unit_test(hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
