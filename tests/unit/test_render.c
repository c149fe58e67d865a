/* test_render.c — unit tests for pkg/render. Links are asserted by parsing
 * the rendered provisioning back (not by diffing): every datasourceUid must
 * point at the right data source, absent signals must leave no reference,
 * every '$' must survive Grafana's env interpolation as intended, and output
 * must be byte-identical across runs and input key orders. */
#include "core.h"
#include "render.h"
#include "spec.h"
#include "test.h"
#include "xy.h"

#include <stdlib.h>
#include <string.h>

#define HDR "apiVersion: crosslink.dev/v1alpha1\nkind: ObservabilityStack\n"

static const char *FULL =
    HDR "metadata: {name: prod, namespace: obs}\n"
        "spec:\n"
        "  metrics: {url: 'http://mimir/prometheus', uid: mimir, tenant: team-a, scrapeInterval: 30s, default: true,\n"
        "            auth: {basic: {username: grafana, passwordSecretRef: {name: mimir-auth, key: password}}}}\n"
        "  traces: {url: 'http://tempo:3200', uid: tempo, tenant: team-a,\n"
        "           auth: {bearerTokenSecretRef: {name: tempo-token, key: token}},\n"
        "           tls: {caSecretRef: {name: tempo-ca, key: ca.crt}, serverName: tempo.internal}}\n"
        "  logs: {url: 'http://loki', uid: loki, tenant: team-a, maxLines: 500}\n"
        "  profiles: {url: 'https://pyro:4040', uid: pyro, tls: {insecureSkipVerify: true}}\n"
        "  correlation: {extraTags: [{attribute: k8s.namespace.name, label: k8s_namespace_name}]}\n";

static json_t *load_doc(const char *yaml)
{
    json_t *docs = NULL, *d;
    if (xy_load(&docs, yaml, strlen(yaml)) < 0)
        return NULL;
    d = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    return d;
}

static struct spec_stack *stack_from_json(const json_t *d)
{
    struct spec_stack *s = NULL;
    struct spec_errors errs;
    spec_errors_init(&errs);
    if (spec_stack_from_json(&s, d, NULL, &errs) < 0) {
        char *m = spec_errors_format(&errs, "\n");
        fprintf(stderr, "decode: %s\n", m ? m : "?");
        free(m);
    }
    spec_errors_cleanup(&errs);
    return s;
}

static struct spec_stack *stack(const char *yaml)
{
    json_t *d = load_doc(yaml);
    struct spec_stack *s = d ? stack_from_json(d) : NULL;
    json_decref(d);
    return s;
}

/* The rendered data-source document parsed back from the ConfigMap text. */
static json_t *parsed_datasources(const struct render_output *o)
{
    json_t *data = json_object_get(o->cms[RENDER_CM_DATASOURCES].object, "data");
    const char *k;
    json_t *v;
    json_object_foreach(data, k, v)
        return load_doc(json_string_value(v));
    return NULL;
}

static json_t *ds_by_type(json_t *doc, const char *type)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(doc, "datasources"), i, d)
        if (strcmp(json_string_value(json_object_get(d, "type")), type) == 0)
            return d;
    return NULL;
}

static const char *jpath_str(const json_t *v, const char *path)
{
    char buf[256], *save = NULL, *tok;
    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
        v = json_object_get(v, tok);
    return json_string_value(v);
}

static json_t *jpath(json_t *v, const char *path)
{
    char buf[256], *save = NULL, *tok;
    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
        v = json_object_get(v, tok);
    return v;
}

/* Grafana's provisioning interpolation (shared/docs/grafana.md A.6) reduced
 * to what matters here: split on "$$", expand $__file{...} (kept as a marker)
 * and $NAME / ${...} (to ""), join with "$". */
