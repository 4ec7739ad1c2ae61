/* rf_target.h -- may the fleet replay towards this address? (pure)
 *
 * Never: 0.0.0.0/8 ("this network"), 127.0.0.0/8 (loopback: the agent's own
 * host), 224.0.0.0/4 (multicast), 240.0.0.0/4 (reserved, with the limited
 * broadcast 255.255.255.255). And, when an allow-list is set (replayd
 * --allowed-targets), only inside it: a plan cannot point the fleet
 * anywhere the operator of replayd did not allow. */
#ifndef RF_TARGET_H
#define RF_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "rf_cidr.h"
#include "rf_err.h"

#define RF_TARGET_ALLOW_MAX 32

/* 0, or RF_ERANGE with the reason in err. allowed may be NULL (n = 0). */
int rf_target_check(uint32_t ip, const rf_cidr_t *allowed, size_t nallowed, rf_errbuf_t *err);

/* The process-wide allow-list the controller checks plans against (set
 * once at start-up from --allowed-targets "CIDR,CIDR"). 0 or RF_EPARSE. */
int rf_target_set_allowed(const char *list, rf_errbuf_t *err);
/* rf_target_check against that list. */
int rf_target_allowed(uint32_t ip, rf_errbuf_t *err);

#endif
