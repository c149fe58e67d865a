/* kube.h — a small Kubernetes API client over libcurl + jansson that behaves
 * like client-go where it matters: kubeconfig / in-cluster config, REST verbs
 * with Status decoding and Retry-After, server-side apply, list+watch with an
 * in-memory store (410 → relist), events.k8s.io/v1 events and Leases.
 *
 * Ownership uses jansson's words: "new reference" (caller must json_decref),
 * "borrowed" (do not decref; valid only as stated), "steals" (the callee owns
 * it afterwards, even on failure unless said otherwise).
 *
 * Errors: functions return 0 (OP_OK) or a negative enum op_err from core.h;
 * op_err_last() has a human message ("GET /api/v1/...: 404 NotFound: ...").
 * HTTP → op_err: 401 OP_EUNAUTHORIZED, 403 OP_EFORBIDDEN, 404 OP_ENOTFOUND,
 * 409 OP_ECONFLICT, 410 OP_EGONE, 400/422 OP_EINVALID, 413 OP_ETOOBIG,
 * 429 and 5xx OP_EUNAVAILABLE, network errors OP_EUNAVAILABLE (st->code 0),
 * TLS errors OP_ETLS, timeouts OP_ETIMEOUT. The optional struct kube_status
 * out-parameter tells 429 from 503 etc. and carries the server's reason.
 *
 * Threading: a struct kube_client may be used from any number of threads at
 * once (each request borrows a CURL easy handle from a pool; connections, DNS
 * and TLS sessions are shared). curl_global_init() must have been called
 * before the first kube_client_new(). pkg/kube never logs or prints. */
#ifndef CROSSLINK_KUBE_H
#define CROSSLINK_KUBE_H

#include "core.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Response caps. A ConfigMap may hold up to 1 MiB of data plus overhead, so
 * one watch line may be well above 1 MiB. */
#define KUBE_MAX_RESPONSE ((size_t)64 << 20)   /* 64 MiB: list pages, any body */
#define KUBE_MAX_WATCH_LINE ((size_t)3 << 20)  /* 3 MiB: one watch event */
#define KUBE_FIELD_MANAGER "crosslink"

/* ======================================================================
 * Configuration (kubeconfig and in-cluster)
 * ====================================================================== */

/* Immutable after load except for the credential cache (token file re-read,
 * exec plugin output), which is internally locked. Opaque. */
struct kube_config;

struct kube_config_opts {
    /* kubeconfig path, or a colon-separated list of paths merged like
     * $KUBECONFIG (first file to set a key wins). NULL → $KUBECONFIG, else
     * ~/.kube/config if it exists, else in-cluster if KUBERNETES_SERVICE_HOST
     * is set. */
    const char *kubeconfig;
    /* context name; NULL → current-context. Ignored in-cluster. */
    const char *context;
    /* nonzero: use the in-cluster service-account config, ignore files. */
    int in_cluster;
};

/* Loads a configuration; *out is set only on success. Errors: OP_ENOTFOUND
 * (no kubeconfig and not in a cluster, or no such context), OP_EINVALID
 * (malformed file, message names file and field), OP_ENOMEM. */
int kube_config_load(struct kube_config **out, const struct kube_config_opts *opts);

/* Pure parse of kubeconfig YAML documents (no environment, no $HOME):
 * docs[i] is the text of file i, base_dirs[i] the directory relative
 * certificate/key/token paths resolve against (NULL = cwd). Files are merged
 * with first-wins semantics, exactly as kube_config_load does for a list.
 * Referenced files (certificate-authority, client-certificate, client-key)
 * are read into memory here; tokenFile is read lazily and re-read. */
int kube_config_parse_yaml(struct kube_config **out, const char *const *docs,
                           const char *const *base_dirs, size_t n_docs,
                           const char *context);

/* In-cluster config from an explicit service-account directory (NULL =
 * /var/run/secrets/kubernetes.io/serviceaccount) and host/port (NULL =
 * $KUBERNETES_SERVICE_HOST / $KUBERNETES_SERVICE_PORT). IPv6 hosts are
 * bracketed. Namespace: $POD_NAMESPACE, else the namespace file, else
 * "default". */
