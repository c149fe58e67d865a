/* client.c — HTTP round trips to the apiserver over libcurl: a pool of easy
 * handles (one per concurrent request, kept for connection reuse) sharing DNS
 * and TLS sessions, credentials applied per request (token refresh after a
 * 401), Status decoding, Retry-After retries, bounded bodies, and the REST
 * verbs on top. Any thread may call in; a handle is never used by two
 * threads at once. kube_client_cancel() ends Retry-After waits and aborts
 * non-watch requests in flight (the lease-loss path: stop writing now). */
#include "kube_int.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#if defined(__x86_64__)
#define KUBE_ARCH "amd64"
#elif defined(__aarch64__)
#define KUBE_ARCH "arm64"
#else
#define KUBE_ARCH "unknown"
#endif
#define KUBE_USER_AGENT "crosslink/" CROSSLINK_VERSION " (linux/" KUBE_ARCH ")"
#define KUBE_POOL_MAX 16
#define KUBE_MAX_IN_FLIGHT 64
#define KUBE_ERRBODY_MAX ((size_t)1 << 20)
#define KUBE_RETRY_TOTAL_MS 120000
#define KUBE_FIRST_BYTE_MS 15000
#define KUBE_UPLOAD_BUFFER 16384L /* libcurl's minimum (CURL_MAX_WRITE_SIZE) */
#define KUBE_RECV_BUFFER 4096L

struct kube_handle {
    CURL *easy;
    struct kube_handle *next;
    int64_t idle_since; /* op_mono_ms() when it went back to the pool */
};

struct kube_client {
    struct kube_config *cfg;
    CURLSH *share;
    pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    struct kube_handle *pool;
    size_t pool_n;
    char *host;        /* host:port for metrics */
    char *url_server;  /* scheme://host:port used in URLs (tls-server-name aware) */
    char *connect_to;  /* CURLOPT_CONNECT_TO entry or NULL */
    kube_request_fn on_request;
    void *on_request_payload;
    kube_write_fence_fn fence;
    void *fence_payload;
    long timeout_ms;
    int max_retries;
    atomic_int cancelled;     /* kube_client_cancel: non-watch requests fail at once */
    pthread_mutex_t wait_lock; /* Retry-After waits sleep on wait_cond */
    pthread_cond_t wait_cond;  /* CLOCK_MONOTONIC; broadcast by kube_client_cancel */
    int openssl; /* libcurl's TLS backend is OpenSSL: ssl_ctx_cb applies */
    size_t pool_max; /* idle handles kept (connections); KUBE_POOL_MAX unless set */
    struct kube__limiter lim; /* under wait_lock; waiters sleep on wait_cond */
};

/* ---- share locking -------------------------------------------------------- */

static void share_lock_cb(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
    struct kube_client *c = userp;
    (void)h;
    (void)access;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_lock[data]);
}

static void share_unlock_cb(CURL *h, curl_lock_data data, void *userp)
{
    struct kube_client *c = userp;
    (void)h;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_lock[data]);
}

/* ---- lifetime --------------------------------------------------------------- */

/* Splits "https://host:port/..." into host:port (default port 443). */
static int parse_server(const char *server, char **scheme_out, char **hostport_out,
                        char **host_out, char **port_out)
{
    const char *p = strstr(server, "://"), *hp, *end, *colon;
    char *scheme, *hostport, *host, *port;

    if (!p)
        return op_err_set(OP_EINVALID, "server \"%s\" has no scheme", server);
    scheme = strndup(server, (size_t)(p - server));
    hp = p + 3;
    end = strchr(hp, '/');
    if (!end)
        end = hp + strlen(hp);
    if (*hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(end - hp));
        colon = rb && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(hp, ':', (size_t)(end - hp));
    }
    if (colon) {
        host = strndup(hp, (size_t)(colon - hp));
        port = strndup(colon + 1, (size_t)(end - colon - 1));
    } else {
        host = strndup(hp, (size_t)(end - hp));
        port = op_strdup(scheme && strcmp(scheme, "http") == 0 ? "80" : "443");
    }
    hostport = host && port ? op_asprintf("%s:%s", host, port) : NULL;
    if (!scheme || !host || !port || !hostport) {
        free(scheme);
        free(host);
        free(port);
        free(hostport);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    *scheme_out = scheme;
    *hostport_out = hostport;
    *host_out = host;
    *port_out = port;
    return OP_OK;
}

