/* rf_auth.c -- no hand-written crypto: libsodium's HMAC-SHA256 and
 * sodium_memcmp. The role is bound into the MAC so an agent key cannot be
 * replayed as an admin answer. */
#include "rf_auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int
rf_auth_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

int
rf_auth_key_load(rf_auth_key_t *k, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -errno;
    struct stat sb;
    /* A key anyone on the host can read is no key: refuse it. */
    if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & S_IROTH)) {
        fclose(fp);
        return -EPERM;
    }
    char line[RF_AUTH_KEY_MAX + 2];
    if (fgets(line, sizeof(line), fp) == NULL) {
        fclose(fp);
        return -EINVAL;
    }
    fclose(fp);
    size_t n = strcspn(line, "\r\n");
    if (memchr(line, '\0', n) != NULL) {   /* a NUL would silently cut the key */
        sodium_memzero(line, sizeof(line));
        return -EINVAL;
    }
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    if (n < 16 || n > RF_AUTH_KEY_MAX)
        return -EINVAL;
    memcpy(k->key, line, n);
    k->len = n;
    sodium_memzero(line, sizeof(line));
    return 0;
}

void
rf_auth_nonce(uint8_t nonce[RF_AUTH_NONCE])
{
    randombytes_buf(nonce, RF_AUTH_NONCE);
}

void
rf_auth_mac(uint8_t out[RF_AUTH_MAC], const rf_auth_key_t *k, const uint8_t *nonce,
            size_t nonce_len, uint32_t role)
{
    crypto_auth_hmacsha256_state st;
    uint8_t r[4] = { (uint8_t)(role >> 24), (uint8_t)(role >> 16), (uint8_t)(role >> 8),
                     (uint8_t)role };
    crypto_auth_hmacsha256_init(&st, k->key, k->len);
    crypto_auth_hmacsha256_update(&st, nonce, nonce_len);
    crypto_auth_hmacsha256_update(&st, r, sizeof(r));
    crypto_auth_hmacsha256_final(&st, out);
}

int
rf_auth_verify(const rf_auth_key_t *k, const uint8_t *nonce, size_t nonce_len, uint32_t role,
               const uint8_t *mac, size_t mac_len)
{
    if (k->len == 0 || mac_len != RF_AUTH_MAC || nonce_len != RF_AUTH_NONCE)
        return 0;
    uint8_t want[RF_AUTH_MAC];
    rf_auth_mac(want, k, nonce, nonce_len, role);
    return sodium_memcmp(want, mac, RF_AUTH_MAC) == 0;
}
