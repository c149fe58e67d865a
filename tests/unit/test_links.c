/* test_links.c — the pure link evaluator (pkg/links) against canned backend
 * answers: what it asks (exemplar selector, Grafana's trace→logs query with
 * the trace-id filter, span profile request, tenant-free paths) and how it
 * judges (Verified / Broken with the cause in the user's terms / NoData),
 * plus the helpers (unescape, JS regex → ERE, durations, key, condition). */
#include "links.h"
#include "links_stack.h"
#include "render.h"
#include "spec.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define NOW_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

/* ---- fake backends -------------------------------------------------------- */

struct canned {
    int sig;
    const char *prefix;  /* path prefix */
    const char *needle;  /* must occur in path+query or body (NULL = any) */
    int status;
    const char *body;
};

struct fake {
    const struct canned *c;
    size_t n;
    char log[16384];
};

static int fake_fetch(void *ud, int sig, const char *method, const char *pq, const char *body,
                      const char *ctype, struct links_http *resp)
{
    struct fake *f = ud;
    size_t i, l = strlen(f->log);
    (void)ctype;
    snprintf(f->log + l, sizeof f->log - l, "%d %s %s%s%s\n", sig, method, pq, body ? " " : "", body ? body : "");
    for (i = 0; i < f->n; i++) {
        const struct canned *c = &f->c[i];
        if (c->sig != sig || strncmp(pq, c->prefix, strlen(c->prefix)) != 0)
            continue;
        if (c->needle && !strstr(pq, c->needle) && !(body && strstr(body, c->needle)))
            continue;
        resp->status = c->status;
        resp->body = strdup(c->body);
        resp->len = strlen(c->body);
        return 0;
    }
    resp->status = 404;
    resp->body = strdup("404 page not found");
    resp->len = strlen(resp->body);
    return 0;
}

/* The provisioning as pkg/render writes it ($$-escaped), kept literal here so
 * the evaluator is tested on the generic shape, not on today's renderer. */
static const char *DOC =
    "{\"apiVersion\":1,\"datasources\":["
    "{\"name\":\"M\",\"type\":\"prometheus\",\"uid\":\"mimir\",\"url\":\"http://m\",\"jsonData\":{"
    "  \"timeInterval\":\"15s\","
    "  \"exemplarTraceIdDestinations\":[{\"name\":\"trace_id\",\"datasourceUid\":\"tempo\"},"
    "                                   {\"name\":\"traceID\",\"datasourceUid\":\"tempo\"}]}},"
    "{\"name\":\"T\",\"type\":\"tempo\",\"uid\":\"tempo\",\"url\":\"http://t\",\"jsonData\":{"
    "  \"serviceMap\":{\"datasourceUid\":\"mimir\"},"
    "  \"tracesToLogsV2\":{\"datasourceUid\":\"loki\",\"filterByTraceID\":true,\"customQuery\":false,"
    "     \"spanStartTimeShift\":\"-5m\",\"spanEndTimeShift\":\"5m\","
    "     \"tags\":[{\"key\":\"service.name\",\"value\":\"service_name\"},"
    "               {\"key\":\"k8s.namespace.name\",\"value\":\"k8s_namespace_name\"}]},"
    "  \"tracesToMetrics\":{\"datasourceUid\":\"mimir\",\"spanStartTimeShift\":\"-5m\",\"spanEndTimeShift\":\"5m\","
    "     \"tags\":[{\"key\":\"service.name\",\"value\":\"service_name\"}],"
    "     \"queries\":[{\"name\":\"Request rate\",\"query\":\"sum(rate(http_server_request_duration_seconds_count{$$__tags}[$$__rate_interval]))\"}]},"
    "  \"tracesToProfiles\":{\"datasourceUid\":\"pyro\",\"profileTypeId\":\"process_cpu:cpu:nanoseconds:cpu:nanoseconds\","
    "     \"customQuery\":false,\"tags\":[{\"key\":\"service.name\",\"value\":\"service_name\"}]}}},"
    "{\"name\":\"L\",\"type\":\"loki\",\"uid\":\"loki\",\"url\":\"http://l\",\"jsonData\":{\"derivedFields\":["
    "  {\"name\":\"TraceID\",\"matcherType\":\"label\",\"matcherRegex\":\"trace_id\",\"datasourceUid\":\"tempo\",\"url\":\"$${__value.raw}\"},"
    "  {\"name\":\"TraceIDLogfmt\",\"matcherType\":\"regex\",\"matcherRegex\":\"\\\\b(?:trace_id|traceID)=(\\\\w+)\","
    "   \"datasourceUid\":\"tempo\",\"url\":\"$${__value.raw}\"}]}},"
    "{\"name\":\"P\",\"type\":\"grafana-pyroscope-datasource\",\"uid\":\"pyro\",\"url\":\"http://p\",\"jsonData\":{}}"
    "]}";

