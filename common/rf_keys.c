/* rf_keys.c -- HKDF derivations, identity and hex parsing. No hand-written
 * crypto: HKDF is OpenSSL's EVP_KDF. */
#include "rf_keys.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

#include "rf_err.h"

static const char *const role_names[] = { NULL, "copy", "intercept", "admin" };

rf_krole_t
rf_krole_parse(const char *s)
{
    for (int r = RF_KROLE_COPY; r <= RF_KROLE_ADMIN; r++)
        if (s && strcmp(s, role_names[r]) == 0)
            return (rf_krole_t)r;
    return RF_KROLE_NONE;
}

const char *
rf_krole_name(rf_krole_t r)
{
    return (r >= RF_KROLE_COPY && r <= RF_KROLE_ADMIN) ? role_names[r] : NULL;
}

int
rf_id_valid(const char *id, size_t len)
{
    if (id == NULL || len == 0 || len > RF_ID_MAXLEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

int
rf_ident_parse(const char *s, size_t len, rf_krole_t *role, char *id)
{
    /* Bytes off the wire: a NUL inside would make the role compare as a
     * prefix ("copy\0junk/x" as "copy/x"); found by fuzz_tls. */
    if (s == NULL || len == 0 || len > RF_IDENT_MAXLEN || memchr(s, '\0', len) != NULL)
        return RF_EPARSE;
    const char *slash = memchr(s, '/', len);
    if (slash == NULL)
        return RF_EPARSE;
    char rname[16];
    size_t rl = (size_t)(slash - s), il = len - rl - 1;
    if (rl == 0 || rl >= sizeof(rname) || !rf_id_valid(slash + 1, il))
        return RF_EPARSE;
    memcpy(rname, s, rl);
    rname[rl] = '\0';
    rf_krole_t r = rf_krole_parse(rname);
    if (r == RF_KROLE_NONE)
        return RF_EPARSE;
    *role = r;
    memcpy(id, slash + 1, il);
    id[il] = '\0';
    return 0;
}

int
rf_ident_format(char *out, size_t outlen, rf_krole_t role, const char *id)
{
    const char *rn = rf_krole_name(role);
    if (rn == NULL || id == NULL || !rf_id_valid(id, strlen(id)))
        return RF_EPARSE;
    int n = snprintf(out, outlen, "%s/%s", rn, id);
    return n > 0 && (size_t)n < outlen ? 0 : RF_EPARSE;
}

int
rf_key_derive(uint8_t out[RF_KEY_LEN], const uint8_t *ikm, size_t ikm_len, const char *label)
{
    char info[128];
    int n = snprintf(info, sizeof(info), "replayfleet v2 %s", label);
    if (n <= 0 || (size_t)n >= sizeof(info) || ikm_len == 0)
        return -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (kc == NULL)
        return -1;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, (size_t)n),
        OSSL_PARAM_construct_end(),
    };
    int r = EVP_KDF_derive(kc, out, RF_KEY_LEN, p) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(kc);
    return r;
}

int
rf_key_role(uint8_t out[RF_KEY_LEN], const uint8_t *master, size_t master_len, rf_krole_t role,
            const char *id)
{
    char ident[RF_IDENT_MAXLEN + 1];
    if (rf_ident_format(ident, sizeof(ident), role, id) != 0)
        return -1;
    return rf_key_derive(out, master, master_len, ident);
}

int
rf_key_pair(uint8_t out[RF_KEY_LEN], const uint8_t *icpt_key, size_t icpt_key_len,
            const char *copy_id)
{
    char label[8 + RF_ID_MAXLEN + 1];
    if (copy_id == NULL || !rf_id_valid(copy_id, strlen(copy_id)))
        return -1;
    snprintf(label, sizeof(label), "pair/%s", copy_id);
    return rf_key_derive(out, icpt_key, icpt_key_len, label);
}

void
rf_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
rf_hex_decode(uint8_t *out, size_t n, const char *in, size_t inlen)
{
    if (inlen != 2 * n)
        return RF_EPARSE;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(in[2 * i]), l = hexval(in[2 * i + 1]);
        if (h < 0 || l < 0)
            return RF_EPARSE;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}
