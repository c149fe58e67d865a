/* manager.c — the controller manager, after controller-runtime's: informers
 * (one pkg/kube watch per registered resource and namespace; their handlers
 * map events to keys), one rate-limited work queue, N workers that call the
 * reconciler (a function pointer plus a context) with Result semantics,
 * readiness (caches synced), leader election (workers start when leading;
 * on loss the queue shuts and the stop latch trips, writes being fenced
 * through the client), and the controller-runtime metrics. It knows no
 * kind: keys are opaque strings, objects are what the transforms made. */
#include "runtime.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RT_MAX_INFORMERS 8
#define RT_WORKER_STACK (512 * 1024)

struct rt_informer {
    struct rt_manager *m;
    struct rt_watch_opts o;
    char *selector;
    struct kube_watch **w; /* one per namespace */
};

struct rt_manager {
    struct rt_manager_opts o;
    struct rt_reconciler r;
    char **ns; /* n_ns entries, NULL = all namespaces */
    size_t n_ns;
    struct rt_wq *queue;
    struct rt_informer inf[RT_MAX_INFORMERS];
    int n_inf;
    int started_informers;

    pthread_t *workers;
    int n_workers;
    atomic_int workers_started;
    _Atomic int64_t last_trim;

    struct rt_leader *leader;
    struct rt_kube_lease *lease;
    int stopped;

    struct rt_metric *m_total, *m_errors, *m_time, *m_active;
    struct rt_metric *m_depth, *m_adds, *m_retries, *m_rest, *m_leader;
    struct rt_metric *m_store; /* crosslink_informer_store_bytes */
};

/* ---- informers ------------------------------------------------------------ */

void rt_enqueue_object(struct rt_wq *q, enum kube_event_type t, const json_t *obj, void *payload)
{
    char key[512];
    (void)t;
    (void)payload;
    if (kube_obj_key(obj, key, sizeof(key)) == 0)
        (void)rt_wq_add(q, key);
}

static void inf_event(enum kube_event_type t, const json_t *obj, void *payload)
{
    struct rt_informer *in = payload;
    in->o.handler(in->m->queue, t, obj, in->o.payload);
}

static json_t *inf_transform(json_t *obj, void *payload)
{
    struct rt_informer *in = payload;
    return in->o.transform(obj, in->o.payload);
}

static void inf_error(int err, const struct kube_status *st, const char *msg, void *payload)
{
    char code[16];
    (void)payload;
    snprintf(code, sizeof(code), "%d", st ? st->code : 0);
    op_log(OP_LOG_WARN, "watch error, backing off", "error", msg ? msg : op_err_name(err), "code", code,
           NULL);
}

int rt_manager_watch(struct rt_manager *m, const struct rt_watch_opts *w)
{
    struct rt_informer *in;
    if (!w || !w->resource || !w->handler)
        return op_err_set(OP_EINVALID, "rt_manager_watch: resource and handler are required");
    if (m->n_inf == RT_MAX_INFORMERS || m->started_informers)
        return op_err_set(OP_EINVALID, "rt_manager_watch: too many informers or already started");
    in = &m->inf[m->n_inf];
    in->m = m;
    in->o = *w;
    in->selector = w->label_selector ? op_strdup(w->label_selector) : NULL;
    in->o.label_selector = in->selector;
    in->w = calloc(m->n_ns, sizeof(*in->w));
    if (!in->w || (w->label_selector && !in->selector)) {
        free(in->w);
        free(in->selector);
        memset(in, 0, sizeof(*in));
        return OP_ENOMEM;
    }
    return m->n_inf++;
}

/* Starts every informer (the later registered first: an owner's handler
 * may read the caches of what it owns). */
