/* stop.c — the process's one way to stop: a latch any thread may trip
 * (leadership lost, a fatal error) and that a signal thread trips on
 * SIGTERM/SIGINT; the main thread waits on it and then runs the orderly
 * shutdown (stop taking work, let in-flight reconciles end — their writes
 * are fenced by then — release the Lease, free). Nobody signals the
 * process to stop itself. */
#include "runtime.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_stop {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int requested;
    int code;
    char why[128];
    pthread_t sig_thread;
    int sig_running;
};

struct rt_stop *rt_stop_new(void)
{
    struct rt_stop *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    return s;
}

void rt_stop_request(struct rt_stop *s, int code, const char *why)
{
    pthread_mutex_lock(&s->mu);
    if (!s->requested) { /* the first reason wins */
        s->requested = 1;
        s->code = code;
        snprintf(s->why, sizeof(s->why), "%s", why ? why : "");
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
}

int rt_stop_wait(struct rt_stop *s, char *why, size_t cap)
{
    int code;
    pthread_mutex_lock(&s->mu);
    while (!s->requested)
        pthread_cond_wait(&s->cond, &s->mu);
    code = s->code;
    if (why && cap)
        snprintf(why, cap, "%s", s->why);
    pthread_mutex_unlock(&s->mu);
    return code;
}

int rt_stop_requested(struct rt_stop *s)
{
    int r;
    pthread_mutex_lock(&s->mu);
    r = s->requested;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static void *sig_main(void *p)
{
    struct rt_stop *s = p;
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
        ;
    rt_stop_request(s, 0, sig == SIGTERM ? "SIGTERM" : "SIGINT");
    return NULL;
}

int rt_stop_on_signals(struct rt_stop *s)
{
    if (pthread_create(&s->sig_thread, NULL, sig_main, s) != 0)
        return op_err_set(OP_ERR, "cannot start the signal thread");
    s->sig_running = 1;
    return OP_OK;
}

void rt_stop_free(struct rt_stop *s)
{
    if (!s)
        return;
    if (s->sig_running) { /* sigwait is a cancellation point */
        pthread_cancel(s->sig_thread);
        pthread_join(s->sig_thread, NULL);
    }
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
