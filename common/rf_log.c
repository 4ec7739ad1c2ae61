/* rf_log.c -- "2026-11-25T14:00:00.123Z replay-copy[cap-1] INFO msg", or
 * "<6>[cap-1] INFO msg" when stderr is a journald stream. */
#include "rf_log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static int   log_level = RF_LOG_INFO;
static FILE *log_fp;
static char  log_path[4096];
static char  log_prog[32] = "replayfleet";
static char  log_ident[64];
static int   log_journal;
static volatile sig_atomic_t log_hup;

static void
on_sighup(int sig)
{
    (void)sig;
    log_hup = 1;
}

/* $JOURNAL_STREAM is "DEV:INO" of the stream journald gave us; it is only
 * ours if stderr still is that stream (a child with redirected stderr
 * inherits the variable). */
static int
stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
rf_log_init(const char *program, const char *ident)
{
    snprintf(log_prog, sizeof(log_prog), "%s", program ? program : "replayfleet");
    snprintf(log_ident, sizeof(log_ident), "%s", ident ? ident : "");
    log_journal = stderr_is_journal();
    /* SA_RESTART: a SIGHUP must not turn a blocking call into an error. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sighup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    (void)sigaction(SIGHUP, &sa, NULL);
}

int rf_log_journald(void) { return log_journal && log_fp == NULL; }

int
rf_log_set_level_name(const char *name)
{
    static const char *names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, names[i]) == 0) {
            log_level = i;
            return 0;
        }
    }
    return -1;
}

void rf_log_set_level(int level) { log_level = level; }
int  rf_log_enabled(int level) { return level <= log_level; }

int
rf_log_set_file(const char *path)
{
    if (strlen(path) >= sizeof(log_path))
        return -ENAMETOOLONG;
    FILE *fp = fopen(path, "a");
    if (fp == NULL)
        return -errno;
    setvbuf(fp, NULL, _IOLBF, 0);
    if (log_fp != NULL)
        fclose(log_fp);
    log_fp = fp;
    memcpy(log_path, path, strlen(path) + 1);
    return 0;
}

int
rf_log_reopen(void)
{
    if (log_fp == NULL)
        return 0;
    char path[sizeof(log_path)];
    memcpy(path, log_path, sizeof(path));
    return rf_log_set_file(path);
}

void
rf_log(int level, const char *fmt, ...)
{
    static const char *lv[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    static const int   prio[] = { 3, 4, 6, 7 };   /* syslog LOG_ERR .. LOG_DEBUG */
    if (level > log_level)
        return;
    int li = level < 0 ? 0 : level > 3 ? 3 : level;
    if (log_hup) {
        log_hup = 0;
        int r = rf_log_reopen();
        if (r != 0)   /* keep writing to the old file; say so once */
            fprintf(log_fp ? log_fp : stderr, "%s: SIGHUP: cannot reopen %s: %s\n", log_prog,
                    log_path, strerror(-r));
    }
    FILE *fp = log_fp ? log_fp : stderr;
    char line[1024];
    int n;
    if (fp == stderr && log_journal) {
        /* journald stamps time and program; the id tells agents apart. */
        n = snprintf(line, sizeof(line), "<%d>%s%s%s%s ", prio[li], log_ident[0] ? "[" : "",
                     log_ident, log_ident[0] ? "] " : "", lv[li]);
    } else {
        struct timespec ts;
        struct tm tm;
        char when[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        n = snprintf(line, sizeof(line), "%s.%03ldZ %s%s%s%s %s ", when, ts.tv_nsec / 1000000,
                     log_prog, log_ident[0] ? "[" : "", log_ident, log_ident[0] ? "]" : "",
                     lv[li]);
    }
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(fp, "%s\n", line);
    if (fp == stderr)
        fflush(fp);
}