int kube_client_new(struct kube_client **out, struct kube_config *cfg)
{
    struct kube_client *c;
    char *scheme = NULL, *host = NULL, *port = NULL;
    const char *sni;
    int err, i;

    if (!cfg)
        return op_err_set(OP_EINVALID, "kube_client_new: no config");
    c = calloc(1, sizeof(*c));
    if (!c)
        return op_err_set(OP_ENOMEM, "out of memory");
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_lock[i], NULL);
    pthread_mutex_init(&c->pool_lock, NULL);
    pthread_mutex_init(&c->wait_lock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->wait_cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    atomic_init(&c->cancelled, 0);
    c->timeout_ms = 30000;
    c->max_retries = 10;
    c->pool_max = KUBE_POOL_MAX;
    kube__limiter_init(&c->lim, KUBE_MAX_IN_FLIGHT);
    if ((err = parse_server(kube_config_server(cfg), &scheme, &c->host, &host, &port)) < 0)
        goto fail;
    sni = kube_config_tls_server_name(cfg);
    if (sni && strcmp(sni, host) != 0) {
        /* Verify the certificate against tls-server-name: address the URL to
         * that name and tell curl to connect to the real host instead. */
        c->url_server = op_asprintf("%s://%s:%s", scheme, sni, port);
        c->connect_to = op_asprintf("%s:%s:%s:%s", sni, port, host, port);
    } else {
        c->url_server = op_strdup(kube_config_server(cfg));
    }
    if (!c->url_server || (sni && strcmp(sni, host) != 0 && !c->connect_to)) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto fail;
    }
    c->share = curl_share_init();
    if (!c->share) {
        err = op_err_set(OP_ENOMEM, "curl_share_init failed");
        goto fail;
    }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    {
        const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
        c->openssl = vi && vi->ssl_version && !strncmp(vi->ssl_version, "OpenSSL/", 8);
    }
    free(scheme);
    free(host);
    free(port);
    c->cfg = cfg; /* stolen */
    *out = c;
    return OP_OK;
fail:
    free(scheme);
    free(host);
    free(port);
    c->cfg = NULL;
    kube_client_free(c);
    return err;
}

void kube_client_free(struct kube_client *c)
{
    struct kube_handle *h, *next;
    int i;

    if (!c)
        return;
    for (h = c->pool; h; h = next) {
        next = h->next;
        curl_easy_cleanup(h->easy);
        free(h);
    }
    if (c->share)
        curl_share_cleanup(c->share);
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_lock[i]);
    pthread_mutex_destroy(&c->pool_lock);
    pthread_mutex_destroy(&c->wait_lock);
    pthread_cond_destroy(&c->wait_cond);
    kube_config_free(c->cfg);
    free(c->host);
    free(c->url_server);
    free(c->connect_to);
    free(c);
}

struct kube_config *kube_client_config(struct kube_client *c)
{
    return c->cfg;
}

void kube_client_set_on_request(struct kube_client *c, kube_request_fn fn, void *payload)
{
    c->on_request = fn;
    c->on_request_payload = payload;
}

void kube_client_set_write_fence(struct kube_client *c, kube_write_fence_fn fn, void *payload)
{
    c->fence = fn;
    c->fence_payload = payload;
}

void kube_client_set_timeout_ms(struct kube_client *c, long ms)
{
    c->timeout_ms = ms > 0 ? ms : 30000;
}

void kube_client_set_max_retries(struct kube_client *c, int n)
{
    c->max_retries = n < 0 ? 0 : n;
}

static struct kube_handle *handle_get(struct kube_client *c)
{
    struct kube_handle *h;

    pthread_mutex_lock(&c->pool_lock);
    h = c->pool;
    if (h) {
        c->pool = h->next;
        c->pool_n--;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h)
        return h;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->easy = curl_easy_init();
    if (!h->easy) {
        free(h);
        return NULL;
    }
    return h;
}

static void handle_put(struct kube_client *c, struct kube_handle *h, int reusable)
{
    if (!h)
        return;
    pthread_mutex_lock(&c->pool_lock);
    if (reusable && c->pool_n < c->pool_max) {
        h->idle_since = op_mono_ms();
        h->next = c->pool;
        c->pool = h;
        c->pool_n++;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h) {
        curl_easy_cleanup(h->easy);
        free(h);
    }
}

void kube_client_set_max_in_flight(struct kube_client *c, int n)
{
    kube__limiter_init(&c->lim, n > 0 ? n : KUBE_MAX_IN_FLIGHT);
}

int kube_client_in_flight_limit(struct kube_client *c)
{
    int n;
    pthread_mutex_lock(&c->wait_lock);
    n = (int)c->lim.limit;
    pthread_mutex_unlock(&c->wait_lock);
    return n;
}

void kube_client_set_pool_max(struct kube_client *c, size_t n)
{
    c->pool_max = n > 0 ? n : KUBE_POOL_MAX;
}

void kube_client_release_idle(struct kube_client *c, int64_t idle_ms, size_t keep)
{
    struct kube_handle **pp, *h, *gone = NULL;
    int64_t now = op_mono_ms();
    size_t i = 0;

    if (!c)
        return;
    pthread_mutex_lock(&c->pool_lock);
    /* most recently used first: keep the first `keep`, then drop the stale */
    for (pp = &c->pool; (h = *pp);) {
        if (i++ >= keep && now - h->idle_since >= idle_ms) {
            *pp = h->next;
            c->pool_n--;
            h->next = gone;
            gone = h;
        } else {
            pp = &h->next;
        }
    }
    pthread_mutex_unlock(&c->pool_lock);
    while ((h = gone)) {
        gone = h->next;
        curl_easy_cleanup(h->easy);
        free(h);
    }
}

