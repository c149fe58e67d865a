/* links.c — the planner/evaluator of link verification (links.h): reads the
 * rendered provisioning generically, decides each request, hands it to the
 * fetch callback and judges the answer. No I/O, clock or globals here; the
 * libcurl executor is links_exec.c. Messages quote label names and values
 * and trace ids only — never log lines, span contents or credentials. */
#include "links_int.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LK_PROFILE_ATTR "pyroscope.profile.id"
#define LK_SERVICE_GRAPH_METRIC "traces_service_graph_request_total"

struct lk_span {
    char trace_id[40];
    char span_id[24];
    char name[128];
    int64_t start_ms, end_ms;
    json_t *attrs;         /* key → string value; resource first, span wins */
    char profile_id[64];   /* pyroscope.profile.id of some span ("" = none) */
    char profile_span[24]; /* the span carrying it */
    int64_t pstart_ms, pend_ms;
    size_t nspans;
};

struct lk_ctx {
    const struct links_input *in;
    links_fetch_fn fetch;
    void *ud;
    int64_t now_ms, window_ms;
    struct links_report *out;
    json_t *dss;               /* unescaped copy of the datasources array */
    json_t *sig_ds[PROBE_NSIGNALS];
    int have_span;
    struct lk_span span;
    char nospan_why[320];
    int nospan_broken; /* Tempo could not be asked: the links from a span are Broken, not NoData */
};

/* ---- generic helpers ---------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int jtrue(const json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int signal_of_type(const char *type)
{
    if (!type)
        return -1;
    if (strcmp(type, "prometheus") == 0)
        return PROBE_METRICS;
    if (strcmp(type, "tempo") == 0)
        return PROBE_TRACES;
    if (strcmp(type, "loki") == 0)
        return PROBE_LOGS;
    if (strcmp(type, "grafana-pyroscope-datasource") == 0)
        return PROBE_PROFILES;
    return -1;
}

static const char *backend_name(int sig)
{
    static const char *const n[PROBE_NSIGNALS] = {"the metrics backend", "Tempo", "Loki", "Pyroscope"};
    return sig >= 0 && sig < PROBE_NSIGNALS ? n[sig] : "backend";
}

static json_t *unescape_deep(const json_t *v)
{
    if (json_is_string(v)) {
        char *u = links_unescape(json_string_value(v));
        json_t *r = u ? json_string(u) : NULL;
        free(u);
        return r;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        if (!o)
            return NULL;
        json_object_foreach((json_t *)v, k, x) {
            json_t *c = unescape_deep(x);
            if (!c || json_object_set_new(o, k, c) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        if (!a)
            return NULL;
        json_array_foreach(v, i, x) {
            json_t *c = unescape_deep(x);
            if (!c || json_array_append_new(a, c) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    return json_deep_copy(v);
}

static json_t *ds_by_uid(struct lk_ctx *c, const char *uid)
{
    size_t i;
    json_t *d;
    if (!uid)
        return NULL;
    json_array_foreach(c->dss, i, d) {
        const char *u = jstr(d, "uid");
        if (u && strcmp(u, uid) == 0)
            return d;
    }
    return NULL;
}

static json_t *jd(const json_t *ds)
{
    return json_object_get(ds, "jsonData");
}

static void add_check(struct lk_ctx *c, int link, int state, const char *fmt, ...) OP_PRINTF(4, 5);
static void add_check(struct lk_ctx *c, int link, int state, const char *fmt, ...)
{
    struct links_check *k;
    size_t o;
    va_list ap;
    if (c->out->n >= LINKS_NLINKS)
        return;
    k = &c->out->checks[c->out->n++];
    k->link = link;
    k->state = state;
    snprintf(k->message, sizeof k->message, "%s: ", links_link_name(link));
    o = strlen(k->message);
    va_start(ap, fmt);
    vsnprintf(k->message + o, sizeof k->message - o, fmt, ap);
    va_end(ap);
    /* keep the message valid UTF-8 after truncation */
    o = strlen(k->message);
    if (o == sizeof k->message - 1) {
        while (o > 0 && ((unsigned char)k->message[o] & 0xC0) == 0x80)
            o--;
        if (o > 0 && ((unsigned char)k->message[o - 1] & 0x80))
            while (o > 0 && ((unsigned char)k->message[o] & 0xC0) != 0xC0 && ((unsigned char)k->message[o] & 0x80))
                o--;
        k->message[o] = '\0';
    }
}

/* One request. Returns the parsed JSON body of a 2xx answer (new ref), or
 * NULL with why filled ("Tempo answered 404", "Loki unreachable: …"). */
static json_t *request(struct lk_ctx *c, int sig, const char *method, const char *pq, const char *body,
                       const char *ctype, int *status, char *why, size_t whysz)
{
    struct links_http r;
    json_t *root = NULL;
    int rc;

    memset(&r, 0, sizeof r);
    *status = 0;
    why[0] = '\0';
    if (sig < 0 || sig >= PROBE_NSIGNALS || !c->in->targets[sig] || !c->in->targets[sig]->url) {
        snprintf(why, whysz, "%s is not configured", backend_name(sig));
        return NULL;
    }
    c->out->requests++;
    rc = c->fetch(c->ud, sig, method, pq, body, ctype, &r);
    if (rc != 0) {
        snprintf(why, whysz, "%s: request failed (%s)", backend_name(sig), op_err_name(rc));
        goto out;
    }
    *status = r.status;
    if (r.status == 0) {
        snprintf(why, whysz, "%s unreachable: %s", backend_name(sig), r.error);
        goto out;
    }
    if (r.status < 200 || r.status >= 300) {
        char ex[100];
        size_t i, o = 0;
        const struct probe_target *t = c->in->targets[sig];
        for (i = 0; r.body && i < r.len && o + 1 < sizeof ex; i++) {
            unsigned char ch = (unsigned char)r.body[i];
            ex[o++] = (ch < 0x20 || ch >= 0x7f) ? ' ' : (char)ch;
        }
        while (o > 0 && ex[o - 1] == ' ')
            o--;
        ex[o] = '\0';
        if (r.status == 401 || r.status == 403)
            snprintf(why, whysz, "%s answered %d%s%s%s (tenant \"%s\")", backend_name(sig), r.status,
                     *ex ? " \"" : "", ex, *ex ? "\"" : "", t->tenant ? t->tenant : "");
        else
            snprintf(why, whysz, "%s answered %d%s%s%s", backend_name(sig), r.status, *ex ? " \"" : "", ex,
                     *ex ? "\"" : "");
        goto out;
    }
    root = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    if (!root)
        snprintf(why, whysz, "%s answered %d with a body that is not JSON", backend_name(sig), r.status);
out:
    free(r.body);
    return root;
}

/* ---- span / trace --------------------------------------------------------- */

static void attr_value(const json_t *v, char *out, size_t outsz)
{
    const json_t *x;
    out[0] = '\0';
    if ((x = json_object_get(v, "stringValue")) && json_is_string(x))
        snprintf(out, outsz, "%s", json_string_value(x));
    else if ((x = json_object_get(v, "intValue")) && json_is_string(x))
        snprintf(out, outsz, "%s", json_string_value(x));
    else if (x && json_is_integer(x))
        snprintf(out, outsz, "%lld", (long long)json_integer_value(x));
    else if ((x = json_object_get(v, "boolValue")) && json_is_boolean(x))
        snprintf(out, outsz, "%s", json_is_true(x) ? "true" : "false");
    else if ((x = json_object_get(v, "doubleValue")) && json_is_number(x))
        snprintf(out, outsz, "%g", json_number_value(x));
}

static void attrs_into(json_t *dst, const json_t *attrs)
{
    size_t i;
    json_t *a;
    json_array_foreach(attrs, i, a) {
        const char *k = jstr(a, "key");
        char v[256];
        if (!k)
            continue;
        attr_value(json_object_get(a, "value"), v, sizeof v);
        json_object_set_new(dst, k, json_string(v));
    }
}

static int64_t nano_ms(const json_t *v)
{
    if (json_is_string(v))
        return (int64_t)(strtoll(json_string_value(v), NULL, 10) / 1000000LL);
    if (json_is_integer(v))
        return (int64_t)(json_integer_value(v) / 1000000LL);
    if (json_is_real(v))
        return (int64_t)(json_real_value(v) / 1e6);
    return 0;
}

