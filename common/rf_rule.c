/* rf_rule.c -- transfer rule text, as tcpcopy's -x writes it. */
#include "rf_rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_cidr.h"

static int
parse_port(uint16_t *out, const char *s)
{
    if (*s == '\0')
        return -1;
    char *end;
    long p = strtol(s, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535 || s[0] == '+' || s[0] == '-')
        return -1;
    *out = (uint16_t)p;
    return 0;
}

int
rf_rule_parse(rf_rule_t *out, const char *s, rf_errbuf_t *err)
{
    char buf[96];
    if (strlen(s) >= sizeof(buf))
        return rf_err_set(err, RF_EPARSE, "rule \"%.40s...\": too long", s);
    strcpy(buf, s);
    char *dash = strchr(buf, '-');
    if (dash == NULL)
        return rf_err_set(err, RF_EPARSE,
                          "rule \"%s\": expected [onlineIP:]port-targetIP:port (missing '-')", s);
    *dash = '\0';
    char *left = buf, *right = dash + 1;
    rf_rule_t r = { 0 };
    char *colon = strchr(left, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (rf_ipv4_parse(&r.online_ip, left) != 0)
            return rf_err_set(err, RF_EPARSE, "rule \"%s\": bad online address \"%s\"", s, left);
        left = colon + 1;
    }
    if (parse_port(&r.online_port, left) != 0)
        return rf_err_set(err, RF_EPARSE, "rule \"%s\": bad online port \"%s\" (1..65535)", s,
                          left);
    colon = strchr(right, ':');
    if (colon == NULL)
        return rf_err_set(err, RF_EPARSE, "rule \"%s\": target must be IP:port, got \"%s\"", s,
                          right);
    *colon = '\0';
    if (rf_ipv4_parse(&r.target_ip, right) != 0)
        return rf_err_set(err, RF_EPARSE, "rule \"%s\": bad target address \"%s\"", s, right);
    if (r.target_ip == 0)
        return rf_err_set(err, RF_EPARSE, "rule \"%s\": target address 0.0.0.0", s);
    if (parse_port(&r.target_port, colon + 1) != 0)
        return rf_err_set(err, RF_EPARSE, "rule \"%s\": bad target port \"%s\" (1..65535)", s,
                          colon + 1);
    *out = r;
    return 0;
}

int
rf_rules_parse(rf_rule_t *out, unsigned *n, const char *list, rf_errbuf_t *err)
{
    char buf[4096];
    if (strlen(list) >= sizeof(buf))
        return rf_err_set(err, RF_EPARSE, "rule list too long");
    strcpy(buf, list);
    unsigned count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (count == RF_RULES_MAX)
            return rf_err_set(err, RF_EPARSE, "more than %d rules", RF_RULES_MAX);
        int r = rf_rule_parse(&out[count], tok, err);
        if (r != 0)
            return r;
        count++;
    }
    if (count == 0)
        return rf_err_set(err, RF_EPARSE, "no transfer rule in \"%s\"", list);
    *n = count;
    return 0;
}

void
rf_rule_format(const rf_rule_t *r, char *buf, unsigned len)
{
    char on[16] = "", tg[16];
    if (r->online_ip)
        rf_ipv4_format(r->online_ip, on, sizeof(on));
    rf_ipv4_format(r->target_ip, tg, sizeof(tg));
    snprintf(buf, len, "%s%s%u-%s:%u", on, r->online_ip ? ":" : "", r->online_port, tg,
             r->target_port);
}