/* ---- one round trip ------------------------------------------------------- */

/* OpenSSL keeps ~34 KiB of record buffers per connection for as long as it
 * lives; with RELEASE_BUFFERS an idle connection (pooled handles, quiet
 * watches) gives them back. */
static CURLcode ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *payload)
{
    (void)easy;
    (void)payload;
    SSL_CTX_set_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    return CURLE_OK;
}

struct xfer {
    struct op_buf *body;        /* whole body (non-stream) or error body (stream) */
    struct kube__stream *stream;
    atomic_int *cancelled;      /* the client's; aborts non-watch transfers */
    CURL *easy;
    long code;
    int retry_after_s;
    int sink_err;
    int stopped;
    int idle;
    int64_t last_byte_ms;
    int got_headers;
    int overflow;
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nmemb;

    x->last_byte_ms = op_mono_ms();
    if (x->code == 0)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->code);
    if (x->stream && x->code >= 200 && x->code < 300) {
        int r = x->stream->sink(ptr, n, x->stream->payload);
        if (r != 0) {
            x->sink_err = r;
            return 0;
        }
        return n;
    }
    if (op_buf_append(x->body, ptr, n) < 0) {
        x->overflow = 1;
        return 0;
    }
    return n;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nitems;

    x->last_byte_ms = op_mono_ms();
    x->got_headers = 1;
    if (n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
        char tmp[32];
        size_t l = n - 12;
        char *end = NULL;
        long v;
        if (l >= sizeof(tmp))
            l = sizeof(tmp) - 1;
        memcpy(tmp, buf + 12, l);
        tmp[l] = '\0';
        v = strtol(tmp, &end, 10);
        if (end != tmp && v >= 0 && v < 86400)
            x->retry_after_s = (int)v;
    } else if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        x->retry_after_s = -1; /* new response (after a redirect or 100) */
    }
    return n;
}

static int xferinfo_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct xfer *x = userp;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    if (!x->stream) {
        if (atomic_load(x->cancelled)) {
            x->stopped = 1;
            return 1;
        }
        return 0;
    }
    if (x->stream->stop_flag && atomic_load(x->stream->stop_flag)) {
        x->stopped = 1;
        return 1;
    }
    if (x->stream->idle_ms > 0) {
        /* the apiserver answers a watch with headers at once; a connection
         * that stays silent before them is dead (e.g. a stale reused one) */
        long limit = x->stream->idle_ms;
        if (!x->got_headers && limit > KUBE_FIRST_BYTE_MS)
            limit = KUBE_FIRST_BYTE_MS;
        if (op_mono_ms() - x->last_byte_ms > limit) {
            x->idle = 1;
            return 1;
        }
    }
    return 0;
}

static int is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return 1;
    default:
        return 0;
    }
}

struct req {
    const char *method;
    const char *path;
    const char *content_type;
    const char *body;
    size_t body_len;
    struct kube__stream *stream;
    int refresh_creds;
};

/* A Lease request (leader election): the write fence and the in-flight
 * limit leave it alone. */
static int is_lease(const struct req *rq)
{
    return strstr(rq->path, "/apis/coordination.k8s.io/") != NULL;
}

/* The request timeout for rq under the write fence: c->timeout_ms, cut to
 * end at the fence's deadline; 0 when the deadline has passed (do not send). */
static long fenced_timeout_ms(const struct kube_client *c, const struct req *rq)
{
    int64_t dl, left;
    if (!c->fence || !strcmp(rq->method, "GET") || is_lease(rq))
        return c->timeout_ms;
    if ((dl = c->fence(c->fence_payload)) < 0)
        return c->timeout_ms;
    left = dl - op_mono_ms();
    if (left <= 0)
        return 0;
    return left < c->timeout_ms ? (long)left : c->timeout_ms;
}

/* One HTTP exchange. Returns 0 for 2xx (body in *resp), else an op_err with
 * st filled. Never retries. */
static int round_trip(struct kube_client *c, const struct req *rq, struct op_buf *resp,
                      struct kube_status *st)
{
    struct kube_handle *h = NULL;
    struct curl_slist *hdrs = NULL, *connect_to = NULL;
    struct xfer x;
    char errbuf[CURL_ERROR_SIZE];
    char *url = NULL, *token = NULL, *auth_hdr = NULL, *ctype_hdr = NULL;
    char *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0, ca_len = 0;
    const char *ca;
    struct op_buf errbody;
    CURLcode rc;
    int err = OP_OK, reusable = 1;
    long timeout_ms = fenced_timeout_ms(c, rq);

