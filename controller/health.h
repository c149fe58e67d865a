/* health.h — the controller's HTTP endpoints, served by a small in-tree
 * HTTP/1.1 server (POSIX sockets, one thread per listener): /metrics
 * (Prometheus text), /healthz (process alive) and /readyz (caches synced and
 * leader-or-standby). One listener may serve any subset of them. */
#ifndef CROSSLINK_CTL_HEALTH_H
#define CROSSLINK_CTL_HEALTH_H

#include "metrics.h"

#include <stddef.h>

/* Returns 1 when ready, else 0 with a short reason written into why. Called
 * from the server thread. */
typedef int (*ctl_ready_fn)(char *why, size_t why_cap, void *payload);

struct ctl_http_opts {
    const char *addr;            /* "HOST:PORT", ":PORT" ("127.0.0.1:0" = ephemeral) */
    struct ctl_metrics *metrics; /* serve /metrics when non-NULL (borrowed) */
    int health;                  /* serve /healthz and /readyz */
    ctl_ready_fn ready;          /* NULL = always ready */
    void *payload;
};

struct ctl_http;

/* Binds and starts the server thread. Returns 0, OP_EINVALID (bad address)
 * or OP_ERR (bind failed; message in op_err_last()). */
int ctl_http_start(struct ctl_http **out, const struct ctl_http_opts *o);
/* The bound port (useful with port 0). */
int ctl_http_port(const struct ctl_http *h);
/* Stops the thread and frees. NULL-safe. */
void ctl_http_free(struct ctl_http *h);

#endif
