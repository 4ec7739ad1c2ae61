/* rf_esc.h -- peer strings made safe to log: control bytes, backslash,
 * quote and non-ASCII become \xNN, so a Hello id with a newline cannot
 * forge a log line. Pure. */
#ifndef RF_ESC_H
#define RF_ESC_H

#include <stddef.h>

/* Escape s (NULL = "") into out (n >= 1), truncated with "..." when it
 * does not fit. Returns out, so it can be a printf argument. */
const char *rf_esc(char *out, size_t n, const char *s);

#endif
