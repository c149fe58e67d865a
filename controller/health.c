/* health.c — /metrics, /healthz and /readyz on a small in-tree HTTP/1.1
 * server: plain POSIX sockets and one poll() thread per listener with a small
 * stack. At most CONN_MAX connections are served at once (more wait in the
 * listen backlog); each has a deadline to send its request head (HEAD_MAX
 * bytes at most) and another to take the response, so a slow client cannot
 * hold a slot or memory for long. GET and HEAD only; every response carries
 * Content-Length, Cache-Control: no-store and Connection: close. Parsing and
 * response formatting are pure; serve() does the I/O. The handlers only read
 * thread-safe state (the metrics registry and a ready callback), so nothing
 * here takes the controller's locks directly. */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "health.h"

#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
    CONN_MAX = 16,          /* connections served at once */
    HEAD_MAX = 8192,        /* request line + headers */
    IO_TIMEOUT_MS = 5000,   /* to receive the head; again to send the response */
    LINGER_MS = 1000,       /* reading (and dropping) leftovers after the response */
    LINGER_MAX = 64 << 10,  /* ... at most this many bytes */
    ACCEPT_PAUSE_MS = 100,  /* after EMFILE and friends */
    BACKLOG = 64,
    METRICS_MAX = 16 << 20, /* exposition text cap */
};

/* The sanitizers' instrumentation needs more stack than the plain build. */
#if defined(__SANITIZE_ADDRESS__)
#define HTTP_STACK (256u << 10)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HTTP_STACK (256u << 10)
#endif
#endif
#ifndef HTTP_STACK
#define HTTP_STACK (64u << 10)
#endif

#define TEXT "text/plain; charset=utf-8"
#define METRICS_TEXT "text/plain; version=0.0.4; charset=utf-8"

enum conn_state { C_FREE = 0, C_READ, C_WRITE, C_LINGER };

struct conn {
    enum conn_state st;
    int fd;
    int64_t deadline; /* op_mono_ms() */
    char *in;         /* HEAD_MAX bytes while open */
    size_t inlen;
    size_t drained;   /* bytes dropped while lingering */
    char head[320];   /* response status line + headers */
    size_t hlen;
    const char *body; /* static text or own.data */
    size_t blen;
    struct op_buf own;
    size_t off;       /* bytes of head + body sent */
};

struct ctl_http {
    struct ctl_http_opts o;
    int lfd;
    int wake[2]; /* self-pipe: ctl_http_free writes, serve() wakes and exits */
    int port;
    int started;
    pthread_t thr;
    int64_t accept_paused_until;
    struct conn conns[CONN_MAX];
};

/* ---- pure: request parsing and response formatting ------------------------ */

struct req {
    const char *method, *path; /* not NUL-terminated */
    size_t mlen, plen;
};

/* Length of the request head in buf[0..len) including the empty line that
 * ends it, or 0 when incomplete. Empty lines before the request line are part
 * of it (RFC 9112 §2.2 lets servers skip them). Bare LF line ends accepted. */
static size_t head_len(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Parses the request line of a complete head. Returns 0, 400 (malformed) or
 * 505 (not HTTP/1.x). The path excludes any query or fragment; an
 * absolute-form target ("http://host/p") is reduced to its path. */
static int parse_request(const char *buf, size_t len, struct req *r)
{
    const char *p = buf, *end = buf + len, *eol, *t, *te;

    if (memchr(buf, '\0', len))
        return 400;
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        return 400;
    if (eol > p && eol[-1] == '\r')
        eol--;
    /* method */
    r->method = p;
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    r->mlen = (size_t)(p - r->method);
    if (!r->mlen || p >= eol || *p != ' ')
        return 400;
    p++;
    /* request-target */
    t = p;
    while (p < eol && (unsigned char)*p > ' ' && *p != 0x7f)
        p++;
    te = p;
    if (t == te || p >= eol || *p != ' ')
        return 400;
    p++;
    /* HTTP-version */
    if ((size_t)(eol - p) != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' ||
        p[5] > '9' || p[7] < '0' || p[7] > '9')
        return 400;
    if (p[5] != '1')
        return 505;
    if ((size_t)(te - t) > 7 && !strncmp(t, "http://", 7)) {
        const char *s = memchr(t + 7, '/', (size_t)(te - t - 7));
        if (s) {
            t = s;
        } else { /* "http://host" alone means "/" */
            t = "/";
            te = t + 1;
        }
    }
    r->path = t;
    for (r->plen = 0; t + r->plen < te && t[r->plen] != '?' && t[r->plen] != '#'; r->plen++)
        ;
    return 0;
}

static int eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(s, lit, n);
}

