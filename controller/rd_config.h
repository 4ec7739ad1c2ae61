/* rd_config.h -- what replayd runs with: the listener, the state dir,
 * authentication, liveness and the metrics page. Filled from the command
 * line by rd_opts, read by rd_server. */
#ifndef RD_CONFIG_H
#define RD_CONFIG_H

#include <stdint.h>

#include "rf_auth.h"

#define RD_METRICS_PORT_DEFAULT 9464     /* the Prometheus exporter convention */

typedef struct {
    char          listen_host[64];
    uint16_t      listen_port;
    const char   *state_dir;
    /* Fleet master: every peer must speak TLS 1.3 with the key derived for
     * the "ROLE/ID" it names. len 0: plain, loopback peers only (unless
     * insecure). */
    rf_auth_key_t fleet_key;
    int           insecure;
    uint64_t      heartbeat_timeout_ms;
    uint64_t      hello_timeout_ms;
    char          metrics_host[64];   /* "" = no Prometheus endpoint */
    uint16_t      metrics_port;
} rd_config_t;

#endif
