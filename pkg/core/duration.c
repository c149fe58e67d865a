/* duration.c — Go time.ParseDuration-compatible parsing ("1h30m", "1.5s",
 * "250ms", "0") into milliseconds. Sub-millisecond units are accepted and
 * truncated. Pure; no allocation. */
#include "core.h"

#include <string.h>

int op_duration_parse(const char *s, int allow_negative, int64_t *ms_out)
{
    const char *p = s;
    int neg = 0;
    double total_ms = 0;

    if (!s || !*s)
        return op_err_set(OP_EINVALID, "empty duration");
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (strcmp(p, "0") == 0) {
        *ms_out = 0;
        return 0;
    }
    if (!*p)
        return op_err_set(OP_EINVALID, "invalid duration \"%s\"", s);
    while (*p) {
        double v = 0, frac = 0, scale = 1, unit;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            p++;
            digits++;
            if (v > 1e15)
                return op_err_set(OP_EINVALID, "duration \"%s\" out of range", s);
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                scale /= 10;
                frac += (*p - '0') * scale;
                p++;
                digits++;
            }
        }
        if (!digits)
            return op_err_set(OP_EINVALID, "invalid duration \"%s\"", s);
        if (strncmp(p, "ns", 2) == 0) { unit = 1e-6; p += 2; }
        else if (strncmp(p, "us", 2) == 0) { unit = 1e-3; p += 2; }
        else if (strncmp(p, "\xc2\xb5s", 3) == 0) { unit = 1e-3; p += 3; }
        else if (strncmp(p, "ms", 2) == 0) { unit = 1; p += 2; }
        else if (*p == 's') { unit = 1000; p += 1; }
        else if (*p == 'm') { unit = 60000; p += 1; }
        else if (*p == 'h') { unit = 3600000; p += 1; }
        else if (!*p)
            return op_err_set(OP_EINVALID, "missing unit in duration \"%s\"", s);
        else
            return op_err_set(OP_EINVALID, "unknown unit in duration \"%s\"", s);
        total_ms += (v + frac) * unit;
        if (total_ms > 9.2e15)
            return op_err_set(OP_EINVALID, "duration \"%s\" out of range", s);
    }
    if (neg && !allow_negative && total_ms != 0)
        return op_err_set(OP_EINVALID, "negative duration \"%s\"", s);
    *ms_out = (int64_t)total_ms * (neg ? -1 : 1);
    return 0;
}