    memset(&x, 0, sizeof(x));
    memset(st, 0, sizeof(*st));
    st->retry_after_s = -1;
    x.retry_after_s = -1;
    op_buf_init(&errbody, KUBE_ERRBODY_MAX);
    x.body = rq->stream ? &errbody : resp;
    x.stream = rq->stream;
    x.cancelled = &c->cancelled;
    errbuf[0] = '\0';

    if (timeout_ms <= 0) {
        snprintf(st->message, sizeof(st->message), "not sent: the leader lease expired (write fence)");
        err = op_err_set(OP_ECANCELED, "%s %s: %s", rq->method, rq->path, st->message);
        goto out;
    }
    if ((err = kube_config_token(c->cfg, rq->refresh_creds, &token)) < 0 ||
        (err = kube__config_client_cert(c->cfg, rq->refresh_creds, &cert, &cert_len, &key,
                                        &key_len)) < 0) {
        kube__strlcpy(st->message, op_err_last(), sizeof(st->message));
        err = op_err_set(OP_EUNAUTHORIZED, "%s %s: credentials: %s", rq->method, rq->path,
                         st->message);
        goto out;
    }
    url = op_asprintf("%s%s", c->url_server, rq->path);
    if (!url) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    h = handle_get(c);
    if (!h) {
        err = op_err_set(OP_ENOMEM, "curl_easy_init failed");
        goto out;
    }
    curl_easy_reset(h->easy);
    x.easy = h->easy;
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (token) {
        auth_hdr = op_asprintf("Authorization: Bearer %s", token);
        if (!auth_hdr || !(hdrs = curl_slist_append(hdrs, auth_hdr))) {
            err = op_err_set(OP_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (rq->content_type) {
        ctype_hdr = op_asprintf("Content-Type: %s", rq->content_type);
        if (!ctype_hdr || !(hdrs = curl_slist_append(hdrs, ctype_hdr))) {
            err = op_err_set(OP_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (!hdrs) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    curl_easy_setopt(h->easy, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h->easy, CURLOPT_USERAGENT, KUBE_USER_AGENT);
    curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, rq->stream ? 0L : timeout_ms);
    curl_easy_setopt(h->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h->easy, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h->easy, CURLOPT_TCP_KEEPINTVL, 15L);
    /* HTTP/1.1: every pooled handle has its own connection, so HTTP/2 would
     * multiplex nothing and costs an nghttp2 session plus curl's 32 KiB h2
     * input buffer per connection */
    curl_easy_setopt(h->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    /* over TLS libcurl copies every request (GETs too) through an upload
     * buffer allocated per transfer, 64 KiB by default, of which it sends
     * at most 16 KiB at a time: the minimum, 16 KiB, sends the same
     * chunks for a quarter of the memory per request in flight */
    curl_easy_setopt(h->easy, CURLOPT_UPLOAD_BUFFERSIZE, KUBE_UPLOAD_BUFFER);
    /* the receive buffer, also per transfer: 16 KiB by default; a reply
     * (an object, a page of a list) is read in 4 KiB pieces instead, which
     * costs a few more write callbacks; watch streams keep the default */
    if (!rq->stream)
        curl_easy_setopt(h->easy, CURLOPT_BUFFERSIZE, KUBE_RECV_BUFFER);
    if (c->openssl)
        curl_easy_setopt(h->easy, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h->easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h->easy, CURLOPT_HEADERDATA, &x);
    /* watches: stop flag and idle watchdog; other requests: cancellation */
    curl_easy_setopt(h->easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h->easy, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
    curl_easy_setopt(h->easy, CURLOPT_XFERINFODATA, &x);
    if (c->connect_to) {
        connect_to = curl_slist_append(NULL, c->connect_to);
        curl_easy_setopt(h->easy, CURLOPT_CONNECT_TO, connect_to);
    }
    ca = kube_config_ca_pem(c->cfg, &ca_len);
    if (ca && ca_len) {
        struct curl_blob blob = {(void *)ca, ca_len, CURL_BLOB_COPY};
        curl_easy_setopt(h->easy, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (kube_config_insecure(c->cfg)) {
        curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cert && key) {
        struct curl_blob cb = {cert, cert_len, CURL_BLOB_COPY};
        struct curl_blob kb = {key, key_len, CURL_BLOB_COPY};
        curl_easy_setopt(h->easy, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(h->easy, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h->easy, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(h->easy, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (kube__config_username(c->cfg)) {
        curl_easy_setopt(h->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h->easy, CURLOPT_USERNAME, kube__config_username(c->cfg));
        curl_easy_setopt(h->easy, CURLOPT_PASSWORD, kube__config_password(c->cfg));
    }
    if (strcmp(rq->method, "GET") == 0) {
        curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(rq->method, "POST") != 0)
            curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST, rq->method);
        if (rq->body) {
            curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
            curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, rq->body);
        } else if (strcmp(rq->method, "DELETE") != 0) {
            curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
            curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, "");
        }
    }
    x.last_byte_ms = op_mono_ms();
    rc = curl_easy_perform(h->easy);
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &x.code);

    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x.sink_err)) {
        reusable = 1;
        if (x.stopped && !rq->stream) {
            err = op_err_set(OP_EUNAVAILABLE, "%s %s: cancelled", rq->method, rq->path);
            kube__strlcpy(st->message, "cancelled", sizeof(st->message));
            st->code = 0;
        } else if (x.stopped) {
            err = op_err_set(OP_ETIMEOUT, "%s %s: stopped", rq->method, rq->path);
            kube__strlcpy(st->message, "stopped", sizeof(st->message));
            st->code = (int)x.code;
        } else if (x.idle) {
            err = op_err_set(OP_ETIMEOUT, "%s %s: no data for %ld ms", rq->method, rq->path,
                             rq->stream->idle_ms);
            kube__strlcpy(st->message, "idle timeout", sizeof(st->message));
            st->code = (int)x.code;
        } else if (x.overflow) {
            err = op_err_set(OP_ETOOBIG, "%s %s: response larger than %zu bytes", rq->method,
                             rq->path, x.body->max);
            st->code = (int)x.code;
            kube__strlcpy(st->message, "response too large", sizeof(st->message));
        } else {
            const char *msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
            int tls = is_tls_error(rc);
            err = tls ? OP_ETLS : rc == CURLE_OPERATION_TIMEDOUT ? OP_ETIMEOUT : OP_EUNAVAILABLE;
            kube__strlcpy(st->message, msg, sizeof(st->message));
            st->code = 0;
            err = op_err_set(err, "%s %s%s: %s%s", rq->method, c->host, rq->path,
                             tls ? "TLS error: " : "", msg);
        }
        if (c->on_request)
            c->on_request(rq->method, st->code, c->host, c->on_request_payload);
        goto out;
    }
    if (c->on_request)
        c->on_request(rq->method, (int)x.code, c->host, c->on_request_payload);
    if (x.sink_err) {
        err = x.sink_err < 0 ? x.sink_err : OP_ERR;
        st->code = (int)x.code;
        goto out;
    }
    if (x.code >= 200 && x.code < 300) {
        st->code = (int)x.code;
        st->retry_after_s = x.retry_after_s;
        err = OP_OK;
        goto out;
    }
    err = kube_status_decode(st, (int)x.code, x.body->data, x.body->len);
    if (x.retry_after_s >= 0)
        st->retry_after_s = x.retry_after_s;
    if (err == OP_OK)
        err = OP_ERR; /* 1xx/3xx: unexpected */
    err = op_err_set(err, "%s %s: %d %s: %s", rq->method, rq->path, st->code, st->reason,
                     st->message);
out:
    if (h)
        curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, NULL);
    handle_put(c, h, reusable);
    kube__slist_wipe_free(hdrs); /* curl copied the Authorization header into it */
    curl_slist_free_all(connect_to);
    op_wipe_free(token);
    op_wipe_free(auth_hdr);
    op_wipe_free_n(key, key_len);
    free(cert);
    free(ctype_hdr);
    free(url);
    op_buf_cleanup(&errbody);
    return err;
}

void kube__slist_wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        op_wipe(p->data, p->data ? strlen(p->data) : 0);
    curl_slist_free_all(l);
}

static int refreshable(struct kube_client *c)
{
    enum kube_auth a = kube_config_auth(c->cfg);
    return a == KUBE_AUTH_TOKEN_FILE || a == KUBE_AUTH_EXEC;
}

/* Sleeps ms (a Retry-After) unless the client is cancelled first; returns
 * nonzero when cancelled. */
static int wait_ms(struct kube_client *c, long ms)
{
    struct timespec until;
    int cancelled;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->wait_lock);
    while (!(cancelled = atomic_load(&c->cancelled)) &&
           pthread_cond_timedwait(&c->wait_cond, &c->wait_lock, &until) == 0)
        ;
    cancelled = atomic_load(&c->cancelled);
    pthread_mutex_unlock(&c->wait_lock);
    return cancelled;
}

void kube_client_cancel(struct kube_client *c, int cancel)
{
    pthread_mutex_lock(&c->wait_lock);
    atomic_store(&c->cancelled, cancel ? 1 : 0);
    pthread_cond_broadcast(&c->wait_cond);
    pthread_mutex_unlock(&c->wait_lock);
}

static int cancelled_err(const struct req *rq, struct kube_status *st)
{
    memset(st, 0, sizeof(*st));
    st->retry_after_s = -1;
    kube__strlcpy(st->message, "cancelled", sizeof(st->message));
    return op_err_set(OP_EUNAVAILABLE, "%s %s: cancelled", rq->method, rq->path);
}

/* Watches and Lease requests never wait for a slot: a watch holds one for
 * its lifetime, and the leader's renewal must not queue behind work. */
static int limited(const struct req *rq)
{
    return !rq->stream && !is_lease(rq);
}

/* Waits for a slot under the in-flight limit; nonzero when cancelled. */
static int slot_take(struct kube_client *c)
{
    int cancelled;
    pthread_mutex_lock(&c->wait_lock);
    while (!(cancelled = atomic_load(&c->cancelled)) && !kube__limiter_start(&c->lim))
        pthread_cond_wait(&c->wait_cond, &c->wait_lock);
    pthread_mutex_unlock(&c->wait_lock);
    return cancelled;
}

static void slot_give(struct kube_client *c, int code, int64_t started_ms)
{
    pthread_mutex_lock(&c->wait_lock);
    kube__limiter_done(&c->lim, code, started_ms, op_mono_ms());
    pthread_cond_broadcast(&c->wait_cond);
    pthread_mutex_unlock(&c->wait_lock);
}

/* Round trip with the in-flight limit and the 401-refresh and Retry-After
 * policies. A request waiting out a Retry-After holds no slot. */
static int do_request(struct kube_client *c, struct req *rq, struct op_buf *resp,
                      struct kube_status *st)
{
    int64_t start = op_mono_ms(), sent;
    int attempt = 0, refreshed = 0, err;

    for (;;) {
        if (!rq->stream && atomic_load(&c->cancelled))
            return cancelled_err(rq, st);
        op_buf_reset(resp);
        if (limited(rq) && slot_take(c))
            return cancelled_err(rq, st);
        sent = op_mono_ms();
        err = round_trip(c, rq, resp, st);
        if (limited(rq))
            slot_give(c, st->code, sent);
        if (err == OP_EUNAUTHORIZED && st->code == 401 && !refreshed && refreshable(c)) {
            refreshed = 1;
            rq->refresh_creds = 1;
            continue;
        }
        rq->refresh_creds = 0;
        if (!rq->stream && st->code != 0 && (st->code == 429 || st->code >= 500) &&
            st->retry_after_s >= 0 && attempt < c->max_retries) {
            long wait = st->retry_after_s > 0 ? st->retry_after_s * 1000L : 200L;
            if (op_mono_ms() - start + wait <= KUBE_RETRY_TOTAL_MS) {
                attempt++;
                if (wait_ms(c, wait))
                    return err; /* cancelled: the last answer goes back */
                continue;
            }
        }
        return err;
    }
}

int kube__request_stream(struct kube_client *c, const char *path, struct kube__stream *s,
                         struct kube_status *st)
{
    struct req rq = {"GET", path, NULL, NULL, 0, s, 0};
    struct op_buf dummy;
    struct kube_status local;
    int err;

    op_buf_init(&dummy, 1);
    err = do_request(c, &rq, &dummy, st ? st : &local);
    op_buf_cleanup(&dummy);
    return err;
}

int kube_request_raw(struct kube_client *c, const char *method, const char *path,
                     const char *content_type, const char *body, size_t len, json_t **out,
                     struct kube_status *st)
{
    struct kube_status local;
    struct op_buf resp;
    struct req rq = {method, path, content_type, body, len, NULL, 0};
    json_t *j = NULL;
    json_error_t jerr;
    int err;

    if (!st)
        st = &local;
    op_buf_init(&resp, KUBE_MAX_RESPONSE);
    if ((err = do_request(c, &rq, &resp, st)) < 0)
        goto out;
    if (out) {
        if (resp.len == 0) {
            j = json_null();
        } else {
            j = json_loadb(resp.data, resp.len, 0, &jerr);
            if (!j) {
                err = op_err_set(OP_ERR, "%s %s: invalid JSON response: %s", method, path, jerr.text);
                goto out;
            }
        }
        *out = j;
        j = NULL;
    }
out:
    json_decref(j);
    op_buf_cleanup_wipe(&resp); /* may be a Secret */
    return err;
}

int kube_request(struct kube_client *c, const char *method, const char *path,
                 const char *content_type, const json_t *body, json_t **out,
                 struct kube_status *st)
{
    char *b = NULL;
    int err;

    if (body) {
        b = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!b)
            return op_err_set(OP_ENOMEM, "cannot encode request body");
        if (!content_type)
            content_type = "application/json";
    }
    err = kube_request_raw(c, method, path, content_type, b, b ? strlen(b) : 0, out, st);
    free(b);
    return err;
}

/* ---- verbs --------------------------------------------------------------- */

static const char *pick_ns(const struct kube_resource *r, const char *ns, const json_t *obj)
{
    if (!r->namespaced)
        return NULL;
    if (ns && *ns)
        return ns;
    return obj ? kube_obj_namespace(obj) : NULL;
}

static int verb(struct kube_client *c, const char *method, const struct kube_resource *r,
                const char *ns, const char *name, const char *sub, const struct kube_query *q,
                const char *ctype, const json_t *body, json_t **out, struct kube_status *st)
{
    struct op_buf path;
    int err;

    op_buf_init(&path, 8192);
    if ((err = kube_path(&path, r, ns, name, sub, q)) < 0) {
        if (err == OP_ETOOBIG)
            err = op_err_set(OP_EINVALID, "request path too long");
        goto out;
    }
    err = kube_request(c, method, path.data, ctype, body, out, st);
out:
    op_buf_cleanup(&path);
    return err;
}

int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns,
             const char *name, json_t **out, struct kube_status *st)
{
    if (!name || !*name)
        return op_err_set(OP_EINVALID, "kube_get: no name");
    return verb(c, "GET", r, pick_ns(r, ns, NULL), name, NULL, NULL, NULL, NULL, out, st);
}

int kube_list_page(struct kube_client *c, const struct kube_resource *r, const char *ns,
                   const struct kube_query *q, json_t **out, struct kube_status *st)
{
    return verb(c, "GET", r, r->namespaced ? ns : NULL, NULL, NULL, q, NULL, NULL, out, st);
}

/* Adds apiVersion/kind to items that lack them (built-in lists omit them). */
static void fill_type_meta(const struct kube_resource *r, json_t *items)
{
    char apiv[128];
    size_t i;
    json_t *it;

    kube_resource_api_version(r, apiv);
    json_array_foreach(items, i, it) {
        if (!json_object_get(it, "apiVersion"))
            json_object_set_new(it, "apiVersion", json_string(apiv));
        if (!json_object_get(it, "kind"))
            json_object_set_new(it, "kind", json_string(r->kind));
    }
}

int kube_list_each(struct kube_client *c, const struct kube_resource *r, const char *ns,
                   const struct kube_list_opts *o, kube_list_page_fn fn, void *payload,
                   char **rv_out, struct kube_status *st)
{
    struct kube_query q;
    json_t *page = NULL, *empty = NULL;
    char *cont = NULL, *rv = NULL;
    int err = OP_OK, restarted = 0, restart_page = 0;

restart:
    memset(&q, 0, sizeof(q));
    free(cont);
    cont = NULL;
    q.label_selector = o ? o->label_selector : NULL;
    q.field_selector = o ? o->field_selector : NULL;
    q.limit = o && o->limit > 0 ? o->limit : 500;
    q.resource_version = o ? o->resource_version : NULL;
    for (;;) {
        json_t *pitems, *meta;
        const char *next, *prv;
        q.continue_token = cont;
        err = kube_list_page(c, r, ns, &q, &page, st);
        if (err == OP_EGONE && cont && !restarted) {
            restarted = 1; /* continue token expired: start over, consistent read */
            restart_page = 1;
            goto restart;
        }
        if (err < 0)
            goto out;
        meta = json_object_get(page, "metadata");
        prv = json_string_value(json_object_get(meta, "resourceVersion"));
        free(rv);
        if (!(rv = op_strdup(prv ? prv : ""))) {
            err = op_err_set(OP_ENOMEM, "out of memory");
            goto out;
        }
        next = json_string_value(json_object_get(meta, "continue"));
        free(cont);
        cont = NULL;
        if (next && *next && !(cont = op_strdup(next))) {
            err = op_err_set(OP_ENOMEM, "out of memory");
            goto out;
        }
        pitems = json_object_get(page, "items");
        if (!json_is_array(pitems)) {
            /* "items": null → an empty page, still delivered (it may carry the restart) */
            if (!(empty = json_array())) {
                err = op_err_set(OP_ENOMEM, "out of memory");
                goto out;
            }
            pitems = empty;
        }
        fill_type_meta(r, pitems);
        if ((err = fn(pitems, restart_page, payload)) < 0)
            goto out;
        restart_page = 0;
        json_decref(empty);
        empty = NULL;
        /* this page is done with before the next one is requested */
        json_decref(page);
        page = NULL;
        if (!cont)
            break;
        q.resource_version = NULL; /* continue carries the snapshot */
    }
    if (rv_out) {
        *rv_out = rv;
        rv = NULL;
    }
    err = OP_OK;
out:
    json_decref(empty);
    json_decref(page);
    free(cont);
    free(rv);
    return err;
}

/* kube_list's page callback: appends every item to the list being built. */
static int collect_page(json_t *items, int restart, void *payload)
{
    json_t *all = payload;
    if (restart)
        json_array_clear(all);
    if (json_array_extend(all, items) < 0)
        return op_err_set(OP_ENOMEM, "out of memory");
    return OP_OK;
}

int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
              const struct kube_list_opts *o, json_t **out, struct kube_status *st)
{
    json_t *items = json_array(), *result = NULL;
    char *rv = NULL;
    int err;
    char kind[160], apiv[128];

    if (!items)
        return op_err_set(OP_ENOMEM, "out of memory");
    err = kube_list_each(c, r, ns, o, collect_page, items, &rv, st);
    if (err < 0)
        goto out;
    snprintf(kind, sizeof(kind), "%sList", r->kind);
    /* result holds its own reference to items (O) */
    result = json_pack("{s:s,s:s,s:{s:s},s:O}", "apiVersion", kube_resource_api_version(r, apiv),
                       "kind", kind, "metadata", "resourceVersion", rv, "items", items);
    if (!result) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    *out = result;
out:
    json_decref(items);
    free(rv);
    return err;
}

