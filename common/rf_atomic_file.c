/* rf_atomic_file.c -- redis rdb.c's temp+fsync+rename, plus fsync of the dir. */
#include "rf_atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
rf_atomic_write(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    /* A stale temp of ours (same pid) goes first; then O_EXCL|O_NOFOLLOW: a
     * link planted under that name is never followed. */
    (void)unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    const char *p = data;
    size_t left = len;
    int err = 0;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    if (err == 0 && fsync(fd) != 0)
        err = -errno;
    if (close(fd) != 0 && err == 0)
        err = -errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = -errno;
    if (err != 0) {
        unlink(tmp);
        return err;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        /* Best effort: the rename is already visible; fsync makes it durable. */
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

int
rf_read_file(char **out, size_t *len, const char *path, size_t max)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -errno;
    char *buf = malloc(max + 1);
    if (buf == NULL) {
        fclose(fp);
        return -ENOMEM;
    }
    size_t n = fread(buf, 1, max + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return -EIO;
    }
    if (n > max) {
        free(buf);
        return -EFBIG;
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}
