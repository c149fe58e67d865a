/* spec.h — the ObservabilityStack (crosslink.dev/v1alpha1) as a typed C model:
 * decode from JSON/YAML, apply defaults, validate. After a successful
 * spec_stack_from_json every field below is filled in with its default, so
 * consumers (render, probe, controller) never re-implement defaults.
 *
 * Ownership: a struct spec_stack owns all its strings and arrays; free it with
 * spec_stack_free(). Nothing here does I/O except spec_load_file(). */
#ifndef CROSSLINK_SPEC_H
#define CROSSLINK_SPEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SPEC_API_VERSION "crosslink.dev/v1alpha1"
#define SPEC_GROUP "crosslink.dev"
#define SPEC_VERSION "v1alpha1"
#define SPEC_KIND "ObservabilityStack"
#define SPEC_PLURAL "observabilitystacks"

/* Limits shared with the CRD schema. */
#define SPEC_UID_MAX 40          /* Grafana data-source / dashboard uid */
#define SPEC_NAME_MAX 63         /* DNS-1123 label; also the crosslink.dev/stack label value */
#define SPEC_URL_MAX 2048

/* ---- signals ----------------------------------------------------------- */

enum spec_signal {
    SPEC_SIGNAL_METRICS,
    SPEC_SIGNAL_TRACES,
    SPEC_SIGNAL_LOGS,
    SPEC_SIGNAL_PROFILES,
    SPEC_SIGNAL_COUNT
};

/* "metrics", "traces", "logs", "profiles" (also the spec field names). */
const char *spec_signal_name(enum spec_signal sig);
/* "Metrics", "Traces", … (for condition types such as MetricsReachable). */
const char *spec_signal_title(enum spec_signal sig);
/* Grafana plugin id: "prometheus", "tempo", "loki", "grafana-pyroscope-datasource". */
const char *spec_signal_grafana_type(enum spec_signal sig);

/* ---- building blocks --------------------------------------------------- */

/* A key in a Secret or ConfigMap of the stack's namespace. name == NULL means
 * "not set". */
struct spec_key_ref {
    char *name;
    char *key;
};

struct spec_auth {
    /* Basic auth: set iff basic_username != NULL (then basic_password is set). */
    char *basic_username;
    struct spec_key_ref basic_password;
    /* Bearer token (mutually exclusive with basic auth). */
    struct spec_key_ref bearer_token;
};

struct spec_tls {
    struct spec_key_ref ca_secret;    /* CA bundle from a Secret key */
    struct spec_key_ref ca_configmap; /* or from a ConfigMap key (not both) */
    char *server_name;                /* SNI / verification name override, NULL = none */
    int insecure_skip_verify;
};

enum spec_matcher {
    SPEC_MATCHER_REGEX, /* matcherRegex runs on the log line, group 1 = trace id */
    SPEC_MATCHER_LABEL  /* matcherRegex is tested against label / structured-metadata keys */
};

/* One Loki derived field that extracts a trace id (spec.logs.traceIdFields[]). */
struct spec_trace_id_field {
    char *name;              /* derived field name, unique within the list */
    enum spec_matcher matcher_type;
    char *matcher_regex;
    char *url_display_label; /* may be NULL */
};

/* A span attribute -> label mapping ({key, value} in Grafana's tags lists). */
struct spec_tag {
    char *attribute; /* span/resource attribute, e.g. service.name */
    char *label;     /* label in Loki/Mimir/Pyroscope, e.g. service_name */
};

struct spec_tags {
    struct spec_tag *v;
    size_t n;
};

struct spec_query {
    char *name;
    char *query; /* PromQL; may use Grafana's $__tags, $__rate_interval (written unescaped here) */
};

/* A string map (labels). Entries are sorted by key and keys are unique. */
struct spec_kv {
    char *key;
    char *value;
};

struct spec_kvs {
    struct spec_kv *v;
    size_t n;
};

/* Durations are Go-style strings as written ("5m"); *_ms the parsed value
 * (always a whole number of milliseconds: the decoder rejects the rest).
 * Render *_ms with spec_duration_format, never the text as written: Grafana
 * reads one number and one unit ("1h30m" would be read as 1h).
 * "before" is rendered as a negative Grafana time shift ("-5m"). */
struct spec_time_shift {
    char *before;
    char *after;
    int64_t before_ms;
    int64_t after_ms;
};

/* ---- one backend (spec.metrics / traces / logs / profiles) ------------- */