#define TRACE_JSON(profile_attr)                                                                              \
    "{\"batches\":[{\"resource\":{\"attributes\":["                                                           \
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"                                    \
    "{\"key\":\"k8s.namespace.name\",\"value\":{\"stringValue\":\"shop\"}}]},"                                \
    "\"scopeSpans\":[{\"spans\":["                                                                            \
    "{\"traceId\":\"S/kvNXezTaajzpKdDg5HNg==\",\"spanId\":\"APBnqgupArc=\",\"name\":\"POST /secret-route\","   \
    "\"startTimeUnixNano\":\"1767225500000000000\",\"endTimeUnixNano\":\"1767225500120000000\","              \
    "\"attributes\":[" profile_attr "]},"                                                                     \
    "{\"traceId\":\"S/kvNXezTaajzpKdDg5HNg==\",\"spanId\":\"U5lcP0LNitg=\",\"parentSpanId\":\"APBnqgupArc=\"," \
    "\"name\":\"child\",\"startTimeUnixNano\":\"1767225500010000000\",\"endTimeUnixNano\":\"1767225500090000000\"}" \
    "]}]}]}"
#define PROFILE_ATTR "{\"key\":\"pyroscope.profile.id\",\"value\":{\"stringValue\":\"00f067aa0ba902b7\"}}"

#define EXEMPLARS(label)                                                                                      \
    "{\"status\":\"success\",\"data\":[{\"seriesLabels\":{\"__name__\":\"http_server_request_duration_seconds_bucket\"}," \
    "\"exemplars\":[{\"labels\":{\"" label "\":\"" TID "\"},\"value\":\"0.12\",\"timestamp\":1767225590.1}]}]}"

#define LOKI_LINES                                                                                            \
    "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":"                   \
    "{\"service_name\":\"checkout\"},\"values\":[[\"1767225500020000000\","                                   \
    "\"level=info msg=\\\"card number 4111\\\" trace_id=" TID "\"]]}]}}"
#define LOKI_EMPTY "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[]}}"
#define PROM_ONE "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,\"1\"]]}]}}"
#define SERIES_ONE "{\"status\":\"success\",\"data\":[{\"__name__\":\"traces_service_graph_request_total\"}]}"
#define FLAME(n) "{\"flamegraph\":{\"names\":[\"total\"],\"levels\":[],\"total\":\"" n "\",\"maxSelf\":\"0\"}}"

static const struct canned GOOD[] = {
    {PROBE_METRICS, "/api/v1/query_exemplars", NULL, 200, EXEMPLARS("trace_id")},
    {PROBE_METRICS, "/api/v1/query_range", NULL, 200, PROM_ONE},
    {PROBE_METRICS, "/api/v1/series", NULL, 200, SERIES_ONE},
    {PROBE_TRACES, "/api/traces/" TID, NULL, 200, TRACE_JSON(PROFILE_ATTR)},
    {PROBE_LOGS, "/loki/api/v1/query_range", NULL, 200, LOKI_LINES},
    {PROBE_PROFILES, "/querier.v1.QuerierService/SelectMergeSpanProfile", NULL, 200, FLAME("100")},
};

static struct probe_target T[PROBE_NSIGNALS] = {
    {.signal = PROBE_METRICS, .url = "http://m", .tenant = "team-a"},
    {.signal = PROBE_TRACES, .url = "http://t", .tenant = "team-a"},
    {.signal = PROBE_LOGS, .url = "http://l", .tenant = "team-a"},
    {.signal = PROBE_PROFILES, .url = "http://p", .tenant = "team-a"},
};

static json_t *doc_load(const char *s)
{
    json_error_t e;
    json_t *d = json_loads(s, 0, &e);
    if (!d)
        fprintf(stderr, "bad test doc: %s at %d\n", e.text, e.position);
    return d;
}

static void input_init(struct links_input *in, const json_t *doc)
{
    int k;
    memset(in, 0, sizeof *in);
    in->datasources = doc;
    for (k = 0; k < PROBE_NSIGNALS; k++)
        in->targets[k] = &T[k];
    in->request_metric = "http_server_request_duration_seconds";
}

static const struct links_check *find(const struct links_report *r, int link)
{
    size_t i;
    for (i = 0; i < r->n; i++)
        if (r->checks[i].link == link)
            return &r->checks[i];
    return NULL;
}

/* Runs DOC (or doc_s) against canned answers: a copy of GOOD with
 * overrides put first. */
static void run(const char *doc_s, const struct canned *over, size_t nover, struct fake *f, struct links_report *r)
{
    static struct canned all[32];
    struct links_input in;
    json_t *doc = doc_load(doc_s ? doc_s : DOC);
    size_t i, n = 0;
    for (i = 0; i < nover; i++)
        all[n++] = over[i];
    for (i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++)
        all[n++] = GOOD[i];
    memset(f, 0, sizeof *f);
    f->c = all;
    f->n = n;
    input_init(&in, doc);
    if (links_verify(&in, fake_fetch, f, NOW_MS, r) != 0)
        memset(r, 0, sizeof *r);
    json_decref(doc);
}

/* ---- evaluator ------------------------------------------------------------- */

TEST(consistent_data_verifies_every_rendered_link)
{
    struct fake f;
    struct links_report r;
    const char *st, *rs;
    char msg[1024];
    size_t i;
    run(NULL, NULL, 0, &f, &r);
    ASSERT_EQ(r.n, 6);
    for (i = 0; i < r.n; i++)
        if (r.checks[i].state != LINKS_VERIFIED)
            TEST_FAIL_("%s", r.checks[i].message);
    ASSERT_CONTAINS(find(&r, LINK_METRICS_TRACES)->message, "exemplar trace_id=\"" TID "\" opens a trace of 2 spans");
    ASSERT_CONTAINS(find(&r, LINK_LOGS_TRACES)->message, "derived field TraceIDLogfmt takes trace " TID);
    ASSERT_EQ(links_exit_code(&r), 0);
    links_condition(&r, &st, &rs, msg, sizeof msg);
    ASSERT_STR_EQ(st, "True");
    ASSERT_STR_EQ(rs, "LinksVerified");
    /* what was asked, the way Grafana asks it */
    ASSERT_CONTAINS(f.log, "0 GET /api/v1/query_exemplars?query=%7B__name__%3D~%22http_server_request_duration_seconds.%2A%22%7D");
    ASSERT_CONTAINS(f.log, "1 GET /api/traces/" TID);
    /* trace→logs: {tags} | label_format … contains "<id>" __line__ … or trace_id="<id>" (createSpanLink.tsx) */
    ASSERT_CONTAINS(f.log, "query=%7Bservice_name%3D%22checkout%22%2C%20k8s_namespace_name%3D%22shop%22%7D%20%7C%20label_format");
    ASSERT_CONTAINS(f.log, "or%20trace_id%3D%22" TID "%22");
    /* window: span start -5m … end +5m, in ns */
    ASSERT_CONTAINS(f.log, "&start=1767225200000000000&end=1767225800120000000");
    /* $$__tags / $$__rate_interval unescaped and filled (4 × 15s) */
    ASSERT_CONTAINS(f.log, "http_server_request_duration_seconds_count%7Bservice_name%3D%22checkout%22%7D%5B60s%5D");
    /* span profile: the pyroscope.profile.id as span selector, ± 60 s */
    ASSERT_CONTAINS(f.log, "\"spanSelector\":[\"00f067aa0ba902b7\"]");
    ASSERT_CONTAINS(f.log, "\"start\":1767225440000");
    ASSERT_CONTAINS(f.log, "\"labelSelector\":\"{service_name=\\\"checkout\\\"}\"");
    for (i = 0; i < r.n; i++) { /* never a log line or span content */
        ASSERT_NOT_CONTAINS(r.checks[i].message, "card number");
        ASSERT_NOT_CONTAINS(r.checks[i].message, "secret-route");
    }
}

TEST(exemplars_with_another_label_are_broken_and_name_the_labels)
{
    static const struct canned o[] = {{PROBE_METRICS, "/api/v1/query_exemplars", NULL, 200, EXEMPLARS("traceId")}};
    struct fake f;
    struct links_report r;
    run(NULL, o, 1, &f, &r);
    ASSERT_EQ(find(&r, LINK_METRICS_TRACES)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_METRICS_TRACES)->message,
                    "1 exemplar of {__name__=~\"http_server_request_duration_seconds.*\"} carries labels traceId, but exemplarTraceIdDestinations expects the trace id in trace_id or traceID");
    ASSERT_EQ(links_exit_code(&r), 1);
}

TEST(exemplar_label_from_the_destinations_is_read)
{
    static const struct canned o[] = {{PROBE_METRICS, "/api/v1/query_exemplars", NULL, 200, EXEMPLARS("traceID")}};
    struct fake f;
    struct links_report r;
    run(NULL, o, 1, &f, &r);
    ASSERT_EQ(find(&r, LINK_METRICS_TRACES)->state, LINKS_VERIFIED);
    ASSERT_CONTAINS(find(&r, LINK_METRICS_TRACES)->message, "exemplar traceID=");
}

TEST(no_exemplars_is_nodata_and_the_chain_falls_back_to_tempo_search)
{
    static const struct canned o[] = {
        {PROBE_METRICS, "/api/v1/query_exemplars", NULL, 200, "{\"status\":\"success\",\"data\":[]}"},
        {PROBE_TRACES, "/api/search", NULL, 200, "{\"traces\":[{\"traceID\":\"" TID "\"}]}"},
    };
    struct fake f;
    struct links_report r;
    const char *st, *rs;
    char msg[512];
    run(NULL, o, 2, &f, &r);
    ASSERT_EQ(find(&r, LINK_METRICS_TRACES)->state, LINKS_NODATA);
    ASSERT_CONTAINS(find(&r, LINK_METRICS_TRACES)->message, "--enable-feature=exemplar-storage");
    ASSERT_EQ(find(&r, LINK_TRACES_LOGS)->state, LINKS_VERIFIED);
    ASSERT_EQ(links_exit_code(&r), 0);
    links_condition(&r, &st, &rs, msg, sizeof msg);
    ASSERT_STR_EQ(st, "Unknown");
    ASSERT_STR_EQ(rs, "LinksNoData");
}

TEST(exemplar_pointing_at_a_missing_trace_is_broken)
{
    static const struct canned o[] = {{PROBE_TRACES, "/api/traces/", NULL, 404, "trace not found"},
                                      {PROBE_TRACES, "/api/search", NULL, 200, "{\"traces\":[]}"}};
    struct fake f;
    struct links_report r;
    const char *st, *rs;
    char msg[2048];
    run(NULL, o, 2, &f, &r);
    ASSERT_EQ(find(&r, LINK_METRICS_TRACES)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_METRICS_TRACES)->message, "points at a trace Tempo does not have (404)");
    ASSERT_EQ(find(&r, LINK_TRACES_LOGS)->state, LINKS_NODATA);
    ASSERT_CONTAINS(find(&r, LINK_TRACES_LOGS)->message, "Tempo has no trace in the last 15 min");
    links_condition(&r, &st, &rs, msg, sizeof msg);
    ASSERT_STR_EQ(st, "False");
    ASSERT_STR_EQ(rs, "LinksBroken");
    ASSERT_CONTAINS(msg, "links broken: metrics→traces: exemplar");
}

