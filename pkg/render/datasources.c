/* datasources.c — the Grafana data-source provisioning document (apiVersion
 * 1, prune: spec.grafana.prune) with every cross-signal link of shared/docs/grafana.md. A
 * link is emitted only when both ends are configured. Every string Grafana
 * must see literally is $$-escaped; only the deliberate $__file{} credential
 * references are not. Pure. */
#include "render.h"
#include "render_int.h"

#include "core.h"
#include "xy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void render__put(struct render_ctx *r, json_t *obj, const char *key, json_t *v)
{
    /* jansson's _new setters release v even when they fail. */
    if (json_object_set_new(obj, key, v) != 0)
        r->oom = 1;
}

void render__append(struct render_ctx *r, json_t *arr, json_t *v)
{
    if (json_array_append_new(arr, v) != 0)
        r->oom = 1;
}

json_t *render__esc(struct render_ctx *r, const char *s)
{
    char *e = render_escape_dollars(s ? s : "");
    json_t *v = e ? json_string(e) : NULL;
    free(e);
    if (!v)
        r->oom = 1;
    return v;
}

json_t *render__str(struct render_ctx *r, const char *s)
{
    json_t *v = json_string(s ? s : "");
    if (!v)
        r->oom = 1;
    return v;
}

static json_t *file_ref(struct render_ctx *r, const char *prefix, const char *dir, const struct spec_key_ref *k)
{
    /* Secret/ConfigMap names and keys cannot contain '$' (validated), so
     * the reference needs no escaping; it must NOT be escaped, or Grafana
     * would not expand it. */
    char *s = op_asprintf("%s$__file{%s/%s/%s}", prefix, dir, k->name, k->key);
    json_t *v = s ? json_string(s) : NULL;
    free(s);
    if (!v)
        r->oom = 1;
    return v;
}

/* A duration as Grafana's rangeutil reads it (one integer, one unit). */
static json_t *dur(struct render_ctx *r, int64_t ms)
{
    char buf[SPEC_DURATION_BUF];
    return render__str(r, spec_duration_format(ms, buf));
}

/* "-5m" for a before-shift of 5m ("0s" for none): trace -> logs / metrics
 * ranges are span start + spanStartTimeShift .. span end + spanEndTimeShift. */
static json_t *neg_shift(struct render_ctx *r, const struct spec_time_shift *ts)
{
    return dur(r, -ts->before_ms);
}

static json_t *tags_json(struct render_ctx *r, const struct spec_tags *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->n; i++) {
        json_t *o = json_object();
        render__put(r, o, "key", render__esc(r, t->v[i].attribute));
        render__put(r, o, "value", render__esc(r, t->v[i].label));
        render__append(r, a, o);
    }
    if (!a)
        r->oom = 1;
    return a;
}

/* Credentials, tenant header and TLS: shared by all four types. */
static void http_settings(struct render_ctx *r, const struct spec_backend *b, json_t *ds, json_t *jd,
                          json_t *sjd)
{
    int hdr = 1;
    char name[32];

    if (b->tenant) {
        snprintf(name, sizeof(name), "httpHeaderName%d", hdr);
        render__put(r, jd, name, render__str(r, "X-Scope-OrgID"));
        snprintf(name, sizeof(name), "httpHeaderValue%d", hdr);
        render__put(r, sjd, name, render__esc(r, b->tenant));
        hdr++;
    }
    if (b->auth.bearer_token.name) {
        snprintf(name, sizeof(name), "httpHeaderName%d", hdr);
        render__put(r, jd, name, render__str(r, "Authorization"));
        snprintf(name, sizeof(name), "httpHeaderValue%d", hdr);
        render__put(r, sjd, name, file_ref(r, "Bearer ", RENDER_SECRETS_DIR, &b->auth.bearer_token));
        hdr++;
    }
    if (b->auth.basic_username) {
        render__put(r, ds, "basicAuth", json_true());
        render__put(r, ds, "basicAuthUser", render__esc(r, b->auth.basic_username));
        render__put(r, sjd, "basicAuthPassword", file_ref(r, "", RENDER_SECRETS_DIR, &b->auth.basic_password));
    }
    if (b->tls.ca_secret.name || b->tls.ca_configmap.name) {
        render__put(r, jd, "tlsAuthWithCACert", json_true());
        if (b->tls.ca_secret.name)
            render__put(r, sjd, "tlsCACert", file_ref(r, "", RENDER_SECRETS_DIR, &b->tls.ca_secret));
        else
            render__put(r, sjd, "tlsCACert", file_ref(r, "", RENDER_CONFIGMAPS_DIR, &b->tls.ca_configmap));
    }
    if (b->tls.server_name)
        render__put(r, jd, "serverName", render__esc(r, b->tls.server_name));
    if (b->tls.insecure_skip_verify)
        render__put(r, jd, "tlsSkipVerify", json_true());
}

