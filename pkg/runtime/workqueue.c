/* workqueue.c — dedup FIFO + processing set + delayed min-heap + per-key
 * backoff under one mutex. There is no timer thread: getters promote due
 * delayed keys themselves and sleep (CLOCK_MONOTONIC condvar) only until the
 * earliest deadline, so an idle controller costs no wake-ups. Times come from
 * the injected clock; sleeps are real time. */
#include "runtime.h"


#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MARK ((void *)1)

struct wq_delayed {
    int64_t at;
    uint64_t seq;
    size_t idx;
    char *key;
};

struct rt_wq {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* something to get, or shutdown */
    pthread_cond_t idle; /* processing set changed */
    struct rt_wq_opts opts;

    char **fifo; /* ring buffer of owned keys */
    size_t fhead, flen, fcap;

    struct op_map *dirty;      /* key -> MARK: queued or to re-queue on done */
    struct op_map *processing; /* key -> MARK */
    struct op_map *waiting;    /* key -> struct wq_delayed * (owned by heap) */
    struct op_map *failures;   /* key -> (uintptr_t) count */

    struct wq_delayed **heap;
    size_t hlen, hcap;
    uint64_t seq;

    int shut;
    uint64_t adds_total, retries_total;
};

static int64_t now_ms(struct rt_wq *q)
{
    return op_clock_now(&q->opts.clock);
}

struct rt_wq *rt_wq_new(const struct rt_wq_opts *opts)
{
    struct rt_wq *q = calloc(1, sizeof(*q));
    pthread_condattr_t ca;

    if (!q)
        return NULL;
    if (opts)
        q->opts = *opts;
    if (q->opts.base_delay_ms <= 0)
        q->opts.base_delay_ms = 5;
    if (q->opts.max_delay_ms <= 0)
        q->opts.max_delay_ms = 1000 * 1000;
    q->dirty = op_map_new(NULL);
    q->processing = op_map_new(NULL);
    q->waiting = op_map_new(NULL);
    q->failures = op_map_new(NULL);
    if (!q->dirty || !q->processing || !q->waiting || !q->failures) {
        op_map_free(q->dirty);
        op_map_free(q->processing);
        op_map_free(q->waiting);
        op_map_free(q->failures);
        free(q);
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_cond_init(&q->idle, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

void rt_wq_free(struct rt_wq *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->flen; i++)
        free(q->fifo[(q->fhead + i) % q->fcap]);
    free(q->fifo);
    for (size_t i = 0; i < q->hlen; i++) {
        free(q->heap[i]->key);
        free(q->heap[i]);
    }
    free(q->heap);
    op_map_free(q->dirty);
    op_map_free(q->processing);
    op_map_free(q->waiting);
    op_map_free(q->failures);
    pthread_cond_destroy(&q->cond);
    pthread_cond_destroy(&q->idle);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* ---- FIFO ---------------------------------------------------------------- */

static int fifo_push(struct rt_wq *q, const char *key)
{
    char *k;
    if (q->flen == q->fcap) {
        size_t ncap = q->fcap ? q->fcap * 2 : 16;
        char **n = malloc(ncap * sizeof(*n));
        if (!n)
            return op_err_set(OP_ENOMEM, "out of memory");
        for (size_t i = 0; i < q->flen; i++)
            n[i] = q->fifo[(q->fhead + i) % q->fcap];
        free(q->fifo);
        q->fifo = n;
        q->fcap = ncap;
        q->fhead = 0;
    }
    k = op_strdup(key);
    if (!k)
        return op_err_set(OP_ENOMEM, "out of memory");
    q->fifo[(q->fhead + q->flen) % q->fcap] = k;
    q->flen++;
    return OP_OK;
}

static char *fifo_pop(struct rt_wq *q)
{
    char *k = q->fifo[q->fhead];
    q->fhead = (q->fhead + 1) % q->fcap;
    q->flen--;
    if (q->flen == 0)
        q->fhead = 0;
    return k;
}

/* ---- delayed heap (ordered by deadline, then insertion) ------------------- */

static int dl_less(const struct wq_delayed *a, const struct wq_delayed *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_swap(struct rt_wq *q, size_t i, size_t j)
{
    struct wq_delayed *t = q->heap[i];
    q->heap[i] = q->heap[j];
    q->heap[j] = t;
    q->heap[i]->idx = i;
    q->heap[j]->idx = j;
}

static void heap_up(struct rt_wq *q, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!dl_less(q->heap[i], q->heap[p]))
            break;
        heap_swap(q, i, p);
        i = p;
    }
}

static void heap_down(struct rt_wq *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->hlen && dl_less(q->heap[l], q->heap[m]))
            m = l;
        if (r < q->hlen && dl_less(q->heap[r], q->heap[m]))
            m = r;
        if (m == i)
            break;
        heap_swap(q, i, m);
        i = m;
    }
}