static int start_informers(struct rt_manager *m)
{
    m->started_informers = 1;
    if (!m->o.client)
        return OP_OK;
    for (size_t i = 0; i < m->n_ns; i++) {
        for (int k = m->n_inf - 1; k >= 0; k--) {
            struct rt_informer *in = &m->inf[k];
            struct kube_watch_opts wo = {0};
            int err;
            wo.resource = in->o.resource;
            wo.ns = m->ns[i];
            wo.label_selector = in->o.label_selector;
            wo.page_size = in->o.page_size;
            wo.on_event = inf_event;
            wo.transform = in->o.transform ? inf_transform : NULL;
            wo.on_error = inf_error;
            wo.payload = in;
            if ((err = kube_watch_start(&in->w[i], m->o.client, &wo)) < 0)
                return err;
        }
    }
    return OP_OK;
}

static struct kube_watch *watch_for(struct rt_manager *m, int handle, const char *key)
{
    const char *slash = strchr(key, '/');
    size_t nl = slash ? (size_t)(slash - key) : 0;
    if (handle < 0 || handle >= m->n_inf)
        return NULL;
    for (size_t i = 0; i < m->n_ns; i++) {
        if (!m->ns[i])
            return m->inf[handle].w[i];
        if (strlen(m->ns[i]) == nl && !strncmp(m->ns[i], key, nl))
            return m->inf[handle].w[i];
    }
    return NULL;
}

json_t *rt_manager_get(struct rt_manager *m, int handle, const char *key)
{
    struct kube_watch *w = watch_for(m, handle, key);
    return w ? kube_watch_get(w, key) : NULL;
}

int rt_manager_synced(struct rt_manager *m)
{
    if (!m->o.client)
        return 1;
    for (int k = 0; k < m->n_inf; k++)
        for (size_t i = 0; i < m->n_ns; i++)
            if (!m->inf[k].w[i] || !kube_watch_synced(m->inf[k].w[i]))
                return 0;
    return 1;
}

int rt_manager_readyz(char *why, size_t cap, void *payload)
{
    if (!rt_manager_synced(payload)) {
        snprintf(why, cap, "informer caches not synced");
        return 0;
    }
    return 1; /* leader or standby: both are healthy replicas */
}

void rt_manager_deliver(struct rt_manager *m, int handle, enum kube_event_type t, const json_t *obj)
{
    if (handle >= 0 && handle < m->n_inf)
        inf_event(t, obj, &m->inf[handle]);
}

struct rt_wq *rt_manager_queue(struct rt_manager *m)
{
    return m->queue;
}

struct rt_leader *rt_manager_leader(struct rt_manager *m)
{
    return m->leader;
}

/* ---- workers -------------------------------------------------------------- */

/* After a burst (queue empty), close the API connections the burst left
 * idle in the client's pool (~100 KiB of TLS state each; two stay) and hand
 * freed heap back to the kernel so RSS reflects what is live; at most every
 * 5 s. */
static void maybe_trim(struct rt_manager *m)
{
    struct rt_wq_stats st;
    int64_t now = op_mono_ms(), prev = atomic_load(&m->last_trim);
    if (now - prev < 5000)
        return;
    rt_wq_get_stats(m->queue, &st);
    if (st.depth == 0 && st.processing == 0 && atomic_compare_exchange_strong(&m->last_trim, &prev, now)) {
        if (m->o.client)
            kube_client_release_idle(m->o.client, 15000, 2);
        malloc_trim(0);
    }
}

/* One key through the reconciler: Result → queue, metrics, log. */
static void process(struct rt_manager *m, const char *key)
{
    const char *ctl[] = {m->o.name, NULL};
    struct rt_result res = {0, 0};
    const char *result;
    int64_t t0 = op_mono_ms();
    int err;

    rt_metric_add(m->m_active, ctl, 1);
    err = m->r.reconcile(m->r.ctx, key, &res);
    rt_metric_add(m->m_active, ctl, -1);
    rt_metric_observe(m->m_time, ctl, (double)(op_mono_ms() - t0) / 1000.0);
    if (err < 0) {
        result = "error";
        rt_metric_add(m->m_errors, ctl, 1);
        op_log(OP_LOG_ERROR, "reconcile failed", m->o.key_field ? m->o.key_field : "key", key, "error",
               op_err_last(), NULL);
        (void)rt_wq_add_rate_limited(m->queue, key);
    } else if (res.requeue_after_ms > 0) {
        rt_wq_forget(m->queue, key);
        (void)rt_wq_add_after(m->queue, key, res.requeue_after_ms);
        result = "requeue_after";
    } else if (res.requeue) {
        (void)rt_wq_add_rate_limited(m->queue, key);
        result = "requeue";
    } else {
        rt_wq_forget(m->queue, key);
        result = "success";
    }
    rt_metric_add(m->m_total, (const char *[]){m->o.name, result}, 1);
}

