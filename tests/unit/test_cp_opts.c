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
    assert_true(cfg.lazy_responses);   /* read once per tick unless awaited */
    char *eager[] = { "replay-copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-c", "10.250.0.x",
                      "--eager-responses", NULL };
    assert_int_equal(parse(&err, 8, eager), 0);
    assert_false(cfg.lazy_responses);
    char *lazy[] = { "replay-copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-c", "10.250.0.x",
                     "--eager-responses", "--lazy-responses", NULL };
    assert_int_equal(parse(&err, 9, lazy), 0);   /* the last one wins */
    assert_true(cfg.lazy_responses);
    assert_false(cfg.raw_send);   /* the link layer where a next hop resolves */
    char *raw[] = { "replay-copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-c", "10.250.0.x",
                    "--send-path", "raw", NULL };
    assert_int_equal(parse(&err, 9, raw), 0);
    assert_true(cfg.raw_send);
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
        { "--send-path", "pcap", "--send-path \"pcap\": expected link or raw" },
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

/* Split a shell-like line (no quoting needed for these) into argv. */
static int
split(char *line, char **argv, int max)
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < max - 1;
         t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    return n;
}

/* Command lines from tcpcopy's own documentation (session-replay-tools/
 * tcpcopy 929511d: README.md "Running TCPCopy", doc/Usage.md, and the
 * examples in `tcpcopy -h`), with "./tcpcopy" (and "sudo") replaced by
 * replay-copy. Each is accepted, or refused with the message docs/CLI.md
 * documents (want: a substring of it). */
static void
tcpcopy_documented_lines(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *want;   /* NULL: accepted */
    } cases[] = {
        /* README.md */
        { "-x 80-61.135.233.160:8080 -s 61.135.233.161 -c 62.135.200.x", NULL },
        /* doc/Usage.md */
        { "-x 11311-10.100.10.31:11311 -s 10.100.10.32 -d", NULL },
        { "-x 3306-172.168.0.17:3306 -s 172.168.0.18 -d", NULL },
        { "-x 80@00:13:21:B2:5E:42-121.55.111.148:18080@00:0F:1F:03:F2:E6 -s 10.110.12.162 "
          "-o eth1 -i eth0",
          "MAC addresses (tcpcopy --pcap-send builds) are not used" },
        /* tcpcopy -h examples (they leave out -s, which tcpcopy needs too) */
        { "-x 80-192.168.0.2:18080", "-s is required" },
        { "-x 8080-192.168.0.2:8080 -c 62.135.200.x", "-s is required" },
        { "-x 80-192.168.0.2:8080 -n 3", "-s is required" },
        /* the lines and tcpcopy -h's other flags */
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -c 62.135.200.*", NULL },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -c 10.1.1.0,10.1.1.1", NULL },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -c 10.1.1.1,10.1.1.2",
          "draws client addresses from one CIDR block, and these are not one; write the block "
          "that holds them, -c 10.1.1.0/30" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -o eth1", "-o is tcpcopy's output device" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -H 10.0.0.9", "-H (rewrite the localhost address)" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -g", "cap the rate with --rate-limit-pps" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -W", "-W (send without waiting for responses)" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -R 20", "-R (default RTT)" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -U 8", "the session budget is -m MB" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -T 3", "run replay-copy --offline again" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -I 100", "--speed X paces the whole file" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -S 96", "-S 96: replay-copy captures whole packets" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -S 1500", "-S 1500: replay-copy captures whole packets (65535" },
        { "-x 80-10.0.2.10:80 -s 10.0.3.1 -d -P /run/tcpcopy.pid -l /var/log/tcpcopy.log "
          "-p 36525 -k 300 -B 32 -S 65535 -C 4 -O -L -t 60 -m 512 -M 1500 -D 1460 -r 50 -f 2",
          NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[512], *argv[64];
        snprintf(line, sizeof(line), "replay-copy %s", cases[i].line);
        int argc = split(line, argv, 64);
        rf_errbuf_t err = { "" };
        int r = parse(&err, argc, argv);
        if (cases[i].want == NULL && r != 0)
            fail_msg("refused: %s\n  %s", cases[i].line, err.msg);
        if (cases[i].want != NULL && (r == 0 || strstr(err.msg, cases[i].want) == NULL))
            fail_msg("line: %s\n  got r=%d \"%s\"\n  want \"%s\"", cases[i].line, r, err.msg,
                     cases[i].want);
    }
}