static void metrics_json(struct render_ctx *r, const struct spec_stack *s, json_t *jd)
{
    const struct spec_backend *m = &s->backends[SPEC_SIGNAL_METRICS];
    const struct spec_backend *t = spec_stack_backend(s, SPEC_SIGNAL_TRACES);

    render__put(r, jd, "httpMethod", render__str(r, "POST"));
    render__put(r, jd, "prometheusType", render__esc(r, m->flavor));
    render__put(r, jd, "timeInterval", dur(r, m->scrape_interval_ms));
    if (t) {
        /* Exemplar label names differ by producer (OTel trace_id, Tempo's
         * metrics-generator traceID): one destination per name. */
        json_t *dests = json_array();
        for (size_t i = 0; i < s->correlation.n_exemplar_labels; i++) {
            json_t *d = json_object();
            render__put(r, d, "name", render__esc(r, s->correlation.exemplar_labels[i]));
            render__put(r, d, "datasourceUid", render__esc(r, t->uid));
            render__put(r, d, "urlDisplayLabel", render__str(r, "Open trace"));
            render__append(r, dests, d);
        }
        render__put(r, jd, "exemplarTraceIdDestinations", dests);
    }
}

static void traces_json(struct render_ctx *r, const struct spec_stack *s, json_t *jd)
{
    const struct spec_correlation *c = &s->correlation;
    const struct spec_backend *m = spec_stack_backend(s, SPEC_SIGNAL_METRICS);
    const struct spec_backend *l = spec_stack_backend(s, SPEC_SIGNAL_LOGS);
    const struct spec_backend *p = spec_stack_backend(s, SPEC_SIGNAL_PROFILES);
    json_t *o;

    if (l) {
        o = json_object();
        render__put(r, o, "datasourceUid", render__esc(r, l->uid));
        render__put(r, o, "spanStartTimeShift", neg_shift(r, &c->traces_to_logs.time_shift));
        render__put(r, o, "spanEndTimeShift", dur(r, c->traces_to_logs.time_shift.after_ms));
        render__put(r, o, "tags", tags_json(r, &c->traces_to_logs.tags));
        render__put(r, o, "filterByTraceID", json_boolean(c->traces_to_logs.filter_by_trace_id));
        render__put(r, o, "filterBySpanID", json_boolean(c->traces_to_logs.filter_by_span_id));
        render__put(r, o, "customQuery", json_boolean(c->traces_to_logs.query != NULL));
        if (c->traces_to_logs.query)
            render__put(r, o, "query", render__esc(r, c->traces_to_logs.query));
        render__put(r, jd, "tracesToLogsV2", o);
    }
    if (m) {
        json_t *qs = json_array();
        o = json_object();
        render__put(r, o, "datasourceUid", render__esc(r, m->uid));
        render__put(r, o, "spanStartTimeShift", neg_shift(r, &c->traces_to_metrics.time_shift));
        render__put(r, o, "spanEndTimeShift", dur(r, c->traces_to_metrics.time_shift.after_ms));
        render__put(r, o, "tags", tags_json(r, &c->traces_to_metrics.tags));
        for (size_t i = 0; i < c->traces_to_metrics.n_queries; i++) {
            json_t *q = json_object();
            render__put(r, q, "name", render__esc(r, c->traces_to_metrics.queries[i].name));
            render__put(r, q, "query", render__esc(r, c->traces_to_metrics.queries[i].query));
            render__append(r, qs, q);
        }
        render__put(r, o, "queries", qs);
        render__put(r, jd, "tracesToMetrics", o);

        o = json_object();
        render__put(r, o, "datasourceUid", render__esc(r, m->uid));
        render__put(r, jd, "serviceMap", o);
    }
    if (p) {
        o = json_object();
        render__put(r, o, "datasourceUid", render__esc(r, p->uid));
        render__put(r, o, "profileTypeId", render__esc(r, c->traces_to_profiles.profile_type));
        render__put(r, o, "tags", tags_json(r, &c->traces_to_profiles.tags));
        render__put(r, o, "customQuery", json_boolean(c->traces_to_profiles.query != NULL));
        if (c->traces_to_profiles.query)
            render__put(r, o, "query", render__esc(r, c->traces_to_profiles.query));
        render__put(r, jd, "tracesToProfiles", o);
    }
    if (s->backends[SPEC_SIGNAL_TRACES].trace_query_set) {
        /* Trace-by-ID searches [from - spanStartTimeShift, to +
         * spanEndTimeShift]: both shifts are positive widenings
         * (public/app/plugins/datasource/tempo/datasource.ts
         * makeTraceIdRequest). */
        const struct spec_time_shift *tq = &s->backends[SPEC_SIGNAL_TRACES].trace_query;
        o = json_object();
        render__put(r, o, "timeShiftEnabled", json_true());
        render__put(r, o, "spanStartTimeShift", dur(r, tq->before_ms));
        render__put(r, o, "spanEndTimeShift", dur(r, tq->after_ms));
        render__put(r, jd, "traceQuery", o);
    }
    o = json_object();
    render__put(r, o, "enabled", json_true());
    render__put(r, jd, "nodeGraph", o);
    o = json_object();
    render__put(r, o, "hide", json_false());
    render__put(r, jd, "search", o);
    o = json_object();
    render__put(r, o, "type", render__str(r, "Tag"));
    render__put(r, o, "tag", render__str(r, "http.response.status_code"));
    render__put(r, jd, "spanBar", o);
}