int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const json_t *obj, json_t **out, struct kube_status *st)
{
    return verb(c, "POST", r, pick_ns(r, ns, obj), NULL, NULL, NULL, "application/json", obj, out,
                st);
}

static int put_obj(struct kube_client *c, const struct kube_resource *r, const char *ns,
                   const json_t *obj, const char *sub, json_t **out, struct kube_status *st)
{
    const char *name = kube_obj_name(obj);
    if (!name || !*name)
        return op_err_set(OP_EINVALID, "PUT %s: object has no metadata.name", r->plural);
    return verb(c, "PUT", r, pick_ns(r, ns, obj), name, sub, NULL, "application/json", obj, out, st);
}

int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const json_t *obj, json_t **out, struct kube_status *st)
{
    return put_obj(c, r, ns, obj, NULL, out, st);
}

int kube_update_status(struct kube_client *c, const struct kube_resource *r, const char *ns,
                       const json_t *obj, json_t **out, struct kube_status *st)
{
    return put_obj(c, r, ns, obj, "status", out, st);
}

int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
                const char *name, struct kube_status *st)
{
    struct kube_query q;
    memset(&q, 0, sizeof(q));
    q.propagation_policy = "Background";
    if (!name || !*name)
        return op_err_set(OP_EINVALID, "kube_delete: no name");
    return verb(c, "DELETE", r, pick_ns(r, ns, NULL), name, NULL, &q, NULL, NULL, NULL, st);
}

