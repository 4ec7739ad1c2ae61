/* test_rf_tls.c -- common/rf_tls.c in memory (two endpoints handing
 * ciphertext to each other, no sockets), plus the pure flood bookkeeping
 * (common/rf_limit.c) and target rules (common/rf_target.c).
 *
 * What must hold: the right key for the named identity completes TLS 1.3 and
 * moves data both ways; the server learns the identity; a key of another
 * fleet, an identity the server refuses, or garbage fails the handshake and
 * is counted; a flipped ciphertext byte after the handshake is a record
 * error (counted), never delivered data; per-source pending counts cap and
 * release; the refusal log speaks once per interval with the count of the
 * others; loopback/multicast/broadcast/0.0.0.0/8 targets are refused and an
 * allow-list is enforced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "rf_err.h"
#include "rf_keys.h"
#include "rf_limit.h"
#include "rf_target.h"
#include "rf_tls.h"

static uint8_t master[RF_KEY_LEN];
static int lookups;

static int
lookup(void *arg, const char *ident, size_t len, uint8_t key[RF_KEY_LEN])
{
    (void)arg;
    rf_krole_t r;
    char id[RF_ID_MAXLEN + 1];
    lookups++;
    if (rf_ident_parse(ident, len, &r, id) != 0 || r != RF_KROLE_COPY)
        return -1;
    return rf_key_role(key, master, sizeof(master), r, id);
}

/* Move ciphertext both ways until nothing moves; plaintext read by each
 * side lands in its buffer. Returns <0 if either side failed. */
typedef struct {
    uint8_t buf[65536];
    size_t  len;
    const char *err;
} side_t;

static int
pump(rf_tls_t *c, side_t *cs, rf_tls_t *s, side_t *ss)
{
    uint8_t wire[65536];
    for (int round = 0; round < 20; round++) {
        size_t moved = 0, n;
        while ((n = rf_tls_out_take(c, wire, sizeof(wire))) > 0) {
            moved += n;
            assert_int_equal(rf_tls_feed(s, wire, n), 0);
        }
        long r;
        /* one record per read: drain */
        while ((r = rf_tls_read(s, ss->buf + ss->len, sizeof(ss->buf) - ss->len, &ss->err)) > 0) {
            ss->len += (size_t)r;
            moved += (size_t)r;
        }
        if (r < 0)
            return -1;
        while ((n = rf_tls_out_take(s, wire, sizeof(wire))) > 0) {
            moved += n;
            assert_int_equal(rf_tls_feed(c, wire, n), 0);
        }
        while ((r = rf_tls_read(c, cs->buf + cs->len, sizeof(cs->buf) - cs->len, &cs->err)) > 0) {
            cs->len += (size_t)r;
            moved += (size_t)r;
        }
        if (r < 0)
            return -2;
        if (moved == 0)
            break;
    }
    return 0;
}

static int
setup(void **state)
{
    (void)state;
    for (unsigned i = 0; i < RF_KEY_LEN; i++)
        master[i] = (uint8_t)(0xa0 + i);
    return 0;
}

static rf_tls_t *
client_for(const char *ident, const uint8_t *m)
{
    rf_krole_t r;
    char id[RF_ID_MAXLEN + 1];
    uint8_t key[RF_KEY_LEN];
    assert_int_equal(rf_ident_parse(ident, strlen(ident), &r, id), 0);
    assert_int_equal(rf_key_role(key, m, RF_KEY_LEN, r, id), 0);
    rf_tls_t *t = rf_tls_client_new(ident, key);
    assert_non_null(t);
    assert_int_equal(rf_tls_start(t), 0);
    return t;
}

