/* test_rf_auth.c -- the pre-shared-key challenge/response (common/rf_auth.c)
 * and the server's Hello rules (common/rf_handshake.c: rf_hs_check_hello).
 *
 * What must hold: a MAC verifies only for the same key, the same nonce (the
 * fresh one of this connection: a captured Hello is useless elsewhere), the
 * same role (an agent answer is not an admin answer) and exactly 32 bytes;
 * no key configured never verifies anything; without a key only loopback
 * peers pass unless --insecure; a configured key is never bypassed, neither
 * by loopback nor by --insecure. The MAC is plain HMAC-SHA256 over
 * nonce || role (big-endian), checked against Python's hmac module so a
 * non-C client can interoperate. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rf_auth.h"
#include "rf_envelope.h"
#include "rf_err.h"
#include "rf_handshake.h"

#define KEY_A "0123456789abcdef-test-key"
#define KEY_B "0123456789abcdef-test-kez"   /* one character off */

static void
key_set(rf_auth_key_t *k, const char *s)
{
    memset(k, 0, sizeof(*k));
    k->len = strlen(s);
    memcpy(k->key, s, k->len);
}

static void
nonce_fill(uint8_t n[RF_AUTH_NONCE], uint8_t base)
{
    for (unsigned i = 0; i < RF_AUTH_NONCE; i++)
        n[i] = (uint8_t)(base + i);
}

static int
setup(void **state)
{
    (void)state;
    return rf_auth_init() == 0 ? 0 : -1;
}

/* python3: hmac.new(b"0123456789abcdef-test-key", bytes(range(32)) +
 * (1).to_bytes(4, "big"), hashlib.sha256).hexdigest() */
static void
mac_is_hmac_sha256(void **state)
{
    (void)state;
    static const uint8_t want[RF_AUTH_MAC] = {
        0xe5, 0x5e, 0x9f, 0xdd, 0x7d, 0x2d, 0xd9, 0x97, 0x74, 0x59, 0xa4,
        0xf3, 0x8d, 0x03, 0xce, 0x5d, 0x79, 0xc7, 0xde, 0xc1, 0xca, 0x29,
        0x15, 0x73, 0xf7, 0xd0, 0xcc, 0xca, 0x8d, 0xf1, 0x03, 0xb7,
    };
    rf_auth_key_t k;
    uint8_t nonce[RF_AUTH_NONCE], mac[RF_AUTH_MAC];
    key_set(&k, KEY_A);
    nonce_fill(nonce, 0);
    rf_auth_mac(mac, &k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY);
    assert_memory_equal(mac, want, RF_AUTH_MAC);
}

static void
verify_ok(void **state)
{
    (void)state;
    rf_auth_key_t k;
    uint8_t nonce[RF_AUTH_NONCE], mac[RF_AUTH_MAC];
    key_set(&k, KEY_A);
    rf_auth_nonce(nonce);
    for (uint32_t role = 0; role < 4; role++) {
        rf_auth_mac(mac, &k, nonce, sizeof(nonce), role);
        assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), role, mac, sizeof(mac)), 1);
    }
}

static void
verify_wrong_key(void **state)
{
    (void)state;
    rf_auth_key_t a, b, shorter;
    uint8_t nonce[RF_AUTH_NONCE], mac[RF_AUTH_MAC];
    key_set(&a, KEY_A);
    key_set(&b, KEY_B);
    key_set(&shorter, "0123456789abcdef-test-ke");   /* a prefix of KEY_A */
    rf_auth_nonce(nonce);
    rf_auth_mac(mac, &a, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY);
    assert_int_equal(rf_auth_verify(&b, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, mac,
                                    sizeof(mac)), 0);
    assert_int_equal(rf_auth_verify(&shorter, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, mac,
                                    sizeof(mac)), 0);
}