int kube_apply_ex(struct kube_client *c, const struct kube_resource *r, const char *ns,
                  const json_t *obj, const struct kube_apply_opts *o, json_t **out,
                  struct kube_status *st)
{
    struct kube_query q;
    const char *name = kube_obj_name(obj);

    if (!name || !*name)
        return op_err_set(OP_EINVALID, "apply %s: object has no metadata.name", r->plural);
    memset(&q, 0, sizeof(q));
    q.field_manager = o && o->field_manager ? o->field_manager : KUBE_FIELD_MANAGER;
    q.force = !(o && o->no_force);
    return verb(c, "PATCH", r, pick_ns(r, ns, obj), name, o ? o->subresource : NULL, &q,
                "application/apply-patch+yaml", obj, out, st);
}

int kube_apply(struct kube_client *c, const struct kube_resource *r, const char *ns,
               const json_t *obj, json_t **out, struct kube_status *st)
{
    return kube_apply_ex(c, r, ns, obj, NULL, out, st);
}

int kube_apply_status(struct kube_client *c, const struct kube_resource *r, const char *ns,
                      const json_t *obj, json_t **out, struct kube_status *st)
{
    struct kube_apply_opts o = {NULL, 0, "status"};
    return kube_apply_ex(c, r, ns, obj, &o, out, st);
}