static void logs_json(struct render_ctx *r, const struct spec_stack *s, json_t *jd)
{
    const struct spec_backend *l = &s->backends[SPEC_SIGNAL_LOGS];
    const struct spec_backend *t = spec_stack_backend(s, SPEC_SIGNAL_TRACES);

    render__put(r, jd, "maxLines", json_integer(l->max_lines));
    if (t) {
        json_t *fields = json_array();
        for (size_t i = 0; i < l->n_trace_id_fields; i++) {
            const struct spec_trace_id_field *f = &l->trace_id_fields[i];
            json_t *o = json_object();
            render__put(r, o, "name", render__esc(r, f->name));
            render__put(r, o, "matcherType", render__str(r, f->matcher_type == SPEC_MATCHER_LABEL ? "label" : "regex"));
            render__put(r, o, "matcherRegex", render__esc(r, f->matcher_regex));
            render__put(r, o, "datasourceUid", render__esc(r, t->uid));
            /* With datasourceUid set, url is the query sent to Tempo. */
            render__put(r, o, "url", render__esc(r, "${__value.raw}"));
            if (f->url_display_label)
                render__put(r, o, "urlDisplayLabel", render__esc(r, f->url_display_label));
            render__append(r, fields, o);
        }
        render__put(r, jd, "derivedFields", fields);
    }
}

/* One provisioned Grafana correlation (sibling of jsonData; schema of
 * pkg/services/provisioning/datasources/datasources.go
 * makeCreateCorrelationCommand): label and description always present
 * (read with unchecked type assertions), config.type "query" (the legacy
 * location; the root type defaults to query in newer versions). Strings are
 * env-interpolated like the rest of the file, hence render__esc. */