int kube_config_in_cluster(struct kube_config **out, const char *sa_dir,
                           const char *host, const char *port);

void kube_config_free(struct kube_config *cfg);

/* Borrowed strings, valid for the config's lifetime. */
const char *kube_config_server(const struct kube_config *cfg);     /* "https://h:p" */
const char *kube_config_namespace(const struct kube_config *cfg);  /* never NULL */
const char *kube_config_context(const struct kube_config *cfg);    /* "" in-cluster */

/* How the user authenticates. */
enum kube_auth {
    KUBE_AUTH_NONE = 0,
    KUBE_AUTH_TOKEN,       /* static token */
    KUBE_AUTH_TOKEN_FILE,  /* tokenFile / in-cluster token: re-read every 60 s and after 401 */
    KUBE_AUTH_CERT,        /* client certificate + key */
    KUBE_AUTH_BASIC,       /* username/password */
    KUBE_AUTH_EXEC,        /* exec credential plugin, cached until expiry */
};
enum kube_auth kube_config_auth(const struct kube_config *cfg);

/* Introspection for tests and `crosslink get` diagnostics. Borrowed bytes,
 * valid for the config's lifetime; *len 0 and NULL when absent. Never log
 * these. */
const char *kube_config_ca_pem(const struct kube_config *cfg, size_t *len);
const char *kube_config_client_cert_pem(const struct kube_config *cfg, size_t *len);
const char *kube_config_client_key_pem(const struct kube_config *cfg, size_t *len);
int kube_config_insecure(const struct kube_config *cfg);           /* insecure-skip-tls-verify */
const char *kube_config_tls_server_name(const struct kube_config *cfg); /* NULL when unset */

/* The bearer token to send now (static, token file, or exec plugin), as a
 * malloc'd string in *out (caller frees), or *out = NULL when the config uses
 * no token. force_refresh re-reads the file / re-runs the plugin (after a
 * 401). Thread-safe. Errors: OP_ERR (file unreadable, plugin failed; message
 * says why), OP_ENOMEM. */
int kube_config_token(struct kube_config *cfg, int force_refresh, char **out);

/* ======================================================================
 * Resources, paths, queries
 * ====================================================================== */

/* group "" is the core group (/api/v1). Strings are borrowed/static. */
struct kube_resource {
    const char *group;
    const char *version;
    const char *plural;
    const char *kind;
    int namespaced;
};

extern const struct kube_resource KUBE_RES_CONFIGMAP;      /* v1 configmaps */
extern const struct kube_resource KUBE_RES_SECRET;         /* v1 secrets */
extern const struct kube_resource KUBE_RES_NAMESPACE;      /* v1 namespaces (cluster) */
extern const struct kube_resource KUBE_RES_SERVICEACCOUNT; /* v1 serviceaccounts */
extern const struct kube_resource KUBE_RES_LEASE;          /* coordination.k8s.io/v1 leases */
extern const struct kube_resource KUBE_RES_EVENT;          /* events.k8s.io/v1 events */
extern const struct kube_resource KUBE_RES_CRD;            /* apiextensions.k8s.io/v1 customresourcedefinitions */
extern const struct kube_resource KUBE_RES_STACK;          /* crosslink.dev/v1alpha1 observabilitystacks */

/* Writes "group/version" (or "version" for core) into out; returns out. */
const char *kube_resource_api_version(const struct kube_resource *r, char out[128]);

/* Query parameters; zero/NULL members are not sent. */
struct kube_query {
    const char *label_selector;
    const char *field_selector;
    const char *resource_version;
    const char *resource_version_match;
    const char *continue_token;
    long limit;
    int watch;
    int allow_watch_bookmarks;
    int send_initial_events;       /* watch-list (KEP-3157): sendInitialEvents=true */
    long timeout_seconds;
    const char *field_manager;
    int force;
    const char *dry_run;           /* "All" */
    const char *propagation_policy; /* DELETE: Foreground|Background|Orphan */
};

