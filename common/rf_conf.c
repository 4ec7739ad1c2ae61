/* rf_conf.c -- config file -> argv. */
#include "rf_conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_MAX_ARGS 256

const char *
rf_conf_find(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int
rf_conf_load(rf_conf_args_t *out, const char *path, int argc, char **argv, rf_errbuf_t *err)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return rf_err_set(err, RF_EPARSE, "config %s: cannot open", path);
    char **v = calloc(CONF_MAX_ARGS + (size_t)argc + 1, sizeof(char *));
    if (v == NULL) {
        fclose(fp);
        return rf_err_set(err, RF_EFULL, "out of memory");
    }
    int n = 0;
    v[n++] = strdup(argv[0]);
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            rc = rf_err_set(err, RF_EPARSE, "config %s:%d: line too long", path, lineno);
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        char *key = s, *val = NULL;
        if (eq != NULL) {
            *eq = '\0';
            key = trim(s);
            val = trim(eq + 1);
        }
        if (*key == '\0' || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(key)) {
            rc = rf_err_set(err, RF_EPARSE, "config %s:%d: bad option name \"%s\"", path, lineno,
                            key);
            break;
        }
        if (strcmp(key, "config") == 0)
            continue;
        if (n + 2 >= CONF_MAX_ARGS) {
            rc = rf_err_set(err, RF_EPARSE, "config %s:%d: too many options", path, lineno);
            break;
        }
        size_t kl = strlen(key) + 3;
        v[n] = malloc(kl);
        snprintf(v[n++], kl, "--%s", key);
        if (val != NULL)
            v[n++] = strdup(val);
    }
    fclose(fp);
    /* The command line follows, minus its own --config. */
    for (int i = 1; i < argc && rc == 0; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--config=", 9) == 0)
            continue;
        v[n++] = strdup(argv[i]);
    }
    out->argc = n;
    out->argv = v;
    if (rc != 0) {
        rf_conf_free(out);
        return rc;
    }
    return 0;
}

void
rf_conf_free(rf_conf_args_t *a)
{
    if (a->argv == NULL)
        return;
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    free(a->argv);
    a->argv = NULL;
    a->argc = 0;
}
