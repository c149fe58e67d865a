/* probe.c — the probe engine: a process-wide limit on probes in flight, a
 * thread-safe result cache that also lets concurrent callers join a probe in
 * flight, and the per-call curl multi loop that drives each target through
 * readiness → buildinfo → tenant-checked query (see probe.h for the exact
 * endpoints and the transport decisions). */
#include "probe_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PROBE_BUCKETS 1024
#define PROBE_BODY_MAX (1u << 20)
#define PROBE_READY_RETRY_MS 500
#define PROBE_LOOP_TICK_MS 50

enum entry_state { ENTRY_PENDING, ENTRY_DONE };

struct probe_entry {
    char key[65];
    int state;
    int waiters;  /* callers blocked on this entry (pins it) */
    int detached; /* unlinked from the table; last waiter frees it */
    int64_t done_at;
    struct probe_result res;
    struct probe_entry *next;
};

struct probe_engine {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast when an entry completes or a slot frees */
    int max_in_flight;
    int in_flight;
    int64_t ttl_ms;
    int64_t keep_ms; /* max(ttl, largest max_age asked for) */
    struct probe_entry *buckets[PROBE_BUCKETS];
    size_t nentries;
    size_t sweep_at;
    uint64_t started;
    uint64_t hits;
    char vantage[96]; /* "checked from …" */
};

enum step {
    STEP_READY_ROOT, /* metrics: <root>/ready (Mimir) */
    STEP_READY,      /* <url>/ready, or <url>/-/ready for metrics */
    STEP_BUILDINFO,
    STEP_QUERY,
    STEP_DONE,
};

enum role { ROLE_OWNER, ROLE_WAITER, ROLE_HIT };

struct probe_job {
    const struct probe_target *t;
    struct probe_result *res;
    struct probe_entry *entry;
    const char *vantage;
    int role;
    char key[65];
    int has_slot;
    int finished;
    int step;
    int64_t start;
    int64_t deadline;
    int64_t timeout_ms;
    int64_t next_at;     /* earliest time the next request may start */
    int64_t connect_timeout_ms;
    int64_t ready_since; /* first 503 of /ready, 0 when none */
    CURL *easy;
    struct curl_slist *hdrs;
    struct curl_slist *connect_to;
    struct op_buf body;
    int body_overflow;
    char errbuf[CURL_ERROR_SIZE];
    char display[192];   /* url without userinfo, for messages */
    char root[256];      /* scheme://host[:port] (userinfo kept: curl uses it) */
    char hostport[160];  /* host:port for messages */
    char method[8];
    char path[64];       /* path of the current request, as shown */
    char summary[320];   /* "GET /ready → 200; …" of the steps so far */
    char product[48];
    int has_application; /* buildinfo named its application (Mimir does) */
};

/* ---- small helpers ---------------------------------------------------- */

static void appendf(char *dst, size_t dstsz, const char *fmt, ...) OP_PRINTF(3, 4);
static void appendf(char *dst, size_t dstsz, const char *fmt, ...)
{
    size_t len = strlen(dst);
    va_list ap;
    if (len + 1 >= dstsz)
        return;
    va_start(ap, fmt);
    vsnprintf(dst + len, dstsz - len, fmt, ap);
    va_end(ap);
}

static int is_set(const char *s)
{
    return s && *s;
}

static int has_ctl(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* A short printable single-line excerpt of a response body. */
void probe__excerpt(const char *body, size_t len, char *out, size_t outsz)
{
    size_t i, o = 0;
    int space = 0;
    if (outsz == 0)
        return;
    /* room for a space, a character, "..." and the NUL */
    for (i = 0; i < len && o + 5 < outsz; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
            space = o > 0;
            continue;
        }
        if (c < 0x20 || c >= 0x7f)
            c = '?';
        if (space) {
            out[o++] = ' ';
            space = 0;
        }
        out[o++] = (char)c;
    }
    if (i < len && outsz > 4) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o] = '\0';
}

/* Keeps printable ASCII only (values from a backend's JSON). */
static void ascii_clean(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

/* Replaces every occurrence of secret (if long enough to be meaningful) in
 * msg with "***". */
static void scrub(char *msg, size_t msgsz, const char *secret)
{
    size_t sl;
    char *p;
    if (!secret || (sl = strlen(secret)) < 3)
        return;
    (void)msgsz; /* the message only shrinks: sl >= 3 */
    p = msg;
    while ((p = strstr(p, secret)) != NULL) {
        size_t tail = strlen(p + sl);
        memcpy(p, "***", 3);
        memmove(p + 3, p + sl, tail + 1);
        p += 3;
    }
}

static void scrub_url_password(char *msg, size_t msgsz, const char *url)
{
    const char *auth, *at = NULL, *colon;
    char pw[256];
    size_t n;
    if (!(auth = probe__url_userinfo(url, &at)))
        return;
    colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon)
        return;
    n = (size_t)(at - colon - 1);
    if (n == 0 || n >= sizeof pw)
        return;
    memcpy(pw, colon + 1, n);
    pw[n] = '\0';
    scrub(msg, msgsz, pw);
}