/* Pure: appends the API path for r (ns NULL/"" = all namespaces for a
 * namespaced resource; name NULL = the collection; subresource e.g.
 * "status") and the escaped query string to out. Path segments and query
 * values are percent-escaped (RFC 3986 unreserved kept). Returns 0,
 * OP_EINVALID (name given for a namespaced resource without ns, or a
 * subresource without a name) or OP_ETOOBIG. */
int kube_path(struct op_buf *out, const struct kube_resource *r, const char *ns,
              const char *name, const char *subresource, const struct kube_query *q);

/* Pure: appends s percent-escaped for a URL query value or path segment. */
int kube_escape(struct op_buf *out, const char *s);

/* ======================================================================
 * Status (error bodies)
 * ====================================================================== */

struct kube_status {
    int code;            /* HTTP status; 0 = no HTTP answer (network/TLS) */
    char reason[64];     /* Status.reason, e.g. "NotFound", "Expired" */
    char message[512];   /* Status.message (truncated) or transport error */
    int retry_after_s;   /* Retry-After seconds; -1 when absent */
};

/* Pure: fills st from an HTTP code and response body (a metav1.Status or
 * anything else; a non-JSON body becomes the message) and returns the
 * op_err for the code (0 for 2xx). retry_after_s is set to -1. */
int kube_status_decode(struct kube_status *st, int http_code, const char *body, size_t len);

/* Pure: the op_err for an HTTP status code (0 for 2xx). */
int kube_err_from_http(int code);

/* ======================================================================
 * Client
 * ====================================================================== */

struct kube_client;

/* Creates a client. STEALS cfg on success (freed by kube_client_free); on
 * failure cfg is still the caller's. Errors: OP_ENOMEM, OP_ERR. */
int kube_client_new(struct kube_client **out, struct kube_config *cfg);
void kube_client_free(struct kube_client *c);

/* Borrowed; valid for the client's lifetime. */
struct kube_config *kube_client_config(struct kube_client *c);

/* Called after every HTTP round trip (also each retry and each watch
 * connection) from the requesting thread, e.g. to export
 * rest_client_requests_total{code,method,host}: method is the HTTP method
 * ("GET", "POST", "PUT", "PATCH", "DELETE"); code is the HTTP status or 0 for
 * a transport error; host is "host:port". All strings are borrowed for the
 * call. Set before starting threads that use the client. fn NULL disables. */
typedef void (*kube_request_fn)(const char *method, int code, const char *host, void *payload);
void kube_client_set_on_request(struct kube_client *c, kube_request_fn fn, void *payload);

/* The write fence of a leader-elected controller: before every request
 * that is not a GET (watches included) and not to a coordination.k8s.io
 * Lease, fn returns the op_mono_ms() time after which writes must stop
 * (< 0: no limit now). Once it has passed the request is not sent
 * (OP_ECANCELED); before it, the request's timeout is cut to end by it, so
 * no write of ours is in flight after the deadline. Set before starting
 * threads that use the client; fn NULL disables. */
typedef int64_t (*kube_write_fence_fn)(void *payload);
void kube_client_set_write_fence(struct kube_client *c, kube_write_fence_fn fn, void *payload);

/* Total timeout for non-watch requests (default 30000 ms) and the maximum
 * number of Retry-After retries on 429/5xx (default 10; 0 disables). Set
 * before sharing the client across threads. */
void kube_client_set_timeout_ms(struct kube_client *c, long ms);
void kube_client_set_max_retries(struct kube_client *c, int n);
/* How many idle connections (easy handles) the pool keeps for reuse (default
 * 16; 0 restores it): set it to the number of requests the caller runs at
 * once, or a burst closes the surplus and the next one pays new TLS
 * handshakes. Set before sharing the client across threads. */
void kube_client_set_pool_max(struct kube_client *c, size_t n);
/* The ceiling of requests in flight at once (default 64; watches and Lease
 * requests are not counted and never wait). Below it the client adapts to
 * API Priority and Fairness: each 429 halves the number it lets through at
 * once (once per round trip), each other answer raises it by 1/limit again
 * — so a controller whose workers outrun its priority level backs off as a
 * whole instead of each request retrying on its own. Set before sharing the
 * client across threads. */
