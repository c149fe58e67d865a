/* links.h — link verification: follows every cross-signal link that
 * pkg/render put into the data-source provisioning, the way Grafana would,
 * against the backends' own data (docs/links.md):
 *
 *   metrics→traces   exemplars (Prometheus/Mimir GET /api/v1/query_exemplars)
 *                    carrying a label named in exemplarTraceIdDestinations →
 *                    Tempo GET /api/traces/<id>
 *   traces→logs      tracesToLogsV2 (tags, shifts, filterByTraceID/SpanID or
 *                    customQuery) for a span of that trace → Loki
 *                    GET /loki/api/v1/query_range, ≥ 1 line expected
 *   traces→metrics   every tracesToMetrics query with $__tags (and the other
 *                    variables Grafana fills) → GET /api/v1/query_range,
 *                    ≥ 1 series expected
 *   traces→profiles  a span carrying pyroscope.profile.id → Pyroscope
 *                    POST /querier.v1.QuerierService/SelectMergeSpanProfile
 *                    (what Grafana's pyroscope backend calls for a span
 *                    selector) over the span's time ± 60 s, total > 0
 *   logs→traces      recent lines of the service (Loki query_range) run
 *                    through the derived fields (regex on the line, label
 *                    matcher on labels + structured metadata) → Tempo
 *   service map      serviceMap.datasourceUid holds
 *                    traces_service_graph_request_total (GET /api/v1/series)
 *
 * Each link ends Verified, Broken (message naming the link and the cause in
 * the user's terms, quoting label names and values only — never log lines,
 * span contents or secrets) or NoData (nothing to start from). A link the
 * provisioning does not contain is not checked.
 *
 * Split: links_verify is the planner/evaluator. It decides every request and
 * judges every answer, but performs no I/O itself — it calls the fetch
 * callback — and takes "now" as an argument, so it is unit-tested with
 * canned JSON. links_run is the thin executor: libcurl with pkg/probe's
 * request setup (probe_http_prepare: tenant, auth, CA, serverName — one code
 * path), a per-request timeout and a response-size cap. */
#ifndef CROSSLINK_LINKS_H
#define CROSSLINK_LINKS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

enum links_state {
    LINKS_VERIFIED = 0,
    LINKS_BROKEN = 1,
    LINKS_NODATA = 2,
};

/* Link ids (order of the report). */
enum links_link {
    LINK_METRICS_TRACES = 0,
    LINK_TRACES_LOGS,
    LINK_TRACES_METRICS,
    LINK_TRACES_PROFILES,
    LINK_LOGS_TRACES,
    LINK_SERVICE_MAP,
    LINKS_NLINKS
};

#define LINKS_DEFAULT_TIMEOUT_MS 5000
#define LINKS_DEFAULT_WINDOW_MS (15 * 60 * 1000)
#define LINKS_BODY_MAX (4u << 20) /* per response */

/* Inputs. Everything is borrowed for the duration of the call. */
struct links_input {
    /* The rendered data-source provisioning document as pkg/render emits it
     * ({apiVersion, datasources: [...]}, strings $$-escaped): read
     * generically (uid/type/jsonData), unescaped the way Grafana's
     * provisioning does ($$ → $). */
    const json_t *datasources;
    /* Resolved backends, indexed by enum probe_signal (NULL = not
     * configured). Only url/tenant/credentials/TLS are used. */
    const struct probe_target *targets[PROBE_NSIGNALS];
    /* Metric whose exemplars start metrics→traces (e.g.
     * "http_server_request_duration_seconds"); NULL/"" → every metric. */
    const char *request_metric;
    int64_t timeout_ms; /* per request; <= 0 → LINKS_DEFAULT_TIMEOUT_MS */
    int64_t window_ms;  /* how far back exemplars/logs are read; <= 0 → 15 min */
};

struct links_check {
    int link;           /* enum links_link */
    int state;          /* enum links_state */
    char message[600];  /* one line, starts with the link's name */
};

struct links_report {
    size_t n;                               /* checks[0..n-1]: rendered links only */
    struct links_check checks[LINKS_NLINKS];
    unsigned requests;                      /* HTTP requests made */
};

/* One HTTP answer for the evaluator. body is malloc'd (NUL-terminated) by
 * the fetcher and freed by links_verify. status 0 = no HTTP answer; then
 * error says why (connect refused, timeout, TLS, body too large). */
struct links_http {
    int status;
    char *body;
    size_t len;
    char error[200];
};

/* Performs one request against the backend of signal (enum probe_signal)
 * with that backend's tenant/credentials/TLS. path_query starts with '/'
 * and is appended to the backend URL; body/content_type are NULL for GET.
 * Returns 0 (resp filled, whatever the status) or a negative op_err. */
typedef int (*links_fetch_fn)(void *ud, int signal, const char *method, const char *path_query,
                              const char *body, const char *content_type, struct links_http *resp);

/* The evaluator: plans, asks fetch, judges. now_ms = wall clock in ms (the
 * query windows end there). Deterministic for deterministic answers.
 * Returns 0 (results in *out) or OP_EINVALID (no datasources) / OP_ENOMEM. */
