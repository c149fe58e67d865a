/* runtime.h — stack-agnostic controller machinery (pkg/runtime): a Prometheus
 * metrics registry, a rate-limited work queue with per-key backoff, Lease
 * leader election, the health/metrics HTTP endpoints (libmicrohttpd) and the
 * manager that runs informers, workers and those pieces around a reconciler
 * given as a function pointer plus a context. Nothing here names a kind the
 * operator reconciles; controller/stack/ brings that. */
#ifndef CROSSLINK_RUNTIME_H
#define CROSSLINK_RUNTIME_H

#include "core.h"

#include <stddef.h>
#include <stdint.h>

/* metrics.h — a tiny Prometheus registry: counters, gauges and histograms
 * with labels, rendered in the text exposition format (version 0.0.4). Every
 * function is thread-safe. Metric names follow controller-runtime where the
 * meaning matches (see manager.c). */


#include <stddef.h>

enum rt_metric_type { RT_METRIC_COUNTER, RT_METRIC_GAUGE, RT_METRIC_HISTOGRAM };

struct rt_metrics;
struct rt_metric;

/* controller-runtime's reconcile_time_seconds buckets (40 of them). */
extern const double RT_RECONCILE_BUCKETS[];
extern const size_t RT_RECONCILE_NBUCKETS;

struct rt_metrics *rt_metrics_new(void);
void rt_metrics_free(struct rt_metrics *m);

/* Registers a family. labels: NULL-terminated label names (NULL = none);
 * buckets (ascending upper bounds, without +Inf) only for histograms. The
 * returned handle is borrowed, valid until rt_metrics_free. NULL on OOM or
 * when the name is taken. A family without labels starts with its one
 * series at 0 (exported before anything is added). Register everything
 * before sharing the registry. */
struct rt_metric *rt_metrics_register(struct rt_metrics *m, enum rt_metric_type type,
                                        const char *name, const char *help,
                                        const char *const *labels, const double *buckets,
                                        size_t nbuckets);

/* lv: label values in the order of the registered names (NULL when the
 * family has none). Missing series are created (0 on OOM: the sample is
 * dropped). */
void rt_metric_add(struct rt_metric *x, const char *const *lv, double v); /* counter, gauge */
void rt_metric_set(struct rt_metric *x, const char *const *lv, double v); /* gauge */
void rt_metric_observe(struct rt_metric *x, const char *const *lv, double v); /* histogram */
/* rt_metric_set for a series the caller knows is absent (the family was just
 * cleared and every lv is distinct): appends it without the linear lookup,
 * so a collector rebuilding one series per stack stays O(stacks). */
void rt_metric_set_new(struct rt_metric *x, const char *const *lv, double v);
/* Current value (counter/gauge) or observation count (histogram); 0 when the
 * series does not exist. For tests and the bench. */
double rt_metric_value(struct rt_metric *x, const char *const *lv);
/* Drops every series of the family (gauges recomputed at each scrape). */
void rt_metric_clear(struct rt_metric *x);

/* Called at the start of every rt_metrics_render, without the registry
 * lock, to refresh gauges (queue depth, stacks by readiness). */
typedef void (*rt_metrics_collect_fn)(struct rt_metrics *m, void *payload);
void rt_metrics_set_collector(struct rt_metrics *m, rt_metrics_collect_fn fn, void *payload);

/* Appends the exposition text of every family (in registration order). */
int rt_metrics_render(struct rt_metrics *m, struct op_buf *out);

/* workqueue.h — the controller's work queue, modelled on client-go's
 * util/workqueue: a FIFO of string keys with dedup (a queued key is queued
 * once), a processing set (a key is never handed to two workers at once; a
 * key re-added while processed is re-queued by rt_wq_done), delayed adds, and
 * per-key exponential backoff (base doubling to max, reset by rt_wq_forget).
 * Every function is thread-safe. */


#include <stddef.h>
#include <stdint.h>

/* rt_wq_get's return when the queue has been shut down. */
#define RT_WQ_SHUTDOWN 1