static const char *attr_in(const json_t *attrs, const char *key, char *buf, size_t bufsz)
{
    size_t i;
    json_t *a;
    json_array_foreach(attrs, i, a) {
        const char *k = jstr(a, "key");
        if (k && strcmp(k, key) == 0) {
            attr_value(json_object_get(a, "value"), buf, bufsz);
            return buf;
        }
    }
    return NULL;
}

/* Reads Tempo's trace-by-id answer (v1 {batches}, v2 {trace:{resourceSpans}}
 * or plain OTLP {resourceSpans}); picks the root span (else the first).
 * Returns 0, or -1 when the trace holds no span. */
static int parse_trace(const json_t *root, struct lk_span *sp)
{
    const json_t *rss = json_object_get(root, "batches");
    const json_t *tr = json_object_get(root, "trace");
    size_t i, j, k;
    json_t *rs, *ss, *s;
    int have = 0, have_root = 0;

    if (!json_is_array(rss))
        rss = json_object_get(root, "resourceSpans");
    if (!json_is_array(rss) && tr) {
        rss = json_object_get(tr, "resourceSpans");
        if (!json_is_array(rss))
            rss = json_object_get(tr, "batches");
    }
    memset(sp, 0, sizeof *sp);
    json_array_foreach(rss, i, rs) {
        const json_t *rattrs = json_object_get(json_object_get(rs, "resource"), "attributes");
        const json_t *scopes = json_object_get(rs, "scopeSpans");
        if (!json_is_array(scopes))
            scopes = json_object_get(rs, "instrumentationLibrarySpans");
        json_array_foreach(scopes, j, ss) {
            json_array_foreach(json_object_get(ss, "spans"), k, s) {
                const char *parent = jstr(s, "parentSpanId");
                int is_root = !parent || !*parent;
                char pid[64];
                sp->nspans++;
                if (!sp->profile_id[0] && attr_in(json_object_get(s, "attributes"), LK_PROFILE_ATTR, pid, sizeof pid) &&
                    *pid) {
                    snprintf(sp->profile_id, sizeof sp->profile_id, "%s", pid);
                    lk_id_hex(jstr(s, "spanId"), sp->profile_span, sizeof sp->profile_span);
                    sp->pstart_ms = nano_ms(json_object_get(s, "startTimeUnixNano"));
                    sp->pend_ms = nano_ms(json_object_get(s, "endTimeUnixNano"));
                }
                if (have && (have_root || !is_root))
                    continue;
                json_decref(sp->attrs);
                sp->attrs = json_object();
                if (!sp->attrs)
                    return -1;
                attrs_into(sp->attrs, rattrs);
                attrs_into(sp->attrs, json_object_get(s, "attributes"));
                lk_id_hex(jstr(s, "traceId"), sp->trace_id, sizeof sp->trace_id);
                lk_id_hex(jstr(s, "spanId"), sp->span_id, sizeof sp->span_id);
                snprintf(sp->name, sizeof sp->name, "%s", nz(jstr(s, "name")));
                sp->start_ms = nano_ms(json_object_get(s, "startTimeUnixNano"));
                sp->end_ms = nano_ms(json_object_get(s, "endTimeUnixNano"));
                if (sp->end_ms < sp->start_ms)
                    sp->end_ms = sp->start_ms;
                have = 1;
                have_root = is_root;
            }
        }
    }
    return have ? 0 : -1;
}

