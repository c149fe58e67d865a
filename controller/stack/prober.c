/* prober.c — the reconciler's asynchronous probes (see prober.h): an index of
 * jobs in flight keyed by the probe engine's target key, a FIFO of jobs not
 * yet started, a pool of threads grown on demand up to max_threads, and per
 * job the stacks waiting for it (present = still blocked in
 * ctl_prober_check, else notified at the end). All state is under one
 * mutex; probes run without it. */
#include "prober.h"

#include "runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBER_STACK_SIZE (256 * 1024)

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct waiter {
    char *key;
    int present;
    struct waiter *next;
};

struct job {
    char tkey[65];
    struct probe_target t; /* strings below are owned deep copies */
    char *own[8];
    struct probe_result res;
    int state;
    int refs; /* the index/queue while not done + each present waiter */
    struct waiter *waiters;
    struct job *qnext;
};

struct ctl_prober {
    pthread_mutex_t mu;
    pthread_cond_t done_cv;  /* a job finished (or stop) */
    pthread_cond_t queue_cv; /* a job was queued (or stop) */
    struct probe_engine *e;
    struct op_map *inflight; /* tkey -> struct job * (not owned by the map) */
    struct job *qhead, *qtail;
    pthread_t *threads;
    int nthreads, max_threads, idle, stop;
    uint64_t jobs;
    ctl_prober_notify_fn notify;
    void *ud;
};

static void job_wipe(struct job *j)
{
    for (size_t i = 0; i < sizeof(j->own) / sizeof(j->own[0]); i++) {
        op_wipe_free(j->own[i]);
        j->own[i] = NULL;
    }
    memset(&j->t, 0, sizeof(j->t));
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    job_wipe(j);
    while (j->waiters) {
        struct waiter *w = j->waiters;
        j->waiters = w->next;
        free(w->key);
        free(w);
    }
    free(j);
}

/* Deep copy of t; NULL on OOM. */
static struct job *job_new(const struct probe_target *t, const char *tkey)
{
    struct job *j = calloc(1, sizeof(*j));
    const char *src[8] = {t->url,          t->tenant, t->basic_user,  t->basic_password,
                          t->bearer_token, t->ca_pem, t->server_name, t->flavor};
    if (!j)
        return NULL;
    memcpy(j->tkey, tkey, sizeof(j->tkey));
    j->t = *t;
    for (int i = 0; i < 8; i++) {
        if (src[i] && !(j->own[i] = strdup(src[i]))) {
            job_free(j);
            return NULL;
        }
    }
    j->t.url = j->own[0];
    j->t.tenant = j->own[1];
    j->t.basic_user = j->own[2];
    j->t.basic_password = j->own[3];
    j->t.bearer_token = j->own[4];
    j->t.ca_pem = j->own[5];
    j->t.server_name = j->own[6];
    j->t.flavor = j->own[7];
    j->state = JOB_QUEUED;
    j->refs = 1;
    return j;
}

