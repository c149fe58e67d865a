/* recorder.c — the asynchronous Event recorder, after client-go's
 * broadcaster: emitters queue an Event (bounded; dropped when full or
 * stopping, Events being best effort) and one thread sends them through
 * pkg/kube's kube_event_emit (which folds repeats into an Event series), so
 * a reconcile never waits on the apiserver for an Event. Knows no kind:
 * the caller hands the regarding object (apiVersion, kind, metadata). */
#include "runtime.h"

#include <pthread.h>
#include <stdlib.h>

#define RT_RECORDER_STACK (256 * 1024)

struct rt_evt {
    struct rt_evt *next;
    json_t *regarding;
    char *type, *reason, *note;
};

struct rt_recorder {
    struct kube_events *events;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct rt_evt *head, *tail;
    size_t len;
    int stop;
    pthread_t thread;
    int running;
};

static void evt_free(struct rt_evt *e)
{
    json_decref(e->regarding);
    free(e->type);
    free(e->reason);
    free(e->note);
    free(e);
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
        if (!r->head)
            r->tail = NULL;
        r->len--;
        pthread_mutex_unlock(&r->mu);
        if (kube_event_emit(r->events, e->regarding, e->type, e->reason, e->reason, e->note) < 0)
            op_log(OP_LOG_DEBUG, "event not recorded", "error", op_err_last(), NULL);
        evt_free(e);
        pthread_mutex_lock(&r->mu);
    }
    while (r->head) {
        struct rt_evt *e = r->head;
        r->head = e->next;
        evt_free(e);
    }
    r->tail = NULL;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int rt_recorder_new(struct rt_recorder **out, struct kube_client *c, const char *component,
                    const char *instance)
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
    struct rt_evt *e;
    if (!r || !(e = calloc(1, sizeof(*e)))) {
        json_decref(regarding);
        return;
    }
    e->regarding = regarding;
    e->type = op_strdup(type);
    e->reason = op_strdup(reason);
    e->note = op_strdup(note);
    if (!e->regarding || !e->type || !e->reason || !e->note)
        goto drop;
    pthread_mutex_lock(&r->mu);
    if (r->len >= RT_RECORDER_QUEUE_MAX || r->stop || !r->running) {
        pthread_mutex_unlock(&r->mu);
        goto drop; /* best effort, like client-go's broadcaster */
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
    evt_free(e);
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
