/* test_ic_opts.c -- replay-intercept flags: defaults, errors that name the
 * flag, cross-flag defaults (bind, advertise), the effective pcap filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ic_opts.h"

static int
parse(ic_config_t *c, rf_errbuf_t *err, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"replay-intercept";
    for (; *args != NULL; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    memset(err, 0, sizeof(*err));
    int r = ic_opts_parse(c, argc, argv, err);
    if (r == 0)
        r = ic_opts_finalize(c, err);
    return r;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void
test_defaults(void **state)
{
    (void)state;
    ic_config_t c;
    rf_errbuf_t e;
    assert_int_equal(parse(&c, &e, ARGS("--log-level", "info")), 0);
    assert_string_equal(c.iface, "any");
    assert_string_equal(c.filter, "tcp");
    assert_int_equal(c.port, 36524);
    assert_string_equal(c.bind, "127.0.0.1");   /* no key, no --insecure */
    assert_true(c.id[0] != '\0');               /* hostname */
    assert_int_equal(c.stats_interval_s, 1);
    assert_int_equal(c.capture_latency_ms, 0);   /* immediate */
    char f[2048];
    assert_int_equal(ic_opts_filter(&c, NULL, f, sizeof(f)), 0);
    /* Channel ports are excluded only towards this host's own addresses:
     * a replayed client may use port 36524 too. */
    assert_true(strncmp(f, "(tcp) and not ((tcp port 36524) and (dst host ", 46) == 0 ||
                strcmp(f, "(tcp) and not (tcp port 36524)") == 0);
}

static void
test_full(void **state)
{
    (void)state;
    ic_config_t c;
    rf_errbuf_t e;
    assert_int_equal(parse(&c, &e, ARGS("-i", "eth1", "-F", "tcp and src port 8080", "-p", "4000",
                                        "--key-file", "/k", "--controller", "10.0.0.1",
                                        "--id", "assist-1", "--advertise", "10.0.0.9",
                                        "--stats-json", "-", "--stats-interval", "5",
                                        "--duration", "30", "--capture-latency-ms", "2",
                                        "--check-config")),
                     0);
    assert_int_equal(c.capture_latency_ms, 2);
    assert_string_equal(c.bind, "0.0.0.0");     /* a key: listen everywhere */
    assert_string_equal(c.ctl_host, "10.0.0.1");
    assert_int_equal(c.ctl_port, 36523);
    assert_int_equal(c.port, 4000);
    assert_int_equal(c.duration_s, 30);
    assert_true(c.check_config);
    char f[2048];
    rf_cidr_t blk = { 0x0afa0000, 16 };
    assert_int_equal(ic_opts_filter(&c, &blk, f, sizeof(f)), 0);
    /* -F given: the route block does not override it. */
    assert_non_null(strstr(f, "(tcp and src port 8080) and not ((tcp port 4000 or tcp port 36523)"));
    assert_int_equal(parse(&c, &e, ARGS("--controller", "127.0.0.1:9000")), 0);
    assert_string_equal(c.advertise, "127.0.0.1");   /* from the loopback bind */
    assert_int_equal(ic_opts_filter(&c, &blk, f, sizeof(f)), 0);
    assert_non_null(strstr(f, "(tcp and dst net 10.250.0.0/16) and not ((tcp port 36524 or tcp port 9000)"));
}

static void
test_errors(void **state)
{
    (void)state;
    ic_config_t c;
    rf_errbuf_t e;
    assert_true(parse(&c, &e, ARGS("-p", "0")) < 0);
    assert_non_null(strstr(e.msg, "--port"));
    assert_true(parse(&c, &e, ARGS("--port", "70000")) < 0);
    assert_true(parse(&c, &e, ARGS("-p", "12x")) < 0);
    assert_true(parse(&c, &e, ARGS("-b", "300.1.1.1")) < 0);
    assert_non_null(strstr(e.msg, "--bind"));
    assert_true(parse(&c, &e, ARGS("--controller", "host:1")) < 0);
    assert_non_null(strstr(e.msg, "--controller"));
    assert_true(parse(&c, &e, ARGS("--controller", "10.0.0.1:0")) < 0);
    assert_true(parse(&c, &e, ARGS("--stats-interval", "0")) < 0);
    assert_non_null(strstr(e.msg, "--stats-interval"));
    assert_true(parse(&c, &e, ARGS("--capture-latency-ms", "101")) < 0);
    assert_non_null(strstr(e.msg, "--capture-latency-ms"));
    assert_true(parse(&c, &e, ARGS("--log-level", "loud")) < 0);
    assert_true(parse(&c, &e, ARGS("--id", "a b")) < 0);
    assert_true(parse(&c, &e, ARGS("--bogus")) < 0);
    assert_non_null(strstr(e.msg, "--bogus"));
    assert_true(parse(&c, &e, ARGS("-p")) < 0);
    assert_non_null(strstr(e.msg, "missing"));
    assert_true(parse(&c, &e, ARGS("extra")) < 0);
    assert_true(parse(&c, &e, ARGS("--advertise", "10.0.0.1")) < 0);   /* standalone */
    assert_non_null(strstr(e.msg, "--advertise"));
    /* Fleet on 0.0.0.0 needs --advertise. */
    assert_true(parse(&c, &e, ARGS("--insecure", "--controller", "10.0.0.1")) < 0);
    assert_non_null(strstr(e.msg, "--advertise"));
    assert_int_equal(parse(&c, &e, ARGS("--insecure", "--controller", "10.0.0.1", "--advertise",
                                        "10.0.0.2")),
                     0);
    char big[1100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_true(parse(&c, &e, ARGS("-F", big)) < 0);
    assert_non_null(strstr(e.msg, "--filter"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