TEST(loki_streams_labelled_app_name_the_label_the_data_has)
{
    static const struct canned o[] = {
        {PROBE_LOGS, "/loki/api/v1/query_range", NULL, 200, LOKI_EMPTY},
        {PROBE_LOGS, "/loki/api/v1/labels", NULL, 200, "{\"status\":\"success\",\"data\":[\"app\",\"namespace\"]}"},
        {PROBE_LOGS, "/loki/api/v1/series", "app%3D~", 200,
         "{\"status\":\"success\",\"data\":[{\"app\":\"checkout\",\"namespace\":\"shop\"}]}"},
    };
    struct fake f;
    struct links_report r;
    run(NULL, o, 3, &f, &r);
    ASSERT_EQ(find(&r, LINK_TRACES_LOGS)->state, LINKS_BROKEN);
    ASSERT_STR_EQ(find(&r, LINK_TRACES_LOGS)->message,
                  "traces→logs: no Loki stream has service_name=\"checkout\"; streams of that window have app=\"checkout\"");
    ASSERT_EQ(find(&r, LINK_LOGS_TRACES)->state, LINKS_NODATA);
}

TEST(otlp_trace_id_in_structured_metadata_is_found_by_the_label_matcher)
{
    static const struct canned o[] = {
        {PROBE_LOGS, "/loki/api/v1/query_range", NULL, 200,
         "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":"
         "{\"service_name\":\"checkout\"},\"values\":[[\"1767225500020000000\",\"charged card\","
         "{\"structuredMetadata\":{\"trace_id\":\"" TID "\"}}]]}]}}"},
    };
    struct fake f;
    struct links_report r;
    run(NULL, o, 1, &f, &r);
    ASSERT_EQ(find(&r, LINK_LOGS_TRACES)->state, LINKS_VERIFIED);
    ASSERT_CONTAINS(find(&r, LINK_LOGS_TRACES)->message, "derived field TraceID takes trace " TID);
}

