/* rf_tls.c -- OpenSSL 3 TLS 1.3 external PSK over two memory BIOs.
 *
 * Why OpenSSL and not GnuTLS: both are in Debian, but OpenSSL's TLS 1.3
 * external-PSK callbacks (psk_use_session / psk_find_session) let the
 * server derive the key for whatever identity the client names at the
 * moment it names it, which is the whole per-agent identity design; and
 * its HKDF (EVP_KDF) is in the same library. */
#include "rf_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

rf_tls_counters_t rf_tls_counters;

struct rf_tls {
    SSL     *ssl;
    BIO     *rbio, *wbio;        /* owned by ssl */
    int      server, done, failed;
    rf_tls_lookup_fn lookup;
    void    *arg;
    char     ident[RF_IDENT_MAXLEN + 1];
    uint8_t  key[RF_KEY_LEN];    /* client only */
};

/* TLS_AES_128_GCM_SHA256: the PSK's hash must be the suite's hash. */
static const unsigned char suite_id[2] = { 0x13, 0x01 };

static SSL_CTX *client_ctx, *server_ctx;

static SSL_SESSION *
psk_session(SSL *ssl, const uint8_t *key)
{
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, suite_id);
    SSL_SESSION *s = cipher ? SSL_SESSION_new() : NULL;
    if (s == NULL)
        return NULL;
    if (SSL_SESSION_set1_master_key(s, key, RF_KEY_LEN) != 1 ||
        SSL_SESSION_set_cipher(s, cipher) != 1 ||
        SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
        SSL_SESSION_free(s);
        return NULL;
    }
    return s;
}

static int
use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
               SSL_SESSION **sess)
{
    rf_tls_t *t = SSL_get_app_data(ssl);
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, suite_id);
    *sess = NULL;
    if (cipher == NULL || (md != NULL && md != SSL_CIPHER_get_handshake_digest(cipher)))
        return 1;   /* no usable PSK for this hash: the handshake fails */
    *sess = psk_session(ssl, t->key);
    if (*sess == NULL)
        return 0;
    *id = (const unsigned char *)t->ident;
    *idlen = strlen(t->ident);
    return 1;
}

static int
find_session_cb(SSL *ssl, const unsigned char *identity, size_t identity_len,
                SSL_SESSION **sess)
{
    rf_tls_t *t = SSL_get_app_data(ssl);
    uint8_t key[RF_KEY_LEN];
    *sess = NULL;
    if (identity_len == 0 || identity_len > RF_IDENT_MAXLEN ||
        t->lookup(t->arg, (const char *)identity, identity_len, key) != 0)
        return 0;   /* unknown identity: abort, never fall back */
    *sess = psk_session(ssl, key);
    OPENSSL_cleanse(key, sizeof(key));
    if (*sess == NULL)
        return 0;
    memcpy(t->ident, identity, identity_len);
    t->ident[identity_len] = '\0';
    return 1;
}

static SSL_CTX *
make_ctx(int server)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* Idle connections give their record buffers back; no tickets, no
     * resumption: every connection proves the PSK afresh with (EC)DHE. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (server) {
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_psk_find_session_callback(ctx, find_session_cb);
    } else {
        SSL_CTX_set_psk_use_session_callback(ctx, use_session_cb);
    }
    return ctx;
}

static rf_tls_t *
tls_new(int server)
{
    SSL_CTX **pc = server ? &server_ctx : &client_ctx;
    if (*pc == NULL && (*pc = make_ctx(server)) == NULL)
        return NULL;
    rf_tls_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->server = server;
    t->ssl = SSL_new(*pc);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    BIO_set_mem_eof_return(t->rbio, -1);   /* empty = retry, not EOF */
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_app_data(t->ssl, t);
    if (server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    return t;
}

rf_tls_t *
rf_tls_client_new(const char *ident, const uint8_t key[RF_KEY_LEN])
{
    if (ident == NULL || strlen(ident) > RF_IDENT_MAXLEN)
        return NULL;
    rf_tls_t *t = tls_new(0);
    if (t == NULL)
        return NULL;
    strcpy(t->ident, ident);
    memcpy(t->key, key, RF_KEY_LEN);
    return t;
}

rf_tls_t *
rf_tls_server_new(rf_tls_lookup_fn fn, void *arg)
{
    rf_tls_t *t = tls_new(1);
    if (t == NULL)
        return NULL;
    t->lookup = fn;
    t->arg = arg;
    return t;
}

void
rf_tls_free(rf_tls_t *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);   /* frees both BIOs */
    OPENSSL_cleanse(t->key, sizeof(t->key));
    free(t);
}

int
rf_tls_feed(rf_tls_t *t, const uint8_t *p, size_t n)
{
    return BIO_write(t->rbio, p, (int)n) == (int)n ? 0 : -1;
}

static long
fail(rf_tls_t *t, const char **err, const char *why)
{
    if (!t->failed) {
        t->failed = 1;
        if (t->done)
            rf_tls_counters.record_errors++;
        else
            rf_tls_counters.handshake_failures++;
    }
    ERR_clear_error();   /* do not leak this peer's errors into the next */
    *err = why;
    return -1;
}

long
rf_tls_read(rf_tls_t *t, uint8_t *buf, size_t cap, const char **err)
{
    if (t->failed)
        return fail(t, err, "TLS failed");
    if (!t->done) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            int e = SSL_get_error(t->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;
            return fail(t, err, "TLS handshake failed (wrong key or identity, or not TLS)");
        }
        t->done = 1;
        rf_tls_counters.handshakes_ok++;
    }
    if (cap == 0)
        return 0;
    ERR_clear_error();
    int n = SSL_read(t->ssl, buf, cap > 0x40000000 ? 0x40000000 : (int)cap);
    if (n > 0)
        return n;
    int e = SSL_get_error(t->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        *err = "peer closed TLS";
        t->failed = 1;
        return -1;
    }
    return fail(t, err, "TLS record error (tampered or corrupt data)");
}

int
rf_tls_write(rf_tls_t *t, const uint8_t *p, size_t n)
{
    if (!t->done || t->failed)
        return -1;
    while (n > 0) {
        int chunk = n > 0x100000 ? 0x100000 : (int)n;
        ERR_clear_error();
        int r = SSL_write(t->ssl, p, chunk);
        if (r <= 0) {
            ERR_clear_error();
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int
rf_tls_start(rf_tls_t *t)
{
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1)
        return 0;
    int e = SSL_get_error(t->ssl, r);
    ERR_clear_error();
    return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? 0 : -1;
}

size_t
rf_tls_out_pending(const rf_tls_t *t)
{
    return BIO_ctrl_pending(t->wbio);
}

size_t
rf_tls_out_take(rf_tls_t *t, uint8_t *out, size_t n)
{
    int r = BIO_read(t->wbio, out, n > 0x40000000 ? 0x40000000 : (int)n);
    return r > 0 ? (size_t)r : 0;
}

int
rf_tls_done(const rf_tls_t *t)
{
    return t->done;
}

const char *
rf_tls_identity(const rf_tls_t *t)
{
    return t->ident;
}
