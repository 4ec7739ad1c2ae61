/* rf_auth.h -- pre-shared-key challenge/response (libsodium HMAC-SHA256).
 * Server: nonce in Challenge; client: HMAC(key, nonce || role) in Hello. */
#ifndef RF_AUTH_H
#define RF_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define RF_AUTH_NONCE 32
#define RF_AUTH_MAC   32
#define RF_AUTH_KEY_MAX 256

typedef struct {
    uint8_t key[RF_AUTH_KEY_MAX];
    size_t  len;    /* 0 = no key configured */
} rf_auth_key_t;

int  rf_auth_init(void);                                   /* sodium_init */
/* Load a key file (first line, whitespace trimmed, >= 16 bytes). */
int  rf_auth_key_load(rf_auth_key_t *k, const char *path);
void rf_auth_nonce(uint8_t nonce[RF_AUTH_NONCE]);
void rf_auth_mac(uint8_t out[RF_AUTH_MAC], const rf_auth_key_t *k,
                 const uint8_t *nonce, size_t nonce_len, uint32_t role);
/* Constant-time. 1 = valid. */
int  rf_auth_verify(const rf_auth_key_t *k, const uint8_t *nonce, size_t nonce_len,
                    uint32_t role, const uint8_t *mac, size_t mac_len);

#endif
