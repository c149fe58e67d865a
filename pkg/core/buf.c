/* buf.c — bounded growable byte buffer (modelled on curl's dynbuf). Every
 * buffer has a maximum set at init, so a hostile peer cannot make us grow
 * without bound; exceeding it returns OP_ETOOBIG and leaves the data intact. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void op_buf_init(struct op_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void op_buf_cleanup(struct op_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void op_buf_cleanup_wipe(struct op_buf *b)
{
    op_wipe(b->data, b->cap);
    op_buf_cleanup(b);
}

void op_buf_reset(struct op_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int grow(struct op_buf *b, size_t need)
{
    size_t ncap;
    char *p;

    if (need > b->max)
        return op_err_set(OP_ETOOBIG, "buffer limit of %zu bytes exceeded", b->max);
    if (need + 1 <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need + 1)
        ncap *= 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    p = realloc(b->data, ncap);
    if (!p)
        return op_err_set(OP_ENOMEM, "out of memory");
    b->data = p;
    b->cap = ncap;
    return 0;
}

int op_buf_append(struct op_buf *b, const void *p, size_t n)
{
    int err;
    if (n == 0) {
        if (!b->data && (err = grow(b, 0)) < 0)
            return err;
        b->data[b->len] = '\0';
        return 0;
    }
    if (n > b->max - b->len)
        return op_err_set(OP_ETOOBIG, "buffer limit of %zu bytes exceeded", b->max);
    if ((err = grow(b, b->len + n)) < 0)
        return err;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int op_buf_puts(struct op_buf *b, const char *s)
{
    return op_buf_append(b, s, strlen(s));
}

int op_buf_vappendf(struct op_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, err;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return op_err_set(OP_ERR, "format error");
    if ((size_t)n > b->max - b->len)
        return op_err_set(OP_ETOOBIG, "buffer limit of %zu bytes exceeded", b->max);
    if ((err = grow(b, b->len + (size_t)n)) < 0)
        return err;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int op_buf_appendf(struct op_buf *b, const char *fmt, ...)
{
    va_list ap;
    int err;
    va_start(ap, fmt);
    err = op_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return err;
}

void op_buf_consume(struct op_buf *b, size_t n)
{
    if (n >= b->len) {
        op_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *op_buf_take(struct op_buf *b)
{
    char *p = b->data;
    if (!p)
        return calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int op_buf_json_string(struct op_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    int err;

    if ((err = op_buf_append(b, "\"", 1)) < 0)
        return err;
    for (; *p; p++) {
        char esc[7];
        const char *out = NULL;
        size_t n = 0;
        switch (*p) {
        case '"': out = "\\\""; n = 2; break;
        case '\\': out = "\\\\"; n = 2; break;
        case '\n': out = "\\n"; n = 2; break;
        case '\r': out = "\\r"; n = 2; break;
        case '\t': out = "\\t"; n = 2; break;
        default:
            if (*p < 0x20) {
                esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
                esc[4] = hex[*p >> 4]; esc[5] = hex[*p & 15]; esc[6] = 0;
                out = esc; n = 6;
            }
        }
        if (out)
            err = op_buf_append(b, out, n);
        else
            err = op_buf_append(b, p, 1);
        if (err < 0)
            return err;
    }
    return op_buf_append(b, "\"", 1);
}