struct spec_backend {
    int configured;       /* the signal is present in the spec and enabled */
    int enabled;          /* spec.<signal>.enabled (default true) */
    char *url;            /* http(s) URL, as written */
    char *uid;            /* Grafana uid; default "<stack>-<signal>" */
    char *name;           /* Grafana data-source name; default "<Flavor> (<ns>/<stack>)" */
    char *tenant;         /* X-Scope-OrgID, NULL = none */
    char *flavor;         /* metrics: Mimir|Prometheus|Cortex|Thanos (default Mimir);
                             traces: Tempo; logs: Loki; profiles: Pyroscope */
    char *scrape_interval;     /* Go duration as written (metrics timeInterval,
                                  profiles minStep); default "15s". Render
                                  scrape_interval_ms with spec_duration_format. */
    int64_t scrape_interval_ms;
    int is_default;       /* spec.<signal>.default: Grafana isDefault */
    struct spec_auth auth;
    struct spec_tls tls;

    /* logs only (zero/NULL for the others) */
    struct spec_trace_id_field *trace_id_fields; /* defaults filled in when empty */
    size_t n_trace_id_fields;
    int64_t max_lines;    /* default 1000 */

    /* profiles only */
    char *profile_type;   /* default process_cpu:cpu:nanoseconds:cpu:nanoseconds */

    /* traces only: spec.traces.traceQueryTimeShift, Tempo's trace-by-ID
     * window (jsonData.traceQuery); trace_query_set = 0 when absent. */
    int trace_query_set;
    struct spec_time_shift trace_query;
};

/* ---- correlation (how signals link to each other) ---------------------- */


struct spec_link_logs {         /* Tempo tracesToLogsV2 */
    struct spec_tags tags;      /* default: service + extraTags */
    struct spec_time_shift time_shift; /* default correlation.timeShift */
    int filter_by_trace_id;     /* default true */
    int filter_by_span_id;      /* default false */
    char *query;                /* custom LogQL (customQuery: true); default:
                                   spec_default_traces_to_logs_query (finds the
                                   trace id in the line or in the trace_id
                                   structured metadata), NULL when neither
                                   filter is on (Grafana's own query). */
    int query_is_default;       /* query was generated, not written by the user */
};

struct spec_link_metrics {      /* Tempo tracesToMetrics */
    struct spec_tags tags;      /* default: service + extraTags */
    struct spec_time_shift time_shift; /* default correlation.timeShift */
    struct spec_query *queries; /* default: request rate, error rate, p99 of requestMetric */
    size_t n_queries;
};

struct spec_link_profiles {     /* Tempo tracesToProfiles */
    struct spec_tags tags;      /* default: service */
    char *profile_type;         /* default spec.profiles.profileType */
    char *query;                /* custom query or NULL */
};

enum spec_histograms {
    SPEC_HISTOGRAMS_CLASSIC, /* <metric>_bucket / _count series */
    SPEC_HISTOGRAMS_NATIVE   /* one native-histogram series <metric> */
};

struct spec_correlation {
    char *service_attribute;    /* default service.name */
    char *service_label;        /* default service_name */
    struct spec_tags extra_tags;
    struct spec_time_shift time_shift;  /* default 5m / 5m */
    char *request_metric;       /* default http_server_request_duration_seconds */
    char **exemplar_labels;     /* exemplar label keys holding the trace id;
                                   default {"trace_id", "traceID"} */
    size_t n_exemplar_labels;
    struct spec_link_logs traces_to_logs;
    struct spec_link_metrics traces_to_metrics;
    struct spec_link_profiles traces_to_profiles;
    enum spec_histograms histograms;  /* default classic */
    int grafana_correlations;   /* also provision Grafana correlations (logs ->
                                   trace, metrics -> logs); default false */
};

struct spec_grafana {
    struct spec_kvs datasource_labels; /* default {grafana_datasource: "1"} */
    struct spec_kvs dashboard_labels;  /* default {grafana_dashboard: "1"} */
    char *folder;                      /* default "Observability" */
    char *dashboards_path;             /* provider options.path; default
                                          /var/lib/grafana/dashboards/crosslink/<ns>-<stack> */
    int prune;                         /* data-source file prune: (default false) */
    int64_t org_id;                    /* Grafana organization (default 1) */
};

struct spec_dashboards {
    int service_overview; /* default true */
    char *uid;            /* dashboard uid; default "xl-" + first 20 hex digits of
                             sha256("<namespace>/<name>") (unique per stack) */
    char *title;          /* default "Service overview (<ns>/<stack>)" */
};

struct spec_verify {
    int64_t interval_ms; /* default 60 000 */
    int64_t timeout_ms;  /* default 5 000 */
};

struct spec_meta {
    char *name;
    char *namespace;        /* default "default" (or the caller's default) */
    char *uid;              /* metadata.uid, NULL offline */
    int64_t generation;     /* 0 when absent */
    char *resource_version; /* NULL when absent */
};