/* GET /api/traces/<id> on Tempo. 0 = span filled; else why says what. */
static int fetch_trace(struct lk_ctx *c, const char *trace_id, struct lk_span *sp, int *status, char *why,
                       size_t whysz)
{
    struct lk_sb pq = {0};
    json_t *root;
    char *p;
    int rc = -1;

    lk_sb_puts(&pq, "/api/traces/");
    lk_sb_urlenc(&pq, trace_id);
    if (!(p = lk_sb_take(&pq))) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    root = request(c, PROBE_TRACES, "GET", p, NULL, NULL, status, why, whysz);
    free(p);
    if (!root)
        return -1;
    if (parse_trace(root, sp) != 0) {
        snprintf(why, whysz, "Tempo returned trace %s without any span", trace_id);
        json_decref(sp->attrs);
        sp->attrs = NULL;
    } else {
        if (!sp->trace_id[0])
            snprintf(sp->trace_id, sizeof sp->trace_id, "%s", trace_id);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* ---- Grafana's tag and variable handling ---------------------------------- */

/* The configured tags (list of {key, value}); defaults when empty, as in
 * Grafana's crossSignalConfig. *strings set when the list holds strings
 * (Grafana then matches nothing). Returns a new array of {key, value}. */
static json_t *tags_config(const json_t *cfg, int profiles, int *strings)
{
    static const char *const def_lm[] = {"cluster", "hostname", "namespace", "pod", "service.name",
                                         "service.namespace"};
    static const char *const def_p[] = {"service.name", "service.namespace"};
    const json_t *tags = json_object_get(cfg, "tags");
    json_t *out = json_array();
    size_t i, n;
    json_t *t;

    *strings = 0;
    if (!out)
        return NULL;
    if (json_array_size(tags) > 0) {
        json_array_foreach(tags, i, t) {
            if (json_is_string(t)) {
                *strings = 1;
                continue;
            }
            if (jstr(t, "key"))
                json_array_append_new(out, json_pack("{s:s, s:s}", "key", jstr(t, "key"), "value",
                                                     nz(jstr(t, "value"))));
        }
        return out;
    }
    n = profiles ? 2 : 6;
    for (i = 0; i < n; i++) {
        const char *k = profiles ? def_p[i] : def_lm[i];
        char lbl[64];
        size_t j;
        snprintf(lbl, sizeof lbl, "%s", k);
        for (j = 0; lbl[j]; j++)
            if (lbl[j] == '.')
                lbl[j] = '_';
        json_array_append_new(out, json_pack("{s:s, s:s}", "key", k, "value", lbl));
    }
    return out;
}

/* getFormattedTags: span attributes (in the span's order) that are among
 * the configured tags, as label="value" joined by ", ". "" when none. */
static char *format_tags(const struct lk_span *sp, const json_t *tags)
{
    struct lk_sb b = {0};
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(sp->attrs, k, v) {
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t) {
            const char *key = jstr(t, "key"), *val = jstr(t, "value");
            if (key && strcmp(key, k) == 0) {
                lk_sb_printf(&b, "%s%s=\"%s\"", first ? "" : ", ", val && *val ? val : key, json_string_value(v));
                first = 0;
                break;
            }
        }
    }
    return lk_sb_take(&b);
}

static void tag_keys(const json_t *tags, char *out, size_t outsz)
{
    size_t i, o = 0;
    json_t *t;
    out[0] = '\0';
    json_array_foreach(tags, i, t) {
        int n = snprintf(out + o, outsz - o, "%s%s", i ? ", " : "", nz(jstr(t, "key")));
        if (n < 0 || (size_t)n >= outsz - o)
            break;
        o += (size_t)n;
    }
}

/* Fills Grafana's link variables into q. Unknown variables (Grafana hides
 * the link then) are named in undef. NULL on OOM. */
static char *interpolate(const struct lk_span *sp, const char *q, const char *tags, const char *rate,
                         char *undef, size_t undefsz)
{
    struct lk_sb b = {0};
    const char *p = q;
    undef[0] = '\0';
    while (*p) {
        char name[160];
        const char *val = NULL, *end;
        size_t nl;
        char tmp[256];
        if (*p != '$') {
            lk_sb_add(&b, p, 1);
            p++;
            continue;
        }
        if (p[1] == '{') {
            end = strchr(p, '}');
            if (!end) {
                lk_sb_add(&b, p, 1);
                p++;
                continue;
            }
            nl = (size_t)(end - p - 2);
            if (nl >= sizeof name)
                nl = sizeof name - 1;
            memcpy(name, p + 2, nl);
            name[nl] = '\0';
            end++;
        } else if (p[1] == '_' && p[2] == '_') {
            end = p + 1;
            while (*end == '_' || (*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z') ||
                   (*end >= '0' && *end <= '9'))
                end++;
            nl = (size_t)(end - p - 1);
            if (nl >= sizeof name)
                nl = sizeof name - 1;
            memcpy(name, p + 1, nl);
            name[nl] = '\0';
        } else {
            lk_sb_add(&b, p, 1); /* a regex anchor or literal $ */
            p++;
            continue;
        }
        {
            char *colon = strchr(name, ':'); /* ${x:raw} and other formats */
            if (colon)
                *colon = '\0';
        }
        if (strcmp(name, "__tags") == 0)
            val = tags;
        else if (strcmp(name, "__span.traceId") == 0 || strcmp(name, "__trace.traceId") == 0)
            val = sp->trace_id;
        else if (strcmp(name, "__span.spanId") == 0 || strcmp(name, "__span.id") == 0)
            val = sp->span_id;
        else if (strcmp(name, "__span.name") == 0 || strcmp(name, "__trace.name") == 0)
            val = sp->name;
        else if (strcmp(name, "__rate_interval") == 0 || strcmp(name, "__interval") == 0)
            val = rate;
        else if (strncmp(name, "__span.tags", 11) == 0) {
            const char *k = name + 11;
            char key[128];
            if (*k == '.') {
                snprintf(key, sizeof key, "%s", k + 1);
            } else if (k[0] == '[' && (k[1] == '"' || k[1] == '\'')) {
                const char *e = strchr(k + 2, k[1]);
                snprintf(key, sizeof key, "%.*s", e ? (int)(e - k - 2) : 0, k + 2);
            } else {
                key[0] = '\0';
            }
            val = jstr(sp->attrs, key);
        } else if (strcmp(name, "__span.duration") == 0 || strcmp(name, "__trace.duration") == 0) {
            snprintf(tmp, sizeof tmp, "%lldms", (long long)(sp->end_ms - sp->start_ms));
            val = tmp;
        }
        if (!val) {
            if (!undef[0])
                snprintf(undef, undefsz, "${%s}", name);
            val = "";
        }
        lk_sb_puts(&b, val);
        p = end;
    }
    return lk_sb_take(&b);
}

/* ---- diagnosis: which labels carry a value -------------------------------- */

/* Collects, over an array of label sets, the labels whose value equals v
 * (as `name="v"`, max 4) and the label names seen (max 12). */
static void labels_with_value(const json_t *sets, int pyro, const char *v, char *has, size_t hassz, char *names,
                              size_t namessz)
{
    json_t *seen = json_object(), *hit = json_object();
    size_t i;
    json_t *set;
    has[0] = names[0] = '\0';
    json_array_foreach(sets, i, set) {
        if (pyro) {
            size_t j;
            json_t *l;
            json_array_foreach(json_object_get(set, "labels"), j, l) {
                const char *n = jstr(l, "name"), *x = jstr(l, "value");
                if (!n || !x)
                    continue;
                json_object_set_new(seen, n, json_true());
                if (strcmp(x, v) == 0)
                    json_object_set_new(hit, n, json_true());
            }
        } else {
            const char *n;
            json_t *x;
            json_object_foreach(set, n, x) {
                if (!json_is_string(x))
                    continue;
                json_object_set_new(seen, n, json_true());
                if (strcmp(json_string_value(x), v) == 0)
                    json_object_set_new(hit, n, json_true());
            }
        }
    }
    {
        const char *n;
        json_t *x;
        size_t o = 0, cnt = 0;
        void *it;
        /* sorted for deterministic messages */
        const char *keys[64];
        size_t nk = 0, a, bb;
        for (it = json_object_iter(hit); it && nk < 64; it = json_object_iter_next(hit, it))
            keys[nk++] = json_object_iter_key(it);
        for (a = 1; a < nk; a++)
            for (bb = a; bb > 0 && strcmp(keys[bb - 1], keys[bb]) > 0; bb--) {
                const char *t = keys[bb];
                keys[bb] = keys[bb - 1];
                keys[bb - 1] = t;
            }
        for (a = 0; a < nk && cnt < 4; a++, cnt++) {
            int w = snprintf(has + o, hassz - o, "%s%s=\"%s\"", o ? ", " : "", keys[a], v);
            if (w < 0 || (size_t)w >= hassz - o)
                break;
            o += (size_t)w;
        }
        nk = 0;
        o = 0;
        json_object_foreach(seen, n, x) {
            if (nk < 64)
                keys[nk++] = n;
        }
        for (a = 1; a < nk; a++)
            for (bb = a; bb > 0 && strcmp(keys[bb - 1], keys[bb]) > 0; bb--) {
                const char *t = keys[bb];
                keys[bb] = keys[bb - 1];
                keys[bb - 1] = t;
            }
        for (a = 0; a < nk && a < 12; a++) {
            int w = snprintf(names + o, namessz - o, "%s%s", o ? ", " : "", keys[a]);
            if (w < 0 || (size_t)w >= namessz - o)
                break;
            o += (size_t)w;
        }
    }
    json_decref(seen);
    json_decref(hit);
}

/* The first label="value" pair of a selector string ({a="b", c="d"}). */
static int first_matcher(const char *sel, char *name, size_t namesz, char *val, size_t valsz)
{
    const char *p = strchr(sel, '{'), *eq, *q1, *q2;
    if (!p)
        p = sel;
    else
        p++;
    while (*p == ' ')
        p++;
    eq = strchr(p, '=');
    if (!eq || eq == p)
        return -1;
    q1 = strchr(eq, '"');
    if (!q1 || eq[1] != '"')
        return -1;
    q2 = strchr(q1 + 1, '"');
    if (!q2)
        return -1;
    snprintf(name, namesz, "%.*s", (int)(eq - p), p);
    snprintf(val, valsz, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
    return 0;
}

/* ---- Loki ----------------------------------------------------------------- */

/* Loki query_range; returns the result array holder (new ref) or NULL. */
static json_t *loki_range(struct lk_ctx *c, const char *expr, int64_t start_ms, int64_t end_ms, int limit,
                          int *status, char *why, size_t whysz)
{
    struct lk_sb pq = {0};
    json_t *root;
    char *p;
    lk_sb_puts(&pq, "/loki/api/v1/query_range?query=");
    lk_sb_urlenc(&pq, expr);
    lk_sb_printf(&pq, "&start=%lld000000&end=%lld000000&limit=%d&direction=backward", (long long)start_ms,
                 (long long)end_ms, limit);
    if (!(p = lk_sb_take(&pq)))
        return NULL;
    root = request(c, PROBE_LOGS, "GET", p, NULL, NULL, status, why, whysz);
    free(p);
    return root;
}

static size_t loki_lines(const json_t *root)
{
    size_t i, n = 0;
    json_t *s;
    json_array_foreach(json_object_get(json_object_get(root, "data"), "result"), i, s)
        n += json_array_size(json_object_get(s, "values"));
    return n;
}

/* Labels of the window that carry value v (Loki: /labels + /series). */
static void loki_where_is(struct lk_ctx *c, const char *v, int64_t start_ms, int64_t end_ms, char *has,
                          size_t hassz, char *names, size_t namessz)
{
    char why[240], pq0[160];
    int st;
    json_t *labels, *series = NULL;
    struct lk_sb pq = {0};
    size_t i, n = 0;
    json_t *l;
    char *p;

    has[0] = names[0] = '\0';
    snprintf(pq0, sizeof pq0, "/loki/api/v1/labels?start=%lld000000&end=%lld000000", (long long)start_ms,
             (long long)end_ms);
    labels = request(c, PROBE_LOGS, "GET", pq0, NULL, NULL, &st, why, sizeof why);
    if (!labels)
        return;
    lk_sb_printf(&pq, "/loki/api/v1/series?start=%lld000000&end=%lld000000", (long long)start_ms,
                 (long long)end_ms);
    json_array_foreach(json_object_get(labels, "data"), i, l) {
        char m[200];
        if (!json_is_string(l) || n >= 16)
            continue;
        snprintf(m, sizeof m, "{%s=~\".+\"}", json_string_value(l));
        lk_sb_puts(&pq, "&match%5B%5D=");
        lk_sb_urlenc(&pq, m);
        n++;
    }
    p = lk_sb_take(&pq);
    if (p && n > 0)
        series = request(c, PROBE_LOGS, "GET", p, NULL, NULL, &st, why, sizeof why);
    free(p);
    if (series)
        labels_with_value(json_object_get(series, "data"), 0, v, has, hassz, names, namessz);
    json_decref(series);
    json_decref(labels);
}

/* ---- link 1: metrics → traces ---------------------------------------------- */

static void check_metrics_traces(struct lk_ctx *c)
{
    json_t *m = c->sig_ds[PROBE_METRICS], *dests = json_object_get(jd(m), "exemplarTraceIdDestinations");
    json_t *tempo_dests = json_array(), *d, *root = NULL;
    struct lk_sb pq = {0}, sel = {0};
    char why[300], *p = NULL, *selector = NULL, best_id[80] = "", best_label[64] = "", other[160] = "";
    double best_ts = -1;
    size_t i, j, k, nex = 0;
    int st;

    if (!tempo_dests)
        return;
    json_array_foreach(dests, i, d) {
        json_t *tds = ds_by_uid(c, jstr(d, "datasourceUid"));
        if (jstr(d, "name") && tds && signal_of_type(jstr(tds, "type")) == PROBE_TRACES)
            json_array_append(tempo_dests, d);
    }
    if (json_array_size(tempo_dests) == 0)
        goto out; /* not rendered */
    if (c->in->request_metric && *c->in->request_metric)
        lk_sb_printf(&sel, "{__name__=~\"%s.*\"}", c->in->request_metric);
    else
        lk_sb_puts(&sel, "{__name__=~\".+\"}");
    selector = lk_sb_take(&sel);
    lk_sb_puts(&pq, "/api/v1/query_exemplars?query=");
    lk_sb_urlenc(&pq, selector ? selector : "");
    lk_sb_printf(&pq, "&start=%.3f&end=%.3f", (double)(c->now_ms - c->window_ms) / 1000.0,
                 (double)c->now_ms / 1000.0);
    p = lk_sb_take(&pq);
    if (!p || !selector)
        goto out;
    root = request(c, PROBE_METRICS, "GET", p, NULL, NULL, &st, why, sizeof why);
    if (!root) {
        add_check(c, LINK_METRICS_TRACES, LINKS_BROKEN, "reading exemplars of %s failed: %s", selector, why);
        goto out;
    }
    json_array_foreach(json_object_get(root, "data"), i, d) {
        json_t *ex;
        json_array_foreach(json_object_get(d, "exemplars"), j, ex) {
            json_t *labels = json_object_get(ex, "labels"), *td;
            double ts = json_number_value(json_object_get(ex, "timestamp"));
            int matched = 0;
            nex++;
            json_array_foreach(tempo_dests, k, td) {
                const char *v = jstr(labels, jstr(td, "name"));
                if (v && *v) {
                    matched = 1;
                    if (ts > best_ts) {
                        best_ts = ts;
                        snprintf(best_id, sizeof best_id, "%s", v);
                        snprintf(best_label, sizeof best_label, "%s", jstr(td, "name"));
                    }
                    break;
                }
            }
            if (!matched && !other[0]) {
                const char *n;
                json_t *x;
                size_t o = 0;
                json_object_foreach(labels, n, x) {
                    int w = snprintf(other + o, sizeof other - o, "%s%s", o ? ", " : "", n);
                    if (w < 0 || (size_t)w >= sizeof other - o)
                        break;
                    o += (size_t)w;
                }
                if (!other[0])
                    snprintf(other, sizeof other, "(no labels)");
            }
        }
    }
    if (nex == 0) {
        add_check(c, LINK_METRICS_TRACES, LINKS_NODATA,
                  "no exemplars of %s in the last %lld min (the metrics backend must store exemplars: "
                  "Prometheus --enable-feature=exemplar-storage, Mimir max_global_exemplars_per_user > 0; "
                  "and the instrumentation must attach them)",
                  selector, (long long)(c->window_ms / 60000));
        goto out;
    }
    if (!best_id[0]) {
        struct lk_sb names = {0};
        char *nm;
        json_array_foreach(tempo_dests, k, d) lk_sb_printf(&names, "%s%s", k ? " or " : "", jstr(d, "name"));
        nm = lk_sb_take(&names);
        add_check(c, LINK_METRICS_TRACES, LINKS_BROKEN,
                  "%zu exemplar%s of %s %s labels %s, but exemplarTraceIdDestinations expects the trace id in %s",
                  nex, nex == 1 ? "" : "s", selector, nex == 1 ? "carries" : "carry", other, nm ? nm : "?");
        free(nm);
        goto out;
    }
    {
        struct lk_span sp;
        memset(&sp, 0, sizeof sp);
        if (fetch_trace(c, best_id, &sp, &st, why, sizeof why) != 0) {
            if (st == 404)
                add_check(c, LINK_METRICS_TRACES, LINKS_BROKEN,
                          "exemplar %s=\"%s\" of %s points at a trace Tempo does not have (404)", best_label,
                          best_id, selector);
            else
                add_check(c, LINK_METRICS_TRACES, LINKS_BROKEN, "exemplar %s=\"%s\": fetching the trace failed: %s",
                          best_label, best_id, why);
            goto out;
        }
        add_check(c, LINK_METRICS_TRACES, LINKS_VERIFIED, "exemplar %s=\"%s\" opens a trace of %zu spans in Tempo",
                  best_label, best_id, sp.nspans);
        c->span = sp;
        c->have_span = 1;
    }
out:
    free(p);
    free(selector);
    json_decref(root);
    json_decref(tempo_dests);
}

/* Without an exemplar trace: the newest trace of Tempo's search over the
 * window (GET /api/search?limit=1). */
static void find_trace_by_search(struct lk_ctx *c)
{
    char pq[160], why[300];
    json_t *root, *t;
    int st;
    const char *id;

    if (c->have_span || !c->in->targets[PROBE_TRACES])
        return;
    snprintf(pq, sizeof pq, "/api/search?limit=1&start=%lld&end=%lld", (long long)((c->now_ms - c->window_ms) / 1000),
             (long long)(c->now_ms / 1000));
    root = request(c, PROBE_TRACES, "GET", pq, NULL, NULL, &st, why, sizeof why);
    if (!root) {
        snprintf(c->nospan_why, sizeof c->nospan_why, "Tempo search failed: %s", why);
        c->nospan_broken = 1;
        return;
    }
    t = json_array_get(json_object_get(root, "traces"), 0);
    id = jstr(t, "traceID");
    if (!id) {
        snprintf(c->nospan_why, sizeof c->nospan_why, "no exemplar trace, and Tempo has no trace in the last %lld min",
                 (long long)(c->window_ms / 60000));
    } else {
        struct lk_span sp;
        memset(&sp, 0, sizeof sp);
        if (fetch_trace(c, id, &sp, &st, why, sizeof why) == 0) {
            c->span = sp;
            c->have_span = 1;
        } else {
            snprintf(c->nospan_why, sizeof c->nospan_why, "trace %s from Tempo search: %s", id, why);
            c->nospan_broken = 1;
        }
    }
    json_decref(root);
}

/* ---- link 2: traces → logs ------------------------------------------------- */

static void check_traces_logs(struct lk_ctx *c)
{
    json_t *cfg = json_object_get(jd(c->sig_ds[PROBE_TRACES]), "tracesToLogsV2"), *tags = NULL, *root = NULL;
    json_t *lds;
    char why[300], undef[160], keys[200];
    char *tagstr = NULL, *expr = NULL;
    int64_t s0, s1, start, end;
    int strings = 0, st;
    struct lk_sb e = {0};

    if (!json_is_object(cfg))
        return;
    lds = ds_by_uid(c, jstr(cfg, "datasourceUid"));
    if (!lds || signal_of_type(jstr(lds, "type")) != PROBE_LOGS)
        return; /* links to something else: not ours to check */
    if (!c->have_span) {
        add_check(c, LINK_TRACES_LOGS, c->nospan_broken ? LINKS_BROKEN : LINKS_NODATA, "no trace to start from: %s",
                  c->nospan_why);
        return;
    }
    if (lk_duration_ms(jstr(cfg, "spanStartTimeShift"), 0, &s0) != 0 ||
        lk_duration_ms(jstr(cfg, "spanEndTimeShift"), 0, &s1) != 0) {
        add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN,
                  "spanStartTimeShift/spanEndTimeShift \"%s\"/\"%s\" is not a duration Grafana reads (one integer and one unit)",
                  nz(jstr(cfg, "spanStartTimeShift")), nz(jstr(cfg, "spanEndTimeShift")));
        return;
    }
    start = c->span.start_ms + s0;
    end = c->span.end_ms + s1;
    if (end <= start)
        end = start + 1;
    tags = tags_config(cfg, 0, &strings);
    tagstr = tags ? format_tags(&c->span, tags) : NULL;
    if (!tags || !tagstr)
        goto out;
    tag_keys(tags, keys, sizeof keys);
    if (jtrue(cfg, "customQuery") && jstr(cfg, "query") && *jstr(cfg, "query")) {
        expr = interpolate(&c->span, jstr(cfg, "query"), tagstr, "1m", undef, sizeof undef);
        if (expr && undef[0]) {
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN,
                      "the custom query uses %s, which Grafana cannot fill for span %s of trace %s, so it hides the link",
                      undef, c->span.span_id, c->span.trace_id);
            goto out;
        }
    } else {
        if (strings) {
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN,
                      "tags are plain strings; Grafana matches {key, value} objects, so it shows no \"Logs for this span\"");
            goto out;
        }
        if (!*tagstr) {
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN,
                      "span %s of trace %s has none of the attributes %s, so Grafana shows no \"Logs for this span\"",
                      c->span.span_id, c->span.trace_id, keys);
            goto out;
        }
        lk_sb_printf(&e, "{%s}", tagstr);
        if (jtrue(cfg, "filterByTraceID"))
            lk_sb_printf(&e,
                         " | label_format log_line_contains_trace_id=`{{ contains \"%s\" __line__  }}` | "
                         "log_line_contains_trace_id=\"true\" or trace_id=\"%s\"",
                         c->span.trace_id, c->span.trace_id);
        if (jtrue(cfg, "filterBySpanID"))
            lk_sb_printf(&e,
                         " | label_format log_line_contains_span_id=`{{ contains \"%s\" __line__  }}` | "
                         "log_line_contains_span_id=\"true\" or span_id=\"%s\"",
                         c->span.span_id, c->span.span_id);
        expr = lk_sb_take(&e);
    }
    if (!expr)
        goto out;
    root = loki_range(c, expr, start, end, 10, &st, why, sizeof why);
    if (!root) {
        add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN, "the query for trace %s failed: %s", c->span.trace_id, why);
        goto out;
    }
    if (loki_lines(root) > 0) {
        add_check(c, LINK_TRACES_LOGS, LINKS_VERIFIED, "Loki has lines for trace %s in {%s}", c->span.trace_id,
                  *tagstr ? tagstr : "custom query");
        goto out;
    }
    /* diagnose: does the stream selector alone find lines? */
    {
        char selector[400], name[128], val[200], has[300], names[300];
        const char *b = strchr(expr, '{'), *k = b ? strchr(b, '}') : NULL;
        json_t *r2;
        if (!b || !k) {
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN, "the query for trace %s returns no line", c->span.trace_id);
            goto out;
        }
        snprintf(selector, sizeof selector, "%.*s", (int)(k - b + 1), b);
        json_decref(root);
        root = NULL;
        r2 = loki_range(c, selector, start, end, 1, &st, why, sizeof why);
        if (r2 && loki_lines(r2) > 0) {
            json_decref(r2);
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN,
                      "streams %s have lines around span %s, but none for trace %s (neither in the line nor as "
                      "label/structured metadata trace_id): the service does not log the trace id",
                      selector, c->span.span_id, c->span.trace_id);
            goto out;
        }
        json_decref(r2);
        if (first_matcher(selector, name, sizeof name, val, sizeof val) != 0) {
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN, "no Loki stream matches %s around span %s", selector,
                      c->span.span_id);
            goto out;
        }
        loki_where_is(c, val, start, end, has, sizeof has, names, sizeof names);
        if (has[0])
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN, "no Loki stream has %s=\"%s\"; streams of that window have %s",
                      name, val, has);
        else if (names[0])
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN,
                      "no Loki stream has %s=\"%s\" in that window (its streams carry labels %s, none with value \"%s\")",
                      name, val, names, val);
        else
            add_check(c, LINK_TRACES_LOGS, LINKS_BROKEN, "Loki has no stream at all around span %s (%s=\"%s\")",
                      c->span.span_id, name, val);
    }