static json_t *correlation_json(struct render_ctx *r, const char *target_uid, const char *label, const char *desc,
                                const char *field, json_t *target, json_t *transformations)
{
    json_t *c = json_object(), *cfg = json_object();
    render__put(r, c, "targetUID", render__esc(r, target_uid));
    render__put(r, c, "label", render__esc(r, label));
    render__put(r, c, "description", render__esc(r, desc));
    render__put(r, cfg, "type", render__str(r, "query"));
    render__put(r, cfg, "field", render__esc(r, field));
    render__put(r, cfg, "target", target);
    if (transformations)
        render__put(r, cfg, "transformations", transformations);
    render__put(r, c, "config", cfg);
    return c;
}

/* spec.correlation.grafanaCorrelations: a second click path next to the
 * data links. Loki -> Tempo on the log line field "Line" (Grafana maps it
 * to the dataplane body field itself: public/app/features/correlations/
 * utils.ts fixLokiDataplaneFields), the trace id taken by a regex
 * transformation; Prometheus -> Loki on the service label column of table
 * results. */
static json_t *correlations_json(struct render_ctx *r, const struct spec_stack *s, enum spec_signal sig)
{
    const struct spec_backend *t = spec_stack_backend(s, SPEC_SIGNAL_TRACES);
    const struct spec_backend *l = spec_stack_backend(s, SPEC_SIGNAL_LOGS);
    const char *lbl = s->correlation.service_label;
    json_t *list = json_array(), *target, *tr, *x;
    char *q;

    if (sig == SPEC_SIGNAL_LOGS && t) {
        target = json_object();
        render__put(r, target, "queryType", render__str(r, "traceql"));
        render__put(r, target, "query", render__esc(r, "${trace_id}"));
        tr = json_array();
        x = json_object();
        render__put(r, x, "type", render__str(r, "regex"));
        render__put(r, x, "expression", render__esc(r, "(?:trace_id|traceID|traceId)[\"]?[=:]\\s*[\"]?(\\w+)"));
        render__put(r, x, "mapValue", render__str(r, "trace_id"));
        render__append(r, tr, x);
        render__append(r, list, correlation_json(r, t->uid, "Trace for this line", "crosslink: trace id in the log line",
                                                 "Line", target, tr));
    }
    if (sig == SPEC_SIGNAL_METRICS && l) {
        target = json_object();
        q = op_asprintf("{%s=\"${%s}\"}", lbl, lbl);
        render__put(r, target, "expr", render__esc(r, q ? q : ""));
        if (!q)
            r->oom = 1;
        free(q);
        render__append(r, list, correlation_json(r, l->uid, "Logs of this service", "crosslink: the service's logs",
                                                 lbl, target, NULL));
    }
    if (!json_array_size(list)) {
        json_decref(list);
        return NULL;
    }
    return list;
}

static json_t *datasource_json(struct render_ctx *r, const struct spec_stack *s, enum spec_signal sig)
{
    const struct spec_backend *b = &s->backends[sig];
    json_t *ds = json_object(), *jd = json_object(), *sjd = json_object();

    render__put(r, ds, "name", render__esc(r, b->name));
    render__put(r, ds, "type", render__str(r, spec_signal_grafana_type(sig)));
    render__put(r, ds, "uid", render__esc(r, b->uid));
    render__put(r, ds, "access", render__str(r, "proxy"));
    render__put(r, ds, "url", render__esc(r, b->url));
    render__put(r, ds, "orgId", json_integer(s->grafana.org_id));
    render__put(r, ds, "editable", json_false());
    render__put(r, ds, "isDefault", json_boolean(b->is_default));
    http_settings(r, b, ds, jd, sjd);
    switch (sig) {
    case SPEC_SIGNAL_METRICS: metrics_json(r, s, jd); break;
    case SPEC_SIGNAL_TRACES: traces_json(r, s, jd); break;
    case SPEC_SIGNAL_LOGS: logs_json(r, s, jd); break;
    case SPEC_SIGNAL_PROFILES: render__put(r, jd, "minStep", dur(r, b->scrape_interval_ms)); break;
    default: break;
    }
    render__put(r, ds, "jsonData", jd);
    if (s->correlation.grafana_correlations) {
        json_t *corr = correlations_json(r, s, sig);
        if (corr)
            render__put(r, ds, "correlations", corr);
    }
    if (sjd && json_object_size(sjd))
        render__put(r, ds, "secureJsonData", sjd);
    else
        json_decref(sjd);
    return ds;
}

