/* rf_handshake.c -- challenge/response framing around rf_auth. */
#include "rf_handshake.h"

#include <string.h>

#include "rf_envelope.h"
#include "rf_esc.h"
#include "rf_keys.h"

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
rf_hs_check_hello(const Rfpb__Hello *h, uint32_t expect_role_mask, const char *tls_ident,
                  int peer_loopback, int insecure, rf_errbuf_t *err)
{
    char esc[80];
    const char *id = h->id ? h->id : "";
    if (h->version != RF_PROTO_VERSION)
        return rf_err_set(err, RF_ESTATE, "protocol version %u, expected %u", h->version,
                          RF_PROTO_VERSION);
    if ((unsigned)h->role >= 32 || !(expect_role_mask & RF_ROLE_BIT((unsigned)h->role)))
        return rf_err_set(err, RF_ESTATE, "role %d not accepted on this channel", (int)h->role);
    if (tls_ident != NULL) {
        rf_krole_t role;
        char tid[RF_ID_MAXLEN + 1];
        if (rf_ident_parse(tls_ident, strlen(tls_ident), &role, tid) != 0)
            return rf_err_set(err, RF_EAUTH, "bad TLS identity");
        /* rf_krole_t and Rfpb__Role share their numbering (1, 2, 3). */
        if ((int)role != (int)h->role || strcmp(tid, id) != 0)
            return rf_err_set(err, RF_EAUTH, "Hello claims %s/\"%s\" but the key is %s's",
                              rf_krole_name((rf_krole_t)h->role) ? rf_krole_name((rf_krole_t)h->role)
                                                                : "?",
                              rf_esc(esc, sizeof(esc), id), tls_ident);
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
rf_hs_answer(Rfpb__Hello *h)
{
    h->version = RF_PROTO_VERSION;
    h->auth_mac.data = NULL;   /* v1's HMAC answer: TLS replaced it */
    h->auth_mac.len = 0;
}
