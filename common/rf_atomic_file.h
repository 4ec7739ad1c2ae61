/* rf_atomic_file.h -- durable replace: write temp, fsync, rename, fsync dir.
 * A crash leaves either the old or the new content, never a mix. */
#ifndef RF_ATOMIC_FILE_H
#define RF_ATOMIC_FILE_H

#include <stddef.h>

/* 0 or -errno. On error the old file is untouched and the temp removed. */
int rf_atomic_write(const char *path, const void *data, size_t len);
/* Read a whole file of at most `max` bytes into a malloc'd NUL-terminated
 * buffer. 0 or -errno (-EFBIG when over max). */
int rf_read_file(char **out, size_t *len, const char *path, size_t max);

#endif