static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t until_ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(until_ms / 1000);
    ts.tv_nsec = (long)(until_ms % 1000) * 1000000L;
    (void)pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- engine ----------------------------------------------------------- */

int probe_engine_new(struct probe_engine **out, int max_in_flight, int64_t cache_ttl_ms)
{
    struct probe_engine *e;
    pthread_condattr_t ca;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return op_err_set(OP_ERR, "curl_global_init failed");
    e = calloc(1, sizeof *e);
    if (!e) {
        curl_global_cleanup();
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cv, &ca);
    pthread_condattr_destroy(&ca);
    e->max_in_flight = max_in_flight > 0 ? max_in_flight : 64;
    e->ttl_ms = cache_ttl_ms > 0 ? cache_ttl_ms : 0;
    e->keep_ms = e->ttl_ms;
    e->sweep_at = 1024;
    snprintf(e->vantage, sizeof e->vantage, "%s", PROBE_VANTAGE);
    *out = e;
    return 0;
}

void probe_engine_free(struct probe_engine *e)
{
    size_t i;
    if (!e)
        return;
    for (i = 0; i < PROBE_BUCKETS; i++) {
        struct probe_entry *x = e->buckets[i], *nx;
        for (; x; x = nx) {
            nx = x->next;
            free(x);
        }
    }
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
    curl_global_cleanup();
}

void probe_engine_set_vantage(struct probe_engine *e, const char *text)
{
    pthread_mutex_lock(&e->mu);
    snprintf(e->vantage, sizeof e->vantage, "%s", text && *text ? text : PROBE_VANTAGE);
    pthread_mutex_unlock(&e->mu);
}

void probe_engine_stats(struct probe_engine *e, uint64_t *probes_started, uint64_t *cache_hits)
{
    pthread_mutex_lock(&e->mu);
    if (probes_started)
        *probes_started = e->started;
    if (cache_hits)
        *cache_hits = e->hits;
    pthread_mutex_unlock(&e->mu);
}

static size_t bucket_of(const char *key)
{
    unsigned long v = strtoul((char[4]){key[0], key[1], key[2], 0}, NULL, 16);
    return (size_t)(v % PROBE_BUCKETS);
}

/* Unlinks x from its bucket (caller holds mu); frees it unless pinned. */
static void entry_unlink(struct probe_engine *e, struct probe_entry *x)
{
    struct probe_entry **pp = &e->buckets[bucket_of(x->key)];
    for (; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            e->nentries--;
            break;
        }
    }
    x->next = NULL;
    if (x->waiters > 0)
        x->detached = 1;
    else
        free(x);
}

static void sweep(struct probe_engine *e, int64_t now)
{
    size_t i;
    for (i = 0; i < PROBE_BUCKETS; i++) {
        struct probe_entry *x = e->buckets[i], *nx;
        for (; x; x = nx) {
            nx = x->next;
            if (x->state == ENTRY_DONE && now - x->done_at > e->keep_ms)
                entry_unlink(e, x);
        }
    }
    e->sweep_at = e->nentries * 2 > 1024 ? e->nentries * 2 : 1024;
}

/* Decides the role of job j (caller holds mu). */
static int entry_claim(struct probe_engine *e, struct probe_job *j, const char *key, int64_t now)
{
    size_t b = bucket_of(key);
    int64_t max_age = j->t->max_age_ms == 0 ? e->ttl_ms : j->t->max_age_ms;
    struct probe_entry *x;

    if (max_age > e->keep_ms)
        e->keep_ms = max_age;
    for (x = e->buckets[b]; x; x = x->next)
        if (strcmp(x->key, key) == 0)
            break;
    if (x && x->state == ENTRY_PENDING) {
        x->waiters++;
        j->entry = x;
        j->role = ROLE_WAITER;
        e->hits++;
        return 0;
    }
    if (x && max_age > 0 && now - x->done_at <= max_age) {
        *j->res = x->res;
        j->res->cached = 1;
        j->role = ROLE_HIT;
        j->finished = 1;
        e->hits++;
        return 0;
    }
    if (x)
        entry_unlink(e, x);
    if (e->nentries >= e->sweep_at)
        sweep(e, now);
    x = calloc(1, sizeof *x);
    if (!x)
        return OP_ENOMEM;
    memcpy(x->key, key, sizeof x->key);
    x->state = ENTRY_PENDING;
    x->next = e->buckets[b];
    e->buckets[b] = x;
    e->nentries++;
    j->entry = x;
    j->role = ROLE_OWNER;
    return 0;
}

/* ---- one job ------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct probe_job *j = ud;
    size_t n = size * nmemb;
    if (op_buf_append(&j->body, p, n) != 0) {
        j->body_overflow = 1;
        return 0;
    }
    return n;
}

/* "<url>: <summary>; <detail> (checked from …, N ms)" — the head is cut
 * (ending in "...") so that the vantage tail always survives. */
