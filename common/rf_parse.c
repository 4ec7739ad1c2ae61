/* rf_parse.c -- strict flag-value parsers (see rf_parse.h). strtoul and
 * strtod are each given only text already checked to be plain decimal, so
 * their leniencies (blanks, signs, hex, exponents, "inf") never apply. */
#include "rf_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rf_cidr.h"

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int
rf_parse_uint(unsigned long *out, const char *s, unsigned long lo, unsigned long hi)
{
    if (!is_digit(s[0]))
        return RF_EPARSE;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < lo || v > hi)
        return RF_EPARSE;
    *out = v;
    return 0;
}

int
rf_parse_int(long *out, const char *s, long lo, long hi)
{
    if (!is_digit(s[0]) && !(s[0] == '-' && is_digit(s[1])))
        return RF_EPARSE;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < lo || v > hi)
        return RF_EPARSE;
    *out = v;
    return 0;
}

/* Length of the plain decimal at s ("12", "0.5", "3."; not ".5"), 0 if none. */
static size_t
decimal_len(const char *s)
{
    size_t n = 0;
    while (is_digit(s[n]))
        n++;
    if (n == 0)
        return 0;
    if (s[n] == '.')
        for (n++; is_digit(s[n]); n++)
            ;
    return n;
}

int
rf_parse_double(double *out, const char *s, double lo, double hi)
{
    size_t n = decimal_len(s);
    if (n == 0 || s[n] != '\0' || n > 64)
        return RF_EPARSE;
    double v = strtod(s, NULL);
    if (!(v >= lo && v <= hi))
        return RF_EPARSE;
    *out = v;
    return 0;
}

int
rf_parse_port(uint16_t *out, const char *s)
{
    unsigned long v;
    if (rf_parse_uint(&v, s, 1, 65535) != 0)
        return RF_EPARSE;
    *out = (uint16_t)v;
    return 0;
}

int
rf_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
                  uint16_t default_port)
{
    const char *colon = strrchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : strlen(s);
    uint32_t ip;
    uint16_t p = default_port;
    if (hl == 0 || hl >= hostlen || hl > 15)
        return RF_EPARSE;
    char h[16];
    memcpy(h, s, hl);
    h[hl] = '\0';
    if (rf_ipv4_parse(&ip, h) != 0)
        return RF_EPARSE;
    if (colon != NULL && rf_parse_port(&p, colon + 1) != 0)
        return RF_EPARSE;
    memcpy(host, h, hl + 1);
    *port = p;
    return 0;
}

int
rf_parse_str(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return RF_ERANGE;
    memcpy(dst, s, n + 1);
    return 0;
}

int
rf_parse_duration_ms(uint64_t *out, const char *s, uint64_t default_unit_ms, uint64_t lo_ms,
                     uint64_t hi_ms)
{
    static const struct {
        const char *name;
        uint64_t    ms;
    } units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
    size_t n = decimal_len(s);
    if (n == 0 || n > 32)
        return RF_EPARSE;
    uint64_t unit = default_unit_ms;
    if (s[n] != '\0') {
        unit = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && unit == 0; i++)
            if (strcmp(s + n, units[i].name) == 0)
                unit = units[i].ms;
        if (unit == 0)
            return RF_EPARSE;
    }
    char num[33];
    memcpy(num, s, n);
    num[n] = '\0';
    /* doubles hold integers exactly to 2^53 ms (285,000 years): the
     * range check below refuses anything near that */
    double ms = strtod(num, NULL) * (double)unit + 0.5;
    if (!(ms >= (double)lo_ms && ms < (double)hi_ms + 1.0))
        return RF_EPARSE;
    *out = (uint64_t)ms;
    return 0;
}

/* ---- flags ---------------------------------------------------------- */

int
rf_flag_uint(unsigned long *out, const char *flag, const char *s, unsigned long lo,
             unsigned long hi, rf_errbuf_t *err)
{
    if (rf_parse_uint(out, s, lo, hi) != 0)
        return rf_err_set(err, RF_EPARSE, "%s \"%s\": expected an integer %lu..%lu", flag, s, lo,
                          hi);
    return 0;
}

int
rf_flag_int(long *out, const char *flag, const char *s, long lo, long hi, rf_errbuf_t *err)
{
    if (rf_parse_int(out, s, lo, hi) != 0)
        return rf_err_set(err, RF_EPARSE, "%s \"%s\": expected an integer %ld..%ld", flag, s, lo,
                          hi);
    return 0;
}

int
rf_flag_double(double *out, const char *flag, const char *s, double lo, double hi,
               rf_errbuf_t *err)
{
    if (rf_parse_double(out, s, lo, hi) != 0)
        return rf_err_set(err, RF_EPARSE, "%s \"%s\": expected a number %g..%g", flag, s, lo, hi);
    return 0;
}

int
rf_flag_hostport(const char *flag, const char *s, char *host, size_t hostlen, uint16_t *port,
                 uint16_t default_port, rf_errbuf_t *err)
{
    if (rf_parse_hostport(s, host, hostlen, port, default_port) != 0)
        return rf_err_set(err, RF_EPARSE,
                          "%s \"%s\": expected IPv4[:port] (numeric address, port 1..65535)", flag,
                          s);
    return 0;
}

int
rf_flag_str(char *dst, size_t cap, const char *flag, const char *s, int how, rf_errbuf_t *err)
{
    if (how == RF_STR_NONEMPTY && s[0] == '\0')
        return rf_err_set(err, RF_EPARSE, "%s: empty value", flag);
    if (rf_parse_str(dst, cap, s) != 0)
        return rf_err_set(err, RF_EPARSE, "%s: value too long (max %zu characters)", flag,
                          cap - 1);
    return 0;
}