static void *worker_main(void *p)
{
    struct rt_manager *m = p;
    char *key;
    while (!rt_manager_synced(m)) {
        struct timespec ts = {0, 50 * 1000000L};
        if (rt_wq_is_shutdown(m->queue))
            return NULL;
        nanosleep(&ts, NULL);
    }
    while (rt_wq_get(m->queue, -1, &key) == 0) {
        process(m, key);
        rt_wq_done(m->queue, key);
        free(key);
        maybe_trim(m);
    }
    return NULL;
}

static int start_workers(struct rt_manager *m)
{
    pthread_attr_t a;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&m->workers_started, &expected, 1))
        return OP_OK;
    m->workers = calloc((size_t)m->o.workers, sizeof(*m->workers));
    if (!m->workers)
        return OP_ENOMEM;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, RT_WORKER_STACK);
    for (int i = 0; i < m->o.workers; i++) {
        if (pthread_create(&m->workers[i], &a, worker_main, m) != 0)
            break;
        m->n_workers++;
    }
    pthread_attr_destroy(&a);
    op_log(OP_LOG_INFO, "workers started", NULL);
    return m->n_workers > 0 ? OP_OK : op_err_set(OP_ERR, "cannot start workers");
}

/* ---- leader election ------------------------------------------------------ */

/* The client's write fence (kube_client_set_write_fence): the leader's
 * deadline, on the client's clock (both are op_mono_ms). */
static int64_t write_fence(void *payload)
{
    struct rt_manager *m = payload;
    return rt_leader_write_deadline(m->leader);
}

static void on_leader(enum rt_leader_event ev, void *payload)
{
    struct rt_manager *m = payload;
    if (ev == RT_LEADER_STARTED) {
        op_log(OP_LOG_INFO, "became leader", "identity", m->o.identity, NULL);
        rt_metric_set(m->m_leader, (const char *[]){m->o.lease_name}, 1);
        if (start_workers(m) < 0)
            op_log(OP_LOG_ERROR, "cannot start workers", "error", op_err_last(), NULL);
    } else if (ev == RT_LEADER_LOST) {
        /* like controller-runtime: a former leader must not keep working.
         * Its writes are already fenced (rt_leader_write_deadline ended
         * before the lease could pass to someone else); the main thread now
         * stops the workers and exits non-zero. */
        op_log(OP_LOG_ERROR, "leadership lost, exiting", "identity", m->o.identity, NULL);
        rt_metric_set(m->m_leader, (const char *[]){m->o.lease_name}, 0);
        rt_wq_shutdown(m->queue); /* no new reconcile starts */
        if (m->o.stop)
            rt_stop_request(m->o.stop, 1, "leadership lost");
    }
}

static int start_leader(struct rt_manager *m)
{
    struct rt_leader_cfg lc = {0};
    lc.identity = m->o.identity;
    m->lease = rt_kube_lease_new(m->o.client, m->o.lease_ns, m->o.lease_name, &lc.ops);
    m->leader = m->lease ? rt_leader_new(&lc) : NULL;
    if (m->leader)
        kube_client_set_write_fence(m->o.client, write_fence, m);
    if (!m->leader || rt_leader_run(m->leader, on_leader, m) < 0) {
        op_log(OP_LOG_ERROR, "cannot start leader election", NULL);
        return OP_ERR;
    }
    rt_metric_set(m->m_leader, (const char *[]){m->o.lease_name}, 0);
    return OP_OK;
}

