/* rf_err.c -- error strings and the caller-owned error buffer. */
#include "rf_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
rf_strerror(int err)
{
    switch (err) {
    case RF_OK: return "ok";
    case RF_EFRAME_TOO_BIG: return "frame too big";
    case RF_EDECODE: return "message does not decode";
    case RF_ESTATE: return "message not valid in this state";
    case RF_EAUTH: return "authentication failed";
    case RF_EPARSE: return "parse error";
    case RF_EFULL: return "buffer or table full";
    case RF_EPLAN: return "plan rejected";
    case RF_ECAP: return "capture failure";
    case RF_ERANGE: return "value out of range";
    default: break;
    }
    if (err < 0 && err > RF_EBASE)
        return strerror(-err);
    return "unknown error";
}

int
rf_err_set(rf_errbuf_t *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}
