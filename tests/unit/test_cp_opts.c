/* test_cp_opts.c -- flags a tcpcopy user types, and the errors they get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cp_opts.h"

static cp_config_t cfg;

static int
parse(rf_errbuf_t *err, int argc, char **argv)
{
    int r = cp_opts_parse(&cfg, argc, argv, err);
    if (r == 0)
        r = cp_opts_validate(&cfg, err);
    return r;
}

static void
tcpcopy_line(void **state)
{
    char *argv[] = { "replay-copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-c", "10.250.0.x",
                     "-n", "2", "-f", "3", "-r", "50", NULL };
    rf_errbuf_t err;
    assert_int_equal(parse(&err, 13, argv), 0);
    assert_int_equal(cfg.eng.copies, 2);
    assert_int_equal(cfg.eng.offset, 3);
    assert_int_equal(cfg.eng.sample_percent, 50);
    assert_int_equal(cfg.icpt[0].port, 36524);
    assert_int_equal(cfg.eng.range.len, 24);
}

static void
bad_flags_named(void **state)
{
    struct { const char *flag, *val, *needle; } cases[] = {
        { "-f", "2000", "-f \"2000\"" },
        { "-c", "300.1.1.0/24", "300.1.1.0" },
        { "-x", "80-10.0.0.2", "-x" },
        { "-n", "0", "-n" },
        { "-r", "101", "-r" },
        { "-s", "host.example:1", "-s" },
        { "--shard", "3/3", "--shard" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[] = { "replay-copy", "-x", "80-10.0.0.2:80", "-s", "10.0.0.3",
                         (char *)cases[i].flag, (char *)cases[i].val, NULL };
        rf_errbuf_t err;
        assert_int_not_equal(parse(&err, 7, argv), 0);
        assert_non_null(strstr(err.msg, cases[i].needle));
    }
    char *missing[] = { "replay-copy", "-s", "10.0.0.3", NULL };
    rf_errbuf_t err;
    assert_int_not_equal(parse(&err, 3, missing), 0);
    assert_non_null(strstr(err.msg, "-x"));
}

static void
allow_list(void **state)
{
    char *argv[] = { "replay-copy", "-x", "80-10.0.0.2:80", "-s", "10.0.0.3", "--allow-target",
                     "192.168.0.0/16", NULL };
    rf_errbuf_t err;
    assert_int_not_equal(parse(&err, 7, argv), 0);
    assert_non_null(strstr(err.msg, "allow-target"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(tcpcopy_line),
                                        cmocka_unit_test(bad_flags_named),
                                        cmocka_unit_test(allow_list) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
