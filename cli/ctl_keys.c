/* ctl_keys.c -- `replayctl keys`: make the fleet's key files, offline.
 *
 *   keys new-fleet --out F                       32 random bytes (the master)
 *   keys derive --fleet-key-file F --role R --id ID --out F
 *                                                HKDF(master, "replayfleet v2 R/ID")
 *
 * Files are written 0600 with O_EXCL (never over an existing file, never
 * through a link), one line of 64 hex digits; `--out -` prints the line
 * instead (Ansible derives on the controller and pushes it, no temp file).
 * Ansible calls exactly these. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "rf_auth.h"
#include "rf_keys.h"

static int
write_key(const char *path, const uint8_t key[RF_KEY_LEN])
{
    char line[2 * RF_KEY_LEN + 2];
    rf_hex_encode(line, key, RF_KEY_LEN);
    line[2 * RF_KEY_LEN] = '\n';
    line[2 * RF_KEY_LEN + 1] = '\0';
    if (strcmp(path, "-") == 0) {
        int bad = fputs(line, stdout) == EOF || fflush(stdout) != 0;
        sodium_memzero(line, sizeof(line));
        return bad ? CTL_EFAIL : CTL_OK;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "replayctl keys: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (never overwritten: remove it first)" : "");
        return CTL_EFAIL;
    }
    ssize_t n = write(fd, line, sizeof(line) - 1);
    int bad = n != (ssize_t)(sizeof(line) - 1) || fsync(fd) != 0;
    bad |= close(fd) != 0;
    sodium_memzero(line, sizeof(line));
    if (bad) {
        fprintf(stderr, "replayctl keys: %s: write failed: %s\n", path, strerror(errno));
        unlink(path);
        return CTL_EFAIL;
    }
    return CTL_OK;
}

static void
keys_usage(FILE *fp)
{
    fprintf(fp, "usage: replayctl keys new-fleet --out FILE|-\n"
                "       replayctl keys derive --fleet-key-file FILE --role copy|intercept|admin "
                "--id ID --out FILE|-\n"
                "FILE is created 0600 and never overwritten; - prints the key line\n");
}

int
ctl_keys_run(const ctl_opts_t *o, int argc, char **argv)
{
    (void)o;
    const char *out = NULL, *fleet = NULL, *role = NULL, *id = NULL;
    if (argc < 2) {
        keys_usage(stderr);
        return CTL_EUSAGE;
    }
    for (int i = 2; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--out") == 0              ? &out
                            : strcmp(argv[i], "--fleet-key-file") == 0 ? &fleet
                            : strcmp(argv[i], "--role") == 0           ? &role
                            : strcmp(argv[i], "--id") == 0             ? &id
                                                                       : NULL;
        if (slot == NULL || i + 1 >= argc) {
            fprintf(stderr, "replayctl keys: unexpected \"%s\"\n", argv[i]);
            keys_usage(stderr);
            return CTL_EUSAGE;
        }
        *slot = argv[++i];
    }
    if (out == NULL) {
        fprintf(stderr, "replayctl keys: --out FILE is required\n");
        return CTL_EUSAGE;
    }
    uint8_t key[RF_KEY_LEN];
    if (strcmp(argv[1], "new-fleet") == 0) {
        if (fleet || role || id) {
            keys_usage(stderr);
            return CTL_EUSAGE;
        }
        randombytes_buf(key, sizeof(key));
    } else if (strcmp(argv[1], "derive") == 0) {
        rf_krole_t r = rf_krole_parse(role);
        if (fleet == NULL || r == RF_KROLE_NONE || id == NULL || !rf_id_valid(id, strlen(id))) {
            fprintf(stderr, "replayctl keys derive: needs --fleet-key-file, --role "
                            "copy|intercept|admin and an --id of 1..63 [A-Za-z0-9._-]\n");
            return CTL_EUSAGE;
        }
        rf_auth_key_t m;
        char why[200];
        if (rf_auth_key_load_err(&m, fleet, why, sizeof(why)) != 0) {
            fprintf(stderr, "replayctl keys: --fleet-key-file %s: %s\n", fleet, why);
            return CTL_EUSAGE;
        }
        int d = rf_key_role(key, m.key, m.len, r, id);
        sodium_memzero(&m, sizeof(m));
        if (d != 0) {
            fprintf(stderr, "replayctl keys: HKDF failed\n");
            return CTL_EFAIL;
        }
    } else {
        keys_usage(stderr);
        return CTL_EUSAGE;
    }
    int rc = write_key(out, key);
    sodium_memzero(key, sizeof(key));
    return rc;
}
