/* probe.h — backend connectivity checks for the four signals (grafana.md §D.3):
 * readiness, version (buildinfo) and a tenant-checked query, run concurrently
 * with the curl multi interface, bounded process-wide, and de-duplicated by
 * (signal, url, tenant, credentials, TLS) through a thread-safe result cache.
 * Independent of Kubernetes and of pkg/spec: callers pass fully resolved
 * targets (secrets already read). Nothing here logs or prints.
 *
 * What is checked, per signal (all requests carry X-Scope-OrgID when a tenant
 * is set, and the configured basic auth / bearer token):
 *   metrics  (Mimir/Prometheus; url includes any /prometheus prefix):
 *            readiness: GET <scheme://host:port>/ready (Mimir); on 404
 *            GET <url>/-/ready (Prometheus); on 404 again readiness is
 *            skipped (a gateway may expose neither) — the query below still
 *            proves the path. GET <url>/api/v1/status/buildinfo (404 →
 *            version unknown, not a failure; with flavor "Mimir" an
 *            "application" other than Mimir fails), then
 *            POST <url>/api/v1/query  query=1+1 → {"status":"success"} with
 *            value "2" (the same path Grafana's Save & test uses).
 *   traces   (Tempo): GET <url>/ready, GET <url>/api/status/buildinfo,
 *            GET <url>/api/search/tags → 200 JSON object (tenant-checked;
 *            /api/echo ignores the tenant, so it is not used).
 *   logs     (Loki): GET <url>/ready, GET <url>/loki/api/v1/status/buildinfo,
 *            GET <url>/loki/api/v1/query?query=vector(1)%2Bvector(1)
 *            → {"status":"success"}.
 *   profiles (Pyroscope): GET <url>/ready, GET <url>/api/v1/status/buildinfo,
 *            POST <url>/querier.v1.QuerierService/ProfileTypes with
 *            Content-Type application/json and body {} → 200 JSON object.
 * A /ready answering 503 (Loki's min_ready_duration after start, rollouts) is
 * retried every 500 ms while the probe's time budget lasts.
 *
 * Transport decisions: the whole probe (all its requests and retries) must
 * finish within target.timeout_ms (default 5 s), measured from the start of
 * probe_run; the connect timeout is min(remaining, 3 s). Proxy environment
 * variables (http_proxy, HTTPS_PROXY, …) are IGNORED: the probe reports what
 * a direct connection from the controller's network position sees. Redirects
 * are not followed (a 3xx is UnexpectedStatus, naming the Location). Only
 * http and https are allowed. Response bodies are capped at 1 MiB.
 * Signals (SIGALRM) are never used (CURLOPT_NOSIGNAL), so probe_run is safe
 * to call from any number of threads at once.
 *
 * Reasons: curl errors map as in probe_reason_from_curl, HTTP statuses as in
 * probe_reason_from_http; a reply that is not usable HTTP (empty reply, reset,
 * oversized body), a body that is not the expected JSON, and a target that
 * cannot be probed at all (no URL, not http/https, control characters in the
 * tenant/token) are InvalidResponse. SecretNotFound is the caller's.
 *
 * Sharing: the cache key is a SHA-256 over (signal, flavor, url, tenant,
 * hash of the credentials, serverName, insecureSkipVerify, hash of the CA);
 * timeouts are not part of it. A finished result is reused while younger
 * than the target's max_age_ms (or the engine TTL); an identical probe still
 * in flight in another thread is joined — the caller waits for it (up to its
 * own timeout) instead of sending a request. The process-wide in-flight
 * limit counts probes (a probe holds its slot through all its requests). */
#ifndef CROSSLINK_PROBE_H
#define CROSSLINK_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* Same order as enum spec_signal in pkg/spec/spec.h. */
enum probe_signal {
    PROBE_METRICS = 0,
    PROBE_TRACES = 1,
    PROBE_LOGS = 2,
    PROBE_PROFILES = 3,
};
#define PROBE_NSIGNALS 4

/* Fixed set of condition reasons. */
#define PROBE_REASON_OK "HealthCheckPassed"
#define PROBE_REASON_REFUSED "ConnectionRefused"
#define PROBE_REASON_DNS "DNSFailure"
#define PROBE_REASON_TIMEOUT "Timeout"
#define PROBE_REASON_TLS "TLSError"
#define PROBE_REASON_UNAUTHORIZED "Unauthorized"
#define PROBE_REASON_STATUS "UnexpectedStatus"
#define PROBE_REASON_INVALID "InvalidResponse"
#define PROBE_REASON_SECRET "SecretNotFound"

#define PROBE_DEFAULT_TIMEOUT_MS 5000
#define PROBE_MAX_CONNECT_TIMEOUT_MS 3000
/* Appended to every message. */
#define PROBE_VANTAGE "checked from the controller's network position"

/* One backend to check. Every pointer is borrowed for the duration of the
 * call; NULL or "" means "not set". Credentials are only sent, hashed into
 * the cache key and scrubbed from messages — never stored or copied into a
 * result. */
struct probe_target {
    int signal;                 /* enum probe_signal */
    const char *url;            /* http(s)://host[:port][/prefix] */
    const char *tenant;         /* sent as X-Scope-OrgID */
    const char *basic_user;     /* basic auth when basic_user or basic_password is set */
    const char *basic_password;
    const char *bearer_token;   /* Authorization: Bearer … (wins over basic) */
    const char *ca_pem;         /* PEM bundle trusted instead of the system store */
    const char *server_name;    /* TLS name to verify (and SNI) instead of the URL host */
    int insecure_skip_verify;   /* no certificate/hostname verification */
    int64_t timeout_ms;         /* whole-probe budget; <= 0 → PROBE_DEFAULT_TIMEOUT_MS */
    int64_t max_age_ms;         /* accept a cached result this old; 0 → engine TTL, <0 → never */
    const char *flavor;         /* metrics: spec flavor; "Mimir" fails the probe (InvalidResponse)
                                   when buildinfo names another application. Part of the key. */
};

