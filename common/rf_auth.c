/* rf_auth.c -- key files (strict owner/mode checks) and the nonce. No
 * hand-written crypto: libsodium's randombytes and sodium_memcmp. */
#include "rf_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
rf_auth_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

int
rf_auth_key_load_err(rf_auth_key_t *k, const char *path, char *why, size_t whylen)
{
    char dummy[8];
    if (why == NULL) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    why[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "%s", strerror(e));
        return -e;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(why, whylen, "not a regular file");
        return -EINVAL;
    }
    if (sb.st_uid != geteuid()) {
        close(fd);
        snprintf(why, whylen, "owned by uid %u, not by the running user (uid %u)",
                 (unsigned)sb.st_uid, (unsigned)geteuid());
        return -EPERM;
    }
    if (sb.st_mode & 077) {
        close(fd);
        snprintf(why, whylen, "mode %03o: group/other bits set (chmod 600)",
                 (unsigned)(sb.st_mode & 0777));
        return -EPERM;
    }
    char line[130];
    ssize_t n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n < 0) {
        int e = errno;
        snprintf(why, whylen, "%s", strerror(e));
        return -e;
    }
    line[n] = '\0';
    size_t len = strcspn(line, "\r\n");
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    int r = rf_hex_decode(k->key, RF_KEY_LEN, line, len);
    sodium_memzero(line, sizeof(line));
    if (r != 0) {
        snprintf(why, whylen, "the first line is not a key of 64 hex digits "
                              "(make one with `replayctl keys`)");
        return -EINVAL;
    }
    k->len = RF_KEY_LEN;
    return 0;
}

int
rf_auth_key_load(rf_auth_key_t *k, const char *path)
{
    return rf_auth_key_load_err(k, path, NULL, 0);
}

int
rf_auth_key_equal(const rf_auth_key_t *a, const rf_auth_key_t *b)
{
    return a->len == b->len && a->len > 0 && sodium_memcmp(a->key, b->key, a->len) == 0;
}

void
rf_auth_nonce(uint8_t nonce[RF_AUTH_NONCE])
{
    randombytes_buf(nonce, RF_AUTH_NONCE);
}