out:
    free(tagstr);
    free(expr);
    json_decref(tags);
    json_decref(root);
}

/* ---- link 3: traces → metrics ---------------------------------------------- */

/* The metric name of a PromQL query: the identifier right before the first
 * '{' (good enough for the rendered queries; "" when none). */
static void metric_of(const char *q, char *out, size_t outsz)
{
    const char *b = strchr(q, '{'), *s;
    out[0] = '\0';
    if (!b)
        return;
    s = b;
    while (s > q && (s[-1] == '_' || s[-1] == ':' || (s[-1] >= 'a' && s[-1] <= 'z') || (s[-1] >= 'A' && s[-1] <= 'Z') ||
                     (s[-1] >= '0' && s[-1] <= '9')))
        s--;
    snprintf(out, outsz, "%.*s", (int)(b - s), s);
}

static json_t *prom_series(struct lk_ctx *c, const char *match, int64_t start, int64_t end, char *why, size_t whysz)
{
    struct lk_sb sq = {0};
    json_t *r;
    char *p;
    int st;
    lk_sb_puts(&sq, "/api/v1/series?match%5B%5D=");
    lk_sb_urlenc(&sq, match);
    lk_sb_printf(&sq, "&start=%.3f&end=%.3f", start / 1000.0, end / 1000.0);
    p = lk_sb_take(&sq);
    r = p ? request(c, PROBE_METRICS, "GET", p, NULL, NULL, &st, why, whysz) : NULL;
    free(p);
    return r;
}