static void
tcpcopy_flag_meanings(void **state)
{
    (void)state;
    char line[512], *argv[64];
    rf_errbuf_t err;
    snprintf(line, sizeof(line), "replay-copy -x 80-10.0.2.10:80 -s 10.0.3.1:9000,10.0.3.2 "
                                 "-c 62.135.200.x -d -P /run/rc.pid -l /tmp/rc.log -p 36600 "
                                 "-k 300 -t 60 -B 32 -O");
    int argc = split(line, argv, 64);
    assert_int_equal(parse(&err, argc, argv), 0);
    assert_int_equal(cfg.eng.range.addr, (62u << 24) | (135u << 16) | (200u << 8));
    assert_int_equal(cfg.eng.range.len, 24);
    assert_true(cfg.daemonize);
    assert_string_equal(cfg.pid_file, "/run/rc.pid");
    assert_string_equal(cfg.log_file, "/tmp/rc.log");
    /* -p sets the port of -s entries without one, wherever it comes */
    assert_int_equal(cfg.icpt[0].port, 9000);
    assert_int_equal(cfg.icpt[1].port, 36600);
    /* -t 60 and -k 300: one idle timeout, the larger */
    assert_int_equal(cfg.eng.session_timeout_ms, 300000);
    assert_int_equal(cfg.pcap_buffer_mb, 32);
    assert_false(cfg.eng.adopt_midstream);
    /* -O contradicts --adopt-midstream */
    snprintf(line, sizeof(line), "replay-copy -x 80-10.0.2.10:80 -s 10.0.3.1 -O --adopt-midstream");
    argc = split(line, argv, 64);
    assert_int_not_equal(parse(&err, argc, argv), 0);
    assert_non_null(strstr(err.msg, "-O"));
    /* -a is --speed; --offline is the only spelling of the pcap file */
    snprintf(line, sizeof(line), "replay-copy -x 80-10.0.2.10:80 -s 10.0.3.1 --offline x.pcap -a 4");
    argc = split(line, argv, 64);
    assert_int_equal(parse(&err, argc, argv), 0);
    assert_string_equal(cfg.offline, "x.pcap");
    assert_true(cfg.speed == 4.0);
    /* -v prints the version, as in tcpcopy */
    snprintf(line, sizeof(line), "replay-copy -v");
    argc = split(line, argv, 64);
    assert_int_equal(cp_opts_parse(&cfg, argc, argv, &err), 1);
}

static void
client_lists(void **state)
{
    (void)state;
    static const struct {
        const char *c;
        const char *block;   /* NULL: refused */
    } cases[] = {
        { "62.135.200.x", "62.135.200.0/24" }, { "62.135.200.*", "62.135.200.0/24" },
        { "10.1.x.x", "10.1.0.0/16" },         { "10.1.1.7", "10.1.1.7/32" },
        { "10.250.0.0/16", "10.250.0.0/16" },  { "10.1.1.0,10.1.1.1", "10.1.1.0/31" },
        { "10.1.1.2,10.1.1.3,10.1.1.0,10.1.1.1", "10.1.1.0/30" },
        { "62.135.200.x,62.135.201.x", "62.135.200.0/23" },
        { "10.1.1.1,10.1.1.2", NULL },         { "10.1.1.0,10.1.1.0", NULL },
        { "10.1.1.x,10.1.1.5", NULL },         { "1.2.3.x.x", NULL },
        { "", NULL },                          { "x", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rf_cidr_t r;
        rf_errbuf_t err = { "" };
        int rc = cp_opts_parse_clients(&r, cases[i].c, &err);
        if (cases[i].block == NULL) {
            if (rc == 0)
                fail_msg("-c %s accepted", cases[i].c);
            assert_true(err.msg[0] != '\0');
            continue;
        }
        if (rc != 0)
            fail_msg("-c %s refused: %s", cases[i].c, err.msg);
        char b[32];
        rf_cidr_format(&r, b, sizeof(b));
        assert_string_equal(b, cases[i].block);
    }
}

/* --check-config checks what it can, reading only. */
static void
check_env(void **state)
{
    (void)state;
    char line[512], *argv[64], problems[4096];
    rf_errbuf_t err;
    snprintf(line, sizeof(line), "replay-copy -x 80-127.0.0.1:80 -s 127.0.0.1 -i lo");
    int argc = split(line, argv, 64);
    assert_int_equal(parse(&err, argc, argv), 0);
    assert_int_equal(cp_opts_check_env(&cfg, problems, sizeof(problems)), 0);
    snprintf(line, sizeof(line), "replay-copy -x 80-127.0.0.1:80 -s 127.0.0.1 -i nosuchif0 "
                                 "-l /nonexistent-dir/x.log");
    argc = split(line, argv, 64);
    assert_int_equal(parse(&err, argc, argv), 0);
    assert_int_not_equal(cp_opts_check_env(&cfg, problems, sizeof(problems)), 0);
    assert_non_null(strstr(problems, "-i nosuchif0: no such network interface"));
    assert_non_null(strstr(problems, "\n--log-file /nonexistent-dir/x.log: directory"));
    snprintf(line, sizeof(line), "replay-copy -x 80-127.0.0.1:80 -s 127.0.0.1 --offline "
                                 "/nonexistent.pcap");
    argc = split(line, argv, 64);
    assert_int_equal(parse(&err, argc, argv), 0);
    assert_int_not_equal(cp_opts_check_env(&cfg, problems, sizeof(problems)), 0);
    assert_non_null(strstr(problems, "--offline /nonexistent.pcap: No such file"));
    /* a file that is not a pcap */
    snprintf(line, sizeof(line), "replay-copy -x 80-127.0.0.1:80 -s 127.0.0.1 --offline /etc/hostname");
    argc = split(line, argv, 64);
    assert_int_equal(parse(&err, argc, argv), 0);
    if (cp_opts_check_env(&cfg, problems, sizeof(problems)) != 0)
        assert_non_null(strstr(problems, "not a pcap file"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(tcpcopy_line),
                                        cmocka_unit_test(bad_flags_named),
                                        cmocka_unit_test(allow_list),
                                        cmocka_unit_test(tcpcopy_documented_lines),
                                        cmocka_unit_test(tcpcopy_flag_meanings),
                                        cmocka_unit_test(client_lists),
                                        cmocka_unit_test(check_env) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