TEST(lines_without_any_trace_id_break_logs_to_traces_and_list_labels_not_lines)
{
    static const struct canned o[] = {
        {PROBE_LOGS, "/loki/api/v1/query_range", "label_format", 200, LOKI_EMPTY},
        {PROBE_LOGS, "/loki/api/v1/query_range", NULL, 200,
         "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":"
         "{\"service_name\":\"checkout\",\"level\":\"info\"},\"values\":[[\"1767225500020000000\",\"user 42 paid\"]]}]}}"},
    };
    struct fake f;
    struct links_report r;
    run(NULL, o, 2, &f, &r);
    ASSERT_EQ(find(&r, LINK_LOGS_TRACES)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_LOGS_TRACES)->message, "TraceID (label), TraceIDLogfmt (regex on the line)");
    ASSERT_CONTAINS(find(&r, LINK_LOGS_TRACES)->message, "carry labels level, service_name");
    ASSERT_NOT_CONTAINS(find(&r, LINK_LOGS_TRACES)->message, "paid");
    /* traces→logs: streams exist but no line has the trace id */
    ASSERT_EQ(find(&r, LINK_TRACES_LOGS)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_TRACES_LOGS)->message, "the service does not log the trace id");
}

TEST(span_without_profile_id_is_broken_with_how_to_enable)
{
    static const struct canned o[] = {{PROBE_TRACES, "/api/traces/" TID, NULL, 200, TRACE_JSON("")}};
    struct fake f;
    struct links_report r;
    run(NULL, o, 1, &f, &r);
    ASSERT_EQ(find(&r, LINK_TRACES_PROFILES)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_TRACES_PROFILES)->message, "no span of trace " TID " carries pyroscope.profile.id");
    ASSERT_CONTAINS(find(&r, LINK_TRACES_PROFILES)->message, "span-profiling");
}

