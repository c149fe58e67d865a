/* core.h — leaf utilities shared by every crosslink module: error codes with a
 * thread-local message, a bounded growable buffer, Go-style durations, SHA-256,
 * clocks and a JSON-lines logger. Nothing here allocates hidden global state
 * except the logger's level/sink and the per-thread error message. */
#ifndef CROSSLINK_CORE_H
#define CROSSLINK_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifndef CROSSLINK_VERSION
#define CROSSLINK_VERSION "0.0.0"
#endif

#if defined(__GNUC__)
#define OP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define OP_WUR __attribute__((warn_unused_result))
#else
#define OP_PRINTF(a, b)
#define OP_WUR
#endif

/* ---- errors ------------------------------------------------------------ */

/* Functions return 0 on success or one of these (negative) codes. Callers
 * branch on the specific ones; everything else is OP_ERR. The message for the
 * last error on this thread is available from op_err_last(). */
enum op_err {
    OP_OK = 0,
    OP_ERR = -1,          /* generic failure, see op_err_last() */
    OP_ENOMEM = -2,
    OP_ENOTFOUND = -3,    /* 404 */
    OP_ECONFLICT = -4,    /* 409 */
    OP_EGONE = -5,        /* 410 (expired resourceVersion / continue token) */
    OP_EINVALID = -6,     /* 422 or bad input */
    OP_ETIMEOUT = -7,
    OP_EUNAVAILABLE = -8, /* 5xx, 429, network errors: retry later */
    OP_EUNAUTHORIZED = -9,/* 401 */
    OP_EFORBIDDEN = -10,  /* 403 */
    OP_ETLS = -11,        /* TLS handshake / verification failure */
    OP_ETOOBIG = -12,     /* a bounded buffer would overflow */
    OP_ECANCELED = -13,   /* not done on purpose (a write after the leader lease expired) */
};

/* Sets the calling thread's last error message and returns code. */
int op_err_set(int code, const char *fmt, ...) OP_PRINTF(2, 3);
/* The calling thread's last error message (never NULL; "" if none). */
const char *op_err_last(void);
void op_err_clear(void);
/* Short name of an error code, e.g. "OP_ECONFLICT". */
const char *op_err_name(int code);

/* ---- bounded buffer ---------------------------------------------------- */

/* A growable byte buffer with a hard maximum. data is always NUL-terminated
 * (when non-NULL) so it can be used as a C string. Embedded: op_buf_init /
 * op_buf_cleanup. */
struct op_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

void op_buf_init(struct op_buf *b, size_t max);
void op_buf_cleanup(struct op_buf *b);
/* op_buf_cleanup after op_wipe over the whole capacity (for a buffer that
 * held a secret: an Authorization header, a Secret read from the API). */
void op_buf_cleanup_wipe(struct op_buf *b);
void op_buf_reset(struct op_buf *b);
int op_buf_append(struct op_buf *b, const void *p, size_t n) OP_WUR;
int op_buf_puts(struct op_buf *b, const char *s) OP_WUR;
int op_buf_appendf(struct op_buf *b, const char *fmt, ...) OP_PRINTF(2, 3) OP_WUR;
int op_buf_vappendf(struct op_buf *b, const char *fmt, va_list ap) OP_WUR;
/* Removes the first n bytes. */
void op_buf_consume(struct op_buf *b, size_t n);
/* Hands the data to the caller (free() it); the buffer is left empty.
 * Returns "" (allocated) for an empty buffer; NULL only on OOM. */
char *op_buf_take(struct op_buf *b);

/* ---- durations --------------------------------------------------------- */

/* Parses a Go-style duration ("15s", "1h30m", "500ms", "0") into
 * milliseconds. Negative values are allowed only with allow_negative.
 * Returns 0 or OP_EINVALID. */
int op_duration_parse(const char *s, int allow_negative, int64_t *ms_out);

/* ---- hashing ----------------------------------------------------------- */

/* Writes the lowercase hex SHA-256 of data (64 chars + NUL) into out. */
void op_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- strings ----------------------------------------------------------- */

/* strdup that returns NULL for NULL. */
char *op_strdup(const char *s);
/* Secret wipes (wipe.c): op_wipe clears n bytes with explicit_bzero, a
 * store the compiler keeps. Use it (never memset) for every buffer that
 * held a token, a password or a private key: request headers, request and
 * response bodies included. The others are NULL-safe. */
void op_wipe(void *p, size_t n);
/* op_wipe over strlen(s), then free. */
void op_wipe_free(char *s);
/* op_wipe over n bytes, then free. */
void op_wipe_free_n(void *p, size_t n);
/* malloc'd printf; NULL on OOM. */
char *op_asprintf(const char *fmt, ...) OP_PRINTF(1, 2);
int op_str_has_prefix(const char *s, const char *prefix);

/* ---- CPUs --------------------------------------------------------------- */

/* CPUs this process may use: the affinity mask, lowered by a cgroup CPU
 * quota (a container's CPU limit, rounded up). Always ≥ 1. */
int op_cpu_count(void);
/* Pure: whole CPUs a cgroup v2 cpu.max line ("200000 100000", "max 100000")
 * allows, rounded up; 0 when unlimited or unparsable. */