struct spec_stack {
    struct spec_meta meta;
    struct spec_backend backends[SPEC_SIGNAL_COUNT]; /* indexed by enum spec_signal */
    struct spec_correlation correlation;
    struct spec_grafana grafana;
    struct spec_dashboards dashboards;
    struct spec_verify verify;
};

/* Convenience: the backend of a signal if configured, else NULL (borrowed). */
const struct spec_backend *spec_stack_backend(const struct spec_stack *s, enum spec_signal sig);

/* The signal whose data source claims Grafana's default (isDefault), or -1.
 * Two such stacks feeding one Grafana org make Grafana refuse ALL data-source
 * provisioning; the controller compares this across stacks with the same
 * datasource labels and orgId. */
int spec_stack_default_signal(const struct spec_stack *s);

/* The Secrets and ConfigMaps the rendered data sources read through
 * $__file{} (basic-auth passwords, bearer tokens, CA bundles of configured
 * signals), each once, sorted by kind then name. kind is "ConfigMap" or
 * "Secret"; name is borrowed from s. Returns how many were written (at most
 * SPEC_REFS_MAX). For the refs digest (render_refs_digest): the controller
 * GETs each (one at a time) and hashes their resourceVersions. */
#define SPEC_REFS_MAX 8
struct spec_ref {
    const char *kind;
    const char *name;
};
size_t spec_stack_refs(const struct spec_stack *s, struct spec_ref out[SPEC_REFS_MAX]);

/* Formats a millisecond duration the way Grafana's rangeutil describeInterval
 * reads it: one integer and the largest unit that divides it exactly among
 * h, m, s, ms ("90m", "90s", "1500ms"), "0s" for zero, a leading '-' when
 * negative. buf must hold SPEC_DURATION_BUF bytes. Returns buf. */
#define SPEC_DURATION_BUF 32
char *spec_duration_format(int64_t ms, char *buf);

/* Parses a Go duration exactly (integer arithmetic on nanoseconds). Returns 0
 * and *ms_out, OP_EINVALID on bad syntax, sign or overflow; when it is not
 * a whole number of milliseconds (for example 500us or 1.0005s): OP_ERR. */
int spec_duration_parse_exact(const char *s, int allow_negative, int64_t *ms_out);

/* The default trace -> logs LogQL (Grafana's tracesToLogsV2 custom query,
 * variables unescaped): the span's tags, then the trace id (and span id when
 * by_span) matched in the log line OR in the trace_id / span_id structured
 * metadata. Malloc'd; NULL on OOM or when neither filter is on. */
char *spec_default_traces_to_logs_query(int by_trace, int by_span);

/* ---- validation errors ------------------------------------------------- */

/* Collected "path: rule" messages, e.g. "spec.logs.url: must be an http or
 * https URL". Embedded: spec_errors_init / spec_errors_cleanup. */
struct spec_errors {
    char **v;
    size_t n;
    size_t cap;
};

void spec_errors_init(struct spec_errors *e);
void spec_errors_cleanup(struct spec_errors *e);
/* Appends one formatted message. Returns 0 or OP_ENOMEM. */
int spec_errors_add(struct spec_errors *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* All messages joined with sep (e.g. "; " for a condition message, "\n").
 * Returns a malloc'd string ("" when empty) or NULL on OOM. */
char *spec_errors_format(const struct spec_errors *e, const char *sep);

/* ---- decode ------------------------------------------------------------ */

/* Decodes, defaults and validates one ObservabilityStack object. obj is
 * borrowed. default_namespace is used when metadata.namespace is absent
 * (NULL = "default"). On success returns 0 and *out owns a new stack. On
 * invalid input returns OP_EINVALID with EVERY problem appended to errs (errs
 * may be NULL) and *out untouched; OP_ENOMEM on allocation failure. Unknown
 * fields under spec are errors ("spec.metrics.foo: unknown field"). */
int spec_stack_from_json(struct spec_stack **out, const json_t *obj,
                         const char *default_namespace, struct spec_errors *errs);

/* NULL-safe. */
void spec_stack_free(struct spec_stack *s);

/* Loads a YAML or JSON file ("-" = stdin) and returns, in *docs_out, a new
 * reference to a JSON array of the ObservabilityStack objects it holds:
 * multi-document streams and kind List / *List are flattened; empty documents
 * are skipped; documents of other kinds are skipped. Returns 0,
 * OP_ENOTFOUND (no such file), OP_EINVALID (syntax error, non-object
 * document, or no ObservabilityStack at all; message in op_err_last()). */
int spec_load_file(json_t **docs_out, const char *path_or_dash);
/* Same for an in-memory buffer. */
int spec_load_string(json_t **docs_out, const char *data, size_t len);

#endif