struct rt_wq_opts {
    int64_t base_delay_ms; /* first backoff; 0 means 5 ms */
    int64_t max_delay_ms;  /* backoff cap; 0 means 1000 s */
    struct op_clock clock; /* zeroed = real monotonic clock */
};

struct rt_wq_stats {
    size_t depth;          /* keys ready in the FIFO */
    size_t delayed;        /* keys waiting for their delay */
    size_t processing;     /* keys handed out and not done */
    uint64_t adds_total;   /* adds that were not deduplicated */
    uint64_t retries_total;/* rt_wq_add_rate_limited calls */
};

struct rt_wq;

/* opts may be NULL (defaults). Returns NULL on OOM. */
struct rt_wq *rt_wq_new(const struct rt_wq_opts *opts);
/* Frees the queue; no thread may be using it any more. NULL-safe. */
void rt_wq_free(struct rt_wq *q);

/* Queues key now (no-op when already queued, or after shutdown). 0/OP_ENOMEM. */
int rt_wq_add(struct rt_wq *q, const char *key);
/* Queues key after delay_ms (<=0: now). If key is already waiting, the
 * earlier deadline wins. */
int rt_wq_add_after(struct rt_wq *q, const char *key, int64_t delay_ms);
/* Queues key after its next backoff delay: base * 2^failures, capped. */
int rt_wq_add_rate_limited(struct rt_wq *q, const char *key);
/* The delay the next rt_wq_add_rate_limited would use, without counting it. */
int64_t rt_wq_next_backoff_ms(struct rt_wq *q, const char *key);
/* Resets key's backoff (after a successful reconcile). */
void rt_wq_forget(struct rt_wq *q, const char *key);
/* How many times key has been rate-limited since its last forget. */
int rt_wq_num_requeues(struct rt_wq *q, const char *key);

/* Takes the next key, marking it processing. timeout_ms < 0 blocks until a
 * key or shutdown; 0 never blocks. On 0, *key_out is a malloc'd copy the
 * caller frees after rt_wq_done. Returns 0, RT_WQ_SHUTDOWN or OP_ETIMEOUT.
 * After shutdown no further key is handed out even if some are queued. */
int rt_wq_get(struct rt_wq *q, int64_t timeout_ms, char **key_out);
/* Marks key finished; if it was re-added meanwhile it is queued again. */
void rt_wq_done(struct rt_wq *q, const char *key);

/* Wakes blocked getters so they re-read the clock (tests with a fake clock). */
void rt_wq_kick(struct rt_wq *q);
/* Stops handing out keys and wakes all getters. */
void rt_wq_shutdown(struct rt_wq *q);
/* Waits (real time) until no key is processing or timeout_ms passes (<0:
 * forever). Returns 0 or OP_ETIMEOUT. */
int rt_wq_wait_idle(struct rt_wq *q, int64_t timeout_ms);
int rt_wq_is_shutdown(struct rt_wq *q);

void rt_wq_get_stats(struct rt_wq *q, struct rt_wq_stats *out);

/* leader.h — Lease-based leader election (client-go's algorithm,
 * kubernetes.md §2.9) as a state machine over an injected lease store and
 * clock, plus a runner thread and a binding to pkg/kube's Lease calls.
 * Validity of another holder's lease is judged on the local clock only:
 * the time we last saw the record change + leaseDurationSeconds. */


#include <stdint.h>

struct kube_client;

struct rt_lease_rec {
    char holder[256];       /* "" = released / nobody */
    int duration_s;         /* leaseDurationSeconds */
    char acquire_time[40];  /* MicroTime strings, "" when absent */
    char renew_time[40];
    int transitions;        /* leaseTransitions */
};

/* The lease store. get: 0, OP_ENOTFOUND or another op_err. create/update:
 * 0, OP_ECONFLICT (someone else wrote first) or another op_err; update
 * writes over the record last returned by get/create/update (optimistic
 * concurrency is the store's business). */
struct rt_lease_ops {
    int (*get)(void *payload, struct rt_lease_rec *out);
    int (*create)(void *payload, const struct rt_lease_rec *rec);
    int (*update)(void *payload, const struct rt_lease_rec *rec);
    void *payload;
};

