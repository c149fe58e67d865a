/* links_exec.c — the thin executor of link verification: one blocking
 * libcurl request per call of the evaluator's fetch callback, set up by
 * pkg/probe's probe_http_prepare (tenant, credentials, CA, serverName, no
 * proxy, no redirects), with a per-request timeout and LINKS_BODY_MAX. Error
 * texts name the backend's host only (never credentials). */
#include "links_int.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct lk_exec {
    const struct links_input *in;
    int64_t timeout_ms;
};

struct lk_body {
    struct op_buf b;
    int overflow;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct lk_body *lb = ud;
    size_t n = size * nmemb;
    if (op_buf_append(&lb->b, p, n) != 0) {
        lb->overflow = 1;
        return 0;
    }
    return n;
}

static int exec_fetch(void *ud, int signal, const char *method, const char *path_query, const char *body,
                      const char *content_type, struct links_http *resp)
{
    struct lk_exec *x = ud;
    const struct probe_target *t = x->in->targets[signal];
    struct probe_http_req req = {NULL, NULL, NULL};
    struct lk_body lb;
    char *url = NULL;
    CURL *c = NULL;
    CURLcode cc;
    long status = 0;
    size_t blen;
    int rc = 0;

    memset(resp, 0, sizeof *resp);
    op_buf_init(&lb.b, LINKS_BODY_MAX);
    lb.overflow = 0;
    blen = strlen(t->url);
    while (blen > 0 && t->url[blen - 1] == '/')
        blen--;
    url = op_asprintf("%.*s%s", (int)blen, t->url, path_query);
    c = curl_easy_init();
    if (!url || !c) {
        rc = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    if (probe_http_prepare(c, t, url, x->timeout_ms, content_type, &req) != 0) {
        snprintf(resp->error, sizeof resp->error, "cannot apply tls.serverName");
        goto out;
    }
    if (content_type && signal == PROBE_PROFILES) {
        struct curl_slist *tmp = curl_slist_append(req.hdrs, "Connect-Protocol-Version: 1");
        if (tmp)
            req.hdrs = tmp;
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, req.hdrs);
    }
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &lb);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        if (cc == CURLE_WRITE_ERROR && lb.overflow)
            snprintf(resp->error, sizeof resp->error, "response larger than %u bytes", LINKS_BODY_MAX);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            snprintf(resp->error, sizeof resp->error, "no answer within %lld ms", (long long)x->timeout_ms);
        else
            snprintf(resp->error, sizeof resp->error, "%s (%s)", curl_easy_strerror(cc),
                     probe_reason_from_curl((int)cc) ? probe_reason_from_curl((int)cc) : "error");
        goto out;
    }
    resp->status = (int)status;
    resp->len = lb.b.len;
    resp->body = op_buf_take(&lb.b);
    if (!resp->body)
        rc = op_err_set(OP_ENOMEM, "out of memory");
out:
    if (c)
        curl_easy_cleanup(c);
    probe_http_req_cleanup(&req);
    op_buf_cleanup(&lb.b);
    free(url);
    return rc;
}

int links_run(const struct links_input *in, struct links_report *out)
{
    struct lk_exec x;
    struct timeval tv;
    int64_t now_ms;

    if (!in || !out)
        return op_err_set(OP_EINVALID, "links_run: bad arguments");
    x.in = in;
    x.timeout_ms = in->timeout_ms > 0 ? in->timeout_ms : LINKS_DEFAULT_TIMEOUT_MS;
    gettimeofday(&tv, NULL);
    now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    return links_verify(in, exec_fetch, &x, now_ms, out);
}