static void compose(char *out, size_t outsz, const char *vantage, const char *url, const char *summary,
                    const char *detail, int64_t ms)
{
    char tail[160];
    size_t tl, room, o = 0;
    const char *parts[5];
    size_t k;

    snprintf(tail, sizeof tail, " (%s, %lld ms)", vantage, (long long)ms);
    tl = strlen(tail);
    room = outsz > tl + 1 ? outsz - tl - 1 : 0;
    parts[0] = url;
    parts[1] = ": ";
    parts[2] = summary;
    parts[3] = (*summary && *detail) ? "; " : "";
    parts[4] = detail;
    for (k = 0; k < 5; k++) {
        size_t pl = strlen(parts[k]);
        if (o + pl > room) {
            size_t cut = room - o;
            memcpy(out + o, parts[k], cut);
            o = o + cut >= 3 ? o + cut - 3 : 0;
            /* never leave half a UTF-8 sequence (jansson rejects those) */
            while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
                o--;
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, parts[k], pl);
        o += pl;
    }
    memcpy(out + o, tail, tl + 1);
}

static void finish(struct probe_job *j, int ok, const char *reason, const char *fmt, ...)
    OP_PRINTF(4, 5);
static void finish(struct probe_job *j, int ok, const char *reason, const char *fmt, ...)
{
    struct probe_result *r = j->res;
    char detail[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    r->ok = ok;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    r->latency_ms = op_mono_ms() - j->start;
    compose(r->message, sizeof r->message, j->vantage, j->display, j->summary, detail, r->latency_ms);
    scrub(r->message, sizeof r->message, j->t->basic_password);
    scrub(r->message, sizeof r->message, j->t->bearer_token);
    scrub_url_password(r->message, sizeof r->message, j->t->url);
    j->finished = 1;
    j->step = STEP_DONE;
}

/* Wipes every string of a curl header list (op_wipe), then frees it. */
static void slist_wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        op_wipe(p->data, p->data ? strlen(p->data) : 0);
    curl_slist_free_all(l);
}

static void job_cleanup_request(struct probe_job *j, CURLM *multi)
{
    if (j->easy) {
        curl_multi_remove_handle(multi, j->easy);
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
    slist_wipe_free(j->hdrs); /* holds the Authorization header */
    j->hdrs = NULL;
    curl_slist_free_all(j->connect_to);
    j->connect_to = NULL;
    op_buf_reset(&j->body);
    j->body_overflow = 0;
    j->errbuf[0] = '\0';
}

static int split_url(struct probe_job *j)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pw = NULL;
    int rc = -1;

    probe_url_redact(j->t->url, j->display, sizeof j->display);
    if (!u)
        return -1;
    if (curl_url_set(u, CURLUPART_URL, j->t->url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        goto out;
    (void)curl_url_get(u, CURLUPART_USER, &user, 0);
    (void)curl_url_get(u, CURLUPART_PASSWORD, &pw, 0);
    snprintf(j->hostport, sizeof j->hostport, "%s:%s", host, port);
    {
        char *explicit_port = NULL;
        int has_port = curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK;
        snprintf(j->root, sizeof j->root, "%s://%s%s%s%s%s%s%s", scheme, user ? user : "",
                 pw ? ":" : "", pw ? pw : "", user ? "@" : "", host, has_port ? ":" : "",
                 has_port ? explicit_port : "");
        curl_free(explicit_port);
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pw);
    curl_url_cleanup(u);
    return rc;
}

/* Applies server_name: the request URL names server_name (so TLS SNI and
 * verification use it), CONNECT_TO sends it to the real host, and the Host
 * header keeps the original authority. Returns a malloc'd URL or NULL. */
static char *apply_server_name(const struct probe_target *t, const char *url, struct curl_slist **hdrs,
                               struct curl_slist **connect_to)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *xport = NULL, *out = NULL, *line = NULL;
    struct curl_slist *tmp;

    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    line = op_asprintf("%s:%s:%s:%s", t->server_name, port, host, port);
    if (!line)
        goto out;
    tmp = curl_slist_append(*connect_to, line);
    if (!tmp)
        goto out;
    *connect_to = tmp;
    {
        int has_port = curl_url_get(u, CURLUPART_PORT, &xport, 0) == CURLUE_OK;
        char *h = op_asprintf("Host: %s%s%s", host, has_port ? ":" : "", has_port ? xport : "");
        if (!h)
            goto out;
        tmp = curl_slist_append(*hdrs, h);
        free(h);
        if (!tmp)
            goto out;
        *hdrs = tmp;
    }
    if (curl_url_set(u, CURLUPART_HOST, t->server_name, 0) != CURLUE_OK)
        goto out;
    {
        char *s = NULL;
        if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
            out = op_strdup(s);
            curl_free(s);
        }
    }
out:
    free(line);
    curl_free(host);
    curl_free(port);
    curl_free(xport);
    curl_url_cleanup(u);
    return out;
}

/* The request setup every pkg/probe and pkg/links request shares (probe.h):
 * headers (Accept, User-Agent, X-Scope-OrgID, bearer), basic auth, TLS (CA
 * blob, insecureSkipVerify, serverName via CONNECT_TO + Host), no proxy, no
 * redirects, no signals, http/https only, timeouts. */
