/* errors.c — the spec_errors collector (every validation problem, in the
 * order found, as "path: rule") and the small signal-name tables. Pure. */
#include "spec.h"

#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const signal_names[SPEC_SIGNAL_COUNT] = {"metrics", "traces", "logs", "profiles"};
static const char *const signal_titles[SPEC_SIGNAL_COUNT] = {"Metrics", "Traces", "Logs", "Profiles"};
static const char *const signal_types[SPEC_SIGNAL_COUNT] = {"prometheus", "tempo", "loki",
                                                             "grafana-pyroscope-datasource"};

const char *spec_signal_name(enum spec_signal sig)
{
    return (unsigned)sig < SPEC_SIGNAL_COUNT ? signal_names[sig] : "unknown";
}

const char *spec_signal_title(enum spec_signal sig)
{
    return (unsigned)sig < SPEC_SIGNAL_COUNT ? signal_titles[sig] : "Unknown";
}

const char *spec_signal_grafana_type(enum spec_signal sig)
{
    return (unsigned)sig < SPEC_SIGNAL_COUNT ? signal_types[sig] : "";
}

void spec_errors_init(struct spec_errors *e)
{
    memset(e, 0, sizeof(*e));
}

void spec_errors_cleanup(struct spec_errors *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

int spec_errors_add(struct spec_errors *e, const char *fmt, ...)
{
    va_list ap;
    struct op_buf b;
    char *msg;

    if (!e)
        return 0;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        char **v = realloc(e->v, cap * sizeof(*v));
        if (!v)
            return OP_ENOMEM;
        e->v = v;
        e->cap = cap;
    }
    op_buf_init(&b, 1u << 16);
    va_start(ap, fmt);
    if (op_buf_vappendf(&b, fmt, ap) < 0) {
        va_end(ap);
        op_buf_cleanup(&b);
        return OP_ENOMEM;
    }
    va_end(ap);
    if (!(msg = op_buf_take(&b))) {
        op_buf_cleanup(&b);
        return OP_ENOMEM;
    }
    op_buf_cleanup(&b);
    e->v[e->n++] = msg;
    return 0;
}

char *spec_errors_format(const struct spec_errors *e, const char *sep)
{
    struct op_buf b;
    char *s;

    op_buf_init(&b, 1u << 24);
    for (size_t i = 0; e && i < e->n; i++) {
        if ((i && op_buf_puts(&b, sep) < 0) || op_buf_puts(&b, e->v[i]) < 0) {
            op_buf_cleanup(&b);
            return NULL;
        }
    }
    s = op_buf_take(&b);
    op_buf_cleanup(&b);
    return s;
}