TEST(no_profiles_for_the_service_names_the_label_profiles_have)
{
    static const struct canned o[] = {
        {PROBE_PROFILES, "/querier.v1.QuerierService/SelectMerge", NULL, 200, FLAME("0")},
        {PROBE_PROFILES, "/querier.v1.QuerierService/Series", NULL, 200,
         "{\"labelsSet\":[{\"labels\":[{\"name\":\"service\",\"value\":\"checkout\"}]}]}"},
    };
    struct fake f;
    struct links_report r;
    run(NULL, o, 2, &f, &r);
    ASSERT_EQ(find(&r, LINK_TRACES_PROFILES)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_TRACES_PROFILES)->message,
                    "has service_name=\"checkout\" around the span; profiles of that window have service=\"checkout\"");
}

TEST(tenant_rejection_names_the_backend_status_and_tenant)
{
    static const struct canned o[] = {{PROBE_LOGS, "/loki/", NULL, 401, "no org id\n"}};
    struct fake f;
    struct links_report r;
    run(NULL, o, 1, &f, &r);
    ASSERT_EQ(find(&r, LINK_TRACES_LOGS)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_TRACES_LOGS)->message, "Loki answered 401 \"no org id\" (tenant \"team-a\")");
}

TEST(metrics_query_with_wrong_label_names_the_label_the_series_have)
{
    static const struct canned o[] = {
        {PROBE_METRICS, "/api/v1/query_range", NULL, 200, "{\"status\":\"success\",\"data\":{\"result\":[]}}"},
        {PROBE_METRICS, "/api/v1/series", "service_name", 200, "{\"status\":\"success\",\"data\":[]}"},
        {PROBE_METRICS, "/api/v1/series", "http_server_request_duration_seconds_count", 200,
         "{\"status\":\"success\",\"data\":[{\"__name__\":\"x\",\"service\":\"checkout\"}]}"},
    };
    struct fake f;
    struct links_report r;
    run(NULL, o, 3, &f, &r);
    ASSERT_EQ(find(&r, LINK_TRACES_METRICS)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_TRACES_METRICS)->message,
                    "\"Request rate\": no series of http_server_request_duration_seconds_count has service_name=\"checkout\"; "
                    "series of that window have service=\"checkout\"");
}

TEST(service_map_without_service_graph_metrics_is_broken)
{
    static const struct canned o[] = {
        {PROBE_METRICS, "/api/v1/series", "traces_service_graph", 200, "{\"status\":\"success\",\"data\":[]}"}};
    struct fake f;
    struct links_report r;
    run(NULL, o, 1, &f, &r);
    ASSERT_EQ(find(&r, LINK_SERVICE_MAP)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_SERVICE_MAP)->message, "no traces_service_graph_request_total");
}

