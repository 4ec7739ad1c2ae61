/* ic_main.c -- replay-intercept: wiring only. Flags (+ --config file) ->
 * validated config -> key -> capture (the privileged step) -> event loop.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage/config error (docs/CLI.md). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ic_capture.h"
#include "ic_loop.h"
#include "ic_opts.h"
#include "rf_auth.h"
#include "rf_conf.h"
#include "rf_log.h"
#include "rf_version.h"

static int
usage_error(const char *msg)
{
    fprintf(stderr, "replay-intercept: %s\n(see replay-intercept --help)\n", msg);
    return 2;
}

int
main(int argc, char **argv)
{
    rf_errbuf_t err;
    rf_conf_args_t conf = { 0, NULL };
    static ic_config_t   cfg;   /* static: large, and referenced until exit */
    static rf_auth_key_t key;
    rf_log_init("replay-intercept", NULL);
    signal(SIGPIPE, SIG_IGN);   /* a vanished peer is an error return, not a death */

    const char *conf_path = rf_conf_find(argc, argv);
    if (conf_path != NULL) {
        if (rf_conf_load(&conf, conf_path, argc, argv, &err) != 0)
            return usage_error(err.msg);
        argc = conf.argc;
        argv = conf.argv;
    }
    int rc = 2;
    if (ic_opts_parse(&cfg, argc, argv, &err) != 0) {
        rc = usage_error(err.msg);
        goto out;
    }
    if (cfg.help) {
        ic_opts_usage(stdout);
        rc = 0;
        goto out;
    }
    if (cfg.version) {
        printf("replay-intercept %s\n", RF_VERSION_LONG);
        rc = 0;
        goto out;
    }
    if (ic_opts_finalize(&cfg, &err) != 0) {
        rc = usage_error(err.msg);
        goto out;
    }
    if (rf_auth_init() != 0) {
        fprintf(stderr, "replay-intercept: libsodium did not initialise\n");
        rc = 1;
        goto out;
    }
    if (cfg.key_file[0] != '\0') {
        char why[200];
        int r = rf_auth_key_load_err(&key, cfg.key_file, why, sizeof(why));
        if (r != 0) {
            fprintf(stderr, "replay-intercept: --key-file %s: %s\n", cfg.key_file, why);
            rc = 2;
            goto out;
        }
    }
    char filter[IC_FILTER_MAX + 128];
    if (ic_opts_filter(&cfg, NULL, filter, sizeof(filter)) != 0 ||
        ic_capture_check_filter(filter, &err) != 0) {
        rc = usage_error(err.msg);
        goto out;
    }
    if (cfg.check_config) {
        ic_opts_print(stdout, &cfg);
        rc = 0;
        goto out;
    }

    rf_log_init("replay-intercept", cfg.id);
    (void)rf_log_set_level_name(cfg.log_level);   /* validated by ic_opts */
    if (cfg.log_file[0] != '\0' && rf_log_set_file(cfg.log_file) != 0) {
        fprintf(stderr, "replay-intercept: --log-file %s: cannot open\n", cfg.log_file);
        rc = 2;
        goto out;
    }
    ic_capture_t *cap = NULL;
    if (ic_capture_open(&cap, cfg.iface, filter, cfg.capture_latency_ms, &err) != 0) {
        rf_log_error("%s", err.msg);
        rc = 1;
        goto out;
    }
    rc = ic_loop_run(&cfg, &key, cap);
out:
    memset(&key, 0, sizeof(key));
    rf_conf_free(&conf);
    return rc;
}