static void
verify_wrong_nonce(void **state)
{
    (void)state;
    rf_auth_key_t k;
    uint8_t n1[RF_AUTH_NONCE], n2[RF_AUTH_NONCE], mac[RF_AUTH_MAC];
    key_set(&k, KEY_A);
    rf_auth_nonce(n1);
    rf_auth_nonce(n2);
    /* Fresh nonces differ (2^-256 chance of a false failure). */
    assert_memory_not_equal(n1, n2, RF_AUTH_NONCE);
    rf_auth_mac(mac, &k, n1, sizeof(n1), RFPB__ROLE__ROLE_COPY);
    /* A Hello captured on one connection answers nothing on another. */
    assert_int_equal(rf_auth_verify(&k, n2, sizeof(n2), RFPB__ROLE__ROLE_COPY, mac,
                                    sizeof(mac)), 0);
    /* One flipped bit of the nonce is enough. */
    memcpy(n2, n1, sizeof(n1));
    n2[RF_AUTH_NONCE - 1] ^= 1;
    assert_int_equal(rf_auth_verify(&k, n2, sizeof(n2), RFPB__ROLE__ROLE_COPY, mac,
                                    sizeof(mac)), 0);
    /* A nonce of another length is refused outright. */
    assert_int_equal(rf_auth_verify(&k, n1, sizeof(n1) - 1, RFPB__ROLE__ROLE_COPY, mac,
                                    sizeof(mac)), 0);
}

static void
verify_wrong_role(void **state)
{
    (void)state;
    rf_auth_key_t k;
    uint8_t nonce[RF_AUTH_NONCE], mac[RF_AUTH_MAC];
    key_set(&k, KEY_A);
    rf_auth_nonce(nonce);
    rf_auth_mac(mac, &k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY);
    assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_ADMIN, mac,
                                    sizeof(mac)), 0);
    assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_INTERCEPT, mac,
                                    sizeof(mac)), 0);
    /* The role is 4 bytes: 1 and 1 << 24 must not collide. */
    assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), 1u << 24, mac, sizeof(mac)), 0);
}

static void
verify_bad_mac_length(void **state)
{
    (void)state;
    rf_auth_key_t k;
    uint8_t nonce[RF_AUTH_NONCE], mac[RF_AUTH_MAC + 1];
    key_set(&k, KEY_A);
    rf_auth_nonce(nonce);
    rf_auth_mac(mac, &k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY);
    mac[RF_AUTH_MAC] = 0;
    /* A truncated MAC (a prefix of the right one) never verifies. */
    for (size_t len = 0; len < RF_AUTH_MAC; len++)
        assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, mac,
                                        len), 0);
    /* Nor a right MAC with trailing bytes. */
    assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, mac,
                                    RF_AUTH_MAC + 1), 0);
    assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, NULL, 0), 0);
    /* Any single flipped bit fails. */
    for (size_t i = 0; i < RF_AUTH_MAC * 8; i += 7) {
        mac[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, mac,
                                        RF_AUTH_MAC), 0);
        mac[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    assert_int_equal(rf_auth_verify(&k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, mac,
                                    RF_AUTH_MAC), 1);
}

static void
verify_no_key(void **state)
{
    (void)state;
    rf_auth_key_t none, k;
    uint8_t nonce[RF_AUTH_NONCE], mac[RF_AUTH_MAC];
    memset(&none, 0, sizeof(none));
    key_set(&k, KEY_A);
    rf_auth_nonce(nonce);
    /* The MAC an empty key would give is not accepted by an empty key:
     * "no key" means "no authentication", never "empty-key HMAC". */
    rf_auth_mac(mac, &none, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY);
    assert_int_equal(rf_auth_verify(&none, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, mac,
                                    sizeof(mac)), 0);
    rf_auth_mac(mac, &k, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY);
    assert_int_equal(rf_auth_verify(&none, nonce, sizeof(nonce), RFPB__ROLE__ROLE_COPY, mac,
                                    sizeof(mac)), 0);
}

/* ---- key files ---- */

static int
write_key_file(char *path, size_t len, const char *content)
{
    snprintf(path, len, "/tmp/test_rf_auth.%ld.key", (long)getpid());
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fputs(content, fp);
    fclose(fp);
    return chmod(path, 0600);   /* keys readable by others are refused */
}