static char *grafana_expand(const char *s)
{
    struct op_buf b;
    op_buf_init(&b, 1 << 20);
    while (*s) {
        if (s[0] == '$' && s[1] == '$') {
            if (op_buf_puts(&b, "$") < 0)
                break;
            s += 2;
        } else if (s[0] == '$' && strncmp(s, "$__file{", 8) == 0) {
            const char *end = strchr(s, '}');
            if (op_buf_puts(&b, "<FILE:") < 0 || op_buf_append(&b, s + 8, (size_t)(end - s - 8)) < 0 ||
                op_buf_puts(&b, ">") < 0)
                break;
            s = end + 1;
        } else if (s[0] == '$' && s[1] == '{') {
            const char *end = strchr(s, '}');
            s = end ? end + 1 : s + strlen(s);
        } else if (s[0] == '$' && (s[1] == '_' || (s[1] >= 'A' && s[1] <= 'Z') || (s[1] >= 'a' && s[1] <= 'z'))) {
            s++;
            while (*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
                s++;
        } else {
            if (op_buf_append(&b, s, 1) < 0)
                break;
            s++;
        }
    }
    {
        char *r = op_buf_take(&b);
        op_buf_cleanup(&b);
        return r;
    }
}

static const char *expanded(json_t *v, char **hold)
{
    free(*hold);
    *hold = json_is_string(v) ? grafana_expand(json_string_value(v)) : NULL;
    return *hold;
}

TEST(every_link_points_at_the_right_uid)
{
    struct spec_stack *s = stack(FULL);
    struct render_output *o = NULL;
    json_t *doc, *prom, *tempo, *loki, *pyro, *v;
    size_t i;
    char *h = NULL;

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(render_stack(&o, s));
    doc = parsed_datasources(o);
    ASSERT_TRUE(doc != NULL);
    ASSERT_EQ(json_integer_value(json_object_get(doc, "apiVersion")), 1);
    ASSERT_TRUE(json_is_false(json_object_get(doc, "prune"))); /* spec.grafana.prune default */
    ASSERT_EQ(json_array_size(json_object_get(doc, "datasources")), 4);
    prom = ds_by_type(doc, "prometheus");
    tempo = ds_by_type(doc, "tempo");
    loki = ds_by_type(doc, "loki");
    pyro = ds_by_type(doc, "grafana-pyroscope-datasource");
    ASSERT_TRUE(prom && tempo && loki && pyro);
    ASSERT_STR_EQ(jpath_str(prom, "uid"), "mimir");
    ASSERT_STR_EQ(jpath_str(tempo, "uid"), "tempo");
    ASSERT_STR_EQ(jpath_str(loki, "uid"), "loki");
    ASSERT_STR_EQ(jpath_str(pyro, "uid"), "pyro");
    ASSERT_STR_EQ(jpath_str(prom, "name"), "Mimir (obs/prod)");
    ASSERT_STR_EQ(jpath_str(prom, "access"), "proxy");
    ASSERT_TRUE(json_is_true(json_object_get(prom, "isDefault")));
    ASSERT_TRUE(json_is_false(json_object_get(tempo, "isDefault")));

    /* metrics: exemplars -> Tempo, for both label spellings */
    ASSERT_STR_EQ(jpath_str(prom, "jsonData.prometheusType"), "Mimir");
    ASSERT_STR_EQ(jpath_str(prom, "jsonData.httpMethod"), "POST");
    ASSERT_STR_EQ(jpath_str(prom, "jsonData.timeInterval"), "30s");
    v = jpath(prom, "jsonData.exemplarTraceIdDestinations");
    ASSERT_EQ(json_array_size(v), 2);
    ASSERT_STR_EQ(jpath_str(json_array_get(v, 0), "name"), "trace_id");
    ASSERT_STR_EQ(jpath_str(json_array_get(v, 1), "name"), "traceID");
    json_array_foreach(v, i, prom) ASSERT_STR_EQ(jpath_str(prom, "datasourceUid"), "tempo");
    prom = ds_by_type(doc, "prometheus");

    /* traces -> logs / metrics / profiles, service map, node graph */
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.tracesToLogsV2.datasourceUid"), "loki");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.tracesToLogsV2.spanStartTimeShift"), "-5m");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.tracesToLogsV2.spanEndTimeShift"), "5m");
    ASSERT_TRUE(json_is_true(jpath(tempo, "jsonData.tracesToLogsV2.filterByTraceID")));
    /* default custom query: trace id in the line OR in trace_id metadata */
    ASSERT_TRUE(json_is_true(jpath(tempo, "jsonData.tracesToLogsV2.customQuery")));
    ASSERT_CONTAINS(expanded(jpath(tempo, "jsonData.tracesToLogsV2.query"), &h),
                    "or trace_id=\"${__span.traceId}\"");
    v = jpath(tempo, "jsonData.tracesToLogsV2.tags");
    ASSERT_EQ(json_array_size(v), 2);
    ASSERT_STR_EQ(jpath_str(json_array_get(v, 0), "key"), "service.name");
    ASSERT_STR_EQ(jpath_str(json_array_get(v, 0), "value"), "service_name");
    ASSERT_STR_EQ(jpath_str(json_array_get(v, 1), "key"), "k8s.namespace.name");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.tracesToMetrics.datasourceUid"), "mimir");
    v = jpath(tempo, "jsonData.tracesToMetrics.queries");
    ASSERT_EQ(json_array_size(v), 3);
    ASSERT_STR_EQ(jpath_str(json_array_get(v, 0), "name"), "Request rate");
    ASSERT_STR_EQ(expanded(json_object_get(json_array_get(v, 0), "query"), &h),
                  "sum(rate(http_server_request_duration_seconds_count{$__tags}[$__rate_interval]))");
    ASSERT_CONTAINS(expanded(json_object_get(json_array_get(v, 1), "query"), &h), "http_response_status_code=~\"5..\"");
    ASSERT_STR_EQ(expanded(json_object_get(json_array_get(v, 2), "query"), &h),
                  "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{$__tags}"
                  "[$__rate_interval])))");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.tracesToProfiles.datasourceUid"), "pyro");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.tracesToProfiles.profileTypeId"),
                  "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.serviceMap.datasourceUid"), "mimir");
    ASSERT_TRUE(json_is_true(jpath(tempo, "jsonData.nodeGraph.enabled")));
    ASSERT_TRUE(json_is_false(jpath(tempo, "jsonData.search.hide")));
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.spanBar.type"), "Tag");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.spanBar.tag"), "http.response.status_code");

    /* logs -> traces: structured metadata (label) + JSON + logfmt regexes */
    ASSERT_EQ(json_integer_value(jpath(loki, "jsonData.maxLines")), 500);
    v = jpath(loki, "jsonData.derivedFields");
    ASSERT_EQ(json_array_size(v), 3);
    {
        int label = 0, json_re = 0, logfmt_re = 0;
        json_t *f;
        json_array_foreach(v, i, f) {
            const char *mt = jpath_str(f, "matcherType");
            const char *re = expanded(json_object_get(f, "matcherRegex"), &h);
            ASSERT_STR_EQ(jpath_str(f, "datasourceUid"), "tempo");
            ASSERT_STR_EQ(expanded(json_object_get(f, "url"), &h), "${__value.raw}");
            re = expanded(json_object_get(f, "matcherRegex"), &h);
            if (strcmp(mt, "label") == 0 && strcmp(re, "trace_id") == 0)
                label = 1;
            if (strcmp(mt, "regex") == 0 && strstr(re, "\"trace_id\""))
                json_re = 1;
            if (strcmp(mt, "regex") == 0 && strstr(re, "trace_id|traceID)="))
                logfmt_re = 1;
        }
        ASSERT_TRUE(label && json_re && logfmt_re);
    }

    /* tenant header on every multi-tenant source, numbered from 1 */
    ASSERT_STR_EQ(jpath_str(loki, "jsonData.httpHeaderName1"), "X-Scope-OrgID");
    ASSERT_STR_EQ(jpath_str(loki, "secureJsonData.httpHeaderValue1"), "team-a");
    ASSERT_TRUE(jpath(pyro, "jsonData.httpHeaderName1") == NULL);

    /* credentials are $__file references, never values */
    ASSERT_TRUE(json_is_true(json_object_get(prom, "basicAuth")));
    ASSERT_STR_EQ(jpath_str(prom, "basicAuthUser"), "grafana");
    ASSERT_STR_EQ(jpath_str(prom, "secureJsonData.basicAuthPassword"),
                  "$__file{/etc/grafana/crosslink-secrets/mimir-auth/password}");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.httpHeaderName1"), "X-Scope-OrgID");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.httpHeaderName2"), "Authorization");
    ASSERT_STR_EQ(expanded(jpath(tempo, "secureJsonData.httpHeaderValue2"), &h),
                  "Bearer <FILE:/etc/grafana/crosslink-secrets/tempo-token/token>");
    ASSERT_TRUE(json_is_true(jpath(tempo, "jsonData.tlsAuthWithCACert")));
    ASSERT_STR_EQ(jpath_str(tempo, "secureJsonData.tlsCACert"),
                  "$__file{/etc/grafana/crosslink-secrets/tempo-ca/ca.crt}");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.serverName"), "tempo.internal");
    ASSERT_TRUE(json_is_true(jpath(pyro, "jsonData.tlsSkipVerify")));
    ASSERT_STR_EQ(jpath_str(pyro, "jsonData.minStep"), "15s");

    free(h);
    json_decref(doc);
    render_output_free(o);
    spec_stack_free(s);
}