static void
handshake_and_data(void **state)
{
    (void)state;
    static side_t cs, ss;
    memset(&cs, 0, sizeof(cs));
    memset(&ss, 0, sizeof(ss));
    uint64_t ok0 = rf_tls_counters.handshakes_ok;
    rf_tls_t *c = client_for("copy/cap-1", master), *s = rf_tls_server_new(lookup, NULL);
    assert_non_null(s);
    assert_int_equal(pump(c, &cs, s, &ss), 0);
    assert_true(rf_tls_done(c));
    assert_true(rf_tls_done(s));
    assert_string_equal(rf_tls_identity(s), "copy/cap-1");
    assert_int_equal(rf_tls_counters.handshakes_ok, ok0 + 2);
    /* 40 KiB each way: several records */
    static uint8_t big[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(rf_tls_write(c, big, sizeof(big)), 0);
    assert_int_equal(rf_tls_write(s, (const uint8_t *)"welcome", 7), 0);
    assert_int_equal(pump(c, &cs, s, &ss), 0);
    assert_int_equal(ss.len, sizeof(big));
    assert_memory_equal(ss.buf, big, sizeof(big));
    assert_int_equal(cs.len, 7);
    assert_memory_equal(cs.buf, "welcome", 7);
    rf_tls_free(c);
    rf_tls_free(s);
}

static void
wrong_fleet_fails(void **state)
{
    (void)state;
    static side_t cs, ss;
    memset(&cs, 0, sizeof(cs));
    memset(&ss, 0, sizeof(ss));
    uint8_t other[RF_KEY_LEN];
    memcpy(other, master, sizeof(other));
    other[0] ^= 1;
    uint64_t f0 = rf_tls_counters.handshake_failures;
    rf_tls_t *c = client_for("copy/cap-1", other), *s = rf_tls_server_new(lookup, NULL);
    assert_true(pump(c, &cs, s, &ss) < 0);
    assert_false(rf_tls_done(s));
    assert_int_equal(ss.len, 0);
    assert_true(rf_tls_counters.handshake_failures > f0);
    rf_tls_free(c);
    rf_tls_free(s);
}

static void
refused_identity_fails(void **state)
{
    (void)state;
    static side_t cs, ss;
    memset(&cs, 0, sizeof(cs));
    memset(&ss, 0, sizeof(ss));
    /* the lookup only knows copy agents: an admin identity is refused */
    rf_tls_t *c = client_for("admin/admin", master), *s = rf_tls_server_new(lookup, NULL);
    assert_true(pump(c, &cs, s, &ss) < 0);
    assert_false(rf_tls_done(s));
    assert_string_equal(rf_tls_identity(s), "");
    rf_tls_free(c);
    rf_tls_free(s);
}

static void
garbage_fails(void **state)
{
    (void)state;
    rf_tls_t *s = rf_tls_server_new(lookup, NULL);
    static const uint8_t v1[] = { 0, 0, 0, 5, 0x12, 3, 0x08, 1, 0 };   /* a v1 frame */
    const char *err = NULL;
    uint8_t buf[64];
    assert_int_equal(rf_tls_feed(s, v1, sizeof(v1)), 0);
    assert_true(rf_tls_read(s, buf, sizeof(buf), &err) < 0);
    assert_non_null(err);
    rf_tls_free(s);
}

static void
tampered_record_is_an_error(void **state)
{
    (void)state;
    static side_t cs, ss;
    memset(&cs, 0, sizeof(cs));
    memset(&ss, 0, sizeof(ss));
    rf_tls_t *c = client_for("copy/cap-7", master), *s = rf_tls_server_new(lookup, NULL);
    assert_int_equal(pump(c, &cs, s, &ss), 0);
    uint64_t e0 = rf_tls_counters.record_errors;
    assert_int_equal(rf_tls_write(c, (const uint8_t *)"an assignment", 13), 0);
    uint8_t wire[512];
    size_t n = rf_tls_out_take(c, wire, sizeof(wire));
    assert_true(n > 13);
    wire[n - 1] ^= 1;   /* the AEAD tag */
    assert_int_equal(rf_tls_feed(s, wire, n), 0);
    const char *err = NULL;
    uint8_t buf[64];
    assert_true(rf_tls_read(s, buf, sizeof(buf), &err) < 0);
    assert_non_null(strstr(err, "record"));
    assert_int_equal(rf_tls_counters.record_errors, e0 + 1);
    rf_tls_free(c);
    rf_tls_free(s);
}

static void
srcmap_caps(void **state)
{
    (void)state;
    rf_srcmap_t m;
    assert_int_equal(rf_srcmap_init(&m, 3), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rf_srcmap_inc(&m, 0x0a000001, 4), 0);
    assert_int_equal(rf_srcmap_inc(&m, 0x0a000001, 4), RF_EFULL);   /* per source */
    assert_int_equal(rf_srcmap_inc(&m, 0x0a000002, 4), 0);
    assert_int_equal(rf_srcmap_inc(&m, 0x0a000003, 4), 0);
    assert_int_equal(rf_srcmap_inc(&m, 0x0a000004, 4), RF_EFULL);   /* table full */
    assert_int_equal(rf_srcmap_get(&m, 0x0a000001), 4);
    rf_srcmap_dec(&m, 0x0a000002);                                   /* frees a slot */
    assert_int_equal(rf_srcmap_get(&m, 0x0a000002), 0);
    assert_int_equal(rf_srcmap_inc(&m, 0x0a000004, 4), 0);
    rf_srcmap_dec(&m, 0x0a000001);
    assert_int_equal(rf_srcmap_inc(&m, 0x0a000001, 4), 0);
    rf_srcmap_dec(&m, 0x0b000000);                                   /* unknown: no-op */
    assert_int_equal(m.n, 3);
    rf_srcmap_fini(&m);
}

static void
ratelog_one_line_per_interval(void **state)
{
    (void)state;
    rf_ratelog_t r;
    uint64_t more = 99;
    rf_ratelog_init(&r, 10000);
    assert_int_equal(rf_ratelog_hit(&r, 1000, &more), 1);
    assert_int_equal(more, 0);
    for (int i = 0; i < 500; i++)
        assert_int_equal(rf_ratelog_hit(&r, 1000 + (uint64_t)i, &more), 0);
    assert_int_equal(rf_ratelog_flush(&r, 5000), 0);                /* interval not over */
    assert_int_equal(rf_ratelog_flush(&r, 11000), 500);             /* the summary line */
    assert_int_equal(rf_ratelog_flush(&r, 30000), 0);               /* nothing new */
    assert_int_equal(rf_ratelog_hit(&r, 30001, &more), 1);
    assert_int_equal(more, 0);
    assert_int_equal(rf_ratelog_hit(&r, 30002, &more), 0);
    assert_int_equal(rf_ratelog_hit(&r, 40002, &more), 1);
    assert_int_equal(more, 1);
    assert_int_equal(r.total, 504);
    char note[48];
    assert_string_equal(rf_ratelog_note(note, sizeof(note), 0), "");
    assert_string_equal(rf_ratelog_note(note, sizeof(note), 7), " (7 more not logged)");
}

static void
target_rules(void **state)
{
    (void)state;
    rf_errbuf_t err;
    static const uint32_t bad[] = { 0x00000000, 0x00ffffff, 0x7f000001, 0x7f636363, 0xe0000001,
                                    0xefffffff, 0xf0000001, 0xffffffff };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rf_target_check(bad[i], NULL, 0, &err), RF_ERANGE);
    assert_int_equal(rf_target_check(0x0ac70001, NULL, 0, &err), 0);   /* 10.199.0.1 */
    assert_int_equal(rf_target_check(0xc0a80101, NULL, 0, &err), 0);
    rf_cidr_t allow[2];
    assert_int_equal(rf_cidr_parse(&allow[0], "10.199.0.0/24", &err), 0);
    assert_int_equal(rf_cidr_parse(&allow[1], "192.168.7.7", &err), 0);
    assert_int_equal(rf_target_check(0x0ac70001, allow, 2, &err), 0);
    assert_int_equal(rf_target_check(0xc0a80707, allow, 2, &err), 0);
    assert_int_equal(rf_target_check(0x0ac70101, allow, 2, &err), RF_ERANGE);
    assert_non_null(strstr(err.msg, "--allowed-targets"));
    assert_int_equal(rf_target_check(0x7f000001, allow, 2, &err), RF_ERANGE);
    /* the process-wide list */
    assert_int_equal(rf_target_allowed(0x0b000001, &err), 0);
    assert_int_equal(rf_target_set_allowed("10.199.0.0/24, 192.168.7.7", &err), 0);
    assert_int_equal(rf_target_allowed(0x0b000001, &err), RF_ERANGE);
    assert_int_equal(rf_target_allowed(0xc0a80707, &err), 0);
    assert_int_equal(rf_target_set_allowed("10.0.0.1/8", &err), RF_EPARSE);
    assert_int_equal(rf_target_set_allowed("", &err), RF_EPARSE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handshake_and_data),
        cmocka_unit_test(wrong_fleet_fails),
        cmocka_unit_test(refused_identity_fails),
        cmocka_unit_test(garbage_fails),
        cmocka_unit_test(tampered_record_is_an_error),
        cmocka_unit_test(srcmap_caps),
        cmocka_unit_test(ratelog_one_line_per_interval),
        cmocka_unit_test(target_rules),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
