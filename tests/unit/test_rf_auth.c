/* test_rf_auth.c -- the v2 key hierarchy and the server's Hello rules:
 * common/rf_keys.c (HKDF derivations, PSK identities, hex), common/rf_auth.c
 * (key files), common/rf_handshake.c (rf_hs_check_hello), common/rf_esc.c.
 *
 * What must hold: a role key is HKDF-SHA256(master, "replayfleet v2 ROLE/ID")
 * (checked against Python's hmac: an Ansible or Python tool derives the same
 * key); different role or id = different key; pair keys derive from the
 * intercept key; identities parse only as "copy|intercept|admin/ID" with a
 * valid id; a Hello must claim exactly the TLS identity; plain peers pass only
 * on loopback or with --insecure; key files with group/other bits, another
 * owner, or not 64 hex digits are refused; logged strings lose control
 * bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rf_auth.h"
#include "rf_envelope.h"
#include "rf_err.h"
#include "rf_esc.h"
#include "rf_handshake.h"
#include "rf_keys.h"

static int
setup(void **state)
{
    (void)state;
    return rf_auth_init() == 0 ? 0 : -1;
}

static void
master_fill(uint8_t m[RF_KEY_LEN])
{
    for (unsigned i = 0; i < RF_KEY_LEN; i++)
        m[i] = (uint8_t)i;
}

static void
hexeq(const uint8_t k[RF_KEY_LEN], const char *want)
{
    char h[2 * RF_KEY_LEN + 1];
    rf_hex_encode(h, k, RF_KEY_LEN);
    assert_string_equal(h, want);
}

/* python3: HKDF-SHA256 (RFC 5869, empty salt) of bytes(range(32)) with
 * info b"replayfleet v2 copy/cap-1" (hmac module; see the commit). */
static void
role_key_is_hkdf_sha256(void **state)
{
    (void)state;
    uint8_t m[RF_KEY_LEN], k[RF_KEY_LEN];
    master_fill(m);
    assert_int_equal(rf_key_role(k, m, sizeof(m), RF_KROLE_COPY, "cap-1"), 0);
    hexeq(k, "91f5fd60590730483ba390750506c42d7fab397734ce25f0abc7d9102d554746");
}

static void
pair_key_derives_from_intercept_key(void **state)
{
    (void)state;
    uint8_t m[RF_KEY_LEN], ik[RF_KEY_LEN], pk[RF_KEY_LEN];
    master_fill(m);
    assert_int_equal(rf_key_role(ik, m, sizeof(m), RF_KROLE_INTERCEPT, "icpt-1"), 0);
    assert_int_equal(rf_key_pair(pk, ik, sizeof(ik), "cap-1"), 0);
    hexeq(pk, "b3cc1938878c8f172982612cb767525f8899797c82463e720054a3a67e583965");
}

static void
keys_differ_by_role_and_id(void **state)
{
    (void)state;
    uint8_t m[RF_KEY_LEN], a[RF_KEY_LEN], b[RF_KEY_LEN], c[RF_KEY_LEN], d[RF_KEY_LEN];
    master_fill(m);
    assert_int_equal(rf_key_role(a, m, sizeof(m), RF_KROLE_COPY, "x1"), 0);
    assert_int_equal(rf_key_role(b, m, sizeof(m), RF_KROLE_INTERCEPT, "x1"), 0);
    assert_int_equal(rf_key_role(c, m, sizeof(m), RF_KROLE_ADMIN, "x1"), 0);
    assert_int_equal(rf_key_role(d, m, sizeof(m), RF_KROLE_COPY, "x2"), 0);
    assert_memory_not_equal(a, b, RF_KEY_LEN);
    assert_memory_not_equal(a, c, RF_KEY_LEN);
    assert_memory_not_equal(b, c, RF_KEY_LEN);
    assert_memory_not_equal(a, d, RF_KEY_LEN);
    m[31] ^= 1;   /* another fleet */
    assert_int_equal(rf_key_role(d, m, sizeof(m), RF_KROLE_COPY, "x1"), 0);
    assert_memory_not_equal(a, d, RF_KEY_LEN);
    /* ids that could smuggle a role or a path are refused */
    assert_int_not_equal(rf_key_role(a, m, sizeof(m), RF_KROLE_COPY, "a/b"), 0);
    assert_int_not_equal(rf_key_role(a, m, sizeof(m), RF_KROLE_COPY, ""), 0);
    assert_int_not_equal(rf_key_role(a, m, sizeof(m), RF_KROLE_NONE, "x1"), 0);
}

