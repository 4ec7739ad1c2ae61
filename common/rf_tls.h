/* rf_tls.h -- TLS 1.3 with an external PSK, (EC)DHE and no certificates,
 * over memory BIOs: the caller moves ciphertext between the socket and
 * this object, so it works under any event loop (rf_conn uses it).
 *
 * Client: identity "ROLE/ID" and its 32-byte key. Server: a lookup
 * callback derives the key for the identity the client names; an unknown
 * identity or a wrong key fails the handshake (no fallback to
 * certificates: the server has none). Key exchange mode psk_dhe_ke only
 * (OpenSSL's default without SSL_OP_ALLOW_NO_DHE_KEX): forward secrecy.
 * No session tickets, no resumption, no 0-RTT. One thread per process. */
#ifndef RF_TLS_H
#define RF_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "rf_keys.h"

typedef struct rf_tls rf_tls_t;

/* Server: fill key (RF_KEY_LEN bytes) for the identity "ROLE/ID" (raw
 * bytes off the wire, len given). Return 0, or <0 to refuse it. */
typedef int (*rf_tls_lookup_fn)(void *arg, const char *ident, size_t len,
                                uint8_t key[RF_KEY_LEN]);

/* Process-wide counters (one thread per process). */
typedef struct {
    uint64_t handshakes_ok;
    uint64_t handshake_failures;  /* bad key, unknown identity, garbage */
    uint64_t record_errors;       /* after the handshake: MAC failure, bad record */
} rf_tls_counters_t;
extern rf_tls_counters_t rf_tls_counters;

rf_tls_t *rf_tls_client_new(const char *ident, const uint8_t key[RF_KEY_LEN]);
rf_tls_t *rf_tls_server_new(rf_tls_lookup_fn fn, void *arg);
void      rf_tls_free(rf_tls_t *t);   /* NULL ok; wipes keys */

/* Feed ciphertext received from the peer. <0 on out of memory. */
int  rf_tls_feed(rf_tls_t *t, const uint8_t *p, size_t n);
/* Drive the handshake / read plaintext into buf. Returns bytes read (>0),
 * 0 when more ciphertext is needed, or <0 on a fatal error (then err has
 * a short static reason). Before the handshake is done it only advances
 * the handshake and returns 0. */
long rf_tls_read(rf_tls_t *t, uint8_t *buf, size_t cap, const char **err);
/* Encrypt plaintext (only after rf_tls_done). 0 or <0. */
int  rf_tls_write(rf_tls_t *t, const uint8_t *p, size_t n);
/* Client: produce the ClientHello. 0 or <0. */
int  rf_tls_start(rf_tls_t *t);
/* Ciphertext waiting to be sent; take copies up to n bytes into out.
 * Returns the number of bytes moved. */
size_t rf_tls_out_pending(const rf_tls_t *t);
size_t rf_tls_out_take(rf_tls_t *t, uint8_t *out, size_t n);
int    rf_tls_done(const rf_tls_t *t);               /* handshake complete */
/* Server, after the handshake: the identity the client proved ("" before). */
const char *rf_tls_identity(const rf_tls_t *t);

#endif