static void
key_files(void **state)
{
    (void)state;
    char path[128];
    rf_auth_key_t k;

    assert_int_equal(write_key_file(path, sizeof(path), KEY_A " \t\r\nsecond line\n"), 0);
    memset(&k, 0, sizeof(k));
    assert_int_equal(rf_auth_key_load(&k, path), 0);
    assert_int_equal(k.len, strlen(KEY_A));   /* trailing blanks and CR trimmed */
    assert_memory_equal(k.key, KEY_A, k.len);
    chmod(path, 0644);
    assert_int_equal(rf_auth_key_load(&k, path), -EPERM);   /* world-readable */

    assert_int_equal(write_key_file(path, sizeof(path), "short-key-15chr\n"), 0);
    assert_int_equal(rf_auth_key_load(&k, path), -EINVAL);
    assert_int_equal(write_key_file(path, sizeof(path), ""), 0);
    assert_int_equal(rf_auth_key_load(&k, path), -EINVAL);
    char big[RF_AUTH_KEY_MAX + 3];
    memset(big, 'k', RF_AUTH_KEY_MAX + 1);
    big[RF_AUTH_KEY_MAX + 1] = '\n';
    big[RF_AUTH_KEY_MAX + 2] = '\0';
    assert_int_equal(write_key_file(path, sizeof(path), big), 0);
    assert_int_equal(rf_auth_key_load(&k, path), -EINVAL);   /* 257 characters */
    big[RF_AUTH_KEY_MAX] = '\n';
    big[RF_AUTH_KEY_MAX + 1] = '\0';
    assert_int_equal(write_key_file(path, sizeof(path), big), 0);
    assert_int_equal(rf_auth_key_load(&k, path), 0);         /* exactly 256 */
    assert_int_equal(k.len, RF_AUTH_KEY_MAX);
    unlink(path);
    assert_true(rf_auth_key_load(&k, path) < 0);            /* missing file */
}

/* ---- rf_hs_check_hello ---- */

typedef struct {
    rf_hs_server_t  hs;
    Rfpb__Challenge ch;
    Rfpb__Hello     h;
    uint8_t         mac[RF_AUTH_MAC];
} hs_case_t;

/* A server challenge and the client's answer with `client_key` (NULL: none). */
static void
hs_make(hs_case_t *c, Rfpb__Role role, const rf_auth_key_t *client_key)
{
    memset(c, 0, sizeof(*c));
    rf_auth_nonce(c->hs.nonce);
    Rfpb__Challenge ch = RFPB__CHALLENGE__INIT;
    ch.version = RF_PROTO_VERSION;
    ch.nonce.data = c->hs.nonce;
    ch.nonce.len = RF_AUTH_NONCE;
    c->ch = ch;
    Rfpb__Hello h = RFPB__HELLO__INIT;
    h.role = role;
    h.id = "cap-1";
    c->h = h;
    rf_hs_answer(&c->h, c->mac, client_key, &c->ch);
}

#define AGENT_ROLES (RF_ROLE_BIT(RFPB__ROLE__ROLE_COPY) | RF_ROLE_BIT(RFPB__ROLE__ROLE_INTERCEPT))

static void
hello_with_key(void **state)
{
    (void)state;
    rf_auth_key_t k, other, none;
    rf_errbuf_t err;
    hs_case_t c;
    key_set(&k, KEY_A);
    key_set(&other, KEY_B);
    memset(&none, 0, sizeof(none));

    hs_make(&c, RFPB__ROLE__ROLE_COPY, &k);
    assert_int_equal(c.h.version, RF_PROTO_VERSION);
    assert_int_equal(c.h.auth_mac.len, RF_AUTH_MAC);
    /* Right key: accepted from anywhere. */
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 0, 0, &err), 0);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 1, 0, &err), 0);

    /* Wrong key: refused, and neither loopback nor --insecure bypasses a
     * configured key. */
    hs_make(&c, RFPB__ROLE__ROLE_COPY, &other);
    for (int lo = 0; lo < 2; lo++)
        for (int insecure = 0; insecure < 2; insecure++)
            assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, lo, insecure, &err),
                             RF_EAUTH);
    assert_non_null(strstr(err.msg, "cap-1"));   /* the log names who failed */

    /* No MAC at all (a client without a key) against a server with one. */
    hs_make(&c, RFPB__ROLE__ROLE_COPY, &none);
    assert_int_equal(c.h.auth_mac.len, 0);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 1, 1, &err), RF_EAUTH);

    /* A Hello answering another connection's challenge (replayed). */
    hs_case_t c2;
    hs_make(&c, RFPB__ROLE__ROLE_COPY, &k);
    hs_make(&c2, RFPB__ROLE__ROLE_COPY, &k);
    assert_int_equal(rf_hs_check_hello(&c2.hs, &c.h, AGENT_ROLES, &k, 0, 0, &err), RF_EAUTH);

    /* Truncated MAC. */
    hs_make(&c, RFPB__ROLE__ROLE_COPY, &k);
    c.h.auth_mac.len = RF_AUTH_MAC - 1;
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 1, 1, &err), RF_EAUTH);

    /* Role swapped after the MAC was computed: an agent's answer relabelled
     * as an intercept's (same key, both accepted here) does not verify. */
    hs_make(&c, RFPB__ROLE__ROLE_COPY, &k);
    c.h.role = RFPB__ROLE__ROLE_INTERCEPT;
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 0, 0, &err), RF_EAUTH);
}