/* Outcome of one probe. message is one line, never contains credentials,
 * names the URL (userinfo stripped), HTTP status and version when known, and
 * ends with "(checked from the controller's network position, N ms)" (see
 * probe_engine_set_vantage). */
struct probe_result {
    int ok;                 /* 1 = every step passed */
    char reason[32];        /* one of PROBE_REASON_* */
    char message[512];
    char version[64];       /* backend version ("2.42.0"), "" when unknown */
    int http_status;        /* last HTTP status seen, 0 when none */
    int64_t latency_ms;     /* wall time of the probe (of the shared one when cached) */
    int cached;             /* 1 = answered from the cache / a concurrent caller's probe */
};

/* Process-wide engine: limit on probes in flight and the result cache.
 * Thread-safe; share one per process. */
struct probe_engine;

/* Creates an engine. max_in_flight <= 0 → 64. cache_ttl_ms: how long a
 * finished result is reused for an identical target (0 = only share probes
 * still in flight). Returns 0, OP_ENOMEM or OP_ERR (curl init failed). */
int probe_engine_new(struct probe_engine **out, int max_in_flight, int64_t cache_ttl_ms);
/* Replaces the "checked from the controller's network position" wording of
 * messages (e.g. the CLI: "checked from this machine"). Call before the
 * first probe_run; text is copied (max 95 bytes). */
void probe_engine_set_vantage(struct probe_engine *e, const char *text);
/* NULL-safe. No probe_run may be in progress. */
void probe_engine_free(struct probe_engine *e);

/* Counters since creation: HTTP probes actually started, and targets answered
 * from the cache or by joining an identical probe in flight. Either out
 * pointer may be NULL. */
void probe_engine_stats(struct probe_engine *e, uint64_t *probes_started, uint64_t *cache_hits);

/* Runs the n targets concurrently (curl multi) and fills results[0..n-1].
 * Blocks until all are done; each finishes within its own timeout_ms (plus a
 * few ms). A target identical to one probed within the TTL reuses that
 * result; one identical to a probe in flight in another thread waits for it
 * instead of issuing a request. Returns 0 (individual failures are in
 * results) or OP_EINVALID / OP_ENOMEM. */
int probe_run(struct probe_engine *e, const struct probe_target *targets, size_t n,
              struct probe_result *results);

/* Non-blocking: when a finished result for a target identical to t is
 * younger than t->max_age_ms (0 → the engine TTL; < 0 → never), copies it
 * into *out (cached = 1), counts a cache hit and returns 1; otherwise
 * returns 0 and sends nothing. For callers that must not wait on a backend
 * (the controller probes misses on its own threads, see controller/stack/prober.h). */
int probe_cached(struct probe_engine *e, const struct probe_target *t, struct probe_result *out);

/* Fills a result by hand (e.g. SecretNotFound from the caller). fmt makes
 * the message; " (checked from the controller's network position)" is NOT
 * appended. version/http_status/latency are cleared. */
void probe_result_set(struct probe_result *res, int ok, const char *reason, const char *fmt, ...)
    OP_PRINTF(4, 5);

/* "MetricsReachable", "TracesReachable", "LogsReachable", "ProfilesReachable";
 * NULL for an unknown signal. */
const char *probe_condition_type(int signal);
/* "metrics", "traces", "logs", "profiles"; NULL for an unknown signal. */
const char *probe_signal_name(int signal);

/* ---- request setup shared with pkg/links ----------------------------------- */

struct curl_slist;
/* What a prepared request owns until the handle is cleaned up. */
struct probe_http_req {
    struct curl_slist *hdrs;
    struct curl_slist *connect_to;
    char *url; /* the URL rewritten for serverName, or NULL */
};
/* Applies to the curl easy handle (CURL *) everything a request to t needs:
 * URL, Accept/User-Agent, optional Content-Type, X-Scope-OrgID, bearer or
 * basic auth, CA bundle, insecureSkipVerify, serverName (SNI + verification
 * via CONNECT_TO, Host header kept), no proxy, no redirects, no signals,
 * http/https only, total timeout_ms and a connect timeout of at most 3 s.
 * The caller sets the write callback and, for POST, the body; it may append
 * headers to req->hdrs (then set CURLOPT_HTTPHEADER again). Returns 0, or -1
 * when serverName cannot be applied. Free with probe_http_req_cleanup after
 * curl_easy_cleanup. */
int probe_http_prepare(void *curl_easy, const struct probe_target *t, const char *url, int64_t timeout_ms,
                       const char *content_type, struct probe_http_req *req);
void probe_http_req_cleanup(struct probe_http_req *req);

/* ---- helpers (exposed for tests and the CLI) ------------------------------ */

/* Copies url into out without userinfo ("http://u:p@h/x" → "http://h/x"),
 * truncated to outsz-1 bytes. */
void probe_url_redact(const char *url, char *out, size_t outsz);
/* The reason for a CURLcode (passed as int so callers need not include
 * curl.h); NULL for CURLE_OK. */
const char *probe_reason_from_curl(int curl_code);
/* The reason for an HTTP status: NULL for 2xx, Unauthorized for 401/403,
 * UnexpectedStatus otherwise. */
const char *probe_reason_from_http(int status);
/* The cache key of a target: hex SHA-256 over signal, url, tenant, a hash of
 * the credentials and the TLS settings. Contains no secret. */
void probe_target_key(const struct probe_target *t, char out[65]);

#endif
