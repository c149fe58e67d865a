/* kube_int.h — symbols shared between pkg/kube's files (kube__ prefix); not
 * part of the public API and not installed. */
#ifndef CROSSLINK_KUBE_INT_H
#define CROSSLINK_KUBE_INT_H

#include "kube.h"

#include <pthread.h>
#include <stdatomic.h>

/* limiter.c: the adaptive in-flight limit (AIMD on 429). Not locked:
 * client.c holds its wait_lock around every call. */
struct kube__limiter {
    double limit;        /* current limit, 1..ceiling */
    int ceiling;         /* kube_client_set_max_in_flight */
    int in_flight;       /* limited requests sent and not yet answered */
    int64_t last_cut_ms; /* op_mono_ms() of the last halving */
};
void kube__limiter_init(struct kube__limiter *l, int ceiling);
/* 1 and the request counted in flight when another may be sent now, else 0. */
int kube__limiter_start(struct kube__limiter *l);
/* A limited request sent at started_ms ended with HTTP code (0: no answer). */
void kube__limiter_done(struct kube__limiter *l, int code, int64_t started_ms, int64_t now_ms);

struct curl_slist;
/* Wipes every string of a curl header list (op_wipe), then frees it. */
void kube__slist_wipe_free(struct curl_slist *l);

/* Reads a whole file (bounded by max) into a malloc'd NUL-terminated buffer. */
int kube__read_file(const char *path, size_t max, char **out, size_t *out_len);

/* Client certificate and key to present now: copies (malloc'd) of the static
 * ones or of the exec plugin's current ones; both NULL when none. */
int kube__config_client_cert(struct kube_config *cfg, int force_refresh, char **cert,
                             size_t *cert_len, char **key, size_t *key_len);
/* Parses an exec plugin's stdout (client.authentication.k8s.io
 * ExecCredential) into cfg's credential cache (token, client certificate and
 * key, expiry). cfg must use an exec plugin. Errors: OP_ERR (not an
 * ExecCredential with a token or a certificate and key). */
int kube__exec_credential_apply(struct kube_config *cfg, const char *data, size_t len);
/* Username/password for basic auth (borrowed) or NULL. */
const char *kube__config_username(const struct kube_config *cfg);
const char *kube__config_password(const struct kube_config *cfg);

/* path.c: sets the thread's error to "<prefix>: <previous message>" and
 * returns code (op_err_set with op_err_last() as an argument would alias). */
int kube__err_wrap(int code, const char *fmt, ...) OP_PRINTF(2, 3);

/* path.c: copies at most n-1 bytes of s into out (always terminated). */
void kube__strlcpy(char *out, const char *s, size_t n);

/* client.c: a request with a streaming body sink, used by the watch. The
 * sink gets raw bytes of a 2xx response; a nonzero return aborts.
 * stop_flag (may be NULL) is polled; nonzero aborts with OP_ETIMEOUT
 * ("stopped"). idle_ms > 0 aborts when no byte arrives for that long. */
typedef int (*kube__sink_fn)(const char *data, size_t n, void *payload);
struct kube__stream {
    kube__sink_fn sink;
    void *payload;
    atomic_int *stop_flag;
    long idle_ms;
};
int kube__request_stream(struct kube_client *c, const char *path, struct kube__stream *s,
                         struct kube_status *st);

/* watch.c: the watch's reconnect backoff. One step returns the delay before
 * the next attempt, jittered in [*backoff, 2 * *backoff) by r in [0, 1) and
 * capped at KUBE_BACKOFF_MAX_MS, and doubles *backoff (capped). It starts at
 * KUBE_BACKOFF_INIT_MS and is reset after KUBE_BACKOFF_RESET_MS without
 * failure. */
#define KUBE_BACKOFF_INIT_MS 800
#define KUBE_BACKOFF_MAX_MS 30000
#define KUBE_BACKOFF_RESET_MS 120000
long kube__watch_backoff_step(long *backoff, double r);

#endif
