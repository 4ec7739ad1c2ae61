/* rf_parse.h -- the one parser for each kind of flag value: unsigned and
 * signed integers in a range, decimals, ports, IPv4 host[:port], bounded
 * strings and durations. Pure: no I/O, no allocation, no locale.
 *
 * Two layers:
 *  - rf_parse_*: the value alone. 0 on success, RF_EPARSE otherwise (the
 *    text is not a value of that kind, or is outside [lo, hi]); *out is
 *    written only on success. The caller words the error.
 *  - rf_flag_*: the same for a command-line flag: on failure `err` gets
 *    one message that names the flag and the value, worded the same for
 *    every program ("-n \"0\": expected an integer 1..1023").
 *
 * Numbers are strict: decimal digits only, no sign (unsigned), no leading
 * blanks, no trailing text, no overflow ("", " 5", "+5", "5x", "0x10" all
 * fail). */
#ifndef RF_PARSE_H
#define RF_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "rf_err.h"

/* ---- values --------------------------------------------------------- */

int rf_parse_uint(unsigned long *out, const char *s, unsigned long lo, unsigned long hi);
/* Optional leading '-' (no '+'). */
int rf_parse_int(long *out, const char *s, long lo, long hi);
/* A plain decimal ("0.5", "12"): no exponent, hex, inf or nan. */
int rf_parse_double(double *out, const char *s, double lo, double hi);
/* 1..65535. */
int rf_parse_port(uint16_t *out, const char *s);

/* "A.B.C.D[:PORT]": numeric IPv4 host (rf_ipv4_parse) and an optional
 * port 1..65535; default_port when ":PORT" is absent. The host, as
 * written, goes to host[hostlen] (too long: RF_EPARSE). The split is at
 * the last ':' so a later IPv6 "[::1]:port" form can be added here. */
int rf_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
                      uint16_t default_port);

/* Bounded copy: RF_ERANGE (and dst untouched) if s does not fit in cap
 * bytes with its NUL. */
int rf_parse_str(char *dst, size_t cap, const char *s);

/* A duration into milliseconds: a decimal number with an optional unit,
 * "ms", "s", "m" or "h"; no unit means default_unit_ms per unit (1000 to
 * read bare numbers as seconds). "500ms", "2s", "1.5s", "5m", "2" (with
 * 1000: 2 s). Rounded to the nearest millisecond, then checked against
 * [lo_ms, hi_ms]. */
int rf_parse_duration_ms(uint64_t *out, const char *s, uint64_t default_unit_ms, uint64_t lo_ms,
                         uint64_t hi_ms);

/* ---- flags: the same, with the message ------------------------------ */

/* `flag` as the user wrote it or as documented ("-n", "--stats-interval"). */
int rf_flag_uint(unsigned long *out, const char *flag, const char *s, unsigned long lo,
                 unsigned long hi, rf_errbuf_t *err);
int rf_flag_int(long *out, const char *flag, const char *s, long lo, long hi, rf_errbuf_t *err);
int rf_flag_double(double *out, const char *flag, const char *s, double lo, double hi,
                   rf_errbuf_t *err);
/* Message: `--controller "x": expected IPv4[:port] (numeric address, port 1..65535)`. */
int rf_flag_hostport(const char *flag, const char *s, char *host, size_t hostlen, uint16_t *port,
                     uint16_t default_port, rf_errbuf_t *err);
/* how: RF_STR_ANY, or RF_STR_NONEMPTY to refuse "". */
enum { RF_STR_ANY = 0, RF_STR_NONEMPTY = 1 };
int rf_flag_str(char *dst, size_t cap, const char *flag, const char *s, int how, rf_errbuf_t *err);

/* A numeric default, as its macro says it, in a usage text:
 * "(default " RF_USAGE_NUM(RF_PORT_CONTROL) ")". */
#define RF_USAGE_NUM_(x) #x
#define RF_USAGE_NUM(x)  RF_USAGE_NUM_(x)

#endif