int op_cpu_quota_parse(const char *cpu_max);

/* ---- clocks and randomness --------------------------------------------- */

/* Monotonic milliseconds. */
int64_t op_mono_ms(void);
struct timespec;
/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait on a
 * condition variable whose clock is CLOCK_MONOTONIC. */
void op_mono_deadline(struct timespec *ts, int64_t ms);
/* Wall-clock seconds since the epoch. */
int64_t op_wall_s(void);
/* Formats a wall time as RFC 3339 UTC ("2026-01-02T03:04:05Z"), or with
 * micro=1 as MicroTime ("…05.123456Z", current time only when t_us<0). */
void op_rfc3339(int64_t t_s, char out[32]);
void op_rfc3339_micro(char out[40]);
/* Parses RFC 3339 (with optional fraction and Z or offset) into epoch
 * seconds. Returns 0 or OP_EINVALID. */
int op_rfc3339_parse(const char *s, int64_t *t_s_out);
/* Thread-safe uniform random double in [0,1). */
double op_rand01(void);

/* ---- logging ----------------------------------------------------------- */

/* JSON-lines logs: {"ts":"…","level":"info","msg":"…", key: value …}.
 * Extra fields are pairs of (const char *key, const char *value), ended by a
 * NULL key. Values are logged as JSON strings. pkg/ libraries never log; the
 * controller and the CLI do. */
enum op_log_level { OP_LOG_DEBUG = 0, OP_LOG_INFO = 1, OP_LOG_WARN = 2, OP_LOG_ERROR = 3 };

void op_log_set_level(enum op_log_level lvl);
/* Parses "debug"|"info"|"warn"|"error"; returns 0 or OP_EINVALID. */
int op_log_level_parse(const char *s, enum op_log_level *out);
int op_log_enabled(enum op_log_level lvl);
/* Sink receives one complete line (with trailing \n). NULL restores stderr. */
typedef void (*op_log_sink_fn)(const char *line, size_t len, void *payload);
void op_log_set_sink(op_log_sink_fn fn, void *payload);
void op_log(enum op_log_level lvl, const char *msg, ...);

/* Appends s to b as a JSON string literal (with quotes). */
int op_buf_json_string(struct op_buf *b, const char *s) OP_WUR;

/* ---- base64 (base64.c) ------------------------------------------------- */

/* Decodes len bytes of base64 (standard or URL-safe alphabet; spaces, tabs
 * and line breaks ignored; padding optional, nothing after it). *out is
 * malloc'd and NUL-terminated; *out_len (if out_len is not NULL) excludes the
 * NUL. Returns 0, OP_EINVALID or OP_ENOMEM (*out untouched on error). */
int op_base64_decode(const char *in, size_t len, char **out, size_t *out_len);

/* ---- end base64 -------------------------------------------------------- */

/* ---- clock (injectable; util.c) ---------------------------------------- */

/* An injectable monotonic clock for timing logic (work-queue delays,
 * backoff, leader election, reconcile deadlines), so unit tests can drive
 * time by hand. A NULL clock or NULL function means the real op_mono_ms(). */
typedef int64_t (*op_now_fn)(void *payload);

struct op_clock {
    op_now_fn now_ms; /* monotonic milliseconds */
    void *payload;
};

int64_t op_clock_now(const struct op_clock *c);

/* ---- hash map (map.c) --------------------------------------------------- */

/* The one string hash of the code base: 32-bit FNV-1a over len bytes,
 * continuing from h (start with OP_HASH32_INIT). Not for anything an
 * attacker can choose to collide where that would cost more than time. */
#define OP_HASH32_INIT 2166136261u
uint32_t op_hash32(uint32_t h, const void *data, size_t len);

/* A string-keyed chained hash map (doubling buckets). Not thread-safe:
 * callers lock. free_val (may be NULL) is called for values that are
 * replaced, deleted or still present at op_map_free. */
struct op_map;

struct op_map *op_map_new(void (*free_val)(void *));
void op_map_free(struct op_map *m);
/* Borrowed value, or NULL when absent (store non-NULL values to tell apart). */
void *op_map_get(const struct op_map *m, const char *key);
int op_map_has(const struct op_map *m, const char *key);
/* Inserts or replaces (the old value is freed). The key is copied. Returns 0
 * or OP_ENOMEM (then val is NOT taken). */
int op_map_put(struct op_map *m, const char *key, void *val);
/* Removes and frees. Returns 0 or OP_ENOTFOUND. */
int op_map_del(struct op_map *m, const char *key);
/* Removes without freeing and returns the value (NULL when absent). */
void *op_map_take(struct op_map *m, const char *key);
size_t op_map_len(const struct op_map *m);
/* Calls fn for every entry in unspecified order; a non-zero return stops the
 * walk and is returned. fn must not modify the map. */
int op_map_foreach(const struct op_map *m, int (*fn)(const char *key, void *val, void *payload),
                   void *payload);
/* Removes every entry for which pred returns non-zero (values freed). */
void op_map_filter_out(struct op_map *m, int (*pred)(const char *key, void *val, void *payload),
                       void *payload);

#endif
