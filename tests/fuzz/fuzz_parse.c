/* fuzz_parse.c -- fuzz target for common/rf_parse.c, the parsers every flag
 * and config-file value goes through. Owns the input layout and the
 * properties; not the parsers.
 *
 * Input: byte 0 picks the parser, the rest is the text (NUL-terminated
 * here, cut at the first NUL). Properties: nothing is read past the text
 * (ASan), an accepted value lies in the range asked for, an accepted
 * host:port gives back the text's own host and a port in 1..65535, an
 * output is never written on failure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rf_parse.h"
#include "fuzz_target.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 6) {
    case 0: {
        unsigned long v = 12345;
        if (rf_parse_uint(&v, s, 1, 65535) == 0)
            FUZZ_CHECK(v >= 1 && v <= 65535 && s[0] >= '0' && s[0] <= '9');
        else
            FUZZ_CHECK(v == 12345);
        break;
    }
    case 1: {
        long v = 12345;
        if (rf_parse_int(&v, s, -20, 19) == 0)
            FUZZ_CHECK(v >= -20 && v <= 19);
        else
            FUZZ_CHECK(v == 12345);
        break;
    }
    case 2: {
        double d = -1;
        if (rf_parse_double(&d, s, 0, 1000) == 0)
            FUZZ_CHECK(d >= 0 && d <= 1000);
        else
            FUZZ_CHECK(d == -1);
        break;
    }
    case 3: {
        char h[16] = "keep";
        uint16_t p = 0;
        if (rf_parse_hostport(s, h, sizeof(h), &p, 36523) == 0) {
            size_t hl = strlen(h);
            FUZZ_CHECK(hl >= 7 && hl <= 15 && strncmp(s, h, hl) == 0);
            FUZZ_CHECK(p >= 1 && (s[hl] == '\0' ? p == 36523 : s[hl] == ':'));
        } else {
            FUZZ_CHECK(strcmp(h, "keep") == 0 && p == 0);
        }
        break;
    }
    case 4: {
        uint64_t ms = 7;
        if (rf_parse_duration_ms(&ms, s, 1000, 100, 86400000) == 0)
            FUZZ_CHECK(ms >= 100 && ms <= 86400000);
        else
            FUZZ_CHECK(ms == 7);
        break;
    }
    default: {
        char b[8] = "keep";
        rf_errbuf_t err;
        if (rf_flag_str(b, sizeof(b), "--x", s, RF_STR_NONEMPTY, &err) == 0)
            FUZZ_CHECK(strcmp(b, s) == 0 && s[0] != '\0');
        else
            FUZZ_CHECK(strcmp(b, "keep") == 0 && err.msg[0] != '\0');
        break;
    }
    }
    free(s);
    return 0;
}
