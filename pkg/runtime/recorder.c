/* recorder.c — the asynchronous Event recorder, after client-go's
 * broadcaster: emitters queue an Event (bounded; dropped when full or
 * stopping, Events being best effort) and one thread sends them through
 * pkg/kube's kube_event_emit (which folds repeats into an Event series), so
 * a reconcile never waits on the apiserver for an Event. Knows no kind:
 * the caller hands the regarding object (apiVersion, kind, metadata). */
#include "runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RT_RECORDER_STACK (256 * 1024)

/* One queued Event in one allocation: the regarding object as compact
 * JSON text and the three strings after the struct (a burst of new stacks
 * queues hundreds; as jansson objects each cost ~3x its text). */
struct rt_evt {
    struct rt_evt *next;
    const char *type, *reason, *note;
    size_t regarding_len;
    char regarding[];
};

struct rt_recorder {
    struct kube_events *events;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct rt_evt *head, *tail;
    size_t len;
    struct rt_metric *dropped; /* counter, or NULL */
    int overflowing;           /* dropped since the queue was last empty */
    int stop;
    pthread_t thread;
    int running;
};

/* NULL on OOM or when regarding cannot be serialised. */
static struct rt_evt *evt_new(const json_t *regarding, const char *type, const char *reason, const char *note)
{
    size_t rl = regarding ? json_dumpb(regarding, NULL, 0, JSON_COMPACT) : 0;
    size_t tl = strlen(type) + 1, sl = strlen(reason) + 1, nl = strlen(note) + 1;
    struct rt_evt *e;
    char *p;

    if (!rl || !(e = malloc(sizeof(*e) + rl + tl + sl + nl)))
        return NULL;
    if (json_dumpb(regarding, e->regarding, rl, JSON_COMPACT) != rl) {
        free(e);
        return NULL;
    }
    e->next = NULL;
    e->regarding_len = rl;
    p = e->regarding + rl;
    e->type = memcpy(p, type, tl);
    e->reason = memcpy(p + tl, reason, sl);
    e->note = memcpy(p + tl + sl, note, nl);
    return e;
}

static void send_one(struct rt_recorder *r, const struct rt_evt *e)
{
    json_t *regarding = json_loadb(e->regarding, e->regarding_len, 0, NULL);
    if (!regarding || kube_event_emit(r->events, regarding, e->type, e->reason, e->reason, e->note) < 0)
        op_log(OP_LOG_DEBUG, "event not recorded", "error", regarding ? op_err_last() : "out of memory", NULL);
    json_decref(regarding);
}

static void *recorder_main(void *p)
{
    struct rt_recorder *r = p;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        struct rt_evt *e;
        while (!r->head && !r->stop)
            pthread_cond_wait(&r->cond, &r->mu);
        if (r->stop)
            break;
        e = r->head;
        r->head = e->next;
        if (!r->head) {
            r->tail = NULL;
            r->overflowing = 0; /* drained: the next overflow warns again */
        }
        r->len--;
        pthread_mutex_unlock(&r->mu);
        send_one(r, e);
        free(e);
        pthread_mutex_lock(&r->mu);
    }
    while (r->head) {
        struct rt_evt *e = r->head;
        r->head = e->next;
        free(e);
    }
    r->tail = NULL;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int rt_recorder_new(struct rt_recorder **out, struct kube_client *c, const char *component,
                    const char *instance, struct rt_metric *dropped)
{
    struct rt_recorder *r = calloc(1, sizeof(*r));
    pthread_attr_t a;
    int err;
    *out = NULL;
    if (!r)
        return OP_ENOMEM;
    if ((err = kube_events_new(&r->events, c, component, instance)) < 0) {
        free(r);
        return err;
    }
    r->dropped = dropped;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, RT_RECORDER_STACK);
    if (pthread_create(&r->thread, &a, recorder_main, r) == 0)
        r->running = 1;
    pthread_attr_destroy(&a);
    *out = r;
    return OP_OK;
}

void rt_recorder_emit(struct rt_recorder *r, json_t *regarding, const char *type, const char *reason,
                      const char *note)
{
    struct rt_evt *e = r && type && reason && note ? evt_new(regarding, type, reason, note) : NULL;
    json_decref(regarding);
    if (!e)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->len >= RT_RECORDER_QUEUE_MAX || r->stop || !r->running) {
        /* best effort, like client-go's broadcaster (which logs each drop):
         * one warning per overflow, the counter for every Event */
        int full = r->len >= RT_RECORDER_QUEUE_MAX, first = full && !r->overflowing;
        r->overflowing |= first;
        pthread_mutex_unlock(&r->mu);
        if (first)
            op_log(OP_LOG_WARN, "event queue full, dropping events until it drains", "reason", reason,
                   NULL);
        if (full && r->dropped)
            rt_metric_add(r->dropped, NULL, 1);
        goto drop;
    }
    if (r->tail)
        r->tail->next = e;
    else
        r->head = e;
    r->tail = e;
    r->len++;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mu);
    return;
drop:
    free(e);
}

size_t rt_recorder_queued(struct rt_recorder *r)
{
    size_t n;
    pthread_mutex_lock(&r->mu);
    n = r->len;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void rt_recorder_free(struct rt_recorder *r)
{
    if (!r)
        return;
    if (r->running) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    kube_events_free(r->events);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
