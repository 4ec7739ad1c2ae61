/* rf_conf.h -- agent config files: one "long-option = value" per line.
 * The file is turned into argv so flags and files share one parser and
 * `--check-config` validates exactly what a command line would. */
#ifndef RF_CONF_H
#define RF_CONF_H

#include "rf_err.h"

typedef struct {
    int    argc;
    char **argv;    /* argv[0] = program; owned; free with rf_conf_free */
} rf_conf_args_t;

/* Merge: program name, then the file's options, then the command line's
 * remaining arguments (so the command line wins). Lines: "# comment",
 * "key = value", "key" (a flag). Errors name the file and line. */
int  rf_conf_load(rf_conf_args_t *out, const char *path, int argc, char **argv,
                  rf_errbuf_t *err);
void rf_conf_free(rf_conf_args_t *a);
/* Find "--config FILE" / "--config=FILE" in argv; NULL if absent. */
const char *rf_conf_find(int argc, char **argv);

#endif
