/* test_spec.c — unit tests for pkg/spec: defaults, validation (every error,
 * with its field path), unknown fields, and file loading (multi-document,
 * List, other kinds). */
#include "core.h"
#include "spec.h"
#include "test.h"
#include "xy.h"

#include <stdlib.h>
#include <string.h>

#define HDR "apiVersion: crosslink.dev/v1alpha1\nkind: ObservabilityStack\n"

static json_t *doc(const char *yaml)
{
    json_t *docs = NULL, *d;
    if (xy_load(&docs, yaml, strlen(yaml)) < 0) {
        fprintf(stderr, "yaml: %s\n", op_err_last());
        return NULL;
    }
    d = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    return d;
}

/* Decodes yaml; returns the rc and fills errs (joined with '\n') in *msg. */
static int decode(const char *yaml, struct spec_stack **out, char **msg)
{
    struct spec_errors errs;
    json_t *d = doc(yaml);
    int rc;
    spec_errors_init(&errs);
    rc = spec_stack_from_json(out, d, NULL, &errs);
    *msg = spec_errors_format(&errs, "\n");
    spec_errors_cleanup(&errs);
    json_decref(d);
    return rc;
}

TEST(defaults)
{
    struct spec_stack *s = NULL;
    char *msg = NULL;
    ASSERT_OK(decode(HDR "metadata: {name: prod}\nspec:\n  metrics: {url: 'http://mimir/prometheus'}\n"
                         "  logs: {url: 'https://loki:3100'}\n",
                     &s, &msg));
    ASSERT_STR_EQ(msg, "");
    ASSERT_STR_EQ(s->meta.namespace, "default");
    const struct spec_backend *m = spec_stack_backend(s, SPEC_SIGNAL_METRICS);
    const struct spec_backend *l = spec_stack_backend(s, SPEC_SIGNAL_LOGS);
    ASSERT_TRUE(m && l);
    ASSERT_TRUE(spec_stack_backend(s, SPEC_SIGNAL_TRACES) == NULL);
    ASSERT_TRUE(spec_stack_backend(s, SPEC_SIGNAL_PROFILES) == NULL);
    ASSERT_STR_EQ(m->uid, "prod-metrics");
    ASSERT_STR_EQ(m->name, "Mimir (default/prod)");
    ASSERT_STR_EQ(m->flavor, "Mimir");
    ASSERT_STR_EQ(m->scrape_interval, "15s");
    ASSERT_EQ(m->scrape_interval_ms, 15000);
    ASSERT_EQ(m->is_default, 0);
    ASSERT_STR_EQ(l->uid, "prod-logs");
    ASSERT_STR_EQ(l->name, "Loki (default/prod)");
    ASSERT_EQ(l->max_lines, 1000);
    ASSERT_EQ(l->n_trace_id_fields, 3);
    ASSERT_EQ(l->trace_id_fields[0].matcher_type, SPEC_MATCHER_LABEL);
    ASSERT_STR_EQ(l->trace_id_fields[0].matcher_regex, "trace_id"); /* plain: "^trace_id$" needs Grafana 11.5 */
    ASSERT_STR_EQ(s->correlation.service_attribute, "service.name");
    ASSERT_STR_EQ(s->correlation.service_label, "service_name");
    ASSERT_STR_EQ(s->correlation.request_metric, "http_server_request_duration_seconds");
    ASSERT_EQ(s->correlation.n_exemplar_labels, 2);
    ASSERT_EQ(s->correlation.traces_to_logs.time_shift.before_ms, 300000);
    ASSERT_EQ(s->correlation.traces_to_logs.filter_by_trace_id, 1);
    ASSERT_EQ(s->correlation.traces_to_logs.tags.n, 1);
    ASSERT_EQ(s->correlation.traces_to_metrics.n_queries, 3);
    ASSERT_CONTAINS(s->correlation.traces_to_metrics.queries[2].query,
                    "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{$__tags}");
    ASSERT_STR_EQ(s->correlation.traces_to_profiles.profile_type, "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
    ASSERT_EQ(s->grafana.datasource_labels.n, 1);
    ASSERT_STR_EQ(s->grafana.datasource_labels.v[0].key, "grafana_datasource");
    ASSERT_STR_EQ(s->grafana.datasource_labels.v[0].value, "1");
    ASSERT_STR_EQ(s->grafana.dashboard_labels.v[0].key, "grafana_dashboard");
    ASSERT_STR_EQ(s->grafana.folder, "Observability");
    ASSERT_EQ(s->dashboards.service_overview, 1);
    ASSERT_STR_EQ(s->dashboards.uid, "xl-2e159cc5a46c64344c9a"); /* sha256("default/prod") */
    ASSERT_EQ(s->verify.interval_ms, 60000);
    ASSERT_EQ(s->verify.timeout_ms, 5000);
    free(msg);
    spec_stack_free(s);
}

TEST(overrides)
{
    struct spec_stack *s = NULL;
    char *msg = NULL;
    ASSERT_OK(decode(HDR "metadata: {name: x, namespace: team-a}\nspec:\n"
                         "  traces: {url: 'http://tempo:3200', uid: t, name: My Tempo, tenant: a|b}\n"
                         "  profiles: {url: 'http://p:4040', profileType: 'memory:alloc_space:bytes:space:bytes'}\n"
                         "  correlation:\n"
                         "    serviceLabel: service\n"
                         "    extraTags: [{attribute: http.route, label: http_route}]\n"
                         "    timeShift: {before: 10m, after: 1m}\n"
                         "    exemplarLabels: [traceId]\n"
                         "    tracesToLogs: {tags: [{attribute: a, label: b}], filterBySpanID: true, query: '{a=\"b\"}'}\n"
                         "    tracesToMetrics: {queries: [{name: Q, query: 'up{$__tags}'}], timeShift: {before: 2m}}\n"
                         "  grafana: {datasourceLabels: {b: '2', a: x}, folder: Ops}\n"
                         "  verify: {interval: 2m, timeout: 10s}\n",
                     &s, &msg));
    ASSERT_STR_EQ(msg, "");
    ASSERT_STR_EQ(s->backends[SPEC_SIGNAL_TRACES].uid, "t");
    ASSERT_STR_EQ(s->backends[SPEC_SIGNAL_TRACES].name, "My Tempo");
    ASSERT_STR_EQ(s->backends[SPEC_SIGNAL_TRACES].tenant, "a|b");
    ASSERT_STR_EQ(s->backends[SPEC_SIGNAL_PROFILES].name, "Pyroscope (team-a/x)");
    ASSERT_STR_EQ(s->correlation.traces_to_profiles.profile_type, "memory:alloc_space:bytes:space:bytes");
    ASSERT_EQ(s->correlation.traces_to_logs.tags.n, 1);
    ASSERT_STR_EQ(s->correlation.traces_to_logs.tags.v[0].label, "b");
    ASSERT_EQ(s->correlation.traces_to_logs.filter_by_span_id, 1);
    ASSERT_STR_EQ(s->correlation.traces_to_logs.query, "{a=\"b\"}");
    ASSERT_STR_EQ(s->correlation.traces_to_logs.time_shift.before, "10m");
    ASSERT_STR_EQ(s->correlation.traces_to_metrics.time_shift.before, "2m");
    ASSERT_STR_EQ(s->correlation.traces_to_metrics.time_shift.after, "1m");
    ASSERT_EQ(s->correlation.traces_to_metrics.tags.n, 2); /* service + extraTags */
    ASSERT_STR_EQ(s->correlation.traces_to_metrics.tags.v[0].label, "service");
    ASSERT_EQ(s->correlation.traces_to_metrics.n_queries, 1);
    ASSERT_EQ(s->correlation.n_exemplar_labels, 1);
    ASSERT_EQ(s->grafana.datasource_labels.n, 2);
    ASSERT_STR_EQ(s->grafana.datasource_labels.v[0].key, "a"); /* sorted */
    ASSERT_STR_EQ(s->grafana.folder, "Ops");
    ASSERT_EQ(s->verify.interval_ms, 120000);
    free(msg);
    spec_stack_free(s);
}

/* Each case: YAML and the substrings the error list must contain. */
struct bad_case {
    const char *yaml;
    const char *want[4];
};

TEST(validation_errors_name_their_path)
{
    static const struct bad_case cases[] = {
        {HDR "metadata: {name: a}\nspec:\n  logs: {url: 'ftp://loki'}\n",
         {"spec.logs.url: must be an http or https URL"}},
        {HDR "metadata: {name: a}\nspec:\n  logs: {url: 'http://'}\n", {"spec.logs.url: must be an http or https URL"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', scrapeInterval: 15 seconds}\n",
         {"spec.metrics.scrapeInterval: must be a duration"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m'}\n  verify: {interval: 1x}\n",
         {"spec.verify.interval: must be a duration"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', uid: same}\n  traces: {url: 'http://t', uid: same}\n",
         {"spec.traces.uid: duplicate data source UID \"same\" (also used by spec.metrics)"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', uid: a-traces}\n  traces: {url: 'http://t'}\n",
         {"spec.traces.uid: duplicate data source UID \"a-traces\""}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', uid: abcdefghijabcdefghijabcdefghijabcdefghijX}\n",
         {"spec.metrics.uid: must be 1-40 characters of [A-Za-z0-9_-]"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', uid: 'bad uid'}\n",
         {"spec.metrics.uid: must be 1-40 characters"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', scrapeInterval: 500us}\n",
         {"spec.metrics.scrapeInterval: must be a whole number of milliseconds"}},
        {HDR "metadata: {name: a}\nspec:\n  logs: {url: 'http://l'}\n  correlation: {timeShift: {before: 1.0005s}}\n",
         {"spec.correlation.timeShift.before: must be a whole number of milliseconds"}},
        {HDR "metadata: {name: a}\nspec:\n  traces: {url: 'http://t', traceQueryTimeShift: {after: 1h1ns}}\n",
         {"spec.traces.traceQueryTimeShift.after: must be a whole number of milliseconds"}},
        {HDR "metadata: {name: a}\nspec:\n  logs: {url: 'http://l', traceIdFields: [{name: t, matcherType: label, "
             "matcherRegex: '^trace_id$'}]}\n",
         {"spec.logs.traceIdFields[0].matcherRegex: with matcherType label must be a plain label name"}},
        {HDR "metadata: {name: a}\nspec:\n  logs: {url: 'http://l'}\n  grafana: {orgId: 0, prune: maybe}\n",
         {"spec.grafana.orgId: must be between 1 and", "spec.grafana.prune: must be true or false"}},
        {HDR "metadata: {name: a}\nspec:\n  logs: {url: 'http://l'}\n  correlation: {histograms: exponential}\n",
         {"spec.correlation.histograms: must be classic or native"}},
        {HDR "metadata: {name: a}\nspec:\n  logs: {enabled: false, url: ''}\n  metrics: {url: 'http://m'}\n",
         {"spec.logs.url: must not be empty"}},
        {HDR "metadata: {name: a}\nspec: {}\n", {"spec: at least one of metrics, traces, logs, profiles must be set"}},
        {HDR "metadata: {name: a}\nspec:\n  grafana: {folder: x}\n", {"spec: at least one of"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', foo: 1}\n  bar: {}\n",
         {"spec.metrics.foo: unknown field", "spec.bar: unknown field"}},
        {HDR "metadata: {name: a}\nspec:\n  logs: {url: 'http://l', traceIdFields: [{name: x, matcherRegex: y, extra: 1}]}\n",
         {"spec.logs.traceIdFields[0].extra: unknown field"}},
        {HDR "metadata: {name: a}\nspec:\n  correlation: {timeShift: {before: 5m, sideways: 1m}}\n  logs: {url: 'http://l'}\n",
         {"spec.correlation.timeShift.sideways: unknown field"}},
        {HDR "metadata: {name: a}\nextra: 1\nspec:\n  logs: {url: 'http://l'}\n", {"extra: unknown field"}},
        {HDR "metadata: {name: Bad_Name}\nspec:\n  logs: {url: 'http://l'}\n", {"metadata.name: must be a lowercase DNS label"}},
        {HDR "metadata: {}\nspec:\n  logs: {url: 'http://l'}\n", {"metadata.name: required"}},
        {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nspec:\n  logs: {url: 'http://l'}\n",
         {"apiVersion: must be crosslink.dev/v1alpha1", "kind: must be ObservabilityStack"}},
        {HDR "metadata: {name: a}\nspec:\n  logs: {}\n", {"spec.logs.url: required"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', flavor: Graphite, default: yes, tenant: 'a b'}\n"
             "  logs: {url: 'http://l', default: true, maxLines: 0}\n",
         {"spec.metrics.flavor: must be one of", "spec: at most one data source may be the default",
          "spec.metrics.tenant: must consist of", "spec.logs.maxLines: must be between 1 and 100000"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics:\n    url: 'http://m'\n    auth:\n      basic: {username: u, "
             "passwordSecretRef: {name: s, key: k}}\n      bearerTokenSecretRef: {name: s, key: t}\n"
             "    tls: {caSecretRef: {name: c, key: k}, caConfigMapRef: {name: c, key: k}}\n",
         {"spec.metrics.auth: set at most one of basic and bearerTokenSecretRef",
          "spec.metrics.tls: set at most one of caSecretRef and caConfigMapRef"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics:\n    url: 'http://m'\n    auth: {basic: {username: u, passwordSecretRef: "
             "{name: Not_DNS, key: 'a/b'}}}\n",
         {"spec.metrics.auth.basic.passwordSecretRef.name: must be a valid Secret name",
          "spec.metrics.auth.basic.passwordSecretRef.key: must consist of"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m'}\n  verify: {interval: 10s, timeout: 20s}\n",
         {"spec.verify.timeout: must not exceed interval"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m'}\n  verify: {interval: 500ms}\n",
         {"spec.verify.interval: must be 0 (no periodic checks) or at least 1s"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m'}\n  grafana: {datasourceLabels: {'bad key!': x, ok: 'bad value!'}}\n",
         {"spec.grafana.datasourceLabels.bad key!: invalid label key", "spec.grafana.datasourceLabels.ok: must be a valid label value"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: 5\n", {"spec.metrics: must be an object"}},
        {HDR "metadata: {name: a}\nspec:\n  metrics: {url: ['http://m']}\n", {"spec.metrics.url: must be a string"}},
        {HDR "metadata: {name: a}\nspec:\n  profiles: {url: 'http://p', profileType: cpu}\n",
         {"spec.profiles.profileType: must be name:sample_type:sample_unit:period_type:period_unit"}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct spec_stack *s = NULL;
        char *msg = NULL;
        int rc = decode(cases[i].yaml, &s, &msg);
        if (rc != OP_EINVALID) {
            spec_stack_free(s);
            free(msg);
            TEST_FAIL_("case %zu: rc %d, want OP_EINVALID", i, rc);
        }
        ASSERT_TRUE(s == NULL);
        for (size_t j = 0; j < 4 && cases[i].want[j]; j++) {
            if (!strstr(msg, cases[i].want[j])) {
                fprintf(stderr, "  case %zu: errors:\n%s\n", i, msg);
                free(msg);
                TEST_FAIL_("case %zu: missing \"%s\"", i, cases[i].want[j]);
            }
        }
        free(msg);
    }
}

TEST(all_errors_are_reported)
{
    struct spec_stack *s = NULL;
    char *msg = NULL;
    struct spec_errors errs;
    json_t *d = doc(HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'gopher://m', scrapeInterval: soon}\n"
                        "  logs: {url: 'http://l', uid: '!'}\n  nonsense: 1\n");
    spec_errors_init(&errs);
    ASSERT_EQ(spec_stack_from_json(&s, d, NULL, &errs), OP_EINVALID);
    ASSERT_EQ(errs.n, 4);
    msg = spec_errors_format(&errs, "; ");
    ASSERT_CONTAINS(msg, "spec.metrics.url: must be an http or https URL; ");
    ASSERT_CONTAINS(op_err_last(), "spec.nonsense: unknown field");
    free(msg);
    spec_errors_cleanup(&errs);
    json_decref(d);
}

TEST(default_namespace_argument)
{
    struct spec_stack *s = NULL;
    json_t *d = doc(HDR "metadata: {name: a}\nspec:\n  traces: {url: 'http://t'}\n");
    ASSERT_OK(spec_stack_from_json(&s, d, "obs", NULL));
    ASSERT_STR_EQ(s->meta.namespace, "obs");
    ASSERT_STR_EQ(s->backends[SPEC_SIGNAL_TRACES].name, "Tempo (obs/a)");
    spec_stack_free(s);
    json_decref(d);
}

TEST(verify_interval_zero_disables_periodic_checks)
{
    struct spec_stack *s = NULL;
    json_t *d = doc(HDR "metadata: {name: a}\nspec:\n  traces: {url: 'http://t'}\n  verify: {interval: 0s, timeout: 5s}\n");
    ASSERT_OK(spec_stack_from_json(&s, d, "obs", NULL));
    ASSERT_EQ(s->verify.interval_ms, 0);
    ASSERT_EQ(s->verify.timeout_ms, 5000);
    spec_stack_free(s);
    json_decref(d);
}

TEST(disabled_signal_is_not_configured)
{
    struct spec_stack *s = NULL;
    char *msg = NULL;
    ASSERT_OK(decode(HDR "metadata: {name: a}\nspec:\n  traces: {url: 'http://t', enabled: false}\n"
                         "  logs: {url: 'http://l'}\n",
                     &s, &msg));
    ASSERT_TRUE(spec_stack_backend(s, SPEC_SIGNAL_TRACES) == NULL);
    ASSERT_TRUE(spec_stack_backend(s, SPEC_SIGNAL_LOGS) != NULL);
    free(msg);
    spec_stack_free(s);
}

TEST(load_multi_doc_and_list)
{
    const char *text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ignored}\n"
                       "---\n" HDR "metadata: {name: one}\nspec: {logs: {url: 'http://l'}}\n"
                       "---\n"
                       "apiVersion: v1\nkind: List\nitems:\n"
                       "- " "apiVersion: crosslink.dev/v1alpha1\n  kind: ObservabilityStack\n  metadata: {name: two}\n"
                       "- {apiVersion: crosslink.dev/v1alpha1, kind: ObservabilityStack, metadata: {name: three}}\n"
                       "---\n";
    json_t *docs = NULL;
    ASSERT_OK(spec_load_string(&docs, text, strlen(text)));
    ASSERT_EQ(json_array_size(docs), 3);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(json_array_get(docs, 2), "metadata"), "name")),
                  "three");
    json_decref(docs);

    ASSERT_EQ(spec_load_string(&docs, "a: 1\n", 5), OP_EINVALID);
    ASSERT_EQ(spec_load_string(&docs, "- 1\n", 4), OP_EINVALID);
    ASSERT_EQ(spec_load_file(&docs, "/nonexistent/x.yaml"), OP_ENOTFOUND);
}

TEST(examples_are_valid)
{
    static const char *const files[] = {XL_SOURCE_DIR "/examples/stack.yaml", XL_SOURCE_DIR "/examples/minimal.yaml"};
    for (size_t i = 0; i < 2; i++) {
        json_t *docs = NULL;
        struct spec_stack *s = NULL;
        struct spec_errors errs;
        char *msg;
        ASSERT_OK(spec_load_file(&docs, files[i]));
        spec_errors_init(&errs);
        int rc = spec_stack_from_json(&s, json_array_get(docs, 0), NULL, &errs);
        msg = spec_errors_format(&errs, "\n");
        if (rc != 0)
            fprintf(stderr, "  %s:\n%s\n", files[i], msg);
        free(msg);
        spec_errors_cleanup(&errs);
        json_decref(docs);
        ASSERT_OK(rc);
        spec_stack_free(s);
    }
}

/* Builds an instance with EVERY property the schema declares (values need
 * not be valid, only present). */
static json_t *instance_of(const json_t *schema)
{
    const char *type = json_string_value(json_object_get(schema, "type"));
    json_t *props = json_object_get(schema, "properties");
    json_t *enm = json_object_get(schema, "enum");
    if (json_array_size(enm))
        return json_deep_copy(json_array_get(enm, 0));
    if (type && strcmp(type, "object") == 0) {
        json_t *o = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(props, k, v) json_object_set_new(o, k, instance_of(v));
        return o;
    }
    if (type && strcmp(type, "array") == 0) {
        json_t *a = json_array();
        json_array_append_new(a, instance_of(json_object_get(schema, "items")));
        return a;
    }
    if (type && strcmp(type, "boolean") == 0)
        return json_false();
    if (type && strcmp(type, "integer") == 0)
        return json_integer(1);
    return json_string("x");
}

TEST(decoder_accepts_every_crd_field)
{
    json_t *docs = NULL, *schema, *spec, *obj;
    struct spec_stack *s = NULL;
    struct spec_errors errs;
    ASSERT_OK(xy_load_file(&docs, XL_SOURCE_DIR "/crds/crosslink.dev_observabilitystacks.yaml"));
    schema = json_object_get(json_array_get(json_object_get(json_object_get(json_array_get(docs, 0), "spec"), "versions"), 0),
                             "schema");
    spec = json_object_get(json_object_get(json_object_get(schema, "openAPIV3Schema"), "properties"), "spec");
    ASSERT_TRUE(spec != NULL);
    ASSERT_TRUE(json_object_size(json_object_get(spec, "properties")) == 8);
    obj = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", SPEC_API_VERSION, "kind", SPEC_KIND, "metadata", "name",
                    "x", "spec", instance_of(spec));
    spec_errors_init(&errs);
    spec_stack_from_json(&s, obj, NULL, &errs);
    spec_stack_free(s);
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.v[i], "unknown field")) {
            fprintf(stderr, "  CRD field rejected by the decoder: %s\n", errs.v[i]);
            *test_failed_ = 1;
        }
    ASSERT_TRUE(errs.n > 0); /* "x" is not a valid URL etc.: the instance really was checked */
    spec_errors_cleanup(&errs);
    json_decref(obj);
    json_decref(docs);
}

TEST(dashboard_uid_is_unique_per_namespace)
{
    struct spec_stack *a = NULL, *b = NULL;
    json_t *d = doc(HDR "metadata: {name: prod}\nspec:\n  logs: {url: 'http://l'}\n");
    ASSERT_OK(spec_stack_from_json(&a, d, "team-a", NULL));
    ASSERT_OK(spec_stack_from_json(&b, d, "team-b", NULL));
    ASSERT_TRUE(strcmp(a->dashboards.uid, b->dashboards.uid) != 0);
    ASSERT_EQ(strlen(a->dashboards.uid), 23);
    ASSERT_TRUE(strncmp(a->dashboards.uid, "xl-", 3) == 0);
    spec_stack_free(a);
    spec_stack_free(b);
    json_decref(d);
}

TEST(durations_read_as_grafana_reads_them)
{
    static const struct {
        const char *in;
        int64_t ms;
        const char *grafana; /* spec_duration_format: one integer, one unit */
    } ok[] = {{"0", 0, "0s"},          {"0s", 0, "0s"},           {"15s", 15000, "15s"},
              {"1h30m", 5400000, "90m"}, {"1.5h", 5400000, "90m"}, {"1m30s", 90000, "90s"},
              {"1.5m", 90000, "90s"},  {"2h", 7200000, "2h"},     {"1500ms", 1500, "1500ms"},
              {"1.0005s", -1, NULL},   {"500us", -1, NULL},       {"1000us", 1, "1ms"},
              {"2500000ns", -1, NULL}, {"3000000ns", 3, "3ms"},   {".5s", 500, "500ms"},
              {"24h", 86400000, "24h"}, {"1h0m1s", 3601000, "3601s"}, {"1.00000000000000000001s", -1, NULL}};
    char buf[SPEC_DURATION_BUF];
    int64_t ms;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int rc = spec_duration_parse_exact(ok[i].in, 0, &ms);
        if (ok[i].ms < 0) {
            if (rc != OP_ERR)
                TEST_FAIL_("%s: rc %d, want OP_ERR (not whole ms)", ok[i].in, rc);
            continue;
        }
        if (rc != 0 || ms != ok[i].ms)
            TEST_FAIL_("%s: rc %d ms %lld, want %lld", ok[i].in, rc, (long long)ms, (long long)ok[i].ms);
        ASSERT_STR_EQ(spec_duration_format(ms, buf), ok[i].grafana);
    }
    ASSERT_STR_EQ(spec_duration_format(-300000, buf), "-5m");
    ASSERT_EQ(spec_duration_parse_exact("-5m", 0, &ms), OP_EINVALID);
    ASSERT_EQ(spec_duration_parse_exact("5", 0, &ms), OP_EINVALID);
    ASSERT_EQ(spec_duration_parse_exact("5d", 0, &ms), OP_EINVALID);
    ASSERT_EQ(spec_duration_parse_exact("99999999999999h", 0, &ms), OP_EINVALID);
    ASSERT_OK(spec_duration_parse_exact("-5m", 1, &ms));
    ASSERT_EQ(ms, -300000);
}

TEST(default_uids_always_fit_and_never_move)
{
    struct spec_stack *s = NULL;
    char *msg = NULL;
    /* a UID that already fits is unchanged (31 + "-profiles" = 40) */
    ASSERT_OK(decode(HDR "metadata: {name: abcdefghijabcdefghijabcdefghija}\nspec:\n  profiles: {url: 'http://p'}\n",
                     &s, &msg));
    ASSERT_STR_EQ(s->backends[SPEC_SIGNAL_PROFILES].uid, "abcdefghijabcdefghijabcdefghija-profiles");
    spec_stack_free(s);
    free(msg);
    /* 63 characters: cut + 8 hex of sha256(name) + signal, <= 40, distinct */
    ASSERT_OK(decode(HDR "metadata: {name: a-very-long-stack-name-that-uses-all-sixty-three-characters-ok}\nspec:\n"
                         "  metrics: {url: 'http://m'}\n  traces: {url: 'http://t'}\n  logs: {url: 'http://l'}\n"
                         "  profiles: {url: 'http://p'}\n",
                     &s, &msg));
    ASSERT_STR_EQ(msg, "");
    for (int i = 0; i < SPEC_SIGNAL_COUNT; i++) {
        const char *uid = s->backends[i].uid;
        ASSERT_TRUE(strlen(uid) <= SPEC_UID_MAX);
        ASSERT_CONTAINS(uid, "-9cbf1cd6-");
        for (int j = 0; j < i; j++)
            ASSERT_TRUE(strcmp(uid, s->backends[j].uid) != 0);
    }
    ASSERT_STR_EQ(s->backends[SPEC_SIGNAL_PROFILES].uid, "a-very-long-stack-name-9cbf1cd6-profiles");
    spec_stack_free(s);
    free(msg);
}

TEST(grafana_wiring_fields)
{
    struct spec_stack *s = NULL;
    char *msg = NULL;
    ASSERT_OK(decode(HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m'}\n  traces: {url: 'http://t'}\n"
                         "  logs: {url: 'http://l'}\n",
                     &s, &msg));
    ASSERT_EQ(s->grafana.org_id, 1);
    ASSERT_EQ(s->grafana.prune, 0);
    ASSERT_EQ(s->correlation.histograms, SPEC_HISTOGRAMS_CLASSIC);
    ASSERT_EQ(s->backends[SPEC_SIGNAL_TRACES].trace_query_set, 0);
    ASSERT_EQ(spec_stack_default_signal(s), -1);
    /* default trace -> logs query: line OR structured metadata */
    ASSERT_EQ(s->correlation.traces_to_logs.query_is_default, 1);
    ASSERT_CONTAINS(s->correlation.traces_to_logs.query, "xl_line=~\".*${__span.traceId}.*\" or trace_id=\"${__span.traceId}\"");
    ASSERT_NOT_CONTAINS(s->correlation.traces_to_logs.query, "spanId");
    ASSERT_CONTAINS(s->correlation.traces_to_metrics.queries[0].query, "_count{$__tags}");
    spec_stack_free(s);
    free(msg);

    ASSERT_OK(decode(HDR "metadata: {name: a}\nspec:\n  metrics: {url: 'http://m', default: true}\n"
                         "  traces: {url: 'http://t', traceQueryTimeShift: {before: 1h}}\n  logs: {url: 'http://l'}\n"
                         "  correlation: {histograms: native, tracesToLogs: {filterByTraceID: false}}\n"
                         "  grafana: {orgId: 7, prune: true}\n",
                     &s, &msg));
    ASSERT_EQ(s->grafana.org_id, 7);
    ASSERT_EQ(s->grafana.prune, 1);
    ASSERT_EQ(spec_stack_default_signal(s), SPEC_SIGNAL_METRICS);
    ASSERT_EQ(s->backends[SPEC_SIGNAL_TRACES].trace_query_set, 1);
    ASSERT_EQ(s->backends[SPEC_SIGNAL_TRACES].trace_query.before_ms, 3600000);
    ASSERT_EQ(s->backends[SPEC_SIGNAL_TRACES].trace_query.after_ms, 1800000); /* Tempo's own default */
    ASSERT_TRUE(s->correlation.traces_to_logs.query == NULL); /* no filter: Grafana's own query */
    ASSERT_CONTAINS(s->correlation.traces_to_metrics.queries[0].query, "histogram_count(rate(");
    ASSERT_NOT_CONTAINS(s->correlation.traces_to_metrics.queries[2].query, "_bucket");
    spec_stack_free(s);
    free(msg);

    /* the user's query is kept as written */
    ASSERT_OK(decode(HDR "metadata: {name: a}\nspec:\n  traces: {url: 'http://t'}\n  logs: {url: 'http://l'}\n"
                         "  correlation: {tracesToLogs: {query: '{a=\"b\"}'}}\n",
                     &s, &msg));
    ASSERT_STR_EQ(s->correlation.traces_to_logs.query, "{a=\"b\"}");
    ASSERT_EQ(s->correlation.traces_to_logs.query_is_default, 0);
    spec_stack_free(s);
    free(msg);

    /* a disabled signal needs no URL */
    ASSERT_OK(decode(HDR "metadata: {name: a}\nspec:\n  logs: {url: 'http://l'}\n  metrics: {enabled: false}\n", &s, &msg));
    ASSERT_STR_EQ(msg, "");
    ASSERT_TRUE(spec_stack_backend(s, SPEC_SIGNAL_METRICS) == NULL);
    spec_stack_free(s);
    free(msg);
}

TEST(referenced_objects_for_the_refs_digest)
{
    struct spec_stack *s = NULL;
    struct spec_ref refs[SPEC_REFS_MAX];
    char *msg = NULL;
    ASSERT_OK(decode(HDR "metadata: {name: a}\nspec:\n"
                         "  metrics: {url: 'http://m', auth: {basic: {username: u, passwordSecretRef: {name: pw, key: k}}},"
                         " tls: {caConfigMapRef: {name: ca, key: c}}}\n"
                         "  traces: {url: 'http://t', auth: {bearerTokenSecretRef: {name: pw, key: t}}}\n"
                         "  logs: {url: 'http://l', tls: {caSecretRef: {name: ca-s, key: c}}}\n"
                         "  profiles: {enabled: false, url: 'http://p', auth: {bearerTokenSecretRef: {name: prof, key: t}}}\n",
                     &s, &msg));
    ASSERT_EQ(spec_stack_refs(s, refs), 3); /* pw once; disabled profiles not read */
    ASSERT_STR_EQ(refs[0].kind, "ConfigMap");
    ASSERT_STR_EQ(refs[0].name, "ca");
    ASSERT_STR_EQ(refs[1].name, "ca-s");
    ASSERT_STR_EQ(refs[2].name, "pw");
    spec_stack_free(s);
    free(msg);
}

TEST(signal_names)
{
    ASSERT_STR_EQ(spec_signal_name(SPEC_SIGNAL_METRICS), "metrics");
    ASSERT_STR_EQ(spec_signal_name(SPEC_SIGNAL_PROFILES), "profiles");
    ASSERT_STR_EQ(spec_signal_title(SPEC_SIGNAL_TRACES), "Traces");
    ASSERT_STR_EQ(spec_signal_grafana_type(SPEC_SIGNAL_PROFILES), "grafana-pyroscope-datasource");
}

TEST_MAIN()