void kube_client_set_max_in_flight(struct kube_client *c, int n);
/* The current limit (for metrics and tests). Thread-safe. */
int kube_client_in_flight_limit(struct kube_client *c);
/* Closes the pooled connections (and their handles) that have been idle for
 * at least idle_ms, keeping the `keep` most recently used ones: a burst of
 * concurrent requests leaves one TLS connection (~100 KiB) per request in
 * the pool otherwise. Thread-safe; requests in flight are not affected. */
void kube_client_release_idle(struct kube_client *c, int64_t idle_ms, size_t keep);

/* cancel nonzero: every non-watch request fails at once with OP_EUNAVAILABLE
 * (st->code 0, message "cancelled") — new ones before they are sent, those
 * in flight within ~1 s (curl's progress callback), those waiting out a
 * Retry-After at once (with the last answer). Watches are not affected
 * (kube_watch_stop ends them). For a controller that lost its Lease: no
 * write may leave after that. cancel 0 lets requests through again.
 * Thread-safe. */
void kube_client_cancel(struct kube_client *c, int cancel);

/* Raw request: method, path (from kube_path, starting with "/"), optional
 * content type and body (borrowed). On 2xx *out (if out != NULL) receives
 * the decoded JSON body as a new reference (JSON null for an empty body).
 * st (may be NULL) is filled on success and failure. 401 makes the client
 * refresh the token and retry once; 429/5xx with Retry-After are retried
 * (see kube_client_set_max_retries). */
int kube_request(struct kube_client *c, const char *method, const char *path,
                 const char *content_type, const json_t *body, json_t **out,
                 struct kube_status *st);

/* Same with a raw body of len bytes (borrowed), e.g. YAML text sent as
 * application/apply-patch+yaml or application/yaml. body NULL = none. */
int kube_request_raw(struct kube_client *c, const char *method, const char *path,
                     const char *content_type, const char *body, size_t len, json_t **out,
                     struct kube_status *st);

/* GET one object. *out: new reference. OP_ENOTFOUND when absent. */
int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns,
             const char *name, json_t **out, struct kube_status *st);

struct kube_list_opts {
    const char *label_selector;
    const char *field_selector;
    long limit;               /* page size; 0 → 500 */
    const char *resource_version; /* NULL = consistent read */
};

/* LIST all pages (following metadata.continue; restarts once from scratch if
 * the continue token expired with 410). *out: a new reference to a list
 * object {"apiVersion","kind":"<Kind>List","metadata":{"resourceVersion"},
 * "items":[...]} holding every item exactly once. */
int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
              const struct kube_list_opts *o, json_t **out, struct kube_status *st);

/* Called by kube_list_each once per page, in order. items is the page's
 * array (borrowed, freed after the call; every item already has apiVersion
 * and kind); the callback may keep items (json_incref) or take them out
 * (json_incref, then json_array_set_new(items, i, json_null())) so they are
 * not copied. restart is nonzero on the first page of a list that started
 * over because the continue token expired (410): everything delivered
 * before belongs to an abandoned snapshot and must be discarded. A negative
 * return (an op_err) stops the list and is returned by kube_list_each. */
typedef int (*kube_list_page_fn)(json_t *items, int restart, void *payload);

/* LIST page by page with the same paging, 410 restart and apiVersion/kind
 * filling as kube_list, but each page is handed to fn and freed before the
 * next one is requested: memory is bounded by one page plus what fn keeps.
 * *rv_out (may be NULL): on success, the list's resourceVersion as a
 * malloc'd string ("" when the server sent none). */
int kube_list_each(struct kube_client *c, const struct kube_resource *r, const char *ns,
                   const struct kube_list_opts *o, kube_list_page_fn fn, void *payload,
                   char **rv_out, struct kube_status *st);

/* LIST one page with explicit query (limit/continue...). *out: the raw list
 * object, new reference. */