int rt_manager_start(struct rt_manager *m)
{
    int err;
    if ((err = start_informers(m)) < 0) {
        op_log(OP_LOG_ERROR, "cannot start informers", "error", op_err_last(), NULL);
        return err;
    }
    if (m->o.leader_elect && m->o.client)
        return start_leader(m);
    if ((err = start_workers(m)) < 0) {
        op_log(OP_LOG_ERROR, "cannot start workers", "error", op_err_last(), NULL);
        return err;
    }
    return OP_OK;
}

/* ---- metrics -------------------------------------------------------------- */

static void on_request(const char *method, int code, const char *host, void *payload)
{
    struct rt_manager *m = payload;
    char cs[16];
    if (code > 0)
        snprintf(cs, sizeof(cs), "%d", code);
    else
        snprintf(cs, sizeof(cs), "<error>");
    rt_metric_add(m->m_rest, (const char *[]){cs, method, host}, 1);
}

static void collect(struct rt_metrics *reg, void *payload)
{
    struct rt_manager *m = payload;
    struct rt_wq_stats st;
    const char *nm[] = {m->o.name, NULL};
    rt_wq_get_stats(m->queue, &st);
    rt_metric_set(m->m_depth, nm, (double)st.depth);
    rt_metric_set(m->m_adds, nm, (double)st.adds_total);
    rt_metric_set(m->m_retries, nm, (double)st.retries_total);
    for (int k = 0; k < m->n_inf; k++) {
        const char *res = m->inf[k].o.resource->plural;
        struct kube_watch_stats ws;
        double bytes = 0;
        for (size_t i = 0; i < m->n_ns; i++) {
            if (!m->inf[k].w[i])
                continue;
            kube_watch_get_stats(m->inf[k].w[i], &ws);
            bytes += (double)ws.store_bytes;
        }
        rt_metric_set(m->m_store, (const char *[]){res ? res : "", NULL}, bytes);
    }
    if (m->o.collect)
        m->o.collect(reg, m->o.collect_payload);
    if (!m->leader && m->o.lease_name)
        rt_metric_set(m->m_leader, (const char *[]){m->o.lease_name}, 0);
}

static int register_metrics(struct rt_manager *m)
{
    struct rt_metrics *r = m->o.metrics;
    const char *ctl[] = {"controller", NULL}, *nm[] = {"name", NULL};
    m->m_total = rt_metrics_register(r, RT_METRIC_COUNTER, "controller_runtime_reconcile_total",
                                     "Total number of reconciliations per controller",
                                     (const char *[]){"controller", "result", NULL}, NULL, 0);
    m->m_errors = rt_metrics_register(r, RT_METRIC_COUNTER, "controller_runtime_reconcile_errors_total",
                                      "Total number of reconciliation errors per controller", ctl, NULL, 0);
    m->m_time = rt_metrics_register(r, RT_METRIC_HISTOGRAM, "controller_runtime_reconcile_time_seconds",
                                    "Length of time per reconciliation per controller", ctl,
                                    RT_RECONCILE_BUCKETS, RT_RECONCILE_NBUCKETS);
    m->m_active = rt_metrics_register(r, RT_METRIC_GAUGE, "controller_runtime_active_workers",
                                      "Number of currently used workers per controller", ctl, NULL, 0);
    m->m_depth = rt_metrics_register(r, RT_METRIC_GAUGE, "workqueue_depth", "Current depth of workqueue", nm,
                                     NULL, 0);
    m->m_adds = rt_metrics_register(r, RT_METRIC_COUNTER, "workqueue_adds_total",
                                    "Total number of adds handled by workqueue", nm, NULL, 0);
    m->m_retries = rt_metrics_register(r, RT_METRIC_COUNTER, "workqueue_retries_total",
                                       "Total number of retries handled by workqueue", nm, NULL, 0);
    m->m_rest = rt_metrics_register(r, RT_METRIC_COUNTER, "rest_client_requests_total",
                                    "Number of HTTP requests, partitioned by status code, method, and host",
                                    (const char *[]){"code", "method", "host", NULL}, NULL, 0);
    m->m_leader = rt_metrics_register(r, RT_METRIC_GAUGE, "leader_election_master_status",
                                      "Gauge of if the reporting system is master of the relevant lease, 0 "
                                      "indicates backup, 1 indicates master. 'name' is the string used to "
                                      "identify the lease.",
                                      nm, NULL, 0);
    m->m_store = rt_metrics_register(r, RT_METRIC_GAUGE, "crosslink_informer_store_bytes",
                                     "Heap bytes the informer cache's stored objects hold, per resource",
                                     (const char *[]){"resource", NULL}, NULL, 0);
    if (!m->m_total || !m->m_errors || !m->m_time || !m->m_active || !m->m_depth || !m->m_adds ||
        !m->m_retries || !m->m_rest || !m->m_leader || !m->m_store)
        return OP_ENOMEM;
    /* controller-runtime exposes these at 0 from the start */
    rt_metric_add(m->m_errors, (const char *[]){m->o.name}, 0);
    rt_metric_add(m->m_active, (const char *[]){m->o.name}, 0);
    for (int i = 0; i < 4; i++) {
        static const char *res[] = {"success", "error", "requeue", "requeue_after"};
        rt_metric_add(m->m_total, (const char *[]){m->o.name, res[i]}, 0);
    }
    rt_metrics_set_collector(r, collect, m);
    if (m->o.client)
        kube_client_set_on_request(m->o.client, on_request, m);
    return OP_OK;
}