/* Every string in v, after Grafana's interpolation, must contain no '$'
 * except where the pre-escape text had one: i.e. nothing gets eaten. We check
 * the weaker but exact property: no unescaped $NAME/${ ... } remains other
 * than $__file{. */
static int no_unescaped_dollar(const json_t *v, const char **bad)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (const char *p = s; *p; p++) {
            if (*p != '$')
                continue;
            if (p[1] == '$') {
                p++;
                continue;
            }
            if (strncmp(p, "$__file{", 8) == 0)
                continue;
            *bad = s;
            return 0;
        }
        return 1;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c) if (!no_unescaped_dollar(c, bad)) return 0;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) if (!no_unescaped_dollar(c, bad)) return 0;
    }
    return 1;
}

TEST(dollar_escaping_survives_grafana_interpolation)
{
    struct spec_stack *s = stack(
        HDR "metadata: {name: esc}\nspec:\n"
            "  traces: {url: 'http://t/$x', name: 'Tempo $HOME', auth: {basic: {username: 'u$er',"
            " passwordSecretRef: {name: s, key: k}}}}\n"
            "  logs: {url: 'http://l', traceIdFields: [{name: 'T$', matcherRegex: 'id=(\\w+)$', urlDisplayLabel: '${x}'}]}\n"
            "  correlation: {tracesToLogs: {query: '{job=\"x\"} |= \"${__span.traceId}\"'}}\n");
    struct render_output *o = NULL;
    json_t *doc, *tempo, *loki;
    const char *bad = NULL;
    char *h = NULL;

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(render_stack(&o, s));
    doc = parsed_datasources(o);
    ASSERT_TRUE(no_unescaped_dollar(doc, &bad) || (fprintf(stderr, "  unescaped: %s\n", bad), 0));
    tempo = ds_by_type(doc, "tempo");
    loki = ds_by_type(doc, "loki");
    ASSERT_STR_EQ(expanded(json_object_get(tempo, "url"), &h), "http://t/$x");
    ASSERT_STR_EQ(expanded(json_object_get(tempo, "name"), &h), "Tempo $HOME");
    ASSERT_STR_EQ(expanded(json_object_get(tempo, "basicAuthUser"), &h), "u$er");
    ASSERT_STR_EQ(expanded(jpath(tempo, "secureJsonData.basicAuthPassword"), &h), "<FILE:/etc/grafana/crosslink-secrets/s/k>");
    ASSERT_STR_EQ(expanded(jpath(tempo, "jsonData.tracesToLogsV2.query"), &h), "{job=\"x\"} |= \"${__span.traceId}\"");
    ASSERT_TRUE(json_is_true(jpath(tempo, "jsonData.tracesToLogsV2.customQuery")));
    {
        json_t *f = json_array_get(jpath(loki, "jsonData.derivedFields"), 0);
        ASSERT_STR_EQ(expanded(json_object_get(f, "name"), &h), "T$");
        ASSERT_STR_EQ(expanded(json_object_get(f, "matcherRegex"), &h), "id=(\\w+)$");
        ASSERT_STR_EQ(expanded(json_object_get(f, "urlDisplayLabel"), &h), "${x}");
        ASSERT_STR_EQ(json_string_value(json_object_get(f, "matcherType")), "regex");
    }
    free(h);
    json_decref(doc);
    render_output_free(o);
    spec_stack_free(s);
}