int kube_list_page(struct kube_client *c, const struct kube_resource *r, const char *ns,
                   const struct kube_query *q, json_t **out, struct kube_status *st);

/* POST obj (borrowed) into ns. *out (may be NULL): created object, new ref.
 * OP_ECONFLICT on AlreadyExists, OP_EINVALID on schema violations (the
 * apiserver's message is in st->message and op_err_last()). */
int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const json_t *obj, json_t **out, struct kube_status *st);

/* PUT obj (borrowed; name from metadata.name, must carry
 * metadata.resourceVersion for optimistic concurrency → OP_ECONFLICT). */
int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const json_t *obj, json_t **out, struct kube_status *st);

/* PUT to the /status subresource. */
int kube_update_status(struct kube_client *c, const struct kube_resource *r, const char *ns,
                       const json_t *obj, json_t **out, struct kube_status *st);

/* DELETE (propagationPolicy Background). OP_ENOTFOUND when absent. */
int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const char *name, struct kube_status *st);

/* Server-side apply: PATCH application/apply-patch+yaml with the JSON body
 * obj (borrowed; must carry apiVersion, kind, metadata.name),
 * fieldManager=crosslink, force=true. *out (may be NULL): the resulting
 * object, new reference. */
int kube_apply(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const json_t *obj, json_t **out, struct kube_status *st);
/* Same on the /status subresource. */
int kube_apply_status(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const json_t *obj, json_t **out, struct kube_status *st);

struct kube_apply_opts {
    const char *field_manager; /* NULL → "crosslink" */
    int no_force;              /* nonzero: force=false (conflicts → OP_ECONFLICT) */
    const char *subresource;   /* NULL or "status" */
};
int kube_apply_ex(struct kube_client *c, const struct kube_resource *r, const char *ns,
                  const json_t *obj, const struct kube_apply_opts *o, json_t **out,
                  struct kube_status *st);

/* JSON merge patch (application/merge-patch+json) on the object or on its
 * /status subresource. patch is borrowed. */
int kube_merge_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
                     const char *name, const json_t *patch, json_t **out,
                     struct kube_status *st);
int kube_merge_patch_status(struct kube_client *c, const struct kube_resource *r,
                            const char *ns, const char *name, const json_t *patch,
                            json_t **out, struct kube_status *st);

/* ======================================================================
 * Object helpers
 * ====================================================================== */

/* Borrowed strings from obj.metadata (NULL when absent). */
const char *kube_obj_name(const json_t *obj);
const char *kube_obj_namespace(const json_t *obj);
const char *kube_obj_uid(const json_t *obj);
const char *kube_obj_resource_version(const json_t *obj);
/* Writes "ns/name" (or "name" for cluster-scoped objects) into out. Returns
 * 0, OP_EINVALID (no name) or OP_ETOOBIG. */
int kube_obj_key(const json_t *obj, char *out, size_t n);

/* ======================================================================
 * Watch line framing (pure, unit-testable)
 * ====================================================================== */

/* Splits a byte stream into '\n'-terminated lines ("\r\n" accepted; empty
 * lines skipped) regardless of how it is chunked. Embedded:
 * kube_line_splitter_init / kube_line_splitter_cleanup. */
struct kube_line_splitter {
    struct op_buf buf;
    size_t max_line;
    int discarding; /* internal: skipping the rest of an oversized line */
};

/* Called once per complete line, without the terminator; line is borrowed
 * (valid during the call) and NUL-terminated. Nonzero return stops feeding
 * and is returned by kube_line_splitter_feed. */
typedef int (*kube_line_fn)(const char *line, size_t len, void *payload);

void kube_line_splitter_init(struct kube_line_splitter *s, size_t max_line);
void kube_line_splitter_cleanup(struct kube_line_splitter *s);
/* Feeds n bytes. Returns 0, the callback's nonzero value, or OP_ETOOBIG once
 * for a line longer than max_line (that line is dropped, later lines are
 * still delivered on subsequent feeds). */
int kube_line_splitter_feed(struct kube_line_splitter *s, const char *data, size_t n,
                            kube_line_fn fn, void *payload);
