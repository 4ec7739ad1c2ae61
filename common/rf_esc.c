/* rf_esc.c -- escaping for logged peer strings. */
#include "rf_esc.h"

#include <string.h>

const char *
rf_esc(char *out, size_t n, const char *s)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    if (n == 0)
        return "";
    if (s == NULL)
        s = "";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"';
        size_t need = plain ? 1 : 4;
        if (o + need + 4 > n) {   /* room for "..." and the NUL */
            if (n >= 4) {
                memcpy(out + (o < n - 4 ? o : n - 4), "...", 3);
                o = (o < n - 4 ? o : n - 4) + 3;
            }
            break;
        }
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hx[ch >> 4];
            out[o++] = hx[ch & 15];
        }
    }
    out[o < n ? o : n - 1] = '\0';
    return out;
}
