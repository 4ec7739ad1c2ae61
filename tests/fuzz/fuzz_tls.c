/* fuzz_tls.c -- fuzz target for what an unauthenticated peer reaches: the
 * server side of common/rf_tls.c (OpenSSL's TLS 1.3 server with our PSK
 * find-session callback) and common/rf_keys.c's identity parser, which the
 * callback runs on the identity bytes off the wire.
 *
 * Input: the ciphertext a client sends, fed in pieces whose sizes come from
 * the input itself (byte 0 picks the piece size). Properties: no crash; the
 * handshake never completes (nobody holds the key: the callback derives it
 * from a master the input cannot know); an identity the parser accepts is a
 * valid role and id and formats back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rf_keys.h"
#include "rf_tls.h"
#include "fuzz_target.h"

static const uint8_t master[RF_KEY_LEN] = { 0x42 };

static int
lookup(void *arg, const char *ident, size_t len, uint8_t key[RF_KEY_LEN])
{
    (void)arg;
    rf_krole_t role;
    char id[RF_ID_MAXLEN + 1];
    if (rf_ident_parse(ident, len, &role, id) != 0)
        return -1;
    char back[RF_IDENT_MAXLEN + 1];
    FUZZ_CHECK(rf_ident_format(back, sizeof(back), role, id) == 0);
    FUZZ_CHECK(strlen(back) == len && memcmp(back, ident, len) == 0);
    return rf_key_role(key, master, sizeof(master), role, id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The identity parser on the raw input as well. */
    rf_krole_t role;
    char id[RF_ID_MAXLEN + 1];
    if (rf_ident_parse((const char *)data + 1, size - 1, &role, id) == 0)
        FUZZ_CHECK(rf_krole_name(role) != NULL && rf_id_valid(id, strlen(id)));

    size_t piece = (size_t)(data[0] % 64) + 1;
    rf_tls_t *s = rf_tls_server_new(lookup, NULL);
    if (s == NULL)
        return 0;
    uint8_t out[16384];
    for (size_t off = 1; off < size; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        if (rf_tls_feed(s, data + off, n) != 0)
            break;
        const char *err = NULL;
        long r = rf_tls_read(s, out, sizeof(out), &err);
        (void)rf_tls_out_take(s, out, sizeof(out));   /* what it would send back */
        FUZZ_CHECK(!rf_tls_done(s));
        if (r < 0) {
            FUZZ_CHECK(err != NULL);
            break;
        }
        FUZZ_CHECK(r == 0);   /* no plaintext without a handshake */
    }
    rf_tls_free(s);
    return 0;
}