static const char *reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* Writes the status line and headers into dst; returns their length. */
static size_t format_head(char *dst, size_t cap, int code, const char *ctype, size_t clen)
{
    int n = snprintf(dst, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "%s"
                     "Connection: close\r\n"
                     "\r\n",
                     code, reason(code), ctype, clen, code == 405 ? "Allow: GET, HEAD\r\n" : "");
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ---- handlers ------------------------------------------------------------- */

static void set_reply(struct conn *c, int code, const char *ctype, const char *body, size_t blen,
                      int head_only)
{
    c->hlen = format_head(c->head, sizeof(c->head), code, ctype, blen);
    c->body = body;
    c->blen = head_only ? 0 : blen;
    c->off = 0;
}

static void set_text(struct conn *c, int code, const char *text, int head_only)
{
    set_reply(c, code, TEXT, text, strlen(text), head_only);
}

/* Fills c's response for the complete head in c->in[0..hl). */
static void handle(const struct ctl_http *h, struct conn *c, size_t hl)
{
    struct req r;
    int code = parse_request(c->in, hl, &r), head_only;

    if (code == 400) {
        set_text(c, 400, "bad request\n", 0);
        return;
    }
    if (code == 505) {
        set_text(c, 505, "http version not supported\n", 0);
        return;
    }
    head_only = eq(r.method, r.mlen, "HEAD");
    if (!head_only && !eq(r.method, r.mlen, "GET")) {
        set_text(c, 405, "method not allowed\n", 0);
        return;
    }
    if (h->o.metrics && eq(r.path, r.plen, "/metrics")) {
        op_buf_init(&c->own, METRICS_MAX);
        if (ctl_metrics_render(h->o.metrics, &c->own) < 0) {
            op_buf_cleanup(&c->own);
            set_text(c, 500, "render failed\n", head_only);
            return;
        }
        set_reply(c, 200, METRICS_TEXT, c->own.data ? c->own.data : "", c->own.len, head_only);
        return;
    }
    if (h->o.health && eq(r.path, r.plen, "/healthz")) {
        set_text(c, 200, "ok\n", head_only);
        return;
    }
    if (h->o.health && eq(r.path, r.plen, "/readyz")) {
        char why[200] = "";
        if (!h->o.ready || h->o.ready(why, sizeof(why), h->o.payload)) {
            set_text(c, 200, "ok\n", head_only);
            return;
        }
        op_buf_init(&c->own, 4096);
        if (op_buf_appendf(&c->own, "not ready: %s\n", why) < 0) {
            op_buf_cleanup(&c->own);
            set_text(c, 503, "not ready\n", head_only);
            return;
        }
        set_reply(c, 503, TEXT, c->own.data, c->own.len, head_only);
        return;
    }
    set_text(c, 404, "not found\n", head_only);
}

/* ---- connections (server thread only) ------------------------------------- */

static void conn_close(struct conn *c)
{
    if (c->st == C_FREE)
        return;
    close(c->fd);
    free(c->in);
    op_buf_cleanup(&c->own);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* Reads and drops what the client still sends after its response, so the
 * close does not turn into a reset that could destroy the unread response;
 * closes on EOF, error or too much input. */
static void conn_linger(struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in, HEAD_MAX, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0 || (c->drained += (size_t)n) > LINGER_MAX) {
            conn_close(c);
            return;
        }
    }
}

static void conn_write(struct conn *c)
{
    size_t total = c->hlen + c->blen;
    while (c->off < total) {
        struct iovec iov[2];
        struct msghdr mh;
        int n = 0;
        ssize_t w;
        if (c->off < c->hlen) {
            iov[n].iov_base = c->head + c->off;
            iov[n++].iov_len = c->hlen - c->off;
        }
        if (c->blen) {
            size_t bo = c->off > c->hlen ? c->off - c->hlen : 0;
            iov[n].iov_base = (char *)c->body + bo;
            iov[n++].iov_len = c->blen - bo;
        }
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0) {
            conn_close(c);
            return;
        }
        c->off += (size_t)w;
    }
    op_buf_cleanup(&c->own);
    c->body = NULL;
    shutdown(c->fd, SHUT_WR);
    c->st = C_LINGER;
    c->deadline = op_mono_ms() + LINGER_MS;
    conn_linger(c);
}

static void conn_respond(struct conn *c)
{
    c->st = C_WRITE;
    c->deadline = op_mono_ms() + IO_TIMEOUT_MS;
    conn_write(c);
}

static void conn_read(const struct ctl_http *h, struct conn *c)
{
    for (;;) {
        size_t hl;
        ssize_t n;
        if (c->inlen == HEAD_MAX) {
            set_text(c, 431, "request header fields too large\n", 0);
            conn_respond(c);
            return;
        }
        n = recv(c->fd, c->in + c->inlen, HEAD_MAX - c->inlen, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) { /* gone before a full head */
            conn_close(c);
            return;
        }
        c->inlen += (size_t)n;
        if ((hl = head_len(c->in, c->inlen)) != 0) {
            handle(h, c, hl);
            conn_respond(c);
            return;
        }
    }
}

static void conn_ready(const struct ctl_http *h, struct conn *c)
{
    switch (c->st) {
    case C_READ: conn_read(h, c); break;
    case C_WRITE: conn_write(c); break;
    case C_LINGER: conn_linger(c); break;
    case C_FREE: break;
    }
}