json_t *render_datasources_doc(const struct spec_stack *s)
{
    struct render_ctx r = {0};
    json_t *doc = json_object(), *list = json_array();

    render__put(&r, doc, "apiVersion", json_integer(1));
    /* spec.grafana.prune (default false, see pkg/spec decode_grafana) */
    render__put(&r, doc, "prune", json_boolean(s->grafana.prune));
    for (int i = 0; i < SPEC_SIGNAL_COUNT; i++)
        if (spec_stack_backend(s, (enum spec_signal)i))
            render__append(&r, list, datasource_json(&r, s, (enum spec_signal)i));
    render__put(&r, doc, "datasources", list);
    if (r.oom) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int is_refs_digest(const char *d)
{
    if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
        return 0;
    for (const char *p = d + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int render__datasources_yaml(char **out, const json_t *doc, const struct render_options *opt)
{
    char *yaml = NULL;
    int rc;

    if (opt && opt->refs_digest && !is_refs_digest(opt->refs_digest))
        return op_err_set(OP_EINVALID, "render: refs digest must be sha256:<64 hex digits>");
    if ((rc = xy_emit(&yaml, doc)) < 0)
        return rc;
    if (opt && opt->refs_digest) {
        /* A comment: Grafana ignores it, but the file (and the ConfigMap
         * digest) changes when a referenced Secret / ConfigMap changes, so
         * the sidecar rewrites it and Grafana re-reads the $__file{}s. */
        char *with = op_asprintf("# " RENDER_REFS_COMMENT ": %s\n%s", opt->refs_digest, yaml);
        free(yaml);
        if (!with)
            return op_err_set(OP_ENOMEM, "out of memory");
        yaml = with;
    }
    *out = yaml;
    return 0;
}

int render_datasources_yaml_opts(char **out, const struct spec_stack *s, const struct render_options *opt)
{
    json_t *doc = render_datasources_doc(s);
    int rc;
    if (!doc)
        return op_err_set(OP_ENOMEM, "out of memory");
    rc = render__datasources_yaml(out, doc, opt);
    json_decref(doc);
    return rc;
}

int render_datasources_yaml(char **out, const struct spec_stack *s)
{
    return render_datasources_yaml_opts(out, s, NULL);
}

static int ref_cmp(const void *a, const void *b)
{
    const struct render_ref *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->name, y->name);
}

char *render_refs_digest(const struct render_ref *refs, size_t n)
{
    struct render_ref *v = NULL;
    struct op_buf b;
    char hex[65], *text = NULL, *res = NULL;

    if (n == 0)
        return NULL;
    if (!(v = malloc(n * sizeof(*v))))
        return NULL;
    memcpy(v, refs, n * sizeof(*v));
    qsort(v, n, sizeof(*v), ref_cmp);
    op_buf_init(&b, 1u << 20);
    for (size_t i = 0; i < n; i++)
        if (op_buf_appendf(&b, "%s/%s=%s\n", v[i].kind, v[i].name,
                           v[i].resource_version ? v[i].resource_version : "-") < 0)
            goto out;
    if (!(text = op_buf_take(&b)))
        goto out;
    op_sha256_hex(text, strlen(text), hex);
    res = op_asprintf("sha256:%s", hex);
out:
    op_buf_cleanup(&b);
    free(text);
    free(v);
    return res;
}
