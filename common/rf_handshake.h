/* rf_handshake.h -- the first three frames of every channel:
 *   server -> Challenge{version, nonce}
 *   client -> Hello{version, role, id, ..., auth_mac = HMAC(key, nonce||role)}
 *   server -> Welcome   (or Error, then close)
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

/* Server: validate a Hello. With a key configured the MAC must verify;
 * without one the peer must be loopback unless `insecure`. Returns 0, or
 * RF_EAUTH / RF_ESTATE with a reason in err. */
int rf_hs_check_hello(const rf_hs_server_t *hs, const Rfpb__Hello *h, uint32_t expect_role_mask,
                      const rf_auth_key_t *key, int peer_loopback, int insecure,
                      rf_errbuf_t *err);

int rf_hs_send_welcome(rf_conn_t *c, const char *server);
int rf_hs_send_error(rf_conn_t *c, uint32_t code, const char *reason);

/* Client: compute the MAC answering `ch` into macbuf and point h->auth_mac
 * at it (empty when no key). */
void rf_hs_answer(Rfpb__Hello *h, uint8_t macbuf[RF_AUTH_MAC], const rf_auth_key_t *key,
                  const Rfpb__Challenge *ch);

#define RF_ROLE_BIT(r) (1u << (r))

#endif