static void
identity_parse(void **state)
{
    (void)state;
    rf_krole_t r;
    char id[RF_ID_MAXLEN + 1];
    assert_int_equal(rf_ident_parse("copy/cap-1", 10, &r, id), 0);
    assert_int_equal(r, RF_KROLE_COPY);
    assert_string_equal(id, "cap-1");
    assert_int_equal(rf_ident_parse("intercept/i.2_x", 15, &r, id), 0);
    assert_int_equal(r, RF_KROLE_INTERCEPT);
    assert_int_equal(rf_ident_parse("admin/admin", 11, &r, id), 0);
    assert_int_equal(r, RF_KROLE_ADMIN);
    /* length is honoured: no NUL needed, nothing past it read */
    assert_int_equal(rf_ident_parse("copy/ab-garbage", 7, &r, id), 0);
    assert_string_equal(id, "ab");
    static const char *const bad[] = {
        "", "copy", "copy/", "/x", "root/x", "copy/a/b", "copy/a b", "copy/a\n", "Copy/x",
        "copy/a\x01", "intercept//x",
        "copy/0123456789012345678901234567890123456789012345678901234567890123",  /* 64 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rf_ident_parse(bad[i], strlen(bad[i]), &r, id), RF_EPARSE);
    assert_int_equal(rf_ident_parse("copy/a\0b", 8, &r, id), RF_EPARSE);
    assert_int_equal(rf_ident_parse("copy\0junk/cap-1", 15, &r, id), RF_EPARSE);   /* fuzz_tls */
    char out[RF_IDENT_MAXLEN + 1];
    assert_int_equal(rf_ident_format(out, sizeof(out), RF_KROLE_INTERCEPT, "i1"), 0);
    assert_string_equal(out, "intercept/i1");
    assert_int_equal(rf_ident_format(out, sizeof(out), RF_KROLE_COPY, "a\nb"), RF_EPARSE);
}

static void
hex_roundtrip(void **state)
{
    (void)state;
    uint8_t k[4] = { 0x00, 0xab, 0x7f, 0xff }, back[4];
    char h[9];
    rf_hex_encode(h, k, 4);
    assert_string_equal(h, "00ab7fff");
    assert_int_equal(rf_hex_decode(back, 4, "00AB7fff", 8), 0);
    assert_memory_equal(k, back, 4);
    assert_int_equal(rf_hex_decode(back, 4, "00ab7ff", 7), RF_EPARSE);
    assert_int_equal(rf_hex_decode(back, 4, "00ab7ffg", 8), RF_EPARSE);
}

static Rfpb__Hello
hello(Rfpb__Role role, const char *id)
{
    Rfpb__Hello h = RFPB__HELLO__INIT;
    h.version = RF_PROTO_VERSION;
    h.role = role;
    h.id = (char *)id;
    return h;
}

#define ALL (RF_ROLE_BIT(RFPB__ROLE__ROLE_COPY) | RF_ROLE_BIT(RFPB__ROLE__ROLE_INTERCEPT) | \
             RF_ROLE_BIT(RFPB__ROLE__ROLE_ADMIN))

static void
hello_must_match_tls_identity(void **state)
{
    (void)state;
    rf_errbuf_t err;
    Rfpb__Hello h = hello(RFPB__ROLE__ROLE_COPY, "cap-1");
    assert_int_equal(rf_hs_check_hello(&h, ALL, "copy/cap-1", 0, 0, &err), 0);
    /* another agent's id with my key: refused (id takeover) */
    h = hello(RFPB__ROLE__ROLE_COPY, "cap-2");
    assert_int_equal(rf_hs_check_hello(&h, ALL, "copy/cap-1", 0, 0, &err), RF_EAUTH);
    /* a copy key claiming to be an intercept of the same name */
    h = hello(RFPB__ROLE__ROLE_INTERCEPT, "cap-1");
    assert_int_equal(rf_hs_check_hello(&h, ALL, "copy/cap-1", 0, 0, &err), RF_EAUTH);
    /* admin with an agent key */
    h = hello(RFPB__ROLE__ROLE_ADMIN, "cap-1");
    assert_int_equal(rf_hs_check_hello(&h, ALL, "copy/cap-1", 1, 1, &err), RF_EAUTH);
    /* the role must also be allowed on this channel */
    h = hello(RFPB__ROLE__ROLE_ADMIN, "admin");
    assert_int_equal(rf_hs_check_hello(&h, RF_ROLE_BIT(RFPB__ROLE__ROLE_COPY), "admin/admin", 1,
                                       1, &err),
                     RF_ESTATE);
    /* an id with a newline is escaped in the reason */
    h = hello(RFPB__ROLE__ROLE_COPY, "x\nFAKE LOG LINE");
    assert_int_equal(rf_hs_check_hello(&h, ALL, "copy/cap-1", 0, 0, &err), RF_EAUTH);
    assert_null(strchr(err.msg, '\n'));
    assert_non_null(strstr(err.msg, "\\x0a"));
}