static void *pool_main(void *arg)
{
    struct ctl_prober *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct job *j;
        struct waiter *notify = NULL, **wp;
        struct probe_result res;

        while (!p->qhead && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->queue_cv, &p->mu);
            p->idle--;
        }
        if (p->stop)
            break;
        j = p->qhead;
        p->qhead = j->qnext;
        if (!p->qhead)
            p->qtail = NULL;
        j->qnext = NULL;
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&p->mu);

        if (probe_run(p->e, &j->t, 1, &res) < 0)
            probe_result_set(&res, 0, PROBE_REASON_INVALID, "probe failed to run: %s", op_err_last());

        pthread_mutex_lock(&p->mu);
        j->res = res;
        j->state = JOB_DONE;
        job_wipe(j); /* present waiters read only res */
        op_map_del(p->inflight, j->tkey);
        /* stacks no longer waiting are told; present ones read res */
        for (wp = &j->waiters; *wp;) {
            struct waiter *w = *wp;
            if (!w->present) {
                *wp = w->next;
                w->next = notify;
                notify = w;
            } else {
                wp = &w->next;
            }
        }
        if (--j->refs == 0)
            job_free(j);
        pthread_cond_broadcast(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
        while (notify) {
            struct waiter *w = notify;
            notify = w->next;
            if (p->notify)
                p->notify(w->key, p->ud);
            free(w->key);
            free(w);
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int ctl_prober_new(struct ctl_prober **out, struct probe_engine *e, int max_threads,
                   ctl_prober_notify_fn notify, void *ud)
{
    struct ctl_prober *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;
    if (!p)
        return op_err_set(OP_ENOMEM, "out of memory");
    p->max_threads = max_threads > 0 ? max_threads : 64;
    p->threads = calloc((size_t)p->max_threads, sizeof(*p->threads));
    p->inflight = op_map_new(NULL);
    if (!p->threads || !p->inflight) {
        op_map_free(p->inflight);
        free(p->threads);
        free(p);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&p->queue_cv, NULL);
    p->e = e;
    p->notify = notify;
    p->ud = ud;
    *out = p;
    return 0;
}

void ctl_prober_free(struct ctl_prober *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->queue_cv);
    pthread_cond_broadcast(&p->done_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* jobs never started */
    while (p->qhead) {
        struct job *j = p->qhead;
        p->qhead = j->qnext;
        job_free(j);
    }
    op_map_free(p->inflight);
    pthread_cond_destroy(&p->queue_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

/* Queues j and makes sure a thread will take it (caller holds mu). Returns
 * -1 (j not queued) when there is no thread and none can be started. */
static int enqueue(struct ctl_prober *p, struct job *j)
{
    if (p->idle == 0 && p->nthreads < p->max_threads) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, PROBER_STACK_SIZE);
        if (pthread_create(&p->threads[p->nthreads], &a, pool_main, p) == 0)
            p->nthreads++;
        pthread_attr_destroy(&a);
        /* on failure the existing threads take it in turn */
    }
    if (p->nthreads == 0)
        return -1;
    if (p->qtail)
        p->qtail->qnext = j;
    else
        p->qhead = j;
    p->qtail = j;
    p->jobs++;
    pthread_cond_signal(&p->queue_cv);
    return 0;
}

/* The waiter of key on j, added if missing; NULL on OOM (caller holds mu). */
static struct waiter *waiter_of(struct job *j, const char *key)
{
    struct waiter *w;
    for (w = j->waiters; w; w = w->next)
        if (!strcmp(w->key, key))
            return w;
    w = calloc(1, sizeof(*w));
    if (!w || !(w->key = strdup(key))) {
        free(w);
        return NULL;
    }
    w->next = j->waiters;
    j->waiters = w;
    return w;
}

int ctl_prober_check(struct ctl_prober *p, const char *stack_key, const struct probe_target *t,
                     size_t n, struct probe_result *results, int *done, int64_t wait_ms)
{
    struct job *mine[PROBE_NSIGNALS * 2];
    char keys[PROBE_NSIGNALS * 2][65];
    struct timespec until;
    size_t i;
    int pending = 0, err = 0;

    if (!p || !stack_key || (n && (!t || !results || !done)) || n > sizeof(mine) / sizeof(mine[0]))
        return op_err_set(OP_EINVALID, "ctl_prober_check: bad arguments");
    for (i = 0; i < n; i++) {
        mine[i] = NULL;
        done[i] = probe_cached(p->e, &t[i], &results[i]);
        if (!done[i])
            probe_target_key(&t[i], keys[i]);
    }
    pthread_mutex_lock(&p->mu);
    for (i = 0; i < n && !err; i++) {
        struct job *j;
        struct waiter *w;
        if (done[i])
            continue;
        j = op_map_get(p->inflight, keys[i]);
        if (!j) {
            if (!(j = job_new(&t[i], keys[i])) || op_map_put(p->inflight, keys[i], j) < 0) {
                job_free(j);
                err = op_err_set(OP_ENOMEM, "out of memory");
                break;
            }
            if (enqueue(p, j) < 0) {
                /* no thread at all: answer at once rather than never */
                op_map_del(p->inflight, keys[i]);
                job_wipe(j);
                probe_result_set(&j->res, 0, PROBE_REASON_INVALID,
                                 "probe failed to run: no probe thread could be started");
                j->state = JOB_DONE;
                j->refs--; /* the queue's reference: ours is taken below */
            }
        }
        if (!(w = waiter_of(j, stack_key))) {
            err = op_err_set(OP_ENOMEM, "out of memory");
            break;
        }
        w->present = 1;
        j->refs++;
        mine[i] = j;
    }
    op_mono_deadline(&until, wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        int waiting = 0;
        for (i = 0; i < n; i++)
            if (mine[i] && mine[i]->state != JOB_DONE)
                waiting = 1;
        if (!waiting || p->stop || err || wait_ms <= 0)
            break;
        if (pthread_cond_timedwait(&p->done_cv, &p->mu, &until) != 0)
            break; /* timed out */
    }
    for (i = 0; i < n; i++) {
        struct job *j = mine[i];
        if (!j)
            continue;
        if (j->state == JOB_DONE) {
            results[i] = j->res;
            done[i] = 1;
        } else {
            struct waiter *w;
            for (w = j->waiters; w; w = w->next)
                if (!strcmp(w->key, stack_key))
                    w->present = 0; /* notified when it ends */
            pending++;
        }
        if (--j->refs == 0)
            job_free(j);
    }
    pthread_mutex_unlock(&p->mu);
    return err ? err : pending;
}

void ctl_prober_stats(struct ctl_prober *p, uint64_t *jobs, int *threads)
{
    pthread_mutex_lock(&p->mu);
    if (jobs)
        *jobs = p->jobs;
    if (threads)
        *threads = p->nthreads;
    pthread_mutex_unlock(&p->mu);
}