TEST(links_not_rendered_are_not_checked)
{
    struct fake f;
    struct links_report r;
    const char *st, *rs;
    char msg[256];
    run("{\"datasources\":[{\"type\":\"prometheus\",\"uid\":\"m\",\"jsonData\":{}},"
        "{\"type\":\"loki\",\"uid\":\"l\",\"jsonData\":{}}]}",
        NULL, 0, &f, &r);
    ASSERT_EQ(r.n, 0);
    ASSERT_EQ(r.requests, 0);
    links_condition(&r, &st, &rs, msg, sizeof msg);
    ASSERT_STR_EQ(st, "Unknown");
    ASSERT_STR_EQ(rs, "NoLinksRendered");
}

TEST(custom_trace_to_logs_query_fills_span_variables_and_rejects_unknown_ones)
{
    const char *doc =
        "{\"datasources\":[{\"type\":\"tempo\",\"uid\":\"tempo\",\"jsonData\":{\"tracesToLogsV2\":{"
        "\"datasourceUid\":\"loki\",\"customQuery\":true,"
        "\"query\":\"{service_name=\\\"$${__span.tags[\\\"service.name\\\"]}\\\"} | trace_id=\\\"$${__span.traceId}\\\"\"}}},"
        "{\"type\":\"loki\",\"uid\":\"loki\",\"jsonData\":{}}]}";
    const char *bad =
        "{\"datasources\":[{\"type\":\"tempo\",\"uid\":\"tempo\",\"jsonData\":{\"tracesToLogsV2\":{"
        "\"datasourceUid\":\"loki\",\"customQuery\":true,\"query\":\"{a=\\\"$${__span.nope}\\\"}\"}}},"
        "{\"type\":\"loki\",\"uid\":\"loki\",\"jsonData\":{}}]}";
    static const struct canned o[] = {
        {PROBE_TRACES, "/api/search", NULL, 200, "{\"traces\":[{\"traceID\":\"" TID "\"}]}"}};
    struct fake f;
    struct links_report r;
    run(doc, o, 1, &f, &r);
    ASSERT_EQ(r.n, 1);
    ASSERT_EQ(r.checks[0].state, LINKS_VERIFIED);
    ASSERT_CONTAINS(f.log, "query=%7Bservice_name%3D%22checkout%22%7D%20%7C%20trace_id%3D%22" TID "%22");
    run(bad, o, 1, &f, &r);
    ASSERT_EQ(r.checks[0].state, LINKS_BROKEN);
    ASSERT_CONTAINS(r.checks[0].message, "uses ${__span.nope}");
}

TEST(reads_what_pkg_render_renders_today)
{
    /* the real renderer's output, so a rename there shows up here */
    const char *stack =
        "{\"apiVersion\":\"crosslink.dev/v1alpha1\",\"kind\":\"ObservabilityStack\","
        "\"metadata\":{\"name\":\"s\",\"namespace\":\"shop\"},\"spec\":{"
        "\"metrics\":{\"url\":\"http://m\",\"uid\":\"mimir\"},\"traces\":{\"url\":\"http://t\",\"uid\":\"tempo\"},"
        "\"logs\":{\"url\":\"http://l\",\"uid\":\"loki\"},\"profiles\":{\"url\":\"http://p\",\"uid\":\"pyro\"},"
        "\"correlation\":{\"extraTags\":[{\"attribute\":\"k8s.namespace.name\",\"label\":\"k8s_namespace_name\"}]}}}";
    json_t *j = json_loads(stack, 0, NULL), *doc = NULL;
    struct spec_stack *s = NULL;
    struct spec_errors errs;
    struct fake f;
    struct links_report r;
    struct links_input in;
    static struct canned all[16];
    size_t i;
    spec_errors_init(&errs);
    ASSERT_TRUE(j);
    if (spec_stack_from_json(&s, j, NULL, &errs) != 0) {
        spec_errors_cleanup(&errs);
        json_decref(j);
        TEST_FAIL_("spec rejected the test stack");
    }
    spec_errors_cleanup(&errs);
    doc = render_datasources_doc(s);
    for (i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++)
        all[i] = GOOD[i];
    memset(&f, 0, sizeof f);
    f.c = all;
    f.n = i;
    input_init(&in, doc);
    in.request_metric = s->correlation.request_metric;
    ASSERT_OK(links_verify(&in, fake_fetch, &f, NOW_MS, &r));
    json_decref(doc);
    spec_stack_free(s);
    json_decref(j);
    ASSERT_EQ(r.n, 6);
    for (i = 0; i < r.n; i++)
        if (r.checks[i].state != LINKS_VERIFIED)
            TEST_FAIL_("%s", r.checks[i].message);
}

