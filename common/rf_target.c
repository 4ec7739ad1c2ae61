/* rf_target.c -- replay target address rules. */
#include "rf_target.h"

#include <stdio.h>
#include <string.h>

static rf_cidr_t allow[RF_TARGET_ALLOW_MAX];
static size_t nallow;

int
rf_target_check(uint32_t ip, const rf_cidr_t *allowed, size_t nallowed, rf_errbuf_t *err)
{
    char s[20];
    rf_ipv4_format(ip, s, sizeof(s));
    uint32_t top = ip >> 24;
    if (top == 0)
        return rf_err_set(err, RF_ERANGE, "target %s is in 0.0.0.0/8 (not a host)", s);
    if (top == 127)
        return rf_err_set(err, RF_ERANGE, "target %s is loopback (the agent's own host)", s);
    if (top >= 224 && top < 240)
        return rf_err_set(err, RF_ERANGE, "target %s is multicast", s);
    if (top >= 240)
        return rf_err_set(err, RF_ERANGE, "target %s is reserved or broadcast (240.0.0.0/4)", s);
    if (nallowed == 0)
        return 0;
    for (size_t i = 0; i < nallowed; i++)
        if (rf_cidr_contains(&allowed[i], ip))
            return 0;
    return rf_err_set(err, RF_ERANGE, "target %s is outside replayd's --allowed-targets", s);
}

int
rf_target_set_allowed(const char *list, rf_errbuf_t *err)
{
    char buf[1024];
    if (strlen(list) >= sizeof(buf))
        return rf_err_set(err, RF_EPARSE, "--allowed-targets: list too long");
    snprintf(buf, sizeof(buf), "%s", list);
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        rf_errbuf_t e2;
        if (n == RF_TARGET_ALLOW_MAX)
            return rf_err_set(err, RF_EPARSE, "--allowed-targets: more than %d prefixes",
                              RF_TARGET_ALLOW_MAX);
        if (rf_cidr_parse(&allow[n], t, &e2) != 0)
            return rf_err_set(err, RF_EPARSE, "--allowed-targets: %s", e2.msg);
        n++;
    }
    if (n == 0)
        return rf_err_set(err, RF_EPARSE, "--allowed-targets: empty list");
    nallow = n;
    return 0;
}

int
rf_target_allowed(uint32_t ip, rf_errbuf_t *err)
{
    return rf_target_check(ip, allow, nallow, err);
}
