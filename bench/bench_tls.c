/* bench_tls.c -- what TLS costs per record on the copy<->intercept channel:
 * rf_tls (OpenSSL, TLS_AES_128_GCM_SHA256) encrypting on one side and
 * decrypting on the other, in memory, for record sizes around a
 * ResponseBatch (one header ~ 60 B, a typical closed-loop batch ~ 450 B, a
 * full batch of 64 headers ~ 4 KB). Prints microseconds per record and
 * MB/s; multiply by the intercept's batches_sent/s for the agents' cost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rf_keys.h"
#include "rf_tls.h"

static uint8_t master[RF_KEY_LEN];

static int
lookup(void *arg, const char *ident, size_t len, uint8_t key[RF_KEY_LEN])
{
    (void)arg;
    rf_krole_t r;
    char id[RF_ID_MAXLEN + 1];
    if (rf_ident_parse(ident, len, &r, id) != 0)
        return -1;
    return rf_key_role(key, master, sizeof(master), r, id);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t wire[1 << 20], plain[1 << 16];

static void
move(rf_tls_t *from, rf_tls_t *to)
{
    size_t n;
    while ((n = rf_tls_out_take(from, wire, sizeof(wire))) > 0)
        if (rf_tls_feed(to, wire, n) != 0)
            exit(1);
}

static size_t
drain(rf_tls_t *t)
{
    const char *err;
    long r;
    size_t got = 0;
    while ((r = rf_tls_read(t, plain, sizeof(plain), &err)) > 0)
        got += (size_t)r;
    if (r < 0) {
        fprintf(stderr, "bench_tls: %s\n", err);
        exit(1);
    }
    return got;
}

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    uint8_t key[RF_KEY_LEN];
    rf_key_role(key, master, sizeof(master), RF_KROLE_COPY, "bench");
    double t0 = now_s();
    int hs = 0;
    for (; hs < 200; hs++) {
        rf_tls_t *c = rf_tls_client_new("copy/bench", key), *s = rf_tls_server_new(lookup, NULL);
        rf_tls_start(c);
        for (int i = 0; i < 4; i++) {
            move(c, s);
            drain(s);
            move(s, c);
            drain(c);
        }
        if (!rf_tls_done(c) || !rf_tls_done(s))
            return 1;
        rf_tls_free(c);
        rf_tls_free(s);
    }
    printf("handshake (PSK + X25519, both sides): %.0f us\n", (now_s() - t0) / hs * 1e6);
    rf_tls_t *c = rf_tls_client_new("copy/bench", key), *s = rf_tls_server_new(lookup, NULL);
    rf_tls_start(c);
    for (int i = 0; i < 4; i++) {
        move(c, s);
        drain(s);
        move(s, c);
        drain(c);
    }
    static const size_t sizes[] = { 64, 450, 4096 };
    static uint8_t msg[4096];
    printf("%8s %12s %14s %10s\n", "record", "records", "us/record", "MB/s");
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t total = 0;
        t0 = now_s();
        for (long i = 0; i < n; i++) {
            if (rf_tls_write(s, msg, sizes[k]) != 0)   /* intercept -> copy direction */
                return 1;
            move(s, c);
            total += drain(c);
        }
        double dt = now_s() - t0;
        if (total != (size_t)n * sizes[k])
            return 1;
        printf("%8zu %12ld %14.3f %10.1f\n", sizes[k], n, dt / (double)n * 1e6,
               (double)total / dt / 1e6);
    }
    rf_tls_free(c);
    rf_tls_free(s);
    return 0;
}