struct rt_leader_cfg {
    const char *identity;      /* copied */
    int64_t lease_ms;          /* 15000 */
    int64_t renew_deadline_ms; /* 10000 */
    int64_t retry_ms;          /* 2000 */
    struct rt_lease_ops ops;
    struct op_clock clock;    /* monotonic; zeroed = real */
    /* MicroTime for acquire/renew times; NULL = op_rfc3339_micro. */
    void (*wall_micro)(char out[40], void *payload);
    void *wall_payload;
};

enum rt_leader_event { RT_LEADER_NONE = 0, RT_LEADER_STARTED = 1, RT_LEADER_LOST = 2 };

struct rt_leader;

/* Returns NULL on OOM or invalid timings (lease > renew deadline > 1.2 ×
 * retry is required, as in client-go). */
struct rt_leader *rt_leader_new(const struct rt_leader_cfg *cfg);
void rt_leader_free(struct rt_leader *e);

/* One acquire-or-renew attempt. Returns what changed: STARTED when we just
 * became leader, LOST when we were leader and could not renew within the
 * renew deadline, else NONE. */
enum rt_leader_event rt_leader_tick(struct rt_leader *e);
int rt_leader_is_leader(const struct rt_leader *e);
/* The clock time (cfg.clock) until which we may write as leader: the start
 * of our last successful renew + the renew deadline, which is shorter than
 * the lease, so our writes end before another candidate may take over.
 * 0 when not leading. Thread-safe; for kube_client_set_write_fence. */
int64_t rt_leader_write_deadline(struct rt_leader *e);
/* The holder we last saw ("" when none). Borrowed until the next tick. */
const char *rt_leader_observed_holder(const struct rt_leader *e);
/* Gives the lease up if we hold it: holderIdentity "" and
 * leaseDurationSeconds 1, so a successor takes over at once. 0 or op_err. */
int rt_leader_release(struct rt_leader *e);
/* The delay before the next tick: retry_ms, jittered ×[1,1.2] when not
 * leading. */
int64_t rt_leader_next_delay_ms(const struct rt_leader *e);

/* ---- runner thread -------------------------------------------------------- */

typedef void (*rt_leader_cb)(enum rt_leader_event ev, void *payload);

/* Starts a thread that ticks until rt_leader_stop; cb runs on that thread
 * for STARTED/LOST. After LOST the thread keeps trying to re-acquire. */
int rt_leader_run(struct rt_leader *e, rt_leader_cb cb, void *payload);
/* Stops the thread (wakes it at once) and, if release, releases the lease. */
void rt_leader_stop(struct rt_leader *e, int release);

/* ---- pkg/kube binding ------------------------------------------------------ */

struct rt_kube_lease;
/* A lease store for coordination.k8s.io/v1 Lease ns/name via client
 * (borrowed). Fills *ops. */
struct rt_kube_lease *rt_kube_lease_new(struct kube_client *c, const char *ns, const char *name,
                                          struct rt_lease_ops *ops);
void rt_kube_lease_free(struct rt_kube_lease *l);

/* How many warnings about failed Lease reads/writes were logged (the first
 * failure, a changed error, then at most one a minute while it repeats). */
unsigned long rt_leader_failure_warnings(const struct rt_leader *e);

/* ---- HTTP endpoints (http.c) --------------------------------------------- */

/* /metrics (Prometheus text), /healthz (process alive) and /readyz (the
 * ready callback) on libmicrohttpd's internal polling thread. One listener
 * may serve any subset of them. The limits below are the defaults; see
 * http.c for why they are what they are. */
#define RT_HTTP_CONN_LIMIT 256u     /* connections held at once, all peers */
#define RT_HTTP_PER_IP_LIMIT 128u   /* ... from one peer address */
#define RT_HTTP_TIMEOUT_S 10u       /* idle seconds before MHD closes a connection */
#define RT_HTTP_MEMORY_LIMIT 16384u /* bytes of request head (and pool) per connection */

/* Returns 1 when ready, else 0 with a short reason written into why. Called
 * from the server thread. */
typedef int (*rt_ready_fn)(char *why, size_t why_cap, void *payload);

