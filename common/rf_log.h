/* rf_log.h -- leveled, one-line-per-event logging to stderr or a file.
 * Never called per packet: the hot path counts instead.
 *
 * Under systemd-journald (stderr is the stream named by $JOURNAL_STREAM)
 * each line starts with its syslog priority, "<3>" error .. "<7>" debug, so
 * `journalctl -p err` works, and carries no timestamp or program name (the
 * journal adds both). SIGHUP reopens the --log-file (logrotate) and never
 * stops the process: rf_log_init installs a handler that only sets a flag;
 * the next line logged reopens the file first. */
#ifndef RF_LOG_H
#define RF_LOG_H

enum { RF_LOG_ERROR = 0, RF_LOG_WARN, RF_LOG_INFO, RF_LOG_DEBUG };

/* Process-wide setup; `ident` is the agent id or program name, copied.
 * Also detects journald and installs the SIGHUP handler. */
void rf_log_init(const char *program, const char *ident);
int  rf_log_set_level_name(const char *name);   /* "error".."debug"; <0 bad */
void rf_log_set_level(int level);
int  rf_log_set_file(const char *path);          /* -errno on failure */
int  rf_log_enabled(int level);
/* Reopen the --log-file now (what SIGHUP asks for); -errno on failure, in
 * which case the old file stays in use. 0 when logging to stderr. */
int  rf_log_reopen(void);
/* 1 when lines go to journald with priority prefixes. */
int  rf_log_journald(void);

void rf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rf_log_error(...) rf_log(RF_LOG_ERROR, __VA_ARGS__)
#define rf_log_warn(...)  rf_log(RF_LOG_WARN, __VA_ARGS__)
#define rf_log_info(...)  rf_log(RF_LOG_INFO, __VA_ARGS__)
#define rf_log_debug(...) \
    do { if (rf_log_enabled(RF_LOG_DEBUG)) rf_log(RF_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
