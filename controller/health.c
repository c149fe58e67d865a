/* health.c — /metrics, /healthz and /readyz served by libmicrohttpd with one
 * internal polling thread per listener (small stack, few connections). The
 * handlers only read thread-safe state (the metrics registry and a ready
 * callback), so nothing here takes the controller's locks directly. */
#include "health.h"

#include "options.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

struct ctl_http {
    struct MHD_Daemon *d;
    struct ctl_http_opts o;
    int port;
};

static MHD_RESULT reply(struct MHD_Connection *conn, unsigned code, const char *ctype,
                        const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_RESULT ret;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static MHD_RESULT handler(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload_data,
                          size_t *upload_data_size, void **con_cls)
{
    struct ctl_http *h = cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;

    if (*upload_data_size) {
        *upload_data_size = 0; /* ignore request bodies */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, 405, "text/plain; charset=utf-8", "method not allowed\n", 19);

    if (h->o.metrics && !strcmp(url, "/metrics")) {
        struct op_buf b;
        MHD_RESULT ret;
        op_buf_init(&b, 16 << 20);
        if (ctl_metrics_render(h->o.metrics, &b) < 0) {
            op_buf_cleanup(&b);
            return reply(conn, 500, "text/plain; charset=utf-8", "render failed\n", 14);
        }
        ret = reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                    b.len);
        op_buf_cleanup(&b);
        return ret;
    }
    if (h->o.health && !strcmp(url, "/healthz"))
        return reply(conn, 200, "text/plain; charset=utf-8", "ok\n", 3);
    if (h->o.health && !strcmp(url, "/readyz")) {
        char why[200] = "";
        char msg[256];
        int n;
        if (!h->o.ready || h->o.ready(why, sizeof(why), h->o.payload))
            return reply(conn, 200, "text/plain; charset=utf-8", "ok\n", 3);
        n = snprintf(msg, sizeof(msg), "not ready: %s\n", why);
        return reply(conn, 503, "text/plain; charset=utf-8", msg,
                     n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : strlen(msg));
    }
    return reply(conn, 404, "text/plain; charset=utf-8", "not found\n", 10);
}

int ctl_http_start(struct ctl_http **out, const struct ctl_http_opts *o)
{
    char host[256], portstr[16];
    int port, err = OP_OK;
    struct addrinfo hints, *head = NULL, *ai;
    struct ctl_http *h = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    const union MHD_DaemonInfo *info;

    if (ctl_addr_parse(o->addr, host, sizeof(host), &port) < 0)
        return op_err_set(OP_EINVALID, "invalid listen address \"%s\"", o->addr);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host[0] ? host : NULL, portstr, &hints, &head) != 0 || !head)
        return op_err_set(OP_EINVALID, "cannot resolve listen address \"%s\"", o->addr);
    ai = head;
    /* Prefer IPv4 (":PORT" then listens on every IPv4 address, like a Go
     * server on a v4 pod network; "localhost" binds 127.0.0.1). */
    for (struct addrinfo *p = head; p; p = p->ai_next)
        if (p->ai_family == AF_INET) {
            ai = p;
            break;
        }
    h = calloc(1, sizeof(*h));
    if (!h) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    h->o = *o;
    h->o.addr = NULL;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR,
                            ai->ai_addr, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)32, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)15, MHD_OPTION_END);
    if (!h->d) {
        err = op_err_set(OP_ERR, "cannot listen on %s", o->addr);
        goto out;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    *out = h;
    h = NULL;
out:
    freeaddrinfo(head);
    ctl_http_free(h);
    return err;
}

int ctl_http_port(const struct ctl_http *h)
{
    return h->port;
}

void ctl_http_free(struct ctl_http *h)
{
    if (!h)
        return;
    if (h->d)
        MHD_stop_daemon(h->d);
    free(h);
}