int probe_http_prepare(void *curl_easy, const struct probe_target *t, const char *url, int64_t timeout_ms,
                       const char *content_type, struct probe_http_req *req)
{
    CURL *c = curl_easy;
    struct curl_slist *tmp;
    char *hdr;
    int64_t connect_ms;

    req->hdrs = NULL;
    req->connect_to = NULL;
    req->url = NULL;
    if ((tmp = curl_slist_append(req->hdrs, "Accept: application/json")))
        req->hdrs = tmp;
    if ((tmp = curl_slist_append(req->hdrs, "User-Agent: crosslink/" CROSSLINK_VERSION " (probe)")))
        req->hdrs = tmp;
    if (content_type && (hdr = op_asprintf("Content-Type: %s", content_type))) {
        if ((tmp = curl_slist_append(req->hdrs, hdr)))
            req->hdrs = tmp;
        free(hdr);
    }
    if (is_set(t->tenant) && (hdr = op_asprintf("X-Scope-OrgID: %s", t->tenant))) {
        if ((tmp = curl_slist_append(req->hdrs, hdr)))
            req->hdrs = tmp;
        free(hdr);
    }
    if (is_set(t->bearer_token)) {
        hdr = op_asprintf("Authorization: Bearer %s", t->bearer_token);
        if (hdr && (tmp = curl_slist_append(req->hdrs, hdr)))
            req->hdrs = tmp;
        op_wipe_free(hdr);
    } else if (is_set(t->basic_user) || is_set(t->basic_password)) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, t->basic_user ? t->basic_user : "");
        curl_easy_setopt(c, CURLOPT_PASSWORD, t->basic_password ? t->basic_password : "");
    }
    if (is_set(t->server_name) && strncmp(t->url, "https", 5) == 0) {
        req->url = apply_server_name(t, url, &req->hdrs, &req->connect_to);
        if (!req->url)
            return -1;
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, req->connect_to);
    }
    curl_easy_setopt(c, CURLOPT_URL, req->url ? req->url : url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, req->hdrs);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    connect_ms = timeout_ms < PROBE_MAX_CONNECT_TIMEOUT_MS ? timeout_ms : PROBE_MAX_CONNECT_TIMEOUT_MS;
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (is_set(t->ca_pem)) {
        struct curl_blob blob = {(void *)(uintptr_t)t->ca_pem, strlen(t->ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (t->insecure_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return 0;
}

void probe_http_req_cleanup(struct probe_http_req *req)
{
    if (!req)
        return;
    curl_slist_free_all(req->hdrs);
    curl_slist_free_all(req->connect_to);
    free(req->url);
    req->hdrs = req->connect_to = NULL;
    req->url = NULL;
}

/* Starts the request of the current step. On a setup failure the job is
 * finished. */
static void job_start_request(struct probe_job *j, CURLM *multi)
{
    const struct probe_target *t = j->t;
    char *url = NULL, *post = NULL;
    const char *base = t->url;
    size_t blen = strlen(base);
    int64_t now = op_mono_ms(), remaining = j->deadline - now;
    struct curl_slist *tmp;
    CURL *c;

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    snprintf(j->method, sizeof j->method, "GET");
    switch (j->step) {
    case STEP_READY_ROOT:
        snprintf(j->path, sizeof j->path, "/ready");
        url = op_asprintf("%s/ready", j->root);
        break;
    case STEP_READY:
        snprintf(j->path, sizeof j->path, "%s", t->signal == PROBE_METRICS ? "/-/ready" : "/ready");
        url = op_asprintf("%.*s%s", (int)blen, base, j->path);
        break;
    case STEP_BUILDINFO:
        snprintf(j->path, sizeof j->path, "%s",
                 t->signal == PROBE_TRACES ? "/api/status/buildinfo"
                 : t->signal == PROBE_LOGS ? "/loki/api/v1/status/buildinfo"
                                           : "/api/v1/status/buildinfo");
        url = op_asprintf("%.*s%s", (int)blen, base, j->path);
        break;
    case STEP_QUERY:
        switch (t->signal) {
        case PROBE_METRICS:
            snprintf(j->method, sizeof j->method, "POST");
            snprintf(j->path, sizeof j->path, "/api/v1/query");
            url = op_asprintf("%.*s/api/v1/query", (int)blen, base);
            post = op_asprintf("query=1%%2B1&time=%lld", (long long)op_wall_s());
            break;
        case PROBE_TRACES:
            snprintf(j->path, sizeof j->path, "/api/search/tags");
            url = op_asprintf("%.*s/api/search/tags", (int)blen, base);
            break;
        case PROBE_LOGS:
            snprintf(j->path, sizeof j->path, "/loki/api/v1/query");
            url = op_asprintf("%.*s/loki/api/v1/query?query=vector(1)%%2Bvector(1)&time=%lld000000000",
                              (int)blen, base, (long long)op_wall_s());
            break;
        default:
            snprintf(j->method, sizeof j->method, "POST");
            snprintf(j->path, sizeof j->path, "/querier.v1.QuerierService/ProfileTypes");
            url = op_asprintf("%.*s/querier.v1.QuerierService/ProfileTypes", (int)blen, base);
            post = op_strdup("{}");
            break;
        }
        break;
    default:
        return;
    }
    if (!url || (j->step == STEP_QUERY && (t->signal == PROBE_METRICS || t->signal == PROBE_PROFILES) && !post)) {
        finish(j, 0, PROBE_REASON_INVALID, "out of memory preparing %s", j->path);
        goto out;
    }
    if (remaining <= 0) {
        finish(j, 0, PROBE_REASON_TIMEOUT, "%s %s: no time left of the %lld ms budget", j->method,
               j->path, (long long)j->timeout_ms);
        goto out;
    }
    c = curl_easy_init();
    if (!c) {
        finish(j, 0, PROBE_REASON_INVALID, "curl_easy_init failed");
        goto out;
    }
    j->easy = c;
    {
        struct probe_http_req req = {NULL, NULL, NULL};
        const char *ctype = post && t->signal == PROBE_PROFILES ? "application/json" : NULL;
        int prc = probe_http_prepare(c, t, url, remaining, ctype, &req);
        j->hdrs = req.hdrs;
        j->connect_to = req.connect_to;
        free(req.url);
        if (prc != 0) {
            finish(j, 0, PROBE_REASON_TLS, "cannot apply serverName %s to %s", t->server_name, j->display);
            goto out;
        }
    }
    if (post) {
        if (t->signal == PROBE_PROFILES) {
            if ((tmp = curl_slist_append(j->hdrs, "Connect-Protocol-Version: 1")))
                j->hdrs = tmp;
        }
        curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, post);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->hdrs);
    j->connect_timeout_ms = remaining < PROBE_MAX_CONNECT_TIMEOUT_MS ? remaining : PROBE_MAX_CONNECT_TIMEOUT_MS;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(c, CURLOPT_PRIVATE, j);
    if (curl_multi_add_handle(multi, c) != CURLM_OK) {
        finish(j, 0, PROBE_REASON_INVALID, "curl_multi_add_handle failed");
        goto out;
    }
out:
    if (j->finished && j->easy) {
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
    free(url);
    free(post);
}

static void note_step(struct probe_job *j, int status, const char *extra)
{
    appendf(j->summary, sizeof j->summary, "%s%s %s → %d%s%s", *j->summary ? "; " : "", j->method,
            j->path, status, extra && *extra ? ", " : "", extra ? extra : "");
}

static void fail_http(struct probe_job *j, int status)
{
    char ex[96];
    const char *reason = probe_reason_from_http(status);
    probe__excerpt(j->body.data ? j->body.data : "", j->body.len, ex, sizeof ex);
    if (status >= 300 && status < 400) {
        char *loc = NULL;
        curl_easy_getinfo(j->easy, CURLINFO_REDIRECT_URL, &loc);
        char red[160];
        probe_url_redact(loc, red, sizeof red);
        finish(j, 0, PROBE_REASON_STATUS, "%s %s → %d (redirect to %s, not followed)", j->method,
               j->path, status, loc ? red : "?");
        return;
    }
    finish(j, 0, reason ? reason : PROBE_REASON_STATUS, "%s %s → %d%s%s", j->method, j->path, status,
           *ex ? ": " : "", ex);
}

static void default_product(struct probe_job *j)
{
    static const char *const names[PROBE_NSIGNALS] = {"Prometheus", "Tempo", "Loki", "Pyroscope"};
    snprintf(j->product, sizeof j->product, "%s",
             j->t->signal >= 0 && j->t->signal < PROBE_NSIGNALS ? names[j->t->signal] : "backend");
}

int probe__parse_buildinfo(const char *body, size_t len, char *version, size_t versz, char *product,
                           size_t prodsz, int *has_application)
{
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *data, *v, *app;
    int rc = -1;

    if (!json_is_object(root))
        goto out;
    data = json_object_get(root, "data");
    if (!json_is_object(data))
        data = root;
    v = json_object_get(data, "version");
    app = json_object_get(data, "application");
    if (!json_is_string(v))
        v = json_object_get(root, "version");
    if (json_is_string(v))
        snprintf(version, versz, "%s", json_string_value(v));
    if (json_is_string(app) && *json_string_value(app)) {
        snprintf(product, prodsz, "%s", json_string_value(app));
        *has_application = 1;
    }
    ascii_clean(version);
    ascii_clean(product);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int parse_buildinfo(struct probe_job *j)
{
    return probe__parse_buildinfo(j->body.data, j->body.len, j->res->version, sizeof j->res->version,
                                  j->product, sizeof j->product, &j->has_application);
}

const char *probe__check_query(int signal, const char *body, size_t len, char *why, size_t whysz)
{
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    const char *bad = NULL;

    if (!json_is_object(root)) {
        bad = "response is not a JSON object";
        goto out;
    }
    if (signal == PROBE_METRICS || signal == PROBE_LOGS) {
        json_t *st = json_object_get(root, "status");
        if (!json_is_string(st) || strcmp(json_string_value(st), "success") != 0) {
            bad = "JSON status is not \"success\"";
            goto out;
        }
        if (signal == PROBE_METRICS) {
            json_t *res = json_object_get(json_object_get(root, "data"), "result");
            json_t *val = json_array_get(res, 1);
            if (json_is_string(val) && strcmp(json_string_value(val), "2") != 0) {
                snprintf(why, whysz, "1+1 evaluated to %.20s", json_string_value(val));
                bad = why;
                goto out;
            }
        }
    }
out:
    json_decref(root);
    return bad;
}

static const char *check_query(struct probe_job *j, char *why, size_t whysz)
{
    return probe__check_query(j->t->signal, j->body.data, j->body.len, why, whysz);
}

static void job_on_done(struct probe_job *j, CURLcode cc)
{
    long status = 0;
    const char *reason;
    int64_t now = op_mono_ms();

    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status > 0)
        j->res->http_status = (int)status;
    if (cc != CURLE_OK) {
        if (cc == CURLE_WRITE_ERROR && j->body_overflow) {
            finish(j, 0, PROBE_REASON_INVALID, "%s %s → %ld: response larger than %u bytes", j->method,
                   j->path, status, PROBE_BODY_MAX);
            return;
        }
        reason = probe_reason_from_curl((int)cc);
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
            finish(j, 0, reason, "%s %s: connect to %s: connection refused", j->method, j->path, j->hostport);
            break;
        case CURLE_COULDNT_RESOLVE_HOST:
            finish(j, 0, reason, "%s %s: cannot resolve host of %s (DNS lookup failed)", j->method,
                   j->path, j->hostport);
            break;
        case CURLE_OPERATION_TIMEDOUT: {
            curl_off_t conn_us = 0;
            curl_easy_getinfo(j->easy, CURLINFO_CONNECT_TIME_T, &conn_us);
            if (conn_us > 0)
                finish(j, 0, reason, "%s %s: no response from %s within the %lld ms timeout", j->method,
                       j->path, j->hostport, (long long)j->timeout_ms);
            else
                finish(j, 0, reason, "%s %s: connect to %s timed out after %lld ms", j->method, j->path,
                       j->hostport, (long long)j->connect_timeout_ms);
            break;
        }
        default:
            if (strcmp(reason, PROBE_REASON_TLS) == 0)
                finish(j, 0, reason, "%s %s: TLS with %s failed: %s", j->method, j->path, j->hostport,
                       *j->errbuf ? j->errbuf : curl_easy_strerror(cc));
            else
                finish(j, 0, reason, "%s %s: %s%s%s", j->method, j->path, curl_easy_strerror(cc),
                       *j->errbuf ? ": " : "", j->errbuf);
            break;
        }
        return;
    }
    switch (j->step) {
    case STEP_READY_ROOT:
    case STEP_READY:
        if (status == 200) {
            note_step(j, 200, NULL);
            j->step = STEP_BUILDINFO;
        } else if (status == 404 && j->t->signal == PROBE_METRICS) {
            if (j->step == STEP_READY_ROOT) {
                j->step = STEP_READY; /* Prometheus: <url>/-/ready */
            } else {
                appendf(j->summary, sizeof j->summary, "%sno readiness endpoint (/ready, /-/ready → 404)",
                        *j->summary ? "; " : "");
                j->step = STEP_BUILDINFO;
            }
        } else if (status == 503) {
            if (!j->ready_since)
                j->ready_since = now;
            if (now + PROBE_READY_RETRY_MS < j->deadline) {
                j->next_at = now + PROBE_READY_RETRY_MS;
            } else {
                char ex[96];
                probe__excerpt(j->body.data ? j->body.data : "", j->body.len, ex, sizeof ex);
                finish(j, 0, PROBE_REASON_STATUS, "%s %s → 503, not ready%s%s (retried for %lld ms)",
                       j->method, j->path, *ex ? ": " : "", ex, (long long)(now - j->ready_since));
            }
        } else {
            fail_http(j, (int)status);
        }
        return;
    case STEP_BUILDINFO:
        if (status == 404) {
            note_step(j, 404, "version unknown");
            j->step = STEP_QUERY;
        } else if (status >= 200 && status < 300) {
            char ver[120];
            if (parse_buildinfo(j) != 0) {
                finish(j, 0, PROBE_REASON_INVALID, "%s %s → %ld: response is not a JSON object", j->method,
                       j->path, status);
                return;
            }
            snprintf(ver, sizeof ver, "%s %s", j->product, *j->res->version ? j->res->version : "(no version)");
            note_step(j, (int)status, ver);
            if (j->t->signal == PROBE_METRICS && is_set(j->t->flavor) && strcasecmp(j->t->flavor, "Mimir") == 0 &&
                j->has_application && !strstr(j->product, "Mimir")) {
                finish(j, 0, PROBE_REASON_INVALID, "flavor is Mimir but the backend reports application \"%s\"",
                       j->product);
                return;
            }
            j->step = STEP_QUERY;
        } else {
            fail_http(j, (int)status);
        }
        return;
    case STEP_QUERY:
        if (status >= 200 && status < 300) {
            char why[64];
            const char *bad = check_query(j, why, sizeof why);
            if (bad) {
                finish(j, 0, PROBE_REASON_INVALID, "%s %s → %ld: %s", j->method, j->path, status, bad);
                return;
            }
            note_step(j, (int)status, NULL);
            finish(j, 1, PROBE_REASON_OK, "%s", "");
        } else {
            fail_http(j, (int)status);
        }
        return;
    default:
        return;
    }
}

/* Publishes an owner's result (caller holds mu) and frees its slot. */
static void publish(struct probe_engine *e, struct probe_job *j)
{
    if (j->has_slot) {
        e->in_flight--;
        j->has_slot = 0;
    }
    if (j->role == ROLE_OWNER && j->entry) {
        j->entry->res = *j->res;
        j->entry->state = ENTRY_DONE;
        j->entry->done_at = op_mono_ms();
        j->entry = NULL;
    }
    pthread_cond_broadcast(&e->cv);
}

static int validate_target(const struct probe_target *t, struct probe_result *r)
{
    if (!t->url || !*t->url) {
        probe_result_set(r, 0, PROBE_REASON_INVALID, "no URL configured");
        return -1;
    }
    if (t->signal < 0 || t->signal >= PROBE_NSIGNALS) {
        probe_result_set(r, 0, PROBE_REASON_INVALID, "unknown signal %d", t->signal);
        return -1;
    }
    if (has_ctl(t->tenant) || has_ctl(t->bearer_token) || has_ctl(t->server_name)) {
        probe_result_set(r, 0, PROBE_REASON_INVALID,
                         "tenant, token or serverName contains a control character; nothing was sent");
        return -1;
    }
    return 0;
}

int probe_run(struct probe_engine *e, const struct probe_target *targets, size_t n,
              struct probe_result *results)
{
    struct probe_job *jobs = NULL;
    CURLM *multi = NULL;
    int64_t start = op_mono_ms();
    size_t i;
    int rc = 0;

    if (!e || (n > 0 && (!targets || !results)))
        return op_err_set(OP_EINVALID, "probe_run: bad arguments");
    if (n == 0)
        return 0;
    jobs = calloc(n, sizeof *jobs);
    if (!jobs)
        return op_err_set(OP_ENOMEM, "out of memory");
    memset(results, 0, n * sizeof *results);

    /* 1. roles: cached, join another caller's probe, or probe ourselves
     * (keys hashed before taking the lock) */
    for (i = 0; i < n; i++)
        probe_target_key(&targets[i], jobs[i].key);
    pthread_mutex_lock(&e->mu);
    for (i = 0; i < n; i++) {
        struct probe_job *j = &jobs[i];
        j->t = &targets[i];
        j->res = &results[i];
        j->vantage = e->vantage;
        j->start = start;
        j->timeout_ms = j->t->timeout_ms > 0 ? j->t->timeout_ms : PROBE_DEFAULT_TIMEOUT_MS;
        j->deadline = start + j->timeout_ms;
        op_buf_init(&j->body, PROBE_BODY_MAX);
        if (validate_target(j->t, j->res) != 0) {
            j->finished = 1;
            j->role = ROLE_HIT;
            continue;
        }
        if (entry_claim(e, j, j->key, start) != 0) {
            probe_result_set(j->res, 0, PROBE_REASON_INVALID, "out of memory");
            j->finished = 1;
            j->role = ROLE_HIT;
        }
    }
    pthread_mutex_unlock(&e->mu);

    for (i = 0; i < n; i++) {
        struct probe_job *j = &jobs[i];
        if (j->role != ROLE_OWNER)
            continue;
        default_product(j);
        j->step = j->t->signal == PROBE_METRICS ? STEP_READY_ROOT : STEP_READY;
        if (split_url(j) != 0) {
            probe_url_redact(j->t->url, j->display, sizeof j->display);
            finish(j, 0, PROBE_REASON_INVALID, "not a valid http(s) URL");
            pthread_mutex_lock(&e->mu);
            publish(e, j);
            pthread_mutex_unlock(&e->mu);
        }
    }

    /* 2. our own probes, concurrently */
    multi = curl_multi_init();
    for (;;) {
        int active = 0, want_slot = 0, running = 0, left = 1, progressed = 0;
        int64_t now = op_mono_ms(), wake = now + PROBE_LOOP_TICK_MS;
        CURLMsg *msg;

        for (i = 0; i < n; i++) {
            struct probe_job *j = &jobs[i];
            if (j->role != ROLE_OWNER || j->finished)
                continue;
            if (!j->easy) {
                if (!j->has_slot) {
                    pthread_mutex_lock(&e->mu);
                    if (e->in_flight < e->max_in_flight) {
                        e->in_flight++;
                        e->started++;
                        j->has_slot = 1;
                    }
                    pthread_mutex_unlock(&e->mu);
                }
                if (!multi) {
                    finish(j, 0, PROBE_REASON_INVALID, "curl_multi_init failed");
                } else if (!j->has_slot) {
                    if (now >= j->deadline)
                        finish(j, 0, PROBE_REASON_TIMEOUT,
                               "no probe slot became free within the %lld ms timeout (%d probes in flight process-wide)",
                               (long long)j->timeout_ms, e->max_in_flight);
                    else
                        want_slot++;
                } else if (now >= j->deadline) {
                    if (j->ready_since)
                        finish(j, 0, PROBE_REASON_STATUS, "%s %s → 503, not ready (retried for %lld ms)",
                               j->method, j->path, (long long)(now - j->ready_since));
                    else
                        finish(j, 0, PROBE_REASON_TIMEOUT, "timed out after %lld ms", (long long)j->timeout_ms);
                } else if (now >= j->next_at) {
                    job_start_request(j, multi);
                } else if (j->next_at < wake) {
                    wake = j->next_at;
                }
                if (j->finished) {
                    job_cleanup_request(j, multi);
                    pthread_mutex_lock(&e->mu);
                    publish(e, j);
                    pthread_mutex_unlock(&e->mu);
                    continue;
                }
            }
            if (j->easy)
                active++;
            if (j->deadline < wake)
                wake = j->deadline;
        }
        if (active == 0 && want_slot == 0) {
            int all = 1;
            for (i = 0; i < n; i++)
                if (jobs[i].role == ROLE_OWNER && !jobs[i].finished)
                    all = 0;
            if (all)
                break;
        }
        if (active == 0 && want_slot > 0) {
            pthread_mutex_lock(&e->mu);
            if (e->in_flight >= e->max_in_flight)
                wait_until(&e->cv, &e->mu, wake);
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        if (active > 0) {
            int64_t w = wake - op_mono_ms();
            curl_multi_perform(multi, &running);
            while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
                struct probe_job *j;
                char *priv = NULL;
                if (msg->msg != CURLMSG_DONE)
                    continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
                if (!priv)
                    continue;
                j = (struct probe_job *)(void *)priv;
                job_on_done(j, msg->data.result);
                job_cleanup_request(j, multi);
                if (!j->finished && j->next_at <= op_mono_ms())
                    progressed = 1;
                if (j->finished) {
                    pthread_mutex_lock(&e->mu);
                    publish(e, j);
                    pthread_mutex_unlock(&e->mu);
                }
            }
            if (running > 0 && !progressed)
                curl_multi_poll(multi, NULL, 0, (int)(w > 0 ? (w < PROBE_LOOP_TICK_MS ? w : PROBE_LOOP_TICK_MS) : 1), NULL);
        } else {
            /* only retry timers pending */
            int64_t w = wake - op_mono_ms();
            if (w > 0) {
                struct timespec ts = {0, (long)(w > PROBE_LOOP_TICK_MS ? PROBE_LOOP_TICK_MS : w) * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
    }

    /* 3. results of identical probes run by other callers (or by us) */
    pthread_mutex_lock(&e->mu);
    for (i = 0; i < n; i++) {
        struct probe_job *j = &jobs[i];
        struct probe_entry *x = j->entry;
        if (j->role != ROLE_WAITER)
            continue;
        while (x->state == ENTRY_PENDING && op_mono_ms() < j->deadline)
            wait_until(&e->cv, &e->mu, j->deadline);
        if (x->state == ENTRY_DONE) {
            *j->res = x->res;
            j->res->cached = 1;
        } else {
            char disp[192];
            probe_url_redact(j->t->url, disp, sizeof disp);
            probe_result_set(j->res, 0, PROBE_REASON_TIMEOUT,
                             "%s: an identical probe in flight did not finish within the %lld ms timeout (%s)",
                             disp, (long long)j->timeout_ms, e->vantage);
            j->res->latency_ms = op_mono_ms() - start;
            scrub_url_password(j->res->message, sizeof j->res->message, j->t->url);
        }
        x->waiters--;
        if (x->detached && x->waiters == 0)
            free(x);
        j->entry = NULL;
    }
    pthread_mutex_unlock(&e->mu);

    for (i = 0; i < n; i++) {
        if (jobs[i].easy)
            job_cleanup_request(&jobs[i], multi);
        curl_slist_free_all(jobs[i].hdrs);
        op_buf_cleanup(&jobs[i].body);
    }
    if (multi)
        curl_multi_cleanup(multi);
    free(jobs);
    return rc;
}

int probe_cached(struct probe_engine *e, const struct probe_target *t, struct probe_result *out)
{
    char key[65];
    struct probe_entry *x;
    int64_t max_age, now = op_mono_ms();
    int hit = 0;

    if (!e || !t || !out)
        return 0;
    probe_target_key(t, key);
    pthread_mutex_lock(&e->mu);
    max_age = t->max_age_ms == 0 ? e->ttl_ms : t->max_age_ms;
    for (x = e->buckets[bucket_of(key)]; x; x = x->next)
        if (strcmp(x->key, key) == 0)
            break;
    if (x && x->state == ENTRY_DONE && max_age > 0 && now - x->done_at <= max_age) {
        *out = x->res;
        out->cached = 1;
        e->hits++;
        hit = 1;
    }
    pthread_mutex_unlock(&e->mu);
    return hit;
}