static void accept_some(struct ctl_http *h)
{
    for (int i = 0; i < CONN_MAX; i++) {
        struct conn *c = &h->conns[i];
        int fd;
        if (c->st != C_FREE)
            continue;
        fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
                i--; /* this slot is still free */
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) /* EMFILE, ENOBUFS, ... */
                h->accept_paused_until = op_mono_ms() + ACCEPT_PAUSE_MS;
            return;
        }
        c->in = malloc(HEAD_MAX);
        if (!c->in) {
            close(fd);
            h->accept_paused_until = op_mono_ms() + ACCEPT_PAUSE_MS;
            return;
        }
        c->fd = fd;
        c->st = C_READ;
        c->inlen = 0;
        c->deadline = op_mono_ms() + IO_TIMEOUT_MS;
    }
}

static void *serve(void *arg)
{
    struct ctl_http *h = arg;
    struct pollfd pfd[2 + CONN_MAX];
    int who[2 + CONN_MAX]; /* pfd index -> conn index, -1 wake, -2 listener */

    for (;;) {
        int64_t now = op_mono_ms(), timeout = -1;
        int n = 0, active = 0, r;

        pfd[n] = (struct pollfd){.fd = h->wake[0], .events = POLLIN};
        who[n++] = -1;
        for (int i = 0; i < CONN_MAX; i++) {
            struct conn *c = &h->conns[i];
            if (c->st == C_FREE)
                continue;
            if (c->deadline <= now) { /* too slow: drop it */
                conn_close(c);
                continue;
            }
            active++;
            pfd[n] = (struct pollfd){.fd = c->fd, .events = c->st == C_WRITE ? POLLOUT : POLLIN};
            who[n++] = i;
            if (timeout < 0 || c->deadline - now < timeout)
                timeout = c->deadline - now;
        }
        if (active < CONN_MAX) {
            if (h->accept_paused_until <= now) {
                pfd[n] = (struct pollfd){.fd = h->lfd, .events = POLLIN};
                who[n++] = -2;
            } else if (timeout < 0 || h->accept_paused_until - now < timeout) {
                timeout = h->accept_paused_until - now;
            }
        }
        r = poll(pfd, (nfds_t)n, (int)timeout);
        if (r < 0)
            continue; /* EINTR; nothing else is expected with valid fds */
        if (pfd[0].revents)
            break;
        for (int k = 1; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            if (who[k] == -2)
                accept_some(h);
            else
                conn_ready(h, &h->conns[who[k]]);
        }
    }
    for (int i = 0; i < CONN_MAX; i++)
        conn_close(&h->conns[i]);
    return NULL;
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

int ctl_http_start(struct ctl_http **out, const struct ctl_http_opts *o)
{
    char host[256], portstr[16];
    int port, err = OP_OK, rc;
    struct addrinfo hints, *head = NULL;
    struct ctl_http *h = NULL;
    pthread_attr_t attr;
    sigset_t all, old;

    if (ctl_addr_parse(o->addr, host, sizeof(host), &port) < 0)
        return op_err_set(OP_EINVALID, "invalid listen address \"%s\"", o->addr ? o->addr : "");
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host[0] ? host : NULL, portstr, &hints, &head) != 0 || !head)
        return op_err_set(OP_EINVALID, "cannot resolve listen address \"%s\"", o->addr);

    h = calloc(1, sizeof(*h));
    if (!h) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    h->o = *o;
    h->o.addr = NULL;
    h->lfd = h->wake[0] = h->wake[1] = -1;
    for (int i = 0; i < CONN_MAX; i++)
        h->conns[i].fd = -1;
    if ((h->lfd = listen_on(head)) < 0) {
        err = op_err_set(OP_ERR, "cannot listen on %s: %s", o->addr, strerror(errno));
        goto out;
    }
    if ((h->port = bound_port(h->lfd)) < 0) {
        err = op_err_set(OP_ERR, "getsockname for %s: %s", o->addr, strerror(errno));
        goto out;
    }
    if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        err = op_err_set(OP_ERR, "pipe: %s", strerror(errno));
        goto out;
    }
    /* The thread takes no signals (the manager sigwaits on the main thread)
     * and runs on a small stack. */
    pthread_attr_init(&attr);
    if (pthread_attr_setstacksize(&attr, HTTP_STACK) != 0)
        pthread_attr_setstacksize(&attr, 256u << 10);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&h->thr, &attr, serve, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        err = op_err_set(OP_ERR, "cannot start the HTTP thread for %s: %s", o->addr, strerror(rc));
        goto out;
    }
    h->started = 1;
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
    if (h->started) {
        while (write(h->wake[1], "x", 1) < 0 && errno == EINTR)
            ;
        pthread_join(h->thr, NULL);
    }
    if (h->lfd >= 0)
        close(h->lfd);
    if (h->wake[0] >= 0)
        close(h->wake[0]);
    if (h->wake[1] >= 0)
        close(h->wake[1]);
    free(h);
}