int kube_merge_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
                     const char *name, const json_t *patch, json_t **out,
                     struct kube_status *st)
{
    if (!name || !*name)
        return op_err_set(OP_EINVALID, "merge patch: no name");
    return verb(c, "PATCH", r, pick_ns(r, ns, NULL), name, NULL, NULL,
                "application/merge-patch+json", patch, out, st);
}

int kube_merge_patch_status(struct kube_client *c, const struct kube_resource *r,
                            const char *ns, const char *name, const json_t *patch,
                            json_t **out, struct kube_status *st)
{
    if (!name || !*name)
        return op_err_set(OP_EINVALID, "merge patch: no name");
    return verb(c, "PATCH", r, pick_ns(r, ns, NULL), name, "status", NULL,
                "application/merge-patch+json", patch, out, st);
}

/* ---- leases --------------------------------------------------------------- */

int kube_lease_get(struct kube_client *c, const char *ns, const char *name, json_t **out,
                   struct kube_status *st)
{
    return kube_get(c, &KUBE_RES_LEASE, ns, name, out, st);
}

int kube_lease_create(struct kube_client *c, const char *ns, const json_t *lease,
                      json_t **out, struct kube_status *st)
{
    return kube_create(c, &KUBE_RES_LEASE, ns, lease, out, st);
}

int kube_lease_update(struct kube_client *c, const char *ns, const json_t *lease,
                      json_t **out, struct kube_status *st)
{
    if (!kube_obj_resource_version(lease))
        return op_err_set(OP_EINVALID, "lease update needs metadata.resourceVersion");
    return kube_update(c, &KUBE_RES_LEASE, ns, lease, out, st);
}