/* An empty traces→metrics query: 0 when series of metric{tags} exist (the
 * query's own filters are what is empty: the link works), else adds the
 * Broken check naming the cause and returns 1. */
static int metrics_diagnose(struct lk_ctx *c, const char *qname, const char *metric, const char *tagstr,
                            int64_t start, int64_t end)
{
    char name[128], val[200], has[300], names[300], why[300];
    json_t *sr;
    char *m;
    if (!metric[0] || first_matcher(tagstr, name, sizeof name, val, sizeof val) != 0) {
        add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN, "\"%s\" returns no series for %s around span %s", qname,
                  tagstr, c->span.span_id);
        return 1;
    }
    m = op_asprintf("%s{%s}", metric, tagstr);
    sr = m ? prom_series(c, m, start, end, why, sizeof why) : NULL;
    free(m);
    if (sr && json_array_size(json_object_get(sr, "data")) > 0) {
        json_decref(sr);
        return 0;
    }
    json_decref(sr);
    sr = prom_series(c, metric, start, end, why, sizeof why);
    if (!sr)
        add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN, "\"%s\" returns no series for %s (series lookup: %s)", qname,
                  tagstr, why);
    else if (json_array_size(json_object_get(sr, "data")) == 0)
        add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN,
                  "\"%s\": the metrics backend has no series named %s around span %s", qname, metric, c->span.span_id);
    else {
        labels_with_value(json_object_get(sr, "data"), 0, val, has, sizeof has, names, sizeof names);
        if (has[0] && !strstr(tagstr, has))
            add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN,
                      "\"%s\": no series of %s has %s; series of that window have %s", qname, metric, tagstr, has);
        else
            add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN, "\"%s\": no series of %s has %s (its labels: %s)", qname,
                      metric, tagstr, names);
    }
    json_decref(sr);
    return 1;
}

