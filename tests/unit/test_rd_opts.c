/* test_rd_opts.c -- replayd's command line: defaults, every value option,
 * each refusal with its message and kind (usage shown or not), the bind
 * policy (never widen a bind implicitly) and the --check-config text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd_opts.h"
#include "rf_target.h"

/* argv from a NULL-terminated list ("replayd" first, as main gets it). */
static int
parse(rd_opts_t *o, rf_errbuf_t *err, const char *const *args)
{
    static char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"replayd";
    for (; *args && argc < 31; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return rd_opts_parse(o, argc, argv, err);
}

#define PARSE(o, err, ...) parse(o, err, (const char *const[]){ __VA_ARGS__, NULL })

static void
defaults(void **state)
{
    rd_opts_t o;
    rf_errbuf_t err;
    assert_int_equal(PARSE(&o, &err, "-d", "/var/lib/x"), RD_OPTS_RUN);
    assert_string_equal(o.cfg.state_dir, "/var/lib/x");
    assert_string_equal(o.cfg.listen_host, "127.0.0.1");
    assert_int_equal(o.cfg.listen_port, 36523);
    assert_int_equal(o.cfg.heartbeat_timeout_ms, 5000);
    assert_string_equal(o.cfg.metrics_host, "");
    assert_int_equal(o.cfg.insecure, 0);
    assert_null(o.fleet_key_file);
    assert_null(o.user);
    assert_null(o.allowed);
    assert_null(o.log_file);
    assert_int_equal(o.check_only, 0);
    (void)state;
}

static void
values(void **state)
{
    rd_opts_t o;
    rf_errbuf_t err;
    assert_int_equal(PARSE(&o, &err, "--state-dir", "s", "-l", "10.0.0.1:4000", "--insecure",
                           "--heartbeat-timeout", "2.5", "--metrics", "10.0.0.2", "--user",
                           "rf", "--fleet-key-file", "k", "--metrics-insecure", "--log-file",
                           "l", "--check-config", "--allowed-targets", "10.1.0.0/16,10.2.0.0/16",
                           "--log-level", "debug", "--config", "ignored"),
                     RD_OPTS_RUN);
    assert_string_equal(o.cfg.listen_host, "10.0.0.1");
    assert_int_equal(o.cfg.listen_port, 4000);
    assert_int_equal(o.cfg.insecure, 1);
    assert_int_equal(o.cfg.heartbeat_timeout_ms, 2500);
    assert_string_equal(o.cfg.metrics_host, "10.0.0.2");
    assert_int_equal(o.cfg.metrics_port, 9464);
    assert_string_equal(o.user, "rf");
    assert_string_equal(o.fleet_key_file, "k");
    assert_int_equal(o.metrics_insecure, 1);
    assert_string_equal(o.log_file, "l");
    assert_int_equal(o.check_only, 1);
    assert_string_equal(o.allowed, "10.1.0.0/16,10.2.0.0/16");
    /* applied as read: the controller now refuses targets outside the list */
    rf_errbuf_t terr;
    assert_int_equal(rf_target_allowed(0x0a010203, &terr), 0);
    assert_int_not_equal(rf_target_allowed(0x0a030203, &terr), 0);
    assert_int_equal(PARSE(&o, &err, "-d", "s", "--heartbeat-timeout", "0.1"), RD_OPTS_RUN);
    assert_int_equal(o.cfg.heartbeat_timeout_ms, 100);
    assert_int_equal(PARSE(&o, &err, "-d", "s", "--heartbeat-timeout", "3600"), RD_OPTS_RUN);
    assert_int_equal(o.cfg.heartbeat_timeout_ms, 3600000);
    (void)state;
}

static void
help_version(void **state)
{
    rd_opts_t o;
    rf_errbuf_t err;
    assert_int_equal(PARSE(&o, &err, "-h"), RD_OPTS_HELP);
    assert_int_equal(PARSE(&o, &err, "--version"), RD_OPTS_VERSION);
    /* before the state dir is asked for */
    assert_int_equal(PARSE(&o, &err, "-V", "--bogus"), RD_OPTS_VERSION);
    (void)state;
}

static void
refusals(void **state)
{
    rd_opts_t o;
    rf_errbuf_t err;
    static const struct {
        const char *args[5];
        int         code;
        const char *msg;
    } cases[] = {
        { { "-l", "127.0.0.1" }, RD_OPTS_USAGE, "--state-dir is required" },
        { { "-d", "s", "extra" }, RD_OPTS_USAGE, "unexpected argument" },
        { { "-d", "s", "--bogus" }, RD_OPTS_USAGE, "" },
        { { "-d", "s", "-l", "localhost" }, RD_OPTS_BAD,
          "--listen: \"localhost\" is not IPv4ADDR[:PORT]" },
        { { "-d", "s", "--metrics", "1.2.3.4:0" }, RD_OPTS_BAD,
          "--metrics: \"1.2.3.4:0\" is not IPv4ADDR[:PORT]" },
        { { "-d", "s", "--heartbeat-timeout", "0.05" }, RD_OPTS_BAD,
          "--heartbeat-timeout: \"0.05\" is not 0.1..3600 s" },
        { { "-d", "s", "--heartbeat-timeout", "5s" }, RD_OPTS_BAD,
          "--heartbeat-timeout: \"5s\" is not 0.1..3600 s" },
        { { "-d", "s", "--heartbeat-timeout", "3601" }, RD_OPTS_BAD,
          "--heartbeat-timeout: \"3601\" is not 0.1..3600 s" },
        { { "-d", "s", "--log-level", "loud" }, RD_OPTS_BAD,
          "--log-level: \"loud\" is not error|warn|info|debug" },
        { { "-d", "s", "--allowed-targets", "10.0.0.0/33" }, RD_OPTS_BAD, "--allowed-targets: " },
        { { "-d", "s", "--agent-key-file", "k" }, RD_OPTS_BAD,
          "--agent-key-file is gone (v1 shared keys): give replayd --fleet-key-file and each "
          "agent/replayctl its own derived key (replayctl keys new-fleet / keys derive; "
          "docs/SECURITY.md)" },
        { { "--admin-key-file", "k" }, RD_OPTS_BAD, "--admin-key-file is gone" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = parse(&o, &err, cases[i].args);
        if (r != cases[i].code)
            fail_msg("case %zu: %d, expected %d", i, r, cases[i].code);
        if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0 ||
            (cases[i].msg[0] == '\0' && err.msg[0] != '\0'))
            fail_msg("case %zu: \"%s\", expected \"%s\"", i, err.msg, cases[i].msg);
    }
    (void)state;
}

static void
narrow(void **state)
{
    rd_opts_t o;
    rf_errbuf_t err;
    char lw[64] = "", mw[64] = "";
    /* no key, not --insecure: a wide listener and metrics page go to loopback */
    assert_int_equal(PARSE(&o, &err, "-d", "s", "-l", "10.0.0.1:7", "--metrics", "0.0.0.0:9"), 0);
    assert_int_equal(rd_opts_narrow(&o, lw, mw), RD_NARROWED_LISTEN | RD_NARROWED_METRICS);
    assert_string_equal(o.cfg.listen_host, "127.0.0.1");
    assert_int_equal(o.cfg.listen_port, 7);
    assert_string_equal(lw, "10.0.0.1");
    assert_string_equal(o.cfg.metrics_host, "127.0.0.1");
    assert_string_equal(mw, "0.0.0.0");
    /* asked for: kept */
    assert_int_equal(PARSE(&o, &err, "-d", "s", "-l", "10.0.0.1", "--insecure", "--metrics",
                           "10.0.0.2", "--metrics-insecure"),
                     0);
    assert_int_equal(rd_opts_narrow(&o, lw, mw), 0);
    assert_string_equal(o.cfg.listen_host, "10.0.0.1");
    assert_string_equal(o.cfg.metrics_host, "10.0.0.2");
    /* a fleet key allows a wide listener; loopback and no metrics stay */
    assert_int_equal(PARSE(&o, &err, "-d", "s", "-l", "10.0.0.1"), 0);
    o.cfg.fleet_key.len = 32;
    assert_int_equal(rd_opts_narrow(&o, lw, mw), 0);
    assert_int_equal(PARSE(&o, &err, "-d", "s", "-l", "127.0.0.2", "--metrics", "127.0.0.1"), 0);
    assert_int_equal(rd_opts_narrow(&o, lw, mw), 0);
    assert_string_equal(o.cfg.listen_host, "127.0.0.2");
    assert_int_equal(rd_opts_loopback("127.9.9.9"), 1);
    assert_int_equal(rd_opts_loopback("128.0.0.1"), 0);
    (void)state;
}

static char *
printed(const rd_opts_t *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    rd_opts_print(fp, o);
    fclose(fp);
    return buf;
}

static void
check_config(void **state)
{
    rd_opts_t o;
    rf_errbuf_t err;
    assert_int_equal(PARSE(&o, &err, "-d", "/st", "--heartbeat-timeout", "2.5"), 0);
    char *t = printed(&o);
    assert_string_equal(t, "listen          127.0.0.1:36523\nstate-dir       /st\n"
                           "heartbeat       2.5 s\nfleet key       none (plain)\n"
                           "insecure        no\nallowed targets any unicast\n"
                           "metrics         off\nconfiguration OK\n");
    free(t);
    assert_int_equal(PARSE(&o, &err, "-d", "/st", "--metrics", "127.0.0.1:9000", "--insecure",
                           "--allowed-targets", "10.0.0.0/8"),
                     0);
    o.cfg.fleet_key.len = 32;
    t = printed(&o);
    assert_string_equal(t, "listen          127.0.0.1:36523\nstate-dir       /st\n"
                           "heartbeat       5.0 s\nfleet key       set (TLS 1.3 PSK)\n"
                           "insecure        yes\nallowed targets 10.0.0.0/8\n"
                           "metrics         127.0.0.1:9000\nconfiguration OK\n");
    free(t);
    (void)state;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),     cmocka_unit_test(values), cmocka_unit_test(help_version),
        cmocka_unit_test(refusals),     cmocka_unit_test(narrow), cmocka_unit_test(check_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