static void
plain_needs_loopback_or_insecure(void **state)
{
    (void)state;
    rf_errbuf_t err;
    Rfpb__Hello h = hello(RFPB__ROLE__ROLE_COPY, "cap-1");
    assert_int_equal(rf_hs_check_hello(&h, ALL, NULL, 1, 0, &err), 0);
    assert_int_equal(rf_hs_check_hello(&h, ALL, NULL, 0, 0, &err), RF_EAUTH);
    assert_int_equal(rf_hs_check_hello(&h, ALL, NULL, 0, 1, &err), 0);
    h.version = RF_PROTO_VERSION + 1;
    assert_int_equal(rf_hs_check_hello(&h, ALL, NULL, 1, 1, &err), RF_ESTATE);
}

static char tmpdir[64];

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

#define HEXKEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void
key_file_rules(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_rf_auth.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    rf_auth_key_t k;
    char why[200];
    memset(&k, 0, sizeof(k));
    assert_int_equal(rf_auth_key_load_err(&k, write_file("ok", HEXKEY "\n", 0600), why,
                                          sizeof(why)),
                     0);
    assert_int_equal(k.len, RF_KEY_LEN);
    assert_int_equal(k.key[0], 0);
    assert_int_equal(k.key[31], 0x1f);
    assert_int_equal(rf_auth_key_load(&k, write_file("ro", HEXKEY " \r\nmore\n", 0400)), 0);
    /* group/other bits of any kind */
    static const mode_t bad_modes[] = { 0640, 0660, 0622, 0604, 0610, 0601 };
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        assert_int_equal(rf_auth_key_load_err(&k, write_file("m", HEXKEY "\n", bad_modes[i]), why,
                                              sizeof(why)),
                         -EPERM);
        assert_non_null(strstr(why, "chmod 600"));
    }
    /* not a key */
    assert_int_equal(rf_auth_key_load(&k, write_file("short", "0011\n", 0600)), -EINVAL);
    assert_int_equal(rf_auth_key_load(&k, write_file("txt", "a-passphrase-that-is-long-enough\n",
                                                     0600)),
                     -EINVAL);
    assert_int_equal(rf_auth_key_load(&k, write_file("empty", "", 0600)), -EINVAL);
    assert_int_equal(rf_auth_key_load(&k, tmpdir), -EINVAL);   /* a directory */
    assert_int_equal(rf_auth_key_load(&k, "/nonexistent/key"), -ENOENT);
    /* another owner (only testable as root: chown to nobody) */
    if (geteuid() == 0) {
        const char *p = write_file("other", HEXKEY "\n", 0600);
        assert_int_equal(chown(p, 65534, 65534), 0);
        assert_int_equal(rf_auth_key_load_err(&k, p, why, sizeof(why)), -EPERM);
        assert_non_null(strstr(why, "owned by uid 65534"));
    }
    rf_auth_key_t a, b;
    assert_int_equal(rf_auth_key_load(&a, write_file("a", HEXKEY "\n", 0600)), 0);
    b = a;
    assert_true(rf_auth_key_equal(&a, &b));
    b.key[5] ^= 1;
    assert_false(rf_auth_key_equal(&a, &b));
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

static void
esc_control_bytes(void **state)
{
    (void)state;
    char out[32];
    assert_string_equal(rf_esc(out, sizeof(out), "cap-1"), "cap-1");
    assert_string_equal(rf_esc(out, sizeof(out), "a\nb\"c\\"), "a\\x0ab\\x22c\\x5c");
    assert_string_equal(rf_esc(out, sizeof(out), "\x1b[31m"), "\\x1b[31m");
    assert_string_equal(rf_esc(out, sizeof(out), NULL), "");
    /* truncation keeps it short and terminated */
    rf_esc(out, 12, "0123456789abcdef");
    assert_true(strlen(out) < 12);
    assert_non_null(strstr(out, "..."));
    rf_esc(out, 8, "\n\n\n\n\n");
    assert_true(strlen(out) < 8);
    assert_null(strchr(out, '\n'));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(role_key_is_hkdf_sha256),
        cmocka_unit_test(pair_key_derives_from_intercept_key),
        cmocka_unit_test(keys_differ_by_role_and_id),
        cmocka_unit_test(identity_parse),
        cmocka_unit_test(hex_roundtrip),
        cmocka_unit_test(hello_must_match_tls_identity),
        cmocka_unit_test(plain_needs_loopback_or_insecure),
        cmocka_unit_test(key_file_rules),
        cmocka_unit_test(esc_control_bytes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