static void check_traces_metrics(struct lk_ctx *c)
{
    json_t *cfg = json_object_get(jd(c->sig_ds[PROBE_TRACES]), "tracesToMetrics"), *tags = NULL, *q, *mds;
    json_t *queries = json_object_get(cfg, "queries");
    char why[300], undef[160], keys[200], rate[32];
    char *tagstr = NULL;
    int64_t s0, s1, start, end, step, ti;
    int strings = 0, st, nok = 0, nempty = 0;
    char empty_name[96] = "";
    size_t i;

    if (!json_is_object(cfg) || json_array_size(queries) == 0)
        return;
    mds = ds_by_uid(c, jstr(cfg, "datasourceUid"));
    if (!mds || signal_of_type(jstr(mds, "type")) != PROBE_METRICS)
        return;
    if (!c->have_span) {
        add_check(c, LINK_TRACES_METRICS, c->nospan_broken ? LINKS_BROKEN : LINKS_NODATA,
                  "no trace to start from: %s", c->nospan_why);
        return;
    }
    if (lk_duration_ms(jstr(cfg, "spanStartTimeShift"), -120000, &s0) != 0 ||
        lk_duration_ms(jstr(cfg, "spanEndTimeShift"), 120000, &s1) != 0) {
        add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN, "spanStartTimeShift/spanEndTimeShift is not a duration Grafana reads");
        return;
    }
    if (lk_duration_ms(jstr(jd(mds), "timeInterval"), 15000, &ti) != 0 || ti <= 0)
        ti = 15000;
    snprintf(rate, sizeof rate, "%llds", (long long)(4 * ti / 1000)); /* Grafana: max(4 × scrape interval, …) */
    start = c->span.start_ms + s0;
    end = c->span.end_ms + s1;
    if (end <= start)
        end = start + 1000;
    step = (end - start) / 20;
    if (step < 1000)
        step = 1000;
    tags = tags_config(cfg, 0, &strings);
    tagstr = tags ? format_tags(&c->span, tags) : NULL;
    if (!tags || !tagstr)
        goto out;
    tag_keys(tags, keys, sizeof keys);
    json_array_foreach(queries, i, q) {
        const char *qname = jstr(q, "name") ? jstr(q, "name") : "query";
        const char *raw = jstr(q, "query");
        char *expr, metric[160];
        struct lk_sb pq = {0};
        json_t *root;
        char *p;
        if (!raw || !*raw)
            raw = "histogram_quantile(0.9, sum(rate(traces_spanmetrics_latency_bucket{$__tags}[5m])) by (le))";
        if (strstr(raw, "__tags") && !*tagstr) {
            add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN,
                      "\"%s\": span %s has none of the attributes %s, so $__tags is empty and Grafana hides the link",
                      qname, c->span.span_id, keys);
            goto out;
        }
        expr = interpolate(&c->span, raw, tagstr, rate, undef, sizeof undef);
        if (!expr)
            goto out;
        if (undef[0]) {
            add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN, "\"%s\" uses %s, which Grafana cannot fill for this span",
                      qname, undef);
            free(expr);
            goto out;
        }
        lk_sb_puts(&pq, "/api/v1/query_range?query=");
        lk_sb_urlenc(&pq, expr);
        lk_sb_printf(&pq, "&start=%.3f&end=%.3f&step=%.3f", start / 1000.0, end / 1000.0, step / 1000.0);
        p = lk_sb_take(&pq);
        root = p ? request(c, PROBE_METRICS, "GET", p, NULL, NULL, &st, why, sizeof why) : NULL;
        free(p);
        if (!root) {
            add_check(c, LINK_TRACES_METRICS, LINKS_BROKEN, "\"%s\" failed for %s: %s", qname, tagstr, why);
            free(expr);
            goto out;
        }
        if (json_array_size(json_object_get(json_object_get(root, "data"), "result")) > 0) {
            nok++;
            json_decref(root);
            free(expr);
            continue;
        }
        json_decref(root);
        metric_of(expr, metric, sizeof metric);
        free(expr);
        {
            int r = metrics_diagnose(c, qname, metric, tagstr, start, end);
            if (r == 0) {
                nempty++;
                if (!empty_name[0])
                    snprintf(empty_name, sizeof empty_name, "%s", qname);
                continue;
            }
            goto out;
        }
    }
    if (nempty)
        add_check(c, LINK_TRACES_METRICS, LINKS_VERIFIED,
                  "%d of %d queries return data for %s; \"%s\" is empty for that window but its series exist "
                  "(its other filters match nothing, e.g. no errors)",
                  nok, nok + nempty, tagstr, empty_name);
    else
        add_check(c, LINK_TRACES_METRICS, LINKS_VERIFIED, "%d %s return data for %s", nok,
                  nok == 1 ? "query" : "queries", tagstr);
out:
    free(tagstr);
    json_decref(tags);
}

/* ---- link 4: traces → profiles --------------------------------------------- */

static int64_t flame_total(const json_t *root)
{
    const json_t *fg = json_object_get(root, "flamegraph"), *t = json_object_get(fg, "total");
    if (json_is_string(t))
        return strtoll(json_string_value(t), NULL, 10);
    if (json_is_integer(t))
        return (int64_t)json_integer_value(t);
    return 0;
}

static void check_traces_profiles(struct lk_ctx *c)
{
    json_t *cfg = json_object_get(jd(c->sig_ds[PROBE_TRACES]), "tracesToProfiles"), *tags = NULL, *pds, *root = NULL;
    json_t *body = NULL;
    const char *ptype;
    char why[300], undef[160], *tagstr = NULL, *sel = NULL, *b = NULL;
    int64_t start, end;
    int strings = 0, st;
    struct lk_span *sp = &c->span;

    if (!json_is_object(cfg))
        return;
    pds = ds_by_uid(c, jstr(cfg, "datasourceUid"));
    if (!pds || signal_of_type(jstr(pds, "type")) != PROBE_PROFILES)
        return;
    if (!c->have_span) {
        add_check(c, LINK_TRACES_PROFILES, c->nospan_broken ? LINKS_BROKEN : LINKS_NODATA,
                  "no trace to start from: %s", c->nospan_why);
        return;
    }
    if (!sp->profile_id[0]) {
        add_check(c, LINK_TRACES_PROFILES, LINKS_BROKEN,
                  "no span of trace %s carries %s, so Grafana never shows \"Profiles for this span\"; enable span "
                  "profiles (the OpenTelemetry span-profiling bridge, e.g. grafana/otel-profiling-go or the Pyroscope "
                  "Java agent's OTel extension)",
                  sp->trace_id, LK_PROFILE_ATTR);
        return;
    }
    ptype = jstr(cfg, "profileTypeId");
    if (!ptype || !*ptype) {
        add_check(c, LINK_TRACES_PROFILES, LINKS_BROKEN, "tracesToProfiles has no profileTypeId");
        return;
    }
    tags = tags_config(cfg, 1, &strings);
    tagstr = tags ? format_tags(sp, tags) : NULL;
    if (!tags || !tagstr)
        goto out;
    if (jtrue(cfg, "customQuery") && jstr(cfg, "query") && *jstr(cfg, "query")) {
        sel = interpolate(sp, jstr(cfg, "query"), tagstr, "1m", undef, sizeof undef);
        if (sel && undef[0]) {
            add_check(c, LINK_TRACES_PROFILES, LINKS_BROKEN, "the custom query uses %s, which Grafana cannot fill", undef);
            goto out;
        }
    } else {
        sel = op_asprintf("{%s}", tagstr);
    }
    if (!sel)
        goto out;
    start = (sp->pstart_ms ? sp->pstart_ms : sp->start_ms) - 60000;
    end = (sp->pend_ms ? sp->pend_ms : sp->end_ms) + 60000;
    body = json_pack("{s:s, s:s, s:[s], s:I, s:I, s:I}", "profileTypeID", ptype, "labelSelector", sel, "spanSelector",
                     sp->profile_id, "start", (json_int_t)start, "end", (json_int_t)end, "maxNodes", (json_int_t)16);
    b = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!b)
        goto out;
    root = request(c, PROBE_PROFILES, "POST", "/querier.v1.QuerierService/SelectMergeSpanProfile", b,
                   "application/json", &st, why, sizeof why);
    if (!root) {
        add_check(c, LINK_TRACES_PROFILES, LINKS_BROKEN, "the span profile query failed: %s", why);
        goto out;
    }
    if (flame_total(root) > 0) {
        add_check(c, LINK_TRACES_PROFILES, LINKS_VERIFIED, "Pyroscope has %s samples of %s for %s=\"%s\"", ptype,
                  sel, LK_PROFILE_ATTR, sp->profile_id);
        goto out;
    }
    json_decref(root);
    root = NULL;
    /* diagnose: any profile of the service at all? */
    json_object_del(body, "spanSelector");
    free(b);
    b = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    root = b ? request(c, PROBE_PROFILES, "POST", "/querier.v1.QuerierService/SelectMergeStacktraces", b,
                       "application/json", &st, why, sizeof why)
             : NULL;
    if (root && flame_total(root) > 0) {
        add_check(c, LINK_TRACES_PROFILES, LINKS_BROKEN,
                  "%s has %s profiles around the span, but none for %s=\"%s\" (span profiles are not attached)", sel,
                  ptype, LK_PROFILE_ATTR, sp->profile_id);
        goto out;
    }
    {
        char name[128], val[200], has[300], names[300];
        json_t *sb = json_pack("{s:[], s:I, s:I}", "matchers", "start", (json_int_t)start, "end", (json_int_t)end);
        char *sbs = sb ? json_dumps(sb, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_t *sr = NULL;
        json_decref(sb);
        has[0] = names[0] = '\0';
        if (sbs && first_matcher(sel, name, sizeof name, val, sizeof val) == 0) {
            sr = request(c, PROBE_PROFILES, "POST", "/querier.v1.QuerierService/Series", sbs, "application/json", &st,
                         why, sizeof why);
            if (sr)
                labels_with_value(json_object_get(sr, "labelsSet"), 1, val, has, sizeof has, names, sizeof names);
        } else {
            name[0] = val[0] = '\0';
        }
        free(sbs);
        json_decref(sr);
        if (has[0])
            add_check(c, LINK_TRACES_PROFILES, LINKS_BROKEN,
                      "no %s profile has %s=\"%s\" around the span; profiles of that window have %s", ptype, name, val,
                      has);
        else
            add_check(c, LINK_TRACES_PROFILES, LINKS_BROKEN,
                      "Pyroscope has no %s profiles for %s around the span%s%s%s", ptype, sel,
                      names[0] ? " (profiles of that window carry labels " : "", names, names[0] ? ")" : "");
    }
out:
    free(tagstr);
    free(sel);
    free(b);
    json_decref(body);
    json_decref(tags);
    json_decref(root);
}

