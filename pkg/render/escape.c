/* escape.c — Grafana provisioning escaping and digests: every literal '$' is
 * written "$$" because provisioning files are environment-expanded, and the
 * ConfigMap digest is SHA-256 over a canonical JSON serialization. Pure. */
#include "render.h"

#include "core.h"

#include <stdlib.h>
#include <string.h>

char *render_escape_dollars(const char *s)
{
    size_t n = 0, len;
    char *out, *p;

    if (!s)
        return NULL;
    len = strlen(s);
    for (const char *q = s; *q; q++)
        n += *q == '$';
    if (!(out = malloc(len + n + 1)))
        return NULL;
    p = out;
    for (const char *q = s; *q; q++) {
        *p++ = *q;
        if (*q == '$')
            *p++ = '$';
    }
    *p = '\0';
    return out;
}

char *render_data_digest(const json_t *data)
{
    char *canon = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char hex[65];

    if (!canon)
        return NULL;
    op_sha256_hex(canon, strlen(canon), hex);
    free(canon);
    return op_asprintf("sha256:%s", hex);
}
