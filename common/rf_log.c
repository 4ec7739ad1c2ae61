/* rf_log.c -- "2026-11-25T14:00:00.123Z replay-copy[cap-1] INFO msg". */
#include "rf_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int   log_level = RF_LOG_INFO;
static FILE *log_fp;
static char  log_prog[32] = "replayfleet";
static char  log_ident[64];

void
rf_log_init(const char *program, const char *ident)
{
    snprintf(log_prog, sizeof(log_prog), "%s", program ? program : "replayfleet");
    snprintf(log_ident, sizeof(log_ident), "%s", ident ? ident : "");
}

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
    FILE *fp = fopen(path, "a");
    if (fp == NULL)
        return -errno;
    setvbuf(fp, NULL, _IOLBF, 0);
    if (log_fp != NULL)
        fclose(log_fp);
    log_fp = fp;
    return 0;
}

void
rf_log(int level, const char *fmt, ...)
{
    static const char *lv[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    if (level > log_level)
        return;
    FILE *fp = log_fp ? log_fp : stderr;
    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s.%03ldZ %s%s%s%s %s ", when,
                     ts.tv_nsec / 1000000, log_prog, log_ident[0] ? "[" : "", log_ident,
                     log_ident[0] ? "]" : "", lv[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(fp, "%s\n", line);
    if (fp == stderr)
        fflush(fp);
}
