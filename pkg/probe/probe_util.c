/* probe_util.c — pure helpers of pkg/probe: signal/condition names, URL
 * redaction, curl/HTTP → reason mapping, cache keys and probe_result_set.
 * No I/O; unit-tested directly. */
#include "probe_int.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const signal_names[PROBE_NSIGNALS] = {"metrics", "traces", "logs", "profiles"};
static const char *const condition_types[PROBE_NSIGNALS] = {
    "MetricsReachable", "TracesReachable", "LogsReachable", "ProfilesReachable"};

const char *probe_signal_name(int signal)
{
    if (signal < 0 || signal >= PROBE_NSIGNALS)
        return NULL;
    return signal_names[signal];
}

const char *probe_condition_type(int signal)
{
    if (signal < 0 || signal >= PROBE_NSIGNALS)
        return NULL;
    return condition_types[signal];
}

const char *probe__url_userinfo(const char *url, const char **at)
{
    const char *auth, *end, *found = NULL, *p;

    if (!url)
        return NULL;
    auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    end = auth + strcspn(auth, "/?#");
    for (p = auth; p < end; p++)
        if (*p == '@')
            found = p;
    if (!found)
        return NULL;
    *at = found;
    return auth;
}

void probe_url_redact(const char *url, char *out, size_t outsz)
{
    const char *auth, *at = NULL;
    size_t n;

    if (!out || outsz == 0)
        return;
    out[0] = '\0';
    if (!url)
        return;
    if (!(auth = probe__url_userinfo(url, &at))) {
        snprintf(out, outsz, "%s", url);
        return;
    }
    n = (size_t)(auth - url);
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, url, n);
    out[n] = '\0';
    snprintf(out + n, outsz - n, "%s", at + 1);
}

const char *probe_reason_from_curl(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        return NULL;
    case CURLE_COULDNT_CONNECT:
        return PROBE_REASON_REFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return PROBE_REASON_DNS;
    case CURLE_OPERATION_TIMEDOUT:
        return PROBE_REASON_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return PROBE_REASON_TLS;
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
        return PROBE_REASON_UNAUTHORIZED;
    default:
        /* the server answered, but not with usable HTTP (empty reply, reset
         * mid-response, oversized body, malformed headers, …) */
        return PROBE_REASON_INVALID;
    }
}

const char *probe_reason_from_http(int status)
{
    if (status >= 200 && status < 300)
        return NULL;
    if (status == 401 || status == 403)
        return PROBE_REASON_UNAUTHORIZED;
    return PROBE_REASON_STATUS;
}

void probe_target_key(const struct probe_target *t, char out[65])
{
    char cred[65], ca[65];
    struct op_buf b;
    const char *u = t->basic_user ? t->basic_user : "";
    const char *p = t->basic_password ? t->basic_password : "";
    const char *k = t->bearer_token ? t->bearer_token : "";

    /* credentials: hashed on their own first so the key input never holds
     * them in plain text beyond this function's stack */
    op_buf_init(&b, 1 << 20);
    if (op_buf_appendf(&b, "%zu:%s;%zu:%s;%zu:%s", strlen(u), u, strlen(p), p, strlen(k), k) == 0)
        op_sha256_hex(b.data, b.len, cred);
    else
        op_sha256_hex("oom", 3, cred);
    op_buf_cleanup_wipe(&b);
    op_sha256_hex(t->ca_pem ? t->ca_pem : "", t->ca_pem ? strlen(t->ca_pem) : 0, ca);

    op_buf_init(&b, 1 << 20);
    /* every field length-prefixed: no separator ambiguity */
    if (op_buf_appendf(&b, "f%zu:%s;s%d;i%d;u%zu:%s;t%zu:%s;n%zu:%s;c%s;a%s",
                       t->flavor ? strlen(t->flavor) : 0, t->flavor ? t->flavor : "", t->signal,
                       t->insecure_skip_verify ? 1 : 0, t->url ? strlen(t->url) : 0,
                       t->url ? t->url : "", t->tenant ? strlen(t->tenant) : 0, t->tenant ? t->tenant : "", t->server_name ? strlen(t->server_name) : 0,
                       t->server_name ? t->server_name : "", cred, ca) == 0)
        op_sha256_hex(b.data, b.len, out);
    else
        op_sha256_hex("oom", 3, out);
    op_buf_cleanup_wipe(&b); /* the url may carry userinfo */
}

void probe_result_set(struct probe_result *res, int ok, const char *reason, const char *fmt, ...)
{
    va_list ap;

    memset(res, 0, sizeof *res);
    res->ok = ok ? 1 : 0;
    snprintf(res->reason, sizeof res->reason, "%s", reason ? reason : "");
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
}