static int contains_anywhere(const struct render_output *o, const char *needle)
{
    for (size_t i = 0; i < o->n; i++) {
        char *t = json_dumps(o->cms[i].object, JSON_COMPACT);
        int hit = t && strstr(t, needle) != NULL;
        free(t);
        if (hit)
            return 1;
    }
    return 0;
}

TEST(partial_stack_has_no_dangling_links)
{
    struct spec_stack *s = stack(HDR "metadata: {name: partial}\nspec:\n  metrics: {url: 'http://m'}\n"
                                     "  logs: {url: 'http://l'}\n");
    struct render_output *o = NULL;
    json_t *doc;
    ASSERT_TRUE(s != NULL);
    ASSERT_OK(render_stack(&o, s));
    ASSERT_TRUE(!contains_anywhere(o, "tempo"));
    ASSERT_TRUE(!contains_anywhere(o, "partial-traces"));
    ASSERT_TRUE(!contains_anywhere(o, "exemplarTraceIdDestinations"));
    ASSERT_TRUE(!contains_anywhere(o, "derivedFields"));
    ASSERT_TRUE(!contains_anywhere(o, "pyroscope"));
    ASSERT_TRUE(!contains_anywhere(o, "flamegraph"));
    ASSERT_TRUE(!contains_anywhere(o, "traceql"));
    ASSERT_TRUE(contains_anywhere(o, "Error logs"));
    doc = parsed_datasources(o);
    ASSERT_EQ(json_array_size(json_object_get(doc, "datasources")), 2);
    json_decref(doc);
    render_output_free(o);
    spec_stack_free(s);

    /* traces alone: no links at all, but still a valid Tempo source */
    s = stack(HDR "metadata: {name: t}\nspec:\n  traces: {url: 'http://t'}\n");
    ASSERT_OK(render_stack(&o, s));
    ASSERT_TRUE(!contains_anywhere(o, "tracesToLogsV2"));
    ASSERT_TRUE(!contains_anywhere(o, "tracesToMetrics"));
    ASSERT_TRUE(!contains_anywhere(o, "serviceMap"));
    ASSERT_TRUE(!contains_anywhere(o, "tracesToProfiles"));
    ASSERT_TRUE(contains_anywhere(o, "nodeGraph"));
    render_output_free(o);
    spec_stack_free(s);
}

