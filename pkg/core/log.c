/* log.c — JSON-lines logger used by the controller and CLI (never by pkg/
 * libraries). One line per call, written with a single write so lines from
 * different threads never interleave. Never pass secret values as fields. */
#include "core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum op_log_level log_level = OP_LOG_INFO;
static op_log_sink_fn log_sink;
static void *log_payload;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void op_log_set_level(enum op_log_level lvl)
{
    log_level = lvl;
}

int op_log_level_parse(const char *s, enum op_log_level *out)
{
    if (!s)
        return OP_EINVALID;
    if (strcmp(s, "debug") == 0) *out = OP_LOG_DEBUG;
    else if (strcmp(s, "info") == 0) *out = OP_LOG_INFO;
    else if (strcmp(s, "warn") == 0 || strcmp(s, "warning") == 0) *out = OP_LOG_WARN;
    else if (strcmp(s, "error") == 0) *out = OP_LOG_ERROR;
    else return op_err_set(OP_EINVALID, "unknown log level \"%s\"", s);
    return 0;
}

int op_log_enabled(enum op_log_level lvl)
{
    return lvl >= log_level;
}

void op_log_set_sink(op_log_sink_fn fn, void *payload)
{
    pthread_mutex_lock(&log_mu);
    log_sink = fn;
    log_payload = payload;
    pthread_mutex_unlock(&log_mu);
}

void op_log(enum op_log_level lvl, const char *msg, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    struct op_buf b;
    char ts[40];
    va_list ap;
    const char *k;
    int err = 0;

    if (lvl < log_level)
        return;
    op_buf_init(&b, 64 * 1024);
    op_rfc3339_micro(ts);
    err |= op_buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, names[lvl & 3]);
    err |= op_buf_json_string(&b, msg ? msg : "");
    va_start(ap, msg);
    while (!err && (k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        err |= op_buf_append(&b, ",", 1);
        err |= op_buf_json_string(&b, k);
        err |= op_buf_append(&b, ":", 1);
        err |= op_buf_json_string(&b, v ? v : "");
    }
    va_end(ap);
    err |= op_buf_append(&b, "}\n", 2);
    if (!err) {
        pthread_mutex_lock(&log_mu);
        if (log_sink) {
            log_sink(b.data, b.len, log_payload);
        } else {
            ssize_t w = write(STDERR_FILENO, b.data, b.len);
            (void)w;
        }
        pthread_mutex_unlock(&log_mu);
    }
    op_buf_cleanup(&b);
}