/* Bytes of an incomplete line currently buffered. */
size_t kube_line_splitter_pending(const struct kube_line_splitter *s);

/* Pure: parses one watch line {"type":T,"object":O}: T is copied into
 * type_buf ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"), *obj_out
 * receives a new reference to O. Errors: OP_EINVALID. */
int kube_watch_event_parse(const char *line, size_t len, char type_buf[16], json_t **obj_out);

/* ======================================================================
 * List+watch with an in-memory store (an informer)
 * ====================================================================== */

enum kube_event_type {
    KUBE_EVENT_ADDED = 0,
    KUBE_EVENT_MODIFIED = 1,
    KUBE_EVENT_DELETED = 2,
};
const char *kube_event_type_name(enum kube_event_type t);

/* obj is borrowed (the stored, transformed object; for DELETED the last
 * known state) and must be treated as read-only; json_incref it to keep
 * it. Called from the watch thread, never with the store lock held. */
typedef void (*kube_watch_event_fn)(enum kube_event_type type, const json_t *obj, void *payload);
/* Called after each successful (re)list has been applied to the store. */
typedef void (*kube_watch_synced_fn)(void *payload);
/* STEALS obj and returns a new reference to the object to store (may be obj
 * itself after editing, e.g. with data stripped). Returning NULL drops the
 * event. Called from the watch thread; during a (re)list it runs on each
 * page as it arrives, and the untransformed page is freed before the next
 * one is fetched, so a list costs one page plus the transformed store. */
typedef json_t *(*kube_watch_transform_fn)(json_t *obj, void *payload);
/* Informational: called when the watch loop hits an error and will back off
 * (err is an op_err; st may be NULL), e.g. to log it. */
typedef void (*kube_watch_error_fn)(int err, const struct kube_status *st, const char *msg,
                                    void *payload);

enum kube_initial {
    KUBE_INITIAL_AUTO = 0,
    KUBE_INITIAL_LIST = 1,
};

struct kube_watch_opts {
    const struct kube_resource *resource; /* required; borrowed, must outlive the watch */
    const char *ns;                       /* NULL or "" = all namespaces (copied) */
    const char *label_selector;           /* copied */
    const char *field_selector;           /* copied */
    long timeout_seconds;   /* server-side watch timeout; 0 → random 300..600 */
    long idle_timeout_ms;   /* no bytes for this long → reconnect; 0 → 180000 */
    long page_size;         /* list page size; 0 → 500 (peak list memory ≈ one page) */
    /* How the initial state (and every relist) is fetched. KUBE_INITIAL_AUTO:
     * a watch-list stream (KEP-3157: sendInitialEvents=true,
     * resourceVersionMatch=NotOlderThan, ended by the bookmark annotated
     * k8s.io/initial-events-end) decoded one event at a time and continued as
     * the watch; when the server refuses it (WatchList gate off, an older
     * apiserver) a paged LIST instead, like client-go's reflector.
     * KUBE_INITIAL_LIST: always the paged LIST, then a WATCH. */
    int initial;
    /* If set, the first cycle skips the initial LIST and watches from this
     * resourceVersion with an empty store (resume after restart; also how
     * tests provoke 410 → relist). */
    const char *resume_resource_version;
    kube_watch_event_fn on_event;
    kube_watch_synced_fn on_synced;
    kube_watch_transform_fn transform;
    kube_watch_error_fn on_error;
    void *payload;
};

struct kube_watch;

/* Allocates the watch and starts its thread (list, then watch; reconnects
 * with jittered backoff 800 ms ×2 capped at 30 s, reset after 2 min of
 * health; 410 → relist replacing the store and emitting DELETED for
 * vanished keys and ADDED/MODIFIED for new/changed ones). The client is
 * borrowed and must outlive the watch. */
int kube_watch_start(struct kube_watch **out, struct kube_client *c,
                     const struct kube_watch_opts *o);
/* Stops the thread and waits for it (an in-flight transfer is aborted
 * promptly). Safe from any thread except from inside a callback.
 * Idempotent. */
