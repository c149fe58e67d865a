/* http.c — /metrics, /healthz and /readyz on libmicrohttpd. One daemon per
 * listener, run by MHD's internal polling thread over epoll (poll where
 * epoll is missing): an idle or slow client costs a file descriptor and a
 * small memory pool, never the thread. The daemon bounds what a hostile
 * client can hold: RT_HTTP_CONN_LIMIT connections in all (more are accepted
 * and closed at once), RT_HTTP_PER_IP_LIMIT from one address (so one peer
 * cannot take every slot from the kubelet), RT_HTTP_TIMEOUT_S of inactivity
 * and RT_HTTP_MEMORY_LIMIT bytes of request head per connection (a larger
 * head gets 431, or the connection is closed). GET and HEAD only; responses
 * carry Cache-Control: no-store. The handlers read only thread-safe state
 * (the metrics registry and the ready callback). Address parsing
 * (rt_addr_parse) is pure and shared with the command-line checks. */
#include "runtime.h"

#include <microhttpd.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TEXT "text/plain; charset=utf-8"
#define METRICS_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define BACKLOG 128
#define METRICS_MAX (16u << 20)

struct rt_http {
    struct rt_http_opts o;
    struct MHD_Daemon *d;
    int lfd; /* owned until MHD takes it (MHD closes it at stop) */
    int port;
};

/* ---- pure: listen address ------------------------------------------------- */

int rt_addr_parse(const char *s, char *host_out, size_t host_cap, int *port_out)
{
    const char *colon, *hs, *he;
    char *end;
    long port;

    if (!s || !*s)
        return OP_EINVALID;
    if (s[0] == '[') {
        he = strchr(s, ']');
        if (!he || he[1] != ':')
            return OP_EINVALID;
        hs = s + 1;
        colon = he + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return OP_EINVALID;
        hs = s;
        he = colon;
    }
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno || port < 0 || port > 65535)
        return OP_EINVALID;
    if ((size_t)(he - hs) + 1 > host_cap)
        return OP_EINVALID;
    memcpy(host_out, hs, (size_t)(he - hs));
    host_out[he - hs] = '\0';
    *port_out = (int)port;
    return OP_OK;
}

/* ---- handlers (MHD thread) ------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *ctype, char *body,
                             size_t len, int owned)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO; /* MHD closes the connection */
    }
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code, const char *text)
{
    return reply(c, code, TEXT, (char *)text, strlen(text), 0);
}

static enum MHD_Result serve_metrics(struct rt_http *h, struct MHD_Connection *c)
{
    struct op_buf b;
    size_t len;
    char *text;

    op_buf_init(&b, METRICS_MAX);
    if (rt_metrics_render(h->o.metrics, &b) < 0) {
        op_buf_cleanup(&b);
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
    }
    len = b.len;
    text = op_buf_take(&b);
    if (!text)
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
    return reply(c, MHD_HTTP_OK, METRICS_TEXT, text, len, 1);
}

static enum MHD_Result serve_readyz(struct rt_http *h, struct MHD_Connection *c)
{
    char why[200] = "", *body;

    if (!h->o.ready || h->o.ready(why, sizeof(why), h->o.payload))
        return reply_text(c, MHD_HTTP_OK, "ok\n");
    body = op_asprintf("not ready: %s\n", why[0] ? why : "unknown");
    if (!body)
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
    return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, body, strlen(body), 1);
}

/* MHD's access handler: called once the request head is in (a GET/HEAD body,
 * if any, is read and dropped by the later calls). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_len, void **state)
{
    static int first_call;
    struct rt_http *h = cls;

    (void)version;
    (void)upload;
    if (!*state) { /* the head is in; answer on the next call (RFC 9112 flow) */
        *state = &first_call;
        return MHD_YES;
    }
    if (*upload_len) {
        *upload_len = 0; /* drop a body: nothing here takes one */
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (h->o.health && !strcmp(url, "/healthz"))
        return reply_text(c, MHD_HTTP_OK, "ok\n");
    if (h->o.health && !strcmp(url, "/readyz"))
        return serve_readyz(h, c);
    if (h->o.metrics && !strcmp(url, "/metrics"))
        return serve_metrics(h, c);
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* MHD's diagnostics (a client that sent garbage, a full connection table)
 * are about clients, not about us: debug level only. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[256];
    (void)cls;
    if (!op_log_enabled(OP_LOG_DEBUG))
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    op_log(OP_LOG_DEBUG, "http server", "detail", line, NULL);
}

