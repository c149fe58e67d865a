/* base64.c — base64 decoding (standard and URL-safe alphabets, whitespace
 * ignored, padding optional), shared by kubeconfig *-data fields and
 * Secret/ConfigMap values. */
#include "core.h"

#include <stdlib.h>

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int op_base64_decode(const char *in, size_t len, char **out, size_t *out_len)
{
    char *buf = malloc(len / 4 * 3 + 4);
    size_t o = 0, i;
    unsigned acc = 0;
    int bits = 0, pad = 0, err = OP_OK;

    if (!buf) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        int v;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        v = b64val(c);
        if (v < 0 || pad) {
            err = op_err_set(OP_EINVALID, "invalid base64");
            goto out;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6 || pad > 2) {
        err = op_err_set(OP_EINVALID, "invalid base64 length");
        goto out;
    }
    buf[o] = '\0';
    *out = buf;
    buf = NULL;
    if (out_len)
        *out_len = o;
out:
    free(buf);
    return err;
}
