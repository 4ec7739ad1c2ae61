/* rf_ports.h -- replayfleet's well-known TCP ports, one name each.
 * Every default, usage text (RF_USAGE_NUM, rf_parse.h) and test takes
 * them from here. */
#ifndef RF_PORTS_H
#define RF_PORTS_H

/* replayd's agent/admin channel (agents' and replayctl's --controller). */
#define RF_PORT_CONTROL   36523
/* replay-intercept's listener for copy agents (-p; replay-copy -s/-p). */
#define RF_PORT_INTERCEPT 36524

#endif
