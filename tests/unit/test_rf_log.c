/* test_rf_log.c -- journald priority prefixes and SIGHUP reopening the
 * --log-file (logrotate renames the file, then signals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rf_log.h"

static char dir[64];

static int
setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/test_rf_log.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int
teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
slurp(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

/* stderr redirected to a file whose dev:ino is $JOURNAL_STREAM: priority
 * prefix, no timestamp; with another dev:ino: the plain format. */
static void
journald_prefixes(void **state)
{
    char path[128], buf[4096];
    snprintf(path, sizeof(path), "%s/stderr", dir);
    int saved = dup(2);
    FILE *fp = freopen(path, "w", stderr);
    assert_non_null(fp);
    struct stat st;
    assert_int_equal(fstat(2, &st), 0);
    char js[64];
    snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    rf_log_init("replay-copy", "cap-1");
    rf_log_set_level(RF_LOG_DEBUG);
    assert_int_equal(rf_log_journald(), 1);
    rf_log_error("e %d", 1);
    rf_log_warn("w");
    rf_log_info("i");
    rf_log_debug("d");
    /* Inherited variable that names another stream: not journald. */
    setenv("JOURNAL_STREAM", "1:1", 1);
    rf_log_init("replay-copy", "cap-1");
    assert_int_equal(rf_log_journald(), 0);
    rf_log_info("plain");
    unsetenv("JOURNAL_STREAM");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    slurp(path, buf, sizeof(buf));
    assert_non_null(strstr(buf, "<3>[cap-1] ERROR e 1\n<4>[cap-1] WARN w\n<6>[cap-1] INFO i\n"
                                "<7>[cap-1] DEBUG d\n"));
    char *plain = strstr(buf, "Z replay-copy[cap-1] INFO plain\n");
    assert_non_null(plain);
    assert_null(strstr(plain, "<6>"));
}

/* SIGHUP: the process survives, and the next line goes to a new file at
 * the old path while the renamed file keeps what was written before. */
static void
sighup_reopens(void **state)
{
    char path[128], rotated[128], buf[4096];
    snprintf(path, sizeof(path), "%s/agent.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/agent.log.1", dir);
    rf_log_init("replayd", NULL);
    rf_log_set_level(RF_LOG_INFO);
    assert_int_equal(rf_log_set_file(path), 0);
    rf_log_info("before");
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(raise(SIGHUP), 0);   /* would end the test process if not handled */
    rf_log_info("after");
    slurp(rotated, buf, sizeof(buf));
    assert_non_null(strstr(buf, "INFO before\n"));
    assert_null(strstr(buf, "after"));
    slurp(path, buf, sizeof(buf));
    assert_non_null(strstr(buf, "INFO after\n"));
    assert_null(strstr(buf, "before"));
    /* An explicit reopen (no SIGHUP) works the same way. */
    assert_int_equal(rf_log_reopen(), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(journald_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(sighup_reopens, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