/* ---- helpers ----------------------------------------------------------------- */

TEST(unescape_and_durations)
{
    char *u = links_unescape("$${__value.raw} $$__tags ^trace_id$$ $__file{/x}");
    ASSERT_STR_EQ(u, "${__value.raw} $__tags ^trace_id$ $__file{/x}");
    free(u);
}

TEST(js_regex_translation)
{
    int g = -1;
    char *e = links_js_regex_to_ere("\\b(?:trace_id|traceID)=(\\w+)", &g);
    ASSERT_STR_EQ(e, "\\b(trace_id|traceID)=([[:alnum:]_]+)");
    ASSERT_EQ(g, 2);
    free(e);
    e = links_js_regex_to_ere("\"trace_id\"\\s*:\\s*\"(\\w+)\"", &g);
    ASSERT_STR_EQ(e, "\"trace_id\"[[:space:]]*:[[:space:]]*\"([[:alnum:]_]+)\"");
    ASSERT_EQ(g, 1);
    free(e);
    e = links_js_regex_to_ere("^trace_id$", &g);
    ASSERT_STR_EQ(e, "^trace_id$");
    ASSERT_EQ(g, 0);
    free(e);
    ASSERT_TRUE(links_js_regex_to_ere("(?=x)(\\w+)", &g) == NULL);
    ASSERT_TRUE(links_js_regex_to_ere("(\\w+?)", &g) == NULL);
    ASSERT_TRUE(links_js_regex_to_ere("(a)\\1", &g) == NULL);
}

TEST(key_tracks_backends_and_correlation_and_holds_no_secret)
{
    json_t *d1 = doc_load(DOC), *d2 = doc_load(DOC);
    struct links_input a, b;
    struct probe_target t2 = T[PROBE_LOGS];
    char k1[65], k2[65];
    input_init(&a, d1);
    input_init(&b, d2);
    links_key(&a, k1);
    links_key(&b, k2);
    ASSERT_STR_EQ(k1, k2);
    t2.tenant = "team-b";
    b.targets[PROBE_LOGS] = &t2;
    links_key(&b, k2);
    ASSERT_TRUE(strcmp(k1, k2) != 0);
    b.targets[PROBE_LOGS] = &T[PROBE_LOGS];
    json_object_set_new(json_object_get(json_array_get(json_object_get(d2, "datasources"), 1), "jsonData"),
                        "serviceMap", json_pack("{s:s}", "datasourceUid", "other"));
    links_key(&b, k2);
    ASSERT_TRUE(strcmp(k1, k2) != 0);
    json_decref(d1);
    json_decref(d2);
}

/* Stacks whose provisioning differs only by a consistent renaming of uids
 * (default uids derive from the stack name) share one round. */
static void rename_uids(json_t *v, const char *from, const char *to)
{
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x) {
            if (json_is_string(x) && !strcmp(json_string_value(x), from))
                json_array_set_new(v, i, json_string(to));
            else
                rename_uids(x, from, to);
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, k, x) {
            if (!strcmp(k, "type")) /* the fixture's uids equal its types */
                continue;
            if (json_is_string(x) && !strcmp(json_string_value(x), from))
                json_object_set_new(v, k, json_string(to));
            else
                rename_uids(x, from, to);
        }
    }
}

TEST(key_is_blind_to_a_consistent_renaming_of_uids)
{
    json_t *d1 = doc_load(DOC), *d2 = doc_load(DOC), *ds;
    struct links_input a, b;
    char k1[65], k2[65];
    size_t i;
    input_init(&a, d1);
    input_init(&b, d2);
    links_key(&a, k1);
    json_array_foreach(json_object_get(d1, "datasources"), i, ds) {
        char to[64];
        const char *u = json_string_value(json_object_get(ds, "uid"));
        snprintf(to, sizeof to, "shop-b-%zu", i);
        if (u) {
            char from[64];
            snprintf(from, sizeof from, "%s", u);
            rename_uids(d2, from, to);
        }
    }
    ASSERT_TRUE(!json_equal(d1, d2));
    links_key(&b, k2);
    ASSERT_STR_EQ(k1, k2);
    /* a reference to another data source is still a difference */
    json_object_set_new(json_object_get(json_array_get(json_object_get(d2, "datasources"), 1), "jsonData"),
                        "serviceMap", json_pack("{s:s}", "datasourceUid", "shop-b-2"));
    links_key(&b, k2);
    ASSERT_TRUE(strcmp(k1, k2) != 0);
    json_decref(d1);
    json_decref(d2);
}

