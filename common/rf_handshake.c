/* rf_handshake.c -- challenge/response framing around rf_auth. */
#include "rf_handshake.h"

#include "rf_envelope.h"

int
rf_hs_send_challenge(rf_conn_t *c, rf_hs_server_t *hs)
{
    rf_auth_nonce(hs->nonce);
    Rfpb__Challenge ch = RFPB__CHALLENGE__INIT;
    ch.version = RF_PROTO_VERSION;
    ch.nonce.data = hs->nonce;
    ch.nonce.len = RF_AUTH_NONCE;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_CHALLENGE;
    env.challenge = &ch;
    return rf_conn_send(c, &env);
}

int
rf_hs_check_hello(const rf_hs_server_t *hs, const Rfpb__Hello *h, uint32_t expect_role_mask,
                  const rf_auth_key_t *key, int peer_loopback, int insecure, rf_errbuf_t *err)
{
    if (h->version != RF_PROTO_VERSION)
        return rf_err_set(err, RF_ESTATE, "protocol version %u, expected %u", h->version,
                          RF_PROTO_VERSION);
    if ((unsigned)h->role >= 32 || !(expect_role_mask & RF_ROLE_BIT((unsigned)h->role)))
        return rf_err_set(err, RF_ESTATE, "role %d not accepted on this channel", (int)h->role);
    if (key != NULL && key->len > 0) {
        if (!rf_auth_verify(key, hs->nonce, RF_AUTH_NONCE, (uint32_t)h->role, h->auth_mac.data,
                            h->auth_mac.len))
            return rf_err_set(err, RF_EAUTH, "bad or missing auth MAC for id \"%s\"",
                              h->id ? h->id : "");
        return 0;
    }
    if (!peer_loopback && !insecure)
        return rf_err_set(err, RF_EAUTH, "no key configured: only loopback peers accepted");
    return 0;
}

int
rf_hs_send_welcome(rf_conn_t *c, const char *server)
{
    Rfpb__Welcome w = RFPB__WELCOME__INIT;
    w.version = RF_PROTO_VERSION;
    w.server = (char *)server;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_WELCOME;
    env.welcome = &w;
    rf_conn_mark_authed(c);
    return rf_conn_send(c, &env);
}

int
rf_hs_send_error(rf_conn_t *c, uint32_t code, const char *reason)
{
    Rfpb__Error e = RFPB__ERROR__INIT;
    e.code = code;
    e.reason = (char *)reason;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_ERROR;
    env.error = &e;
    return rf_conn_send(c, &env);
}

void
rf_hs_answer(Rfpb__Hello *h, uint8_t macbuf[RF_AUTH_MAC], const rf_auth_key_t *key,
             const Rfpb__Challenge *ch)
{
    h->version = RF_PROTO_VERSION;
    if (key == NULL || key->len == 0 || ch == NULL) {
        h->auth_mac.data = NULL;
        h->auth_mac.len = 0;
        return;
    }
    rf_auth_mac(macbuf, key, ch->nonce.data, ch->nonce.len, (uint32_t)h->role);
    h->auth_mac.data = macbuf;
    h->auth_mac.len = RF_AUTH_MAC;
}