static struct wq_delayed *heap_pop(struct rt_wq *q)
{
    struct wq_delayed *top = q->heap[0];
    q->hlen--;
    if (q->hlen > 0) {
        q->heap[0] = q->heap[q->hlen];
        q->heap[0]->idx = 0;
        heap_down(q, 0);
    }
    return top;
}

/* ---- core operations (mutex held) ----------------------------------------- */

static int add_locked(struct rt_wq *q, const char *key)
{
    int err;
    if (q->shut || op_map_has(q->dirty, key))
        return OP_OK;
    if ((err = op_map_put(q->dirty, key, MARK)) < 0)
        return err;
    q->adds_total++;
    if (op_map_has(q->processing, key))
        return OP_OK; /* rt_wq_done queues it */
    if ((err = fifo_push(q, key)) < 0) {
        op_map_del(q->dirty, key);
        return err;
    }
    pthread_cond_signal(&q->cond);
    return OP_OK;
}

static void promote_due(struct rt_wq *q)
{
    int64_t now;
    if (q->hlen == 0)
        return;
    now = now_ms(q);
    while (q->hlen > 0 && q->heap[0]->at <= now) {
        struct wq_delayed *d = heap_pop(q);
        op_map_take(q->waiting, d->key);
        (void)add_locked(q, d->key); /* on OOM the key is lost; the periodic requeue recovers */
        free(d->key);
        free(d);
    }
}

static int add_after_locked(struct rt_wq *q, const char *key, int64_t delay_ms)
{
    struct wq_delayed *d;
    int64_t at;
    int err;

    if (q->shut)
        return OP_OK;
    if (delay_ms <= 0)
        return add_locked(q, key);
    at = now_ms(q) + delay_ms;
    d = op_map_get(q->waiting, key);
    if (d) {
        if (at < d->at) {
            d->at = at;
            heap_up(q, d->idx);
            pthread_cond_broadcast(&q->cond);
        }
        return OP_OK;
    }
    if (q->hlen == q->hcap) {
        size_t ncap = q->hcap ? q->hcap * 2 : 16;
        struct wq_delayed **n = realloc(q->heap, ncap * sizeof(*n));
        if (!n)
            return op_err_set(OP_ENOMEM, "out of memory");
        q->heap = n;
        q->hcap = ncap;
    }
    d = calloc(1, sizeof(*d));
    if (!d || !(d->key = op_strdup(key))) {
        free(d);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    if ((err = op_map_put(q->waiting, key, d)) < 0) {
        free(d->key);
        free(d);
        return err;
    }
    d->at = at;
    d->seq = q->seq++;
    d->idx = q->hlen;
    q->heap[q->hlen++] = d;
    heap_up(q, d->idx);
    /* A getter may be sleeping until a later deadline. */
    pthread_cond_broadcast(&q->cond);
    return OP_OK;
}

/* ---- public API ----------------------------------------------------------- */

int rt_wq_add(struct rt_wq *q, const char *key)
{
    int err;
    pthread_mutex_lock(&q->mu);
    err = add_locked(q, key);
    pthread_mutex_unlock(&q->mu);
    return err;
}

int rt_wq_add_after(struct rt_wq *q, const char *key, int64_t delay_ms)
{
    int err;
    pthread_mutex_lock(&q->mu);
    err = add_after_locked(q, key, delay_ms);
    pthread_mutex_unlock(&q->mu);
    return err;
}

static int64_t backoff_for(const struct rt_wq *q, uintptr_t failures)
{
    int64_t d = q->opts.base_delay_ms;
    for (uintptr_t i = 0; i < failures; i++) {
        if (d >= q->opts.max_delay_ms / 2) {
            d = q->opts.max_delay_ms;
            break;
        }
        d *= 2;
    }
    return d > q->opts.max_delay_ms ? q->opts.max_delay_ms : d;
}

int64_t rt_wq_next_backoff_ms(struct rt_wq *q, const char *key)
{
    int64_t d;
    pthread_mutex_lock(&q->mu);
    d = backoff_for(q, (uintptr_t)op_map_get(q->failures, key));
    pthread_mutex_unlock(&q->mu);
    return d;
}

int rt_wq_add_rate_limited(struct rt_wq *q, const char *key)
{
    uintptr_t n;
    int64_t d;
    int err;

    pthread_mutex_lock(&q->mu);
    if (q->shut) {
        pthread_mutex_unlock(&q->mu);
        return OP_OK;
    }
    n = (uintptr_t)op_map_get(q->failures, key);
    d = backoff_for(q, n);
    if ((err = op_map_put(q->failures, key, (void *)(n + 1))) == OP_OK) {
        q->retries_total++;
        err = add_after_locked(q, key, d);
    }
    pthread_mutex_unlock(&q->mu);
    return err;
}

void rt_wq_forget(struct rt_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    op_map_del(q->failures, key);
    pthread_mutex_unlock(&q->mu);
}

int rt_wq_num_requeues(struct rt_wq *q, const char *key)
{
    uintptr_t n;
    pthread_mutex_lock(&q->mu);
    n = (uintptr_t)op_map_get(q->failures, key);
    pthread_mutex_unlock(&q->mu);
    return (int)n;
}

int rt_wq_get(struct rt_wq *q, int64_t timeout_ms, char **key_out)
{
    int64_t deadline = timeout_ms > 0 ? now_ms(q) + timeout_ms : 0;
    char *k;
    int err = OP_OK;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        int64_t wait_ms = -1, now;
        struct timespec ts;

        promote_due(q);
        if (q->shut) {
            err = RT_WQ_SHUTDOWN;
            goto out;
        }
        if (q->flen > 0)
            break;
        if (timeout_ms == 0) {
            err = OP_ETIMEOUT;
            goto out;
        }
        now = now_ms(q);
        if (timeout_ms > 0) {
            if (now >= deadline) {
                err = OP_ETIMEOUT;
                goto out;
            }
            wait_ms = deadline - now;
        }
        if (q->hlen > 0) {
            int64_t until = q->heap[0]->at - now;
            if (until < 1)
                until = 1;
            if (wait_ms < 0 || until < wait_ms)
                wait_ms = until;
        }
        if (wait_ms < 0) {
            pthread_cond_wait(&q->cond, &q->mu);
        } else {
            op_mono_deadline(&ts, wait_ms);
            (void)pthread_cond_timedwait(&q->cond, &q->mu, &ts);
        }
    }
    k = fifo_pop(q);
    op_map_del(q->dirty, k);
    if ((err = op_map_put(q->processing, k, MARK)) < 0) {
        /* Put it back as queued rather than lose it. */
        (void)add_locked(q, k);
        free(k);
        goto out;
    }
    *key_out = k;
out:
    pthread_mutex_unlock(&q->mu);
    return err;
}