static void
hello_roles_and_version(void **state)
{
    (void)state;
    rf_auth_key_t k;
    rf_errbuf_t err;
    hs_case_t c;
    key_set(&k, KEY_A);

    /* An admin answer on the agent channel: refused before the MAC. */
    hs_make(&c, RFPB__ROLE__ROLE_ADMIN, &k);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 1, 1, &err), RF_ESTATE);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, RF_ROLE_BIT(RFPB__ROLE__ROLE_ADMIN), &k, 0,
                                       0, &err), 0);
    /* The intercept accepts copy agents only. */
    hs_make(&c, RFPB__ROLE__ROLE_INTERCEPT, &k);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, RF_ROLE_BIT(RFPB__ROLE__ROLE_COPY), &k, 1,
                                       1, &err), RF_ESTATE);
    /* Unknown, negative and huge roles never index past the mask. */
    int bad_roles[] = { 0, 4, 31, 32, 33, 1000, -1, (int)0x80000000u };
    for (size_t i = 0; i < sizeof(bad_roles) / sizeof(bad_roles[0]); i++) {
        hs_make(&c, RFPB__ROLE__ROLE_COPY, &k);
        c.h.role = (Rfpb__Role)bad_roles[i];
        assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 1, 1, &err), RF_ESTATE);
    }
    /* Wrong protocol version. */
    hs_make(&c, RFPB__ROLE__ROLE_COPY, &k);
    c.h.version = RF_PROTO_VERSION + 1;
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 1, 1, &err), RF_ESTATE);
    c.h.version = 0;
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &k, 1, 1, &err), RF_ESTATE);
}

static void
hello_without_key(void **state)
{
    (void)state;
    rf_auth_key_t none, k;
    rf_errbuf_t err;
    hs_case_t c;
    memset(&none, 0, sizeof(none));
    key_set(&k, KEY_A);

    hs_make(&c, RFPB__ROLE__ROLE_COPY, &none);
    /* Loopback peers only... */
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &none, 1, 0, &err), 0);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, NULL, 1, 0, &err), 0);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &none, 0, 0, &err), RF_EAUTH);
    assert_non_null(strstr(err.msg, "loopback"));
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, NULL, 0, 0, &err), RF_EAUTH);
    /* ...unless --insecure. */
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &none, 0, 1, &err), 0);
    /* A client that sends a MAC to a keyless server gains nothing and loses
     * nothing: the same rules apply. */
    hs_make(&c, RFPB__ROLE__ROLE_COPY, &k);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &none, 0, 0, &err), RF_EAUTH);
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &none, 1, 0, &err), 0);
    /* The role and version rules still apply without a key. */
    c.h.role = RFPB__ROLE__ROLE_ADMIN;
    assert_int_equal(rf_hs_check_hello(&c.hs, &c.h, AGENT_ROLES, &none, 1, 1, &err), RF_ESTATE);
}

static void
answer_without_challenge(void **state)
{
    (void)state;
    rf_auth_key_t k;
    key_set(&k, KEY_A);
    Rfpb__Hello h = RFPB__HELLO__INIT;
    uint8_t mac[RF_AUTH_MAC];
    h.role = RFPB__ROLE__ROLE_COPY;
    rf_hs_answer(&h, mac, &k, NULL);
    assert_int_equal(h.version, RF_PROTO_VERSION);
    assert_int_equal(h.auth_mac.len, 0);
    assert_null(h.auth_mac.data);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mac_is_hmac_sha256),
        cmocka_unit_test(verify_ok),
        cmocka_unit_test(verify_wrong_key),
        cmocka_unit_test(verify_wrong_nonce),
        cmocka_unit_test(verify_wrong_role),
        cmocka_unit_test(verify_bad_mac_length),
        cmocka_unit_test(verify_no_key),
        cmocka_unit_test(key_files),
        cmocka_unit_test(hello_with_key),
        cmocka_unit_test(hello_roles_and_version),
        cmocka_unit_test(hello_without_key),
        cmocka_unit_test(answer_without_challenge),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