/* ---- lifetime ------------------------------------------------------------- */

int rt_manager_new(struct rt_manager **out, const struct rt_manager_opts *o, const struct rt_reconciler *r)
{
    struct rt_manager *m;
    *out = NULL;
    if (!o || !o->name || o->workers <= 0 || !r || !r->reconcile)
        return op_err_set(OP_EINVALID, "rt_manager_new: name, workers > 0 and a reconciler are required");
    if (!(m = calloc(1, sizeof(*m))))
        return OP_ENOMEM;
    m->o = *o;
    m->r = *r;
    m->n_ns = o->n_namespaces ? o->n_namespaces : 1;
    m->ns = calloc(m->n_ns, sizeof(*m->ns));
    m->queue = rt_wq_new(o->queue);
    if (!m->ns || !m->queue)
        goto oom;
    for (size_t i = 0; i < o->n_namespaces; i++)
        if (!(m->ns[i] = op_strdup(o->namespaces[i])))
            goto oom;
    /* only what the opts borrow for the manager's life is kept (the
     * namespaces are copied above) */
    m->o.namespaces = NULL;
    if (o->metrics && register_metrics(m) < 0)
        goto oom;
    *out = m;
    return OP_OK;
oom:
    rt_manager_free(m);
    return OP_ENOMEM;
}

void rt_manager_stop(struct rt_manager *m)
{
    if (!m || m->stopped)
        return;
    m->stopped = 1;
    /* stop taking work, finish what is in flight, then give the Lease up */
    rt_wq_shutdown(m->queue);
    for (int i = 0; i < m->n_workers; i++)
        pthread_join(m->workers[i], NULL);
    if (m->leader) {
        rt_leader_stop(m->leader, 1);
        op_log(OP_LOG_INFO, "lease released", NULL);
    }
    for (int k = 0; k < m->n_inf; k++)
        for (size_t i = 0; i < m->n_ns; i++)
            kube_watch_stop(m->inf[k].w[i]);
}

void rt_manager_free(struct rt_manager *m)
{
    if (!m)
        return;
    if (m->queue)
        rt_manager_stop(m);
    free(m->workers);
    rt_leader_free(m->leader);
    rt_kube_lease_free(m->lease);
    for (int k = 0; k < m->n_inf; k++) {
        for (size_t i = 0; i < m->n_ns; i++)
            kube_watch_free(m->inf[k].w[i]);
        free(m->inf[k].w);
        free(m->inf[k].selector);
    }
    for (size_t i = 0; m->ns && i < m->n_ns; i++)
        free(m->ns[i]);
    free(m->ns);
    rt_wq_free(m->queue);
    free(m);
}
