/* cp_main.c -- replay-copy: options -> configuration -> loop. Wiring only
 * (plus tcpcopy's -d/-P: daemonise, pid file). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_loop.h"
#include "cp_opts.h"
#include "rf_auth.h"
#include "rf_conf.h"
#include "rf_log.h"

int
main(int argc, char **argv)
{
    rf_conf_args_t merged = { argc, argv };
    rf_errbuf_t err;
    const char *conf = rf_conf_find(argc, argv);
    if (conf != NULL && rf_conf_load(&merged, conf, argc, argv, &err) != 0) {
        fprintf(stderr, "replay-copy: %s\n", err.msg);
        return 2;
    }
    static cp_config_t cfg;
    int r = cp_opts_parse(&cfg, merged.argc, merged.argv, &err);
    if (r == 0)
        r = cp_opts_validate(&cfg, &err);
    if (conf != NULL)
        rf_conf_free(&merged);
    if (r == 1)
        return 0;
    if (r != 0) {
        fprintf(stderr, "replay-copy: %s\n", err.msg);
        fprintf(stderr, "try: replay-copy --help\n");
        return 2;
    }
    if (cfg.id[0] == '\0') {
        gethostname(cfg.id, sizeof(cfg.id) - 1);
        cfg.id[sizeof(cfg.id) - 1] = '\0';
    }
    if (cfg.check_config) {
        if (cfg.key_file[0]) {
            rf_auth_key_t k;
            char why[200];
            if (rf_auth_key_load_err(&k, cfg.key_file, why, sizeof(why)) != 0) {
                fprintf(stderr, "replay-copy: --key-file %s: %s\n", cfg.key_file, why);
                return 2;
            }
        }
        /* read-only checks of what the flags name: interfaces, file,
         * routes to intercepts/targets/controller, writable directories */
        char problems[4096];
        if (cp_opts_check_env(&cfg, problems, sizeof(problems)) != 0) {
            fprintf(stderr, "replay-copy: configuration NOT OK:\n%s\n", problems);
            return 2;
        }
        cp_opts_print(stdout, &cfg);
        puts("configuration OK");
        return 0;
    }
    if (cfg.daemonize && daemon(1, 0) != 0) {   /* keep the cwd: relative paths stay valid */
        fprintf(stderr, "replay-copy: -d: %s\n", strerror(errno));
        return 1;
    }
    if (cfg.pid_file[0]) {
        int fd = open(cfg.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char line[32];
        int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
        if (fd < 0 || write(fd, line, (size_t)n) != n) {
            fprintf(stderr, "replay-copy: -P %s: %s\n", cfg.pid_file, strerror(errno));
            if (fd >= 0)
                close(fd);
            return 2;
        }
        close(fd);
    }
    /* A peer that closes under a write must not kill the agent (#fleet
     * test: SIGSTOP past the heartbeat timeout, then SIGCONT); libuv then
     * reports EPIPE on that connection, which reconnects. */
    signal(SIGPIPE, SIG_IGN);
    rf_log_init("replay-copy", cfg.id);
    rf_log_set_level_name(cfg.log_level);
    if (cfg.log_file[0] && rf_log_set_file(cfg.log_file) != 0) {
        fprintf(stderr, "replay-copy: --log-file %s: cannot open\n", cfg.log_file);
        return 2;
    }
    if (rf_auth_init() != 0) {
        rf_log_error("libsodium initialisation failed");
        return 1;
    }
    r = cp_agent_run(&cfg);
    if (cfg.pid_file[0])
        unlink(cfg.pid_file);
    return r;
}