void kube_watch_stop(struct kube_watch *w);
/* Stops if needed, then frees the store. NULL-safe. */
void kube_watch_free(struct kube_watch *w);

/* Nonzero once the first list has been applied. */
int kube_watch_synced(struct kube_watch *w);
/* Waits up to timeout_ms for the first sync; returns 0 or OP_ETIMEOUT. */
int kube_watch_wait_synced(struct kube_watch *w, long timeout_ms);

/* Stored object for "ns/name" ("name" for cluster-scoped), or NULL: a new
 * reference to a fresh copy (the store keeps objects as compact JSON text and
 * decodes on each read, so keep transforms lean and reads few per reconcile). */
json_t *kube_watch_get(struct kube_watch *w, const char *key);
/* Calls fn for a snapshot of the store (decoded under the lock, callbacks
 * run without it). obj borrowed for the call. Nonzero from fn stops. */
typedef int (*kube_watch_foreach_fn)(const char *key, const json_t *obj, void *payload);
void kube_watch_foreach(struct kube_watch *w, kube_watch_foreach_fn fn, void *payload);
size_t kube_watch_count(struct kube_watch *w);
/* Last resourceVersion seen (list, event or bookmark): malloc'd copy or
 * NULL before the first list. */
char *kube_watch_resource_version(struct kube_watch *w);

struct kube_watch_stats {
    uint64_t lists;       /* completed (re)lists, including the first (streamed or paged) */
    uint64_t streamed;    /* ... of which received as a watch-list stream */
    uint64_t fallbacks;   /* watch-lists the server refused (then listed page by page) */
    uint64_t watches;     /* watch connections opened */
    uint64_t gone;        /* 410s seen (HTTP or ERROR event) */
    uint64_t bookmarks;   /* BOOKMARK events */
    uint64_t events;      /* ADDED/MODIFIED/DELETED events from the server */
    uint64_t errors;      /* failures that led to a backoff */
    uint64_t store_bytes; /* heap the stored objects hold now (entries, not the table) */
};
void kube_watch_get_stats(struct kube_watch *w, struct kube_watch_stats *out);

/* ======================================================================
 * Events (events.k8s.io/v1)
 * ====================================================================== */

struct kube_events;

/* reporting_controller NULL → "crosslink.dev/controller"; reporting_instance
 * NULL → $POD_NAME, else the hostname. The client is borrowed and must
 * outlive the recorder. */
int kube_events_new(struct kube_events **out, struct kube_client *c,
                    const char *reporting_controller, const char *reporting_instance);
void kube_events_free(struct kube_events *rec);

/* Records an event about regarding (borrowed; needs apiVersion, kind,
 * metadata.name/namespace/uid) in its namespace. type "Normal"|"Warning";
 * reason, action ≤128 chars; note ≤1024 bytes (truncated). A repeat of the
 * same (type, reason, action, regarding uid, note) within 6 minutes PATCHes
 * the existing Event's series {count, lastObservedTime} instead of creating
 * one. Best-effort: callers may ignore the result (0 or an op_err). The note
 * is sent verbatim: callers must never put secret values in it. Thread-safe. */
int kube_event_emit(struct kube_events *rec, const json_t *regarding, const char *type,
                    const char *reason, const char *action, const char *note);

/* ======================================================================
 * Leases (coordination.k8s.io/v1)
 * ====================================================================== */

/* GET; *out new reference; OP_ENOTFOUND when absent. */
int kube_lease_get(struct kube_client *c, const char *ns, const char *name, json_t **out,
                   struct kube_status *st);
/* POST lease (borrowed); OP_ECONFLICT when it already exists. *out may be NULL. */
int kube_lease_create(struct kube_client *c, const char *ns, const json_t *lease,
                      json_t **out, struct kube_status *st);
/* PUT lease (borrowed; must carry metadata.resourceVersion): OP_ECONFLICT
 * when someone else updated it first. *out may be NULL. */
int kube_lease_update(struct kube_client *c, const char *ns, const json_t *lease,
                      json_t **out, struct kube_status *st);

#endif