void rt_wq_done(struct rt_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    op_map_del(q->processing, key);
    if (op_map_has(q->dirty, key) && !q->shut) {
        if (fifo_push(q, key) < 0)
            op_map_del(q->dirty, key);
        else
            pthread_cond_signal(&q->cond);
    }
    pthread_cond_broadcast(&q->idle);
    pthread_mutex_unlock(&q->mu);
}

void rt_wq_kick(struct rt_wq *q)
{
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

void rt_wq_shutdown(struct rt_wq *q)
{
    pthread_mutex_lock(&q->mu);
    q->shut = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_cond_broadcast(&q->idle);
    pthread_mutex_unlock(&q->mu);
}

int rt_wq_is_shutdown(struct rt_wq *q)
{
    int s;
    pthread_mutex_lock(&q->mu);
    s = q->shut;
    pthread_mutex_unlock(&q->mu);
    return s;
}

int rt_wq_wait_idle(struct rt_wq *q, int64_t timeout_ms)
{
    struct timespec ts;
    int err = OP_OK;

    if (timeout_ms >= 0)
        op_mono_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&q->mu);
    while (op_map_len(q->processing) > 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->idle, &q->mu);
        } else if (pthread_cond_timedwait(&q->idle, &q->mu, &ts) == ETIMEDOUT) {
            if (op_map_len(q->processing) > 0)
                err = OP_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&q->mu);
    return err;
}

void rt_wq_get_stats(struct rt_wq *q, struct rt_wq_stats *out)
{
    pthread_mutex_lock(&q->mu);
    promote_due(q);
    out->depth = q->flen;
    out->delayed = q->hlen;
    out->processing = op_map_len(q->processing);
    out->adds_total = q->adds_total;
    out->retries_total = q->retries_total;
    pthread_mutex_unlock(&q->mu);
}