struct rt_http_opts {
    const char *addr;           /* "HOST:PORT", ":PORT" ("127.0.0.1:0" = ephemeral) */
    struct rt_metrics *metrics; /* serve /metrics when non-NULL (borrowed) */
    int health;                 /* serve /healthz and /readyz */
    rt_ready_fn ready;          /* NULL = always ready */
    void *payload;
    /* 0 = the RT_HTTP_* default; tests set them to show what breaks */
    unsigned conn_limit, per_ip_limit, timeout_s, memory_limit;
    int no_epoll; /* poll() instead of epoll (MHD_USE_POLL) */
};

struct rt_http;

/* Binds and starts the server thread. Returns 0, OP_EINVALID (bad address)
 * or OP_ERR (bind failed; message in op_err_last()). */
int rt_http_start(struct rt_http **out, const struct rt_http_opts *o);
/* The bound port (useful with port 0). */
int rt_http_port(const struct rt_http *h);
/* Stops the thread, closes every connection and frees. NULL-safe. */
void rt_http_free(struct rt_http *h);
/* Splits "HOST:PORT", ":PORT" or "[V6]:PORT" (port 0-65535). 0 or
 * OP_EINVALID. Pure. */
int rt_addr_parse(const char *s, char *host_out, size_t host_cap, int *port_out);

/* ---- stop latch (stop.c) ------------------------------------------------- */

/* The one way the controller stops: any thread trips the latch with an exit
 * code and a reason (the first wins); the main thread waits on it and runs
 * the orderly shutdown. rt_stop_on_signals starts a thread that trips it
 * (code 0) on SIGTERM/SIGINT, which the caller must have blocked in every
 * thread (block them before creating any). */
struct rt_stop;
struct rt_stop *rt_stop_new(void);
void rt_stop_request(struct rt_stop *s, int code, const char *why);
/* Blocks until requested; returns the code, why gets the reason. */
int rt_stop_wait(struct rt_stop *s, char *why, size_t cap);
int rt_stop_requested(struct rt_stop *s);
int rt_stop_on_signals(struct rt_stop *s);
/* Ends the signal thread and frees. NULL-safe. */
void rt_stop_free(struct rt_stop *s);

/* ---- manager: informers, work queue, workers (manager.c) ----------------- */

/* What the manager knows of the kind it reconciles: nothing. A caller
 * registers informers (resource, label selector, transform, and a handler
 * that maps an object event to work-queue keys, like controller-runtime's
 * Watches + handler.EventHandler) and one reconciler, a function pointer
 * plus a context. Workers start once every informer cache is synced and,
 * with leader election, once the Lease is ours; losing it shuts the queue
 * and trips the stop latch (writes are already fenced through the client).
 * It owns the controller-runtime metrics (controller_runtime_*, workqueue_*,
 * rest_client_requests_total, leader_election_master_status). */

#include "kube.h"

#include <jansson.h>

/* controller-runtime's reconcile.Result: requeue_after_ms > 0 adds the key
 * again after that delay (backoff forgotten); requeue alone re-adds it
 * rate-limited; neither = done (backoff forgotten). A negative return is an
 * error: logged, counted, re-added with the key's exponential backoff. */
struct rt_result {
    int requeue;
    int64_t requeue_after_ms;
};

struct rt_reconciler {
    int (*reconcile)(void *ctx, const char *key, struct rt_result *res);
    void *ctx;
};

/* Maps one informer event to keys (rt_wq_add on q). Runs on the watch
 * thread; obj is the transformed object, borrowed. */
typedef void (*rt_handler_fn)(struct rt_wq *q, enum kube_event_type t, const json_t *obj, void *payload);
/* The stock handler (EnqueueRequestForObject): the object's own "ns/name". */
void rt_enqueue_object(struct rt_wq *q, enum kube_event_type t, const json_t *obj, void *payload);

struct rt_watch_opts {
    const struct kube_resource *resource; /* borrowed, must outlive the manager */
    const char *label_selector;           /* NULL = all objects */
    long page_size;                       /* list page size; 0 = pkg/kube's default */
    json_t *(*transform)(json_t *obj, void *payload); /* kube_watch_transform_fn; may be NULL */
    rt_handler_fn handler;                /* required */
    void *payload;                        /* for transform and handler */
};

