/* standalone.c -- replays fuzz inputs through LLVMFuzzerTestOneInput without
 * libFuzzer, so gcc builds and ctest run every committed seed (libgit2's
 * pattern). Owns only the file walking; the target owns the checks, and a
 * broken input aborts (or trips a sanitizer) inside it.
 *
 * Usage: fuzz_<name> PATH...   PATH is a corpus directory (every regular file
 * in it is replayed) or a single input file. Exits 0 when at least one input
 * ran and all were readable, 1 otherwise (a missing or empty corpus is a
 * failure: a fuzz test that replays nothing proves nothing). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Inputs over this size are a mistake in the corpus, not a test. */
#define STANDALONE_MAX_INPUT (16u * 1024u * 1024u)

typedef struct {
    unsigned long passed, failed;
} standalone_tally_t;

static int
run_file(const char *path, standalone_tally_t *t)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        t->failed++;
        return -1;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || st.st_size < 0 || (size_t)st.st_size > STANDALONE_MAX_INPUT) {
        fprintf(stderr, "%s: unreadable or too large\n", path);
        fclose(fp);
        t->failed++;
        return -1;
    }
    size_t n = (size_t)st.st_size;
    /* Exactly n bytes on the heap (at least 1 for malloc), so ASan flags a
     * read of byte n just as libFuzzer's buffer would. */
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL || fread(buf, 1, n, fp) != n) {
        fprintf(stderr, "%s: short read\n", path);
        free(buf);
        fclose(fp);
        t->failed++;
        return -1;
    }
    fclose(fp);
    (void)LLVMFuzzerTestOneInput(buf, n);  /* libFuzzer ignores it too */
    free(buf);
    t->passed++;
    return 0;
}

static int
run_dir(const char *dir, standalone_tally_t *t)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        t->failed++;
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')  /* ., .., .gitkeep and editor files */
            continue;
        char path[4096];
        int  w = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (w < 0 || (size_t)w >= sizeof(path)) {
            t->failed++;
            continue;
        }
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            (void)run_file(path, t);  /* counted in t */
    }
    closedir(d);
    return 0;
}

int
main(int argc, char **argv)
{
    standalone_tally_t t = { 0, 0 };

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 1;
    }
    if (LLVMFuzzerInitialize != NULL)
        (void)LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            t.failed++;
        } else if (S_ISDIR(st.st_mode)) {
            (void)run_dir(argv[i], &t);
        } else {
            (void)run_file(argv[i], &t);
        }
    }
    printf("%s: %lu passed, %lu failed\n", argv[0], t.passed, t.failed);
    if (t.passed == 0) {
        fprintf(stderr, "%s: no inputs replayed (missing or empty corpus)\n", argv[0]);
        return 1;
    }
    return t.failed ? 1 : 0;
}
