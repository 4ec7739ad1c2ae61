/* rf_auth.h -- key files and the Challenge nonce.
 *
 * A key file holds one 32-byte key as 64 hex digits on its first line
 * (`replayctl keys new-fleet` / `keys derive` write them). It must be a
 * regular file owned by the user reading it with no group/other bits: a key
 * others can read or replace is no key. */
#ifndef RF_AUTH_H
#define RF_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "rf_keys.h"

#define RF_AUTH_NONCE 32

typedef struct {
    uint8_t key[RF_KEY_LEN];
    size_t  len;    /* 0 = no key configured, else RF_KEY_LEN */
} rf_auth_key_t;

int  rf_auth_init(void);                                   /* sodium_init */
/* Load a key file. 0; -EPERM (mode or owner, why in err); -EINVAL (not 64
 * hex digits); -errno. err may be NULL. */
int  rf_auth_key_load_err(rf_auth_key_t *k, const char *path, char *why, size_t whylen);
int  rf_auth_key_load(rf_auth_key_t *k, const char *path);
/* Same key in both? (constant time). */
int  rf_auth_key_equal(const rf_auth_key_t *a, const rf_auth_key_t *b);
void rf_auth_nonce(uint8_t nonce[RF_AUTH_NONCE]);

#endif