TEST(dashboard_is_a_bare_model_pointing_at_the_stack)
{
    struct spec_stack *s = stack(FULL);
    struct render_output *o = NULL;
    json_t *data, *d, *panels, *p;
    char *txt = NULL;
    size_t i;
    int types = 0;

    ASSERT_OK(render_stack(&o, s));
    data = json_object_get(o->cms[RENDER_CM_DASHBOARDS].object, "data");
    /* only what the sidecar loads: no provider file in the dashboards folder */
    ASSERT_EQ(json_object_size(data), 1);
    d = json_loads(json_string_value(json_object_get(data, "obs-prod-service-overview.json")), 0, NULL);
    ASSERT_TRUE(d != NULL);
    ASSERT_TRUE(json_object_get(d, "dashboard") == NULL);
    ASSERT_STR_EQ(jpath_str(d, "uid"), "xl-9b8d7b08588c69e72cc2"); /* sha256("obs/prod") */
    ASSERT_STR_EQ(jpath_str(d, "title"), "Service overview (obs/prod)");
    ASSERT_EQ(json_integer_value(json_object_get(d, "schemaVersion")), 39);
    p = json_array_get(jpath(d, "templating.list"), 0);
    ASSERT_STR_EQ(jpath_str(p, "name"), "service");
    ASSERT_STR_EQ(jpath_str(p, "datasource.uid"), "mimir");
    panels = json_object_get(d, "panels");
    ASSERT_EQ(json_array_size(panels), 5);
    json_array_foreach(panels, i, p) {
        const char *type = jpath_str(p, "type");
        const char *uid = jpath_str(p, "datasource.uid");
        json_t *t = json_array_get(json_object_get(p, "targets"), 0);
        ASSERT_STR_EQ(jpath_str(t, "datasource.uid"), uid);
        ASSERT_EQ(json_integer_value(json_object_get(p, "id")), (long long)i + 1);
        if (strcmp(type, "timeseries") == 0) {
            ASSERT_STR_EQ(uid, "mimir");
            ASSERT_TRUE(json_is_true(json_object_get(t, "exemplar")));
            types |= 1;
        } else if (strcmp(type, "table") == 0) {
            ASSERT_STR_EQ(uid, "tempo");
            ASSERT_STR_EQ(jpath_str(t, "queryType"), "traceql");
            ASSERT_CONTAINS(jpath_str(t, "query"), "resource.service.name =~ \"$service\"");
            types |= 2;
        } else if (strcmp(type, "logs") == 0) {
            ASSERT_STR_EQ(uid, "loki");
            ASSERT_CONTAINS(jpath_str(t, "expr"), "{service_name=~\"$service\"}");
            types |= 4;
        } else if (strcmp(type, "flamegraph") == 0) {
            ASSERT_STR_EQ(uid, "pyro");
            ASSERT_STR_EQ(jpath_str(t, "profileTypeId"), "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
            types |= 8;
        }
    }
    ASSERT_EQ(types, 15);
    /* p99 with exemplars */
    ASSERT_CONTAINS(jpath_str(json_array_get(json_object_get(json_array_get(panels, 1), "targets"), 0), "expr"),
                    "histogram_quantile(0.99");
    json_decref(d);

    ASSERT_OK(render_dashboard_provider_yaml(&txt, s));
    d = load_doc(txt);
    p = json_array_get(json_object_get(d, "providers"), 0);
    ASSERT_EQ(json_integer_value(json_object_get(d, "apiVersion")), 1);
    ASSERT_STR_EQ(jpath_str(p, "folder"), "Observability");
    ASSERT_STR_EQ(jpath_str(p, "type"), "file");
    ASSERT_STR_EQ(jpath_str(p, "options.path"), "/var/lib/grafana/dashboards/crosslink/obs-prod");
    json_decref(d);
    free(txt);
    render_output_free(o);
    spec_stack_free(s);

    s = stack(HDR "metadata: {name: nodash}\nspec:\n  logs: {url: 'http://l'}\n  dashboards: {serviceOverview: false}\n");
    ASSERT_OK(render_stack(&o, s));
    data = json_object_get(o->cms[RENDER_CM_DASHBOARDS].object, "data");
    ASSERT_EQ(json_object_size(data), 0);
    render_output_free(o);
    spec_stack_free(s);
}

TEST(configmaps_labels_annotations_digest)
{
    struct spec_stack *s = stack(HDR "metadata: {name: prod, namespace: obs}\nspec:\n  logs: {url: 'http://l'}\n"
                                     "  grafana: {datasourceLabels: {grafana_datasource: '1', team: a},"
                                     " dashboardLabels: {dash: 'yes'}, folder: My Folder}\n");
    struct render_output *o = NULL;
    json_t *ds, *db, *owned;
    char *digest;

    ASSERT_OK(render_stack(&o, s));
    ASSERT_EQ(o->n, 2);
    ds = o->cms[RENDER_CM_DATASOURCES].object;
    db = o->cms[RENDER_CM_DASHBOARDS].object;
    ASSERT_STR_EQ(o->cms[0].name, "prod-grafana-datasources");
    ASSERT_STR_EQ(o->cms[1].name, "prod-grafana-dashboards");
    ASSERT_STR_EQ(jpath_str(ds, "apiVersion"), "v1");
    ASSERT_STR_EQ(jpath_str(ds, "kind"), "ConfigMap");
    ASSERT_STR_EQ(jpath_str(ds, "metadata.namespace"), "obs");
    ASSERT_TRUE(jpath(ds, "data.obs-prod-datasources.yaml") == NULL); /* dotted key: use object get */
    ASSERT_TRUE(json_object_get(json_object_get(ds, "data"), "obs-prod-datasources.yaml") != NULL);
    json_t *l = jpath(ds, "metadata.labels");
    ASSERT_STR_EQ(json_string_value(json_object_get(l, "app.kubernetes.io/managed-by")), "crosslink");
    ASSERT_STR_EQ(json_string_value(json_object_get(l, "crosslink.dev/stack")), "prod");
    ASSERT_STR_EQ(json_string_value(json_object_get(l, "grafana_datasource")), "1");
    ASSERT_STR_EQ(json_string_value(json_object_get(l, "team")), "a");
    l = jpath(db, "metadata.labels");
    ASSERT_STR_EQ(json_string_value(json_object_get(l, "dash")), "yes");
    ASSERT_TRUE(json_object_get(l, "grafana_datasource") == NULL);
    l = jpath(db, "metadata.annotations");
    ASSERT_STR_EQ(json_string_value(json_object_get(l, "grafana_folder")), "My Folder");
    ASSERT_STR_EQ(json_string_value(json_object_get(l, "k8s-sidecar-target-directory")), "My Folder");
    ASSERT_TRUE(json_object_get(jpath(ds, "metadata.annotations"), "grafana_folder") == NULL);
    ASSERT_TRUE(jpath(ds, "metadata.ownerReferences") == NULL);

    /* digest = sha256 of the canonical data */
    digest = render_data_digest(json_object_get(ds, "data"));
    ASSERT_STR_EQ(json_string_value(json_object_get(jpath(ds, "metadata.annotations"), "crosslink.dev/digest")), digest);
    ASSERT_STR_EQ(o->cms[0].digest, digest);
    ASSERT_TRUE(strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 7 + 64);
    free(digest);
    ASSERT_TRUE(strncmp(render_stack_digest(o), "sha256:", 7) == 0);

    owned = render_configmap_with_owner(&o->cms[0], "prod", "1234-uid");
    ASSERT_TRUE(owned != NULL);
    json_t *ref = json_array_get(jpath(owned, "metadata.ownerReferences"), 0);
    ASSERT_STR_EQ(jpath_str(ref, "apiVersion"), "crosslink.dev/v1alpha1");
    ASSERT_STR_EQ(jpath_str(ref, "kind"), "ObservabilityStack");
    ASSERT_STR_EQ(jpath_str(ref, "uid"), "1234-uid");
    ASSERT_TRUE(json_is_true(json_object_get(ref, "controller")));
    ASSERT_TRUE(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
    ASSERT_TRUE(jpath(ds, "metadata.ownerReferences") == NULL); /* original untouched */
    json_decref(owned);
    render_output_free(o);
    spec_stack_free(s);
}

/* Rebuilds every object with its keys inserted in reverse order. */
static json_t *reversed(const json_t *v)
{
    if (json_is_object(v)) {
        size_t n = json_object_size(v), i = 0;
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        const char *k;
        json_t *c, *out = json_object();
        json_object_foreach((json_t *)v, k, c) keys[i++] = k;
        while (i-- > 0)
            json_object_set_new(out, keys[i], reversed(json_object_get(v, keys[i])));
        free(keys);
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array(), *c;
        size_t i;
        json_array_foreach(v, i, c) json_array_append_new(out, reversed(c));
        return out;
    }
    return json_deep_copy(v);
}

static char *render_all_yaml(const struct spec_stack *s)
{
    struct render_output *o = NULL;
    json_t *items = json_array();
    char *y = NULL;
    if (render_stack(&o, s) == 0) {
        for (size_t i = 0; i < o->n; i++)
            json_array_append(items, o->cms[i].object);
        if (xy_emit_stream(&y, items) < 0)
            y = NULL;
    }
    render_output_free(o);
    json_decref(items);
    return y;
}

TEST(deterministic_and_order_independent)
{
    json_t *d = load_doc(FULL), *r;
    struct spec_stack *a = stack_from_json(d), *b = stack_from_json(d), *c;
    char *ya, *yb, *yc;

    r = reversed(d);
    c = stack_from_json(r);
    ASSERT_TRUE(a && b && c);
    ya = render_all_yaml(a);
    yb = render_all_yaml(b);
    yc = render_all_yaml(c);
    ASSERT_TRUE(ya && yb && yc);
    ASSERT_STR_EQ(ya, yb);
    ASSERT_STR_EQ(ya, yc);
    free(ya);
    free(yb);
    free(yc);
    spec_stack_free(a);
    spec_stack_free(b);
    spec_stack_free(c);
    json_decref(r);
    json_decref(d);
}

TEST(configmap_yaml_roundtrips_exactly)
{
    struct spec_stack *s = stack(FULL);
    struct render_output *o = NULL;
    json_t *items = json_array(), *back = NULL;
    char *y = NULL;
    ASSERT_OK(render_stack(&o, s));
    for (size_t i = 0; i < o->n; i++)
        json_array_append(items, o->cms[i].object);
    ASSERT_OK(xy_emit_stream(&y, items));
    ASSERT_OK(xy_load(&back, y, strlen(y)));
    ASSERT_TRUE(json_equal(items, back));
    /* multi-line documents are literal blocks, so kubectl get -o yaml reads well */
    ASSERT_CONTAINS(y, "  obs-prod-datasources.yaml: |\n    apiVersion: 1\n");
    ASSERT_CONTAINS(y, "  obs-prod-service-overview.json: |\n    {\n");
    free(y);
    json_decref(back);
    json_decref(items);
    render_output_free(o);
    spec_stack_free(s);
}

TEST(stack_digest_tracks_the_spec)
{
    struct spec_stack *a = stack(HDR "metadata: {name: d}\nspec:\n  logs: {url: 'http://l'}\n");
    struct spec_stack *b = stack(HDR "metadata: {name: d}\nspec:\n  logs: {url: 'http://l2'}\n");
    struct render_output *oa = NULL, *ob = NULL, *oa2 = NULL;
    ASSERT_OK(render_stack(&oa, a));
    ASSERT_OK(render_stack(&oa2, a));
    ASSERT_OK(render_stack(&ob, b));
    ASSERT_STR_EQ(render_stack_digest(oa), render_stack_digest(oa2));
    ASSERT_TRUE(strcmp(render_stack_digest(oa), render_stack_digest(ob)) != 0);
    ASSERT_TRUE(strcmp(oa->cms[0].digest, ob->cms[0].digest) != 0);
    ASSERT_STR_EQ(oa->cms[1].digest, ob->cms[1].digest); /* dashboards unchanged */
    render_output_free(oa);
    render_output_free(oa2);
    render_output_free(ob);
    spec_stack_free(a);
    spec_stack_free(b);
}

/* One variable per signal subset: the variable's data source is provisioned,
 * and its query has that data source's variable-query shape. */
TEST(service_variable_lists_values_for_every_subset)
{
    static const struct {
        const char *spec;
        const char *type, *shape_key;
    } cases[] = {
        {"  metrics: {url: 'http://m'}\n", "prometheus", "qryType"},
        {"  logs: {url: 'http://l'}\n", "loki", "label"},
        {"  traces: {url: 'http://t'}\n", "tempo", "label"},
        {"  profiles: {url: 'http://p'}\n", "grafana-pyroscope-datasource", "labelName"},
        {"  traces: {url: 'http://t'}\n  profiles: {url: 'http://p'}\n", "tempo", "label"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[512];
        struct spec_stack *s;
        struct render_output *o = NULL;
        json_t *data, *d, *v, *ds;
        const char *k;
        int found = 0;
        snprintf(yaml, sizeof(yaml), HDR "metadata: {name: v, namespace: ns}\nspec:\n%s", cases[i].spec);
        s = stack(yaml);
        ASSERT_TRUE(s != NULL);
        ASSERT_OK(render_stack(&o, s));
        data = json_object_get(o->cms[RENDER_CM_DASHBOARDS].object, "data");
        d = json_loads(json_string_value(json_object_get(data, "ns-v-service-overview.json")), 0, NULL);
        v = json_array_get(jpath(d, "templating.list"), 0);
        ASSERT_STR_EQ(jpath_str(v, "type"), "query");
        ASSERT_STR_EQ(jpath_str(v, "datasource.type"), cases[i].type);
        ASSERT_TRUE(json_object_get(json_object_get(v, "query"), cases[i].shape_key) != NULL);
        if (strcmp(cases[i].type, "loki") == 0) {
            ASSERT_EQ(json_integer_value(jpath(v, "query.type")), 1);
            ASSERT_STR_EQ(jpath_str(v, "query.label"), "service_name");
        }
        /* the variable's data source is one of the provisioned ones */
        {
            json_t *pd = parsed_datasources(o);
            ds = json_object_get(pd, "datasources");
            for (size_t j = 0; j < json_array_size(ds); j++) {
                k = jpath_str(json_array_get(ds, j), "uid");
                found |= strcmp(k, jpath_str(v, "datasource.uid")) == 0;
            }
            json_decref(pd);
        }
        ASSERT_TRUE(found);
        json_decref(d);
        render_output_free(o);
        spec_stack_free(s);
    }
}

TEST(refs_digest_is_a_comment_and_changes_the_file)
{
    struct spec_stack *s = stack(FULL);
    struct render_output *a = NULL, *b = NULL, *c = NULL;
    struct render_options none = {0}, opt = {0};
    struct render_ref r1[] = {{"Secret", "mimir-auth", "10"}, {"ConfigMap", "ca", "7"}};
    struct render_ref r2[] = {{"ConfigMap", "ca", "7"}, {"Secret", "mimir-auth", "10"}};
    struct render_ref r3[] = {{"ConfigMap", "ca", "7"}, {"Secret", "mimir-auth", "11"}};
    char *d1 = render_refs_digest(r1, 2), *d2 = render_refs_digest(r2, 2), *d3 = render_refs_digest(r3, 2);
    const char *txt;

    ASSERT_TRUE(d1 && d2 && d3);
    ASSERT_STR_EQ(d1, d2); /* order-independent */
    ASSERT_TRUE(strcmp(d1, d3) != 0);
    ASSERT_TRUE(render_refs_digest(r1, 0) == NULL);
    /* zero options render exactly like render_stack */
    ASSERT_OK(render_stack(&a, s));
    ASSERT_OK(render_stack_opts(&b, s, &none));
    ASSERT_STR_EQ(a->digest, b->digest);
    opt.refs_digest = d1;
    ASSERT_OK(render_stack_opts(&c, s, &opt));
    ASSERT_TRUE(strcmp(a->digest, c->digest) != 0);
    txt = json_string_value(json_object_get(json_object_get(c->cms[RENDER_CM_DATASOURCES].object, "data"),
                                            "obs-prod-datasources.yaml"));
    ASSERT_TRUE(strncmp(txt, "# crosslink.dev/refs-digest: sha256:", 36) == 0);
    ASSERT_CONTAINS(txt, d1);
    /* the comment does not change what Grafana reads */
    {
        json_t *pa = parsed_datasources(a), *pc = parsed_datasources(c);
        int same = json_equal(pa, pc);
        json_decref(pa);
        json_decref(pc);
        ASSERT_TRUE(same);
    }
    render_output_free(c);
    c = NULL;
    opt.refs_digest = "sha256:bad\nprune: true";
    ASSERT_EQ(render_stack_opts(&c, s, &opt), OP_EINVALID);
    ASSERT_TRUE(c == NULL);
    render_output_free(a);
    render_output_free(b);
    free(d1);
    free(d2);
    free(d3);
    spec_stack_free(s);
}

TEST(org_prune_and_durations_render_for_grafana)
{
    struct spec_stack *s = stack(HDR "metadata: {name: w, namespace: ns}\nspec:\n"
                                     "  metrics: {url: 'http://m', scrapeInterval: 1m30s}\n"
                                     "  traces: {url: 'http://t', traceQueryTimeShift: {before: 1h, after: 1.5h}}\n"
                                     "  logs: {url: 'http://l'}\n"
                                     "  correlation: {timeShift: {before: 1h30m, after: '0'}}\n"
                                     "  grafana: {orgId: 3, prune: true}\n");
    struct render_output *o = NULL;
    json_t *doc, *tempo;
    char *txt = NULL;
    ASSERT_TRUE(s != NULL);
    ASSERT_OK(render_stack(&o, s));
    doc = parsed_datasources(o);
    ASSERT_TRUE(json_is_true(json_object_get(doc, "prune")));
    ASSERT_EQ(json_integer_value(jpath(ds_by_type(doc, "loki"), "orgId")), 3);
    ASSERT_STR_EQ(jpath_str(ds_by_type(doc, "prometheus"), "jsonData.timeInterval"), "90s");
    tempo = ds_by_type(doc, "tempo");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.tracesToLogsV2.spanStartTimeShift"), "-90m");
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.tracesToLogsV2.spanEndTimeShift"), "0s");
    ASSERT_TRUE(json_is_true(jpath(tempo, "jsonData.tracesToLogsV2.customQuery")));
    ASSERT_TRUE(json_is_true(jpath(tempo, "jsonData.traceQuery.timeShiftEnabled")));
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.traceQuery.spanStartTimeShift"), "1h"); /* positive: widens */
    ASSERT_STR_EQ(jpath_str(tempo, "jsonData.traceQuery.spanEndTimeShift"), "90m");
    ASSERT_TRUE(json_object_get(ds_by_type(doc, "loki"), "correlations") == NULL); /* opt-in */
    ASSERT_OK(render_dashboard_provider_yaml(&txt, s));
    ASSERT_CONTAINS(txt, "orgId: 3");
    free(txt);
    json_decref(doc);
    render_output_free(o);
    spec_stack_free(s);
}

TEST(grafana_correlations_are_opt_in_and_point_at_the_stack)
{
    struct spec_stack *s = stack(HDR "metadata: {name: c, namespace: ns}\nspec:\n"
                                     "  metrics: {url: 'http://m', uid: m}\n  traces: {url: 'http://t', uid: t}\n"
                                     "  logs: {url: 'http://l', uid: l}\n  correlation: {grafanaCorrelations: true}\n");
    struct render_output *o = NULL;
    json_t *doc, *c;
    char *h = NULL;
    ASSERT_TRUE(s != NULL);
    ASSERT_OK(render_stack(&o, s));
    doc = parsed_datasources(o);
    c = json_array_get(json_object_get(ds_by_type(doc, "loki"), "correlations"), 0);
    ASSERT_STR_EQ(jpath_str(c, "targetUID"), "t");
    ASSERT_STR_EQ(jpath_str(c, "config.field"), "Line");
    ASSERT_STR_EQ(jpath_str(c, "description"), "crosslink: trace id in the log line");
    ASSERT_STR_EQ(expanded(jpath(c, "config.target.query"), &h), "${trace_id}");
    c = json_array_get(json_object_get(ds_by_type(doc, "prometheus"), "correlations"), 0);
    ASSERT_STR_EQ(jpath_str(c, "targetUID"), "l");
    ASSERT_STR_EQ(expanded(jpath(c, "config.target.expr"), &h), "{service_name=\"${service_name}\"}");
    ASSERT_TRUE(json_object_get(ds_by_type(doc, "tempo"), "correlations") == NULL);
    free(h);
    json_decref(doc);
    render_output_free(o);
    spec_stack_free(s);
}

TEST(escape_dollars)
{
    char *e = render_escape_dollars("a$b$$c${d}");
    ASSERT_STR_EQ(e, "a$$b$$$$c$${d}");
    free(e);
    e = render_escape_dollars("");
    ASSERT_STR_EQ(e, "");
    free(e);
}

TEST_MAIN()
