/* rf_err.h -- replayfleet error codes. Negative ints; system errors are
 * -errno. Our own codes live in a block that is never renumbered. */
#ifndef RF_ERR_H
#define RF_ERR_H

enum {
    RF_OK             = 0,
    RF_EBASE          = -10000,
    RF_EFRAME_TOO_BIG = -10001,  /* frame length over the channel maximum */
    RF_EDECODE        = -10002,  /* protobuf that does not decode */
    RF_ESTATE         = -10003,  /* message not valid in this channel state */
    RF_EAUTH          = -10004,  /* authentication failed */
    RF_EPARSE         = -10005,  /* bad flag / rule / CIDR text */
    RF_EFULL          = -10006,  /* capped buffer or table is full */
    RF_EPLAN          = -10007,  /* plan rejected */
    RF_ECAP           = -10008,  /* capture failure */
    RF_ERANGE         = -10009,  /* value out of range */
};

const char *rf_strerror(int err);

/* Human-readable error text sink, redis anet style: no globals, no malloc. */
#define RF_ERRBUF_LEN 256
typedef struct {
    char msg[RF_ERRBUF_LEN];
} rf_errbuf_t;

/* printf into err (which may be NULL); always returns `code`. */
int rf_err_set(rf_errbuf_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
