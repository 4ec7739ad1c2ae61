/* rf_handshake.h -- the first three frames of every channel:
 *   server -> Challenge{version, nonce}
 *   client -> Hello{version, role, id, ...}
 *   server -> Welcome   (or Error, then close)
 * With keys these frames already run inside TLS 1.3 (rf_tls.h): the TLS
 * PSK handshake authenticated both sides and named the client "ROLE/ID";
 * the Hello must claim exactly that role and id. Without keys the channel
 * is plain and only loopback peers (or every peer with --insecure) pass.
 * Used by replayd (agents, replayctl) and replay-intercept (copy agents). */
#ifndef RF_HANDSHAKE_H
#define RF_HANDSHAKE_H

#include "rf_auth.h"
#include "rf_conn.h"
#include "rf_err.h"

typedef struct {
    uint8_t nonce[RF_AUTH_NONCE];
} rf_hs_server_t;

/* Server: draw a nonce and send the Challenge. */
int rf_hs_send_challenge(rf_conn_t *c, rf_hs_server_t *hs);

/* Server: validate a Hello. tls_ident: the identity the TLS handshake
 * proved (rf_conn_tls_identity), NULL on a plain channel; then the peer
 * must be loopback unless `insecure`. Returns 0, or RF_EAUTH / RF_ESTATE
 * with a reason in err (peer strings escaped). */
int rf_hs_check_hello(const Rfpb__Hello *h, uint32_t expect_role_mask, const char *tls_ident,
                      int peer_loopback, int insecure, rf_errbuf_t *err);

int rf_hs_send_welcome(rf_conn_t *c, const char *server);
int rf_hs_send_error(rf_conn_t *c, uint32_t code, const char *reason);

/* Client: fill the protocol fields of the Hello answering a Challenge. */
void rf_hs_answer(Rfpb__Hello *h);

#define RF_ROLE_BIT(r) (1u << (r))

#endif