/* ---- lifecycle ------------------------------------------------------------ */

/* Binds and listens on the first address of head that works, IPv4 first
 * (":PORT" then listens on every IPv4 address, like a Go server on a v4 pod
 * network; "localhost" binds 127.0.0.1). Returns the fd or -1 with errno. */
static int listen_on(const struct addrinfo *head)
{
    int saved = EADDRNOTAVAIL;
    for (int pass = 0; pass < 2; pass++) {
        for (const struct addrinfo *ai = head; ai; ai = ai->ai_next) {
            int fd, one = 1;
            if ((ai->ai_family == AF_INET) != (pass == 0))
                continue;
            fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                saved = errno;
                continue;
            }
            if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
                bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, BACKLOG) == 0)
                return fd;
            saved = errno;
            close(fd);
        }
    }
    errno = saved;
    return -1;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

static unsigned or_default(unsigned v, unsigned def)
{
    return v ? v : def;
}

/* Starts the MHD daemon on h->lfd (which it then owns). The polling thread
 * is created with every signal blocked: the manager takes signals on the
 * main thread. */
static int start_daemon(struct rt_http *h)
{
    sigset_t all, old;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     (h->o.no_epoll ? MHD_USE_POLL : MHD_USE_AUTO);

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->lfd,
                            MHD_OPTION_CONNECTION_LIMIT, or_default(h->o.conn_limit, RT_HTTP_CONN_LIMIT),
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            or_default(h->o.per_ip_limit, RT_HTTP_PER_IP_LIMIT),
                            MHD_OPTION_CONNECTION_TIMEOUT, or_default(h->o.timeout_s, RT_HTTP_TIMEOUT_S),
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)or_default(h->o.memory_limit, RT_HTTP_MEMORY_LIMIT),
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!h->d)
        return op_err_set(OP_ERR, "cannot start the HTTP server (libmicrohttpd)");
    h->lfd = -1;
    return OP_OK;
}

int rt_http_start(struct rt_http **out, const struct rt_http_opts *o)
{
    char host[256], portstr[16];
    int port, err = OP_OK;
    struct addrinfo hints, *head = NULL;
    struct rt_http *h = NULL;

    if (rt_addr_parse(o->addr, host, sizeof(host), &port) < 0)
        return op_err_set(OP_EINVALID, "invalid listen address \"%s\"", o->addr ? o->addr : "");
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host[0] ? host : NULL, portstr, &hints, &head) != 0 || !head)
        return op_err_set(OP_EINVALID, "cannot resolve listen address \"%s\"", o->addr);
    if (!(h = calloc(1, sizeof(*h)))) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    h->o = *o;
    h->o.addr = NULL;
    if ((h->lfd = listen_on(head)) < 0) {
        err = op_err_set(OP_ERR, "cannot listen on %s: %s", o->addr, strerror(errno));
        goto out;
    }
    if ((h->port = bound_port(h->lfd)) < 0) {
        err = op_err_set(OP_ERR, "getsockname for %s: %s", o->addr, strerror(errno));
        goto out;
    }
    if ((err = start_daemon(h)) < 0)
        goto out;
    *out = h;
    h = NULL;
out:
    if (h && h->lfd >= 0)
        close(h->lfd);
    free(h);
    freeaddrinfo(head);
    return err;
}

int rt_http_port(const struct rt_http *h)
{
    return h ? h->port : -1;
}

void rt_http_free(struct rt_http *h)
{
    if (!h)
        return;
    if (h->d)
        MHD_stop_daemon(h->d); /* joins the thread, closes every connection and the socket */
    free(h);
}