/* The keys of obj, sorted, ", "-joined (max 64 keys), cut to outsz. */
static void join_sorted_keys(const json_t *obj, char *out, size_t outsz)
{
    const char *keys[64];
    size_t nk = 0, a, b, o = 0;
    void *it;
    out[0] = '\0';
    for (it = json_object_iter((json_t *)obj); it && nk < 64; it = json_object_iter_next((json_t *)obj, it))
        keys[nk++] = json_object_iter_key(it);
    for (a = 1; a < nk; a++)
        for (b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
            const char *t = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = t;
        }
    for (a = 0; a < nk; a++) {
        int w = snprintf(out + o, outsz - o, "%s%s", o ? ", " : "", keys[a]);
        if (w < 0 || (size_t)w >= outsz - o)
            break;
        o += (size_t)w;
    }
}

/* ---- link 5: logs → traces ------------------------------------------------- */

struct lk_field {
    const char *name;
    int label;      /* matcherType label */
    regex_t re;
    int compiled;
    int group;
    int sig;
};

static void check_logs_traces(struct lk_ctx *c)
{
    json_t *fields = json_object_get(jd(c->sig_ds[PROBE_LOGS]), "derivedFields"), *f, *root = NULL;
    struct lk_field fl[16];
    size_t nf = 0, i, j, nlines = 0;
    char why[300], sel[400], found[80] = "", by[64] = "", bad[200] = "", labels_seen[300] = "";
    int st, found_sig = -1;
    json_t *seen = NULL;

    memset(fl, 0, sizeof fl);
    json_array_foreach(fields, i, f) {
        json_t *tds = ds_by_uid(c, jstr(f, "datasourceUid"));
        const char *mr = jstr(f, "matcherRegex"), *mt = jstr(f, "matcherType");
        char *ere;
        int g = 0;
        if (nf >= 16 || !tds || signal_of_type(jstr(tds, "type")) != PROBE_TRACES || !mr)
            continue;
        fl[nf].name = nz(jstr(f, "name"));
        fl[nf].label = mt && strcmp(mt, "label") == 0;
        fl[nf].sig = PROBE_TRACES;
        ere = links_js_regex_to_ere(mr, &g);
        if (ere && regcomp(&fl[nf].re, ere, REG_EXTENDED) == 0) {
            fl[nf].compiled = 1;
            fl[nf].group = g;
        } else if (!bad[0]) {
            snprintf(bad, sizeof bad, "%s", fl[nf].name);
        }
        free(ere);
        nf++;
    }
    if (nf == 0)
        return; /* no derived field links to Tempo */
    /* which lines: the service of the trace when we have one */
    sel[0] = '\0';
    if (c->have_span) {
        json_t *cfg = json_object_get(jd(c->sig_ds[PROBE_TRACES]), "tracesToLogsV2");
        int strings = 0;
        json_t *tags = tags_config(json_is_object(cfg) ? cfg : NULL, 0, &strings);
        char *ts = tags ? format_tags(&c->span, tags) : NULL;
        char n[128], v[200];
        if (ts && first_matcher(ts, n, sizeof n, v, sizeof v) == 0)
            snprintf(sel, sizeof sel, "{%s=\"%s\"}", n, v);
        free(ts);
        json_decref(tags);
    }
    if (!sel[0]) {
        char pq[160];
        json_t *labels, *l;
        snprintf(pq, sizeof pq, "/loki/api/v1/labels?start=%lld000000&end=%lld000000",
                 (long long)(c->now_ms - c->window_ms), (long long)c->now_ms);
        labels = request(c, PROBE_LOGS, "GET", pq, NULL, NULL, &st, why, sizeof why);
        if (!labels) {
            add_check(c, LINK_LOGS_TRACES, LINKS_BROKEN, "listing Loki labels failed: %s", why);
            goto out;
        }
        json_array_foreach(json_object_get(labels, "data"), i, l) {
            if (json_is_string(l) && (!sel[0] || strcmp(json_string_value(l), "service_name") == 0))
                snprintf(sel, sizeof sel, "{%s=~\".+\"}", json_string_value(l));
        }
        json_decref(labels);
        if (!sel[0]) {
            add_check(c, LINK_LOGS_TRACES, LINKS_NODATA, "Loki has no log stream in the last %lld min",
                      (long long)(c->window_ms / 60000));
            goto out;
        }
    }
    root = loki_range(c, sel, c->now_ms - c->window_ms, c->now_ms, 50, &st, why, sizeof why);
    if (!root) {
        add_check(c, LINK_LOGS_TRACES, LINKS_BROKEN, "reading recent lines of %s failed: %s", sel, why);
        goto out;
    }
    seen = json_object();
    {
        json_t *s, *val;
        json_array_foreach(json_object_get(json_object_get(root, "data"), "result"), i, s) {
            const json_t *stream = json_object_get(s, "stream");
            json_array_foreach(json_object_get(s, "values"), j, val) {
                const char *line = json_string_value(json_array_get(val, 1));
                const json_t *meta = json_array_get(val, 2);
                json_t *labels = json_object();
                size_t k;
                if (!labels)
                    goto out;
                json_object_update(labels, (json_t *)stream);
                if (json_is_object(meta)) {
                    json_object_update(labels, json_object_get(meta, "structuredMetadata"));
                    json_object_update(labels, json_object_get(meta, "parsed"));
                }
                {
                    const char *n;
                    json_t *x;
                    json_object_foreach(labels, n, x) json_object_set_new(seen, n, json_true());
                }
                nlines++;
                for (k = 0; k < nf && !found[0]; k++) {
                    regmatch_t m[10];
                    if (!fl[k].compiled)
                        continue;
                    if (fl[k].label) {
                        const char *n;
                        json_t *x;
                        json_object_foreach(labels, n, x) {
                            if (json_is_string(x) && regexec(&fl[k].re, n, 0, NULL, 0) == 0) {
                                snprintf(found, sizeof found, "%s", json_string_value(x));
                                snprintf(by, sizeof by, "%s", fl[k].name);
                                found_sig = fl[k].sig;
                                break;
                            }
                        }
                    } else if (line && fl[k].group > 0 && fl[k].group < 10 &&
                               regexec(&fl[k].re, line, 10, m, 0) == 0 && m[fl[k].group].rm_so >= 0) {
                        int len = (int)(m[fl[k].group].rm_eo - m[fl[k].group].rm_so);
                        snprintf(found, sizeof found, "%.*s", len < 79 ? len : 79, line + m[fl[k].group].rm_so);
                        snprintf(by, sizeof by, "%s", fl[k].name);
                        found_sig = fl[k].sig;
                    }
                }
                json_decref(labels);
            }
        }
    }
    if (nlines == 0) {
        add_check(c, LINK_LOGS_TRACES, LINKS_NODATA, "no log lines of %s in the last %lld min", sel,
                  (long long)(c->window_ms / 60000));
        goto out;
    }
    join_sorted_keys(seen, labels_seen, sizeof labels_seen);
    if (!found[0]) {
        struct lk_sb d = {0};
        char *ds;
        size_t k;
        for (k = 0; k < nf; k++) {
            lk_sb_printf(&d, "%s%s (%s)", k ? ", " : "", fl[k].name, fl[k].label ? "label" : "regex on the line");
        }
        ds = lk_sb_take(&d);
        add_check(c, LINK_LOGS_TRACES, LINKS_BROKEN,
                  "none of the %zu recent lines of %s yields a trace id through the derived fields %s; those lines "
                  "carry labels %s%s%s%s",
                  nlines, sel, ds ? ds : "", labels_seen, bad[0] ? " (derived field " : "", bad,
                  bad[0] ? " uses a regex the checker cannot evaluate)" : "");
        free(ds);
        goto out;
    }
    {
        struct lk_span sp;
        memset(&sp, 0, sizeof sp);
        (void)found_sig;
        if (fetch_trace(c, found, &sp, &st, why, sizeof why) != 0) {
            if (st == 404)
                add_check(c, LINK_LOGS_TRACES, LINKS_BROKEN,
                          "derived field %s takes \"%s\" from a line of %s, but Tempo has no such trace (404)", by,
                          found, sel);
            else
                add_check(c, LINK_LOGS_TRACES, LINKS_BROKEN, "derived field %s: fetching trace \"%s\" failed: %s", by,
                          found, why);
        } else {
            add_check(c, LINK_LOGS_TRACES, LINKS_VERIFIED, "derived field %s takes trace %s from a line of %s; Tempo has it",
                      by, found, sel);
        }
        json_decref(sp.attrs);
    }
out:
    for (i = 0; i < nf; i++)
        if (fl[i].compiled)
            regfree(&fl[i].re);
    json_decref(seen);
    json_decref(root);
}

