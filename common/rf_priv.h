/* rf_priv.h -- least privilege for the agents: once the capture handles
 * and raw sockets are open, nothing else needs privilege, so drop it all:
 * switch to an unprivileged user (when started as root with --user) and
 * clear every capability (when started with ambient CAP_NET_RAW/ADMIN by
 * systemd). Open descriptors keep working. */
#ifndef RF_PRIV_H
#define RF_PRIV_H

#include "rf_err.h"

/* user may be NULL/"" (stay this uid). 0, or <0 with the reason in err. */
int rf_priv_drop(const char *user, rf_errbuf_t *err);

#endif