int links_verify(const struct links_input *in, links_fetch_fn fetch, void *ud, int64_t now_ms,
                 struct links_report *out);

/* The executor: links_verify with libcurl (probe_http_prepare), timeouts
 * and LINKS_BODY_MAX, now = the wall clock. Blocks for at most about
 * (requests × timeout); a round makes at most ~20 requests. Thread-safe
 * (no shared state) once curl_global_init has run (probe_engine_new does it;
 * a single-threaded CLI may rely on curl's lazy init); call from a
 * worker-pool job, never from a reconcile. */
int links_run(const struct links_input *in, struct links_report *out);

/* ---- for the controller ---------------------------------------------------- */

/* Sharing key: hex SHA-256 over what decides the result — each target's
 * probe key (url, tenant, credential hash, TLS), the link-relevant parts of
 * the provisioning (every data source's uid, type and jsonData), the request
 * metric and the window. Data-source uids count by position only (a uid
 * and every jsonData string equal to it become "data source #i"), so stacks
 * that differ only by their (default, name-derived) uids share a key.
 * Stacks with equal keys share one verification per interval. Contains no
 * secret. */
void links_key(const struct links_input *in, char out[65]);

/* Condition LinksVerified from a report: status "True" (every checked link
 * Verified), "False" (≥ 1 Broken; message lists the broken links' messages,
 * "; "-joined), "Unknown" (no Broken but ≥ 1 NoData, or nothing rendered).
 * reason: LinksVerified | LinksBroken | LinksNoData | NoLinksRendered.
 * message is truncated to msgsz-1 bytes on a UTF-8 boundary. */
void links_condition(const struct links_report *r, const char **status, const char **reason, char *msg,
                     size_t msgsz);

/* Exit code for the CLI: 1 if any link is Broken, else 0. */
int links_exit_code(const struct links_report *r);

/* "metrics→traces", …, "service map" (display); NULL for an unknown id. */
const char *links_link_name(int link);
/* "metrics_traces", …, "service_map": the `link` label of
 * crosslink_link_checks_total{link,result}; NULL for an unknown id. */
const char *links_link_id(int link);
/* "Verified", "Broken", "NoData" — also the `result` label. */
const char *links_state_name(int state);
/* Metric name for the counters the caller keeps: add 1 to
 * crosslink_link_checks_total{link=links_link_id(c.link),
 * result=links_state_name(c.state)} per check of each report. */
#define LINKS_METRIC_CHECKS "crosslink_link_checks_total"

/* Sharing between stacks: a thread-safe result cache keyed by links_key.
 * A reconcile never blocks on it:
 *   switch (links_cache_claim(c, key, interval_ms, &rep)) {
 *   case LINKS_CACHE_HIT:     use rep (fresh enough)
 *   case LINKS_CACHE_RUN:     this caller owns the round: run links_run on a
 *                             worker (off the reconcile), then
 *                             links_cache_finish(c, key, &rep) and re-enqueue
 *                             the stacks of that key
 *   case LINKS_CACHE_PENDING: another caller's round is in flight: keep the
 *                             current condition, re-enqueue later
 *   }
 * A round whose owner never finishes (crash, lost worker) is taken over
 * after stale_ms. Entries older than 10 × their max age are dropped on the
 * next claim. */
enum { LINKS_CACHE_HIT = 0, LINKS_CACHE_RUN = 1, LINKS_CACHE_PENDING = 2 };
struct links_cache;
int links_cache_new(struct links_cache **out, int64_t stale_ms);
void links_cache_free(struct links_cache *c);
/* now_ms: a monotonic clock (op_mono_ms); passed in for tests. Returns
 * LINKS_CACHE_* or OP_ENOMEM. *rep is filled on HIT (and, on PENDING, with
 * the previous round's report when there is one; check rep->n). */
int links_cache_claim(struct links_cache *c, const char key[65], int64_t max_age_ms, int64_t now_ms,
                      struct links_report *rep);
/* Publishes the owner's result (rep NULL = the round failed: the claim is
 * released so the next caller runs it). */
void links_cache_finish(struct links_cache *c, const char key[65], const struct links_report *rep, int64_t now_ms);

/* Per-(link, result) counts of one report, for the counters:
 * counts[link][state] += 1 per check (the caller adds them to its
 * crosslink_link_checks_total registry). */
void links_report_counts(const struct links_report *r, unsigned counts[LINKS_NLINKS][3]);

/* Report as JSON: [{link, id, result, message}] (new reference, NULL on OOM). */
json_t *links_report_json(const struct links_report *r);

/* ---- helpers exposed for tests ------------------------------------------- */

/* Grafana provisioning unescape: every "$$" → "$" (other text unchanged).
 * malloc'd; NULL on OOM. */
char *links_unescape(const char *s);
/* Translates a JavaScript regex (derived fields) to a POSIX ERE with GNU
 * operators (\w \s \b); *group gets the ERE group index of JS capture group
 * 1 (0 when the regex has no capture group). malloc'd, NULL when the regex
 * uses a construct POSIX cannot express (lookaround, backreference, flags). */
char *links_js_regex_to_ere(const char *js, int *group);

#endif