/* ---- link 6: service map ---------------------------------------------------- */

static void check_service_map(struct lk_ctx *c)
{
    json_t *cfg = json_object_get(jd(c->sig_ds[PROBE_TRACES]), "serviceMap"), *mds, *root;
    char pq[256], why[300];
    int st;
    size_t n;

    if (!json_is_object(cfg))
        return;
    mds = ds_by_uid(c, jstr(cfg, "datasourceUid"));
    if (!mds || signal_of_type(jstr(mds, "type")) != PROBE_METRICS)
        return;
    snprintf(pq, sizeof pq, "/api/v1/series?match%%5B%%5D=%s&start=%.3f&end=%.3f", LK_SERVICE_GRAPH_METRIC,
             (double)(c->now_ms - c->window_ms) / 1000.0, (double)c->now_ms / 1000.0);
    root = request(c, PROBE_METRICS, "GET", pq, NULL, NULL, &st, why, sizeof why);
    if (!root) {
        add_check(c, LINK_SERVICE_MAP, LINKS_BROKEN, "looking up %s failed: %s", LK_SERVICE_GRAPH_METRIC, why);
        return;
    }
    n = json_array_size(json_object_get(root, "data"));
    json_decref(root);
    if (n > 0)
        add_check(c, LINK_SERVICE_MAP, LINKS_VERIFIED, "%zu series of %s in the metrics data source", n,
                  LK_SERVICE_GRAPH_METRIC);
    else
        add_check(c, LINK_SERVICE_MAP, LINKS_BROKEN,
                  "the metrics data source has no %s in the last %lld min: enable Tempo's metrics-generator "
                  "service-graphs processor, remote-writing into this tenant",
                  LK_SERVICE_GRAPH_METRIC, (long long)(c->window_ms / 60000));
}

/* ---- entry points ----------------------------------------------------------- */

int links_verify(const struct links_input *in, links_fetch_fn fetch, void *ud, int64_t now_ms,
                 struct links_report *out)
{
    struct lk_ctx c;
    const json_t *arr;
    size_t i;
    json_t *d;

    if (!in || !fetch || !out)
        return op_err_set(OP_EINVALID, "links_verify: bad arguments");
    memset(out, 0, sizeof *out);
    arr = json_is_array(in->datasources) ? in->datasources : json_object_get(in->datasources, "datasources");
    if (!json_is_array(arr))
        return op_err_set(OP_EINVALID, "links_verify: no datasources list");
    memset(&c, 0, sizeof c);
    c.in = in;
    c.fetch = fetch;
    c.ud = ud;
    c.now_ms = now_ms;
    c.window_ms = in->window_ms > 0 ? in->window_ms : LINKS_DEFAULT_WINDOW_MS;
    c.out = out;
    c.dss = unescape_deep(arr);
    if (!c.dss)
        return op_err_set(OP_ENOMEM, "out of memory");
    json_array_foreach(c.dss, i, d) {
        int s = signal_of_type(jstr(d, "type"));
        if (s >= 0 && !c.sig_ds[s])
            c.sig_ds[s] = d;
    }
    if (c.sig_ds[PROBE_METRICS] && in->targets[PROBE_METRICS])
        check_metrics_traces(&c);
    if (c.sig_ds[PROBE_TRACES] && in->targets[PROBE_TRACES]) {
        find_trace_by_search(&c);
        if (!c.nospan_why[0])
            snprintf(c.nospan_why, sizeof c.nospan_why, "no trace found");
        if (in->targets[PROBE_LOGS])
            check_traces_logs(&c);
        if (in->targets[PROBE_METRICS])
            check_traces_metrics(&c);
        if (in->targets[PROBE_PROFILES])
            check_traces_profiles(&c);
    }
    if (c.sig_ds[PROBE_LOGS] && in->targets[PROBE_LOGS] && in->targets[PROBE_TRACES])
        check_logs_traces(&c);
    if (c.sig_ds[PROBE_TRACES] && in->targets[PROBE_METRICS])
        check_service_map(&c);
    json_decref(c.span.attrs);
    json_decref(c.dss);
    return 0;
}

/* Copy of v with every string equal to one of the data sources' uids
 * replaced by that data source's position ("\001ds<i>"): stacks whose
 * provisioning differs only by a consistent renaming of uids (the default
 * uids derive from the stack name) follow the same links, so they share a
 * key. NULL on OOM. */
static json_t *key_canon(const json_t *v, const json_t *arr)
{
    size_t i;
    json_t *d, *x, *c;
    const char *k;
    if (json_is_string(v)) {
        json_array_foreach(arr, i, d) {
            const char *u = json_string_value(json_object_get(d, "uid"));
            if (u && *u && !strcmp(u, json_string_value(v))) {
                char tok[32];
                snprintf(tok, sizeof tok, "\001ds%zu", i);
                return json_string(tok);
            }
        }
        return json_incref((json_t *)v);
    }
    if (json_is_array(v)) {
        if (!(c = json_array()))
            return NULL;
        json_array_foreach(v, i, x) {
            if (json_array_append_new(c, key_canon(x, arr)) < 0) {
                json_decref(c);
                return NULL;
            }
        }
        return c;
    }
    if (json_is_object(v)) {
        if (!(c = json_object()))
            return NULL;
        json_object_foreach((json_t *)v, k, x) {
            if (json_object_set_new(c, k, key_canon(x, arr)) < 0) {
                json_decref(c);
                return NULL;
            }
        }
        return c;
    }
    return v ? json_incref((json_t *)v) : NULL;
}

void links_key(const struct links_input *in, char out[65])
{
    struct lk_sb b = {0};
    const json_t *arr = json_is_array(in->datasources) ? in->datasources : json_object_get(in->datasources, "datasources");
    size_t i;
    json_t *d;
    char *s;
    int k;

    for (k = 0; k < PROBE_NSIGNALS; k++) {
        char pk[65] = "-";
        if (in->targets[k])
            probe_target_key(in->targets[k], pk);
        lk_sb_printf(&b, "t%d=%s\n", k, pk);
    }
    json_array_foreach(arr, i, d) {
        json_t *o = json_pack("{s:o?, s:O?, s:o?}", "uid", key_canon(json_object_get(d, "uid"), arr), "type",
                              json_object_get(d, "type"), "jsonData",
                              key_canon(json_object_get(d, "jsonData"), arr));
        char *j = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        lk_sb_printf(&b, "ds=%s\n", j ? j : "?");
        free(j);
        json_decref(o);
    }
    lk_sb_printf(&b, "metric=%s\nwindow=%lld\n", nz(in->request_metric), (long long)in->window_ms);
    s = lk_sb_take(&b);
    op_sha256_hex(s ? s : "", s ? strlen(s) : 0, out);
    free(s);
}
