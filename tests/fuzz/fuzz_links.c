/* fuzz_links.c — libFuzzer target for the link evaluator's parsers: every
 * backend answer (exemplars, Tempo traces, Loki streams/labels/series,
 * Pyroscope flame graphs/series, Prometheus matrices) comes from the fuzzer
 * input, split at NUL bytes; the first byte of each piece picks the HTTP
 * status (200 / 404 / 401 / no answer). Checks: no crash, no leak (ASan),
 * every message valid UTF-8 and NUL-terminated.
 *
 *   CC=clang cmake -S . -B build-fuzz -DCROSSLINK_FUZZ=ON \
 *     -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link,address,undefined
 *   cmake --build build-fuzz --target fuzz_links && build-fuzz/tests/fuzz_links -max_total_time=60 */
#include "links.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct feed {
    const uint8_t *p;
    size_t n, off;
};

static int fetch(void *ud, int sig, const char *method, const char *pq, const char *body, const char *ct,
                 struct links_http *r)
{
    struct feed *f = ud;
    const uint8_t *s, *e;
    size_t len;
    (void)sig, (void)method, (void)pq, (void)body, (void)ct;
    if (f->off >= f->n) {
        r->status = 404;
        r->body = strdup("");
        return 0;
    }
    s = f->p + f->off;
    e = memchr(s, 0, f->n - f->off);
    len = e ? (size_t)(e - s) : f->n - f->off;
    f->off += len + 1;
    if (len == 0) {
        r->status = 0;
        snprintf(r->error, sizeof r->error, "connection refused");
        return 0;
    }
    r->status = s[0] % 4 == 0 ? 404 : s[0] % 4 == 1 ? 401 : 200;
    r->body = malloc(len);
    if (!r->body)
        return -1;
    memcpy(r->body, s + 1, len - 1);
    r->body[len - 1] = '\0';
    r->len = len - 1;
    return 0;
}

static const char *DOC =
    "{\"datasources\":["
    "{\"type\":\"prometheus\",\"uid\":\"m\",\"jsonData\":{\"exemplarTraceIdDestinations\":[{\"name\":\"trace_id\",\"datasourceUid\":\"t\"}]}},"
    "{\"type\":\"tempo\",\"uid\":\"t\",\"jsonData\":{\"serviceMap\":{\"datasourceUid\":\"m\"},"
    "\"tracesToLogsV2\":{\"datasourceUid\":\"l\",\"filterByTraceID\":true,\"tags\":[{\"key\":\"service.name\",\"value\":\"service_name\"}]},"
    "\"tracesToMetrics\":{\"datasourceUid\":\"m\",\"queries\":[{\"name\":\"q\",\"query\":\"sum(rate(x{$$__tags}[$$__rate_interval]))\"}]},"
    "\"tracesToProfiles\":{\"datasourceUid\":\"p\",\"profileTypeId\":\"cpu\"}}},"
    "{\"type\":\"loki\",\"uid\":\"l\",\"jsonData\":{\"derivedFields\":["
    "{\"name\":\"A\",\"matcherType\":\"label\",\"matcherRegex\":\"trace_id\",\"datasourceUid\":\"t\"},"
    "{\"name\":\"B\",\"matcherRegex\":\"\\\\b(?:trace_id|traceID)=(\\\\w+)\",\"datasourceUid\":\"t\"}]}},"
    "{\"type\":\"grafana-pyroscope-datasource\",\"uid\":\"p\",\"jsonData\":{}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *doc;
    static struct probe_target t[PROBE_NSIGNALS] = {
        {.signal = 0, .url = "http://m"}, {.signal = 1, .url = "http://t"},
        {.signal = 2, .url = "http://l"}, {.signal = 3, .url = "http://p"}};
    struct links_input in;
    struct links_report r;
    struct feed f = {data, size, 0};
    size_t i;
    int k;

    if (!doc)
        doc = json_loads(DOC, 0, NULL);
    memset(&in, 0, sizeof in);
    in.datasources = doc;
    for (k = 0; k < PROBE_NSIGNALS; k++)
        in.targets[k] = &t[k];
    if (links_verify(&in, fetch, &f, 1767225600000LL, &r) != 0)
        return 0;
    for (i = 0; i < r.n; i++) {
        json_t *s = json_string(r.checks[i].message); /* NULL = invalid UTF-8 */
        if (!s)
            abort();
        json_decref(s);
    }
    return 0;
}
