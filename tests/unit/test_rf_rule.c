/* test_rf_rule.c -- transfer rules as tcpcopy's -x writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rf_rule.h"

static void
good(void **state)
{
    rf_rule_t r[RF_RULES_MAX];
    unsigned n;
    assert_int_equal(rf_rules_parse(r, &n, "80-10.0.0.2:8080,10.0.1.5:6379-10.0.2.11:6379", NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].online_ip, 0);
    assert_int_equal(r[0].online_port, 80);
    assert_int_equal(r[0].target_ip, 0x0a000002u);
    assert_int_equal(r[0].target_port, 8080);
    assert_int_equal(r[1].online_ip, 0x0a000105u);
    char buf[64];
    rf_rule_format(&r[1], buf, sizeof(buf));
    assert_string_equal(buf, "10.0.1.5:6379-10.0.2.11:6379");
}

static void
typos(void **state)
{
    rf_rule_t r;
    rf_errbuf_t err;
    struct { const char *in, *needle; } cases[] = {
        { "80:10.0.0.2:8080", "missing '-'" },
        { "80-10.0.0.2", "target must be IP:port" },
        { "80-10.0.0.300:80", "bad target address" },
        { "0-10.0.0.2:80", "bad online port" },
        { "80-10.0.0.2:70000", "bad target port" },
        { "1.2.3:80-10.0.0.2:80", "bad online address" },
        { "abc-10.0.0.2:80", "bad online port" },
        { "80-0.0.0.0:80", "0.0.0.0" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_not_equal(rf_rule_parse(&r, cases[i].in, &err), 0);
        assert_non_null(strstr(err.msg, cases[i].needle));
        assert_non_null(strstr(err.msg, cases[i].in));
    }
    unsigned n;
    assert_int_not_equal(rf_rules_parse(&r, &n, ",,,", &err), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(good), cmocka_unit_test(typos) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