TEST(condition_lists_broken_links_and_truncates_on_utf8)
{
    struct links_report r;
    const char *st, *rs;
    char msg[40];
    memset(&r, 0, sizeof r);
    r.n = 2;
    r.checks[0].link = LINK_TRACES_LOGS;
    r.checks[0].state = LINKS_BROKEN;
    snprintf(r.checks[0].message, sizeof r.checks[0].message, "traces→logs: no Loki stream");
    r.checks[1].link = LINK_SERVICE_MAP;
    r.checks[1].state = LINKS_VERIFIED;
    links_condition(&r, &st, &rs, msg, sizeof msg);
    ASSERT_STR_EQ(st, "False");
    {
        json_t *js = json_string(msg);
        ASSERT_TRUE(js != NULL);
        json_decref(js);
    }
    ASSERT_CONTAINS(msg, "1 of 2 links broken: traces");
    ASSERT_STR_EQ(links_link_id(LINK_TRACES_LOGS), "traces_logs");
    {
        unsigned counts[LINKS_NLINKS][3];
        links_report_counts(&r, counts);
        ASSERT_EQ(counts[LINK_TRACES_LOGS][LINKS_BROKEN], 1);
        ASSERT_EQ(counts[LINK_SERVICE_MAP][LINKS_VERIFIED], 1);
        ASSERT_EQ(counts[LINK_SERVICE_MAP][LINKS_BROKEN], 0);
    }
    ASSERT_STR_EQ(links_state_name(LINKS_NODATA), "NoData");
}

TEST(tempo_unreachable_breaks_the_links_from_a_span_instead_of_nodata)
{
    static const struct canned o[] = {{PROBE_METRICS, "/api/v1/query_exemplars", NULL, 200, "{\"data\":[]}"},
                                      {PROBE_TRACES, "/api/search", NULL, 401, "no org id"}};
    struct fake f;
    struct links_report r;
    run(NULL, o, 2, &f, &r);
    ASSERT_EQ(find(&r, LINK_METRICS_TRACES)->state, LINKS_NODATA);
    ASSERT_EQ(find(&r, LINK_TRACES_LOGS)->state, LINKS_BROKEN);
    ASSERT_CONTAINS(find(&r, LINK_TRACES_LOGS)->message,
                    "no trace to start from: Tempo search failed: Tempo answered 401 \"no org id\" (tenant \"team-a\")");
}

TEST(cache_shares_one_round_per_key_and_interval)
{
    struct links_cache *c = NULL;
    struct links_report r, got;
    const char *k1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *k2 = "2222222222222222222222222222222222222222222222222222222222222222";
    ASSERT_OK(links_cache_new(&c, 30000));
    memset(&r, 0, sizeof r);
    r.n = 1;
    r.checks[0].link = LINK_SERVICE_MAP;
    ASSERT_EQ(links_cache_claim(c, k1, 60000, 1000, &got), LINKS_CACHE_RUN);
    ASSERT_EQ(links_cache_claim(c, k1, 60000, 1100, &got), LINKS_CACHE_PENDING); /* second stack, same key */
    ASSERT_EQ(got.n, 0);
    ASSERT_EQ(links_cache_claim(c, k2, 60000, 1100, &got), LINKS_CACHE_RUN);   /* other backends */
    links_cache_finish(c, k1, &r, 2000);
    ASSERT_EQ(links_cache_claim(c, k1, 60000, 30000, &got), LINKS_CACHE_HIT);
    ASSERT_EQ(got.n, 1);
    ASSERT_EQ(links_cache_claim(c, k1, 60000, 62001, &got), LINKS_CACHE_RUN);  /* interval passed */
    ASSERT_EQ(links_cache_claim(c, k1, 60000, 62002, &got), LINKS_CACHE_PENDING);
    ASSERT_EQ(got.n, 1);                                                        /* previous round's report */
    links_cache_finish(c, k1, NULL, 63000);                                     /* failed round: released */
    ASSERT_EQ(links_cache_claim(c, k1, 60000, 63001, &got), LINKS_CACHE_RUN);
    ASSERT_EQ(links_cache_claim(c, k2, 60000, 1100 + 30001, &got), LINKS_CACHE_RUN); /* stale owner taken over */
    links_cache_free(c);
}

TEST_MAIN()