struct kube_client;
struct rt_stop;

struct rt_manager_opts {
    const char *name;      /* the "controller" / "name" metric label */
    const char *key_field; /* log field naming a key ("key" when NULL) */
    struct kube_client *client; /* borrowed; NULL = no informers run (unit tests feed
                                   events with rt_manager_deliver; caches count as synced) */
    struct rt_metrics *metrics; /* borrowed; NULL = no metrics */
    const char *const *namespaces; /* one informer per namespace per watch; */
    size_t n_namespaces;           /* 0 = one for all namespaces */
    int workers;                   /* > 0 */
    struct rt_stop *stop;          /* tripped when leadership is lost; may be NULL */
    /* leader election (identity, lease_ns, lease_name required); lease_name
     * alone names the leader_election_master_status series (0) */
    int leader_elect;
    const char *identity, *lease_ns, *lease_name;
    const struct rt_wq_opts *queue; /* NULL = defaults */
    /* more series for the /metrics collector (the manager owns the slot) */
    rt_metrics_collect_fn collect;
    void *collect_payload;
};

struct rt_manager;

/* Creates the queue and registers the metrics; starts nothing. */
int rt_manager_new(struct rt_manager **out, const struct rt_manager_opts *o, const struct rt_reconciler *r);
/* Registers an informer before rt_manager_start; returns its handle (>= 0)
 * or an op_err. */
int rt_manager_watch(struct rt_manager *m, const struct rt_watch_opts *w);
/* Starts the informers, then leader election (workers on leadership) or
 * the workers. 0 or an op_err (logged). */
int rt_manager_start(struct rt_manager *m);
/* Shuts the queue, joins the workers (in-flight reconciles end), releases
 * the Lease, stops the informers. Idempotent; rt_manager_free calls it. */
void rt_manager_stop(struct rt_manager *m);
void rt_manager_free(struct rt_manager *m);

/* The cached object "ns/name" of informer handle (new reference) or NULL. */
json_t *rt_manager_get(struct rt_manager *m, int handle, const char *key);
/* 1 when every informer has applied its first list. */
int rt_manager_synced(struct rt_manager *m);
/* For rt_http_opts.ready (payload = the manager). */
int rt_manager_readyz(char *why, size_t cap, void *payload);
struct rt_wq *rt_manager_queue(struct rt_manager *m);
struct rt_leader *rt_manager_leader(struct rt_manager *m); /* NULL without election */
/* The seam for tests: hands obj to the handler of informer handle as its
 * watch thread would. */
void rt_manager_deliver(struct rt_manager *m, int handle, enum kube_event_type t, const json_t *obj);

/* ---- Event recorder (recorder.c) ----------------------------------------- */

/* Events are queued (at most RT_RECORDER_QUEUE_MAX; more are dropped, as
 * client-go's broadcaster does — counted, and logged once per overflow)
 * and sent by one thread through pkg/kube's kube_event_emit (repeats
 * become an Event series). */
#define RT_RECORDER_QUEUE_MAX 1024

struct rt_recorder;
/* component/instance: reportingController / reportingInstance (see
 * kube_events_new); dropped: a counter (no labels) that counts the Events
 * dropped, or NULL. Returns 0 or an op_err; the client and the counter
 * must outlive it. */
int rt_recorder_new(struct rt_recorder **out, struct kube_client *c, const char *component,
                    const char *instance, struct rt_metric *dropped);
/* STEALS regarding (apiVersion, kind, metadata.name/namespace/uid); never
 * blocks on the apiserver, never fails the caller. NULL r drops. */
void rt_recorder_emit(struct rt_recorder *r, json_t *regarding, const char *type, const char *reason,
                      const char *note);
/* Events queued, not yet taken by the sending thread (for tests). */
size_t rt_recorder_queued(struct rt_recorder *r);
/* Stops the thread (queued Events are dropped) and frees. NULL-safe. */
void rt_recorder_free(struct rt_recorder *r);

#endif
