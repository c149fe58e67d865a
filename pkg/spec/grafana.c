/* grafana.c — value rules that come from how Grafana reads what crosslink
 * renders: exact Go-duration parsing and the one-number-one-unit duration
 * form Grafana's rangeutil understands, the default trace -> logs LogQL, and
 * which signal claims Grafana's default data source. Pure. */
#include "spec.h"

#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS INT64_C(1000000)

/* Go's time.ParseDuration grammar: [-+]? ("0" | (number unit)+), number =
 * digits [ "." digits ] | "." digits, unit = ns us µs μs ms s m h. Computed in
 * int64 nanoseconds like Go (same range, about 292 years). */
int spec_duration_parse_exact(const char *s, int allow_negative, int64_t *ms_out)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {{"ns", 1},
                 {"us", 1000},
                 {"\xc2\xb5s", 1000}, /* µs, U+00B5 */
                 {"\xce\xbcs", 1000}, /* μs, U+03BC */
                 {"ms", NS_PER_MS},
                 {"s", 1000 * NS_PER_MS},
                 {"m", 60 * 1000 * NS_PER_MS},
                 {"h", 3600 * 1000 * NS_PER_MS}};
    const char *p = s;
    int neg = 0, exact = 1;
    int64_t total = 0;

    if (!s || !*s)
        return op_err_set(OP_EINVALID, "empty duration");
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *ms_out = 0;
        return 0;
    }
    if (!*p)
        return op_err_set(OP_EINVALID, "invalid duration \"%s\"", s);
    while (*p) {
        int64_t whole = 0, frac = 0, scale = 1, unit = 0, v;
        int digits = 0;
        size_t ul = 0;
        while (*p >= '0' && *p <= '9') {
            if (__builtin_mul_overflow(whole, 10, &whole) || __builtin_add_overflow(whole, *p - '0', &whole))
                return op_err_set(OP_EINVALID, "duration \"%s\" out of range", s);
            p++;
            digits++;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                /* digits past 18 cannot change a whole-ms result but could
                 * overflow; they only matter when non-zero */
                if (scale < INT64_C(1000000000000000000)) {
                    frac = frac * 10 + (*p - '0');
                    scale *= 10;
                } else if (*p != '0') {
                    exact = 0;
                }
                p++;
                digits++;
            }
        }
        if (!digits)
            return op_err_set(OP_EINVALID, "invalid duration \"%s\"", s);
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].name);
            /* longest match: "ms" before "m" */
            if (strncmp(p, units[i].name, n) == 0 && n > ul) {
                unit = units[i].ns;
                ul = n;
            }
        }
        if (!ul)
            return op_err_set(OP_EINVALID, "%s unit in duration \"%s\"", *p ? "unknown" : "missing", s);
        p += ul;
        if (__builtin_mul_overflow(whole, unit, &v) || __builtin_add_overflow(total, v, &total))
            return op_err_set(OP_EINVALID, "duration \"%s\" out of range", s);
        if (frac) {
            /* frac/scale * unit, exactly: scale divides frac*unit or the
             * result has a sub-nanosecond part */
            __int128 f = (__int128)frac * unit;
            if (f % scale)
                exact = 0;
            if (__builtin_add_overflow(total, (int64_t)(f / scale), &total))
                return op_err_set(OP_EINVALID, "duration \"%s\" out of range", s);
        }
    }
    if (neg && !allow_negative && total != 0)
        return op_err_set(OP_EINVALID, "negative duration \"%s\"", s);
    if (!exact || total % NS_PER_MS)
        return op_err_set(OP_ERR, "duration \"%s\" is not a whole number of milliseconds", s);
    *ms_out = total / NS_PER_MS * (neg ? -1 : 1);
    return 0;
}

/* Grafana's rangeutil (packages/grafana-data/src/datetime/rangeutil.ts,
 * describeInterval) takes ONE number read with parseInt and ONE unit of
 * y M w d h m s ms; "0" without a unit throws. h is the largest unit used:
 * Grafana's Go-side parsers read d/w/M/y with calendar semantics of their own. */
char *spec_duration_format(int64_t ms, char *buf)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;

    if (a == 0) {
        snprintf(buf, SPEC_DURATION_BUF, "0s");
        return buf;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (a % (uint64_t)units[i].ms == 0) {
            snprintf(buf, SPEC_DURATION_BUF, "%s%llu%s", ms < 0 ? "-" : "",
                     (unsigned long long)(a / (uint64_t)units[i].ms), units[i].unit);
            break;
        }
    }
    return buf;
}

/* Grafana's own trace -> logs query appends |="<traceId>", a LINE filter:
 * Loki 3 OTLP logs keep the id in structured metadata, so it finds nothing
 * (grafana/grafana#90335). This query copies the line into a label
 * (label_format with the __line__ template function) so one label-filter
 * expression can OR "the line contains the id" with "trace_id metadata equals
 * the id", then drops the copy. ${__tags}, ${__span.traceId} and
 * ${__span.spanId} are Grafana's trace-to-logs variables. */
char *spec_default_traces_to_logs_query(int by_trace, int by_span)
{
    if (!by_trace && !by_span)
        return NULL;
    return op_asprintf("{${__tags}} | label_format xl_line=\"{{ __line__ }}\"%s%s | drop xl_line",
                       by_trace ? " | xl_line=~\".*${__span.traceId}.*\" or trace_id=\"${__span.traceId}\"" : "",
                       by_span ? " | xl_line=~\".*${__span.spanId}.*\" or span_id=\"${__span.spanId}\"" : "");
}

int spec_stack_default_signal(const struct spec_stack *s)
{
    for (int i = 0; s && i < SPEC_SIGNAL_COUNT; i++)
        if (spec_stack_backend(s, (enum spec_signal)i) && s->backends[i].is_default)
            return i;
    return -1;
}

static void add_ref(struct spec_ref *out, size_t *n, const char *kind, const char *name)
{
    if (!name)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(out[i].kind, kind) == 0 && strcmp(out[i].name, name) == 0)
            return;
    if (*n < SPEC_REFS_MAX) {
        out[*n].kind = kind;
        out[*n].name = name;
        (*n)++;
    }
}

static int ref_cmp(const void *a, const void *b)
{
    const struct spec_ref *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->name, y->name);
}

size_t spec_stack_refs(const struct spec_stack *s, struct spec_ref out[SPEC_REFS_MAX])
{
    size_t n = 0;
    for (int i = 0; s && i < SPEC_SIGNAL_COUNT; i++) {
        const struct spec_backend *b = spec_stack_backend(s, (enum spec_signal)i);
        if (!b)
            continue;
        if (b->auth.basic_username)
            add_ref(out, &n, "Secret", b->auth.basic_password.name);
        add_ref(out, &n, "Secret", b->auth.bearer_token.name);
        add_ref(out, &n, "Secret", b->tls.ca_secret.name);
        add_ref(out, &n, "ConfigMap", b->tls.ca_configmap.name);
    }
    if (n > 1)
        qsort(out, n, sizeof(*out), ref_cmp);
    return n;
}
