/* events.c — an events.k8s.io/v1 recorder. Repeats of the same (type,
 * reason, action, regarding uid, note) within 6 minutes become a series
 * update (merge patch of series.count/lastObservedTime) instead of a new
 * Event, like client-go's tools/events. Best-effort: failures are returned
 * for the caller to log, never retried here. Thread-safe (one mutex around
 * the dedup table; HTTP calls run outside it). */
#include "kube_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KUBE_EVENT_DEDUP_MS (6 * 60 * 1000)
#define KUBE_EVENT_TABLE_MAX 4096

/* 56 bytes and no other allocation: the Event's namespace and name follow
 * from the tuple (the regarding object's namespace, "<its name>.<ts_ns in
 * hex>"), so even a full table stays under 256 KiB. */
struct ev_entry {
    unsigned char key[32]; /* sha256 of the dedup tuple */
    uint64_t ts_ns;        /* creation time in the Event's name */
    int64_t last_ms;
    int count;
};

struct kube_events {
    struct kube_client *c;
    char *controller;
    char *instance;
    pthread_mutex_t lock;
    struct ev_entry *e;
    size_t n, cap;
};

int kube_events_new(struct kube_events **out, struct kube_client *c,
                    const char *reporting_controller, const char *reporting_instance)
{
    struct kube_events *rec;
    char host[256];

    if (!c)
        return op_err_set(OP_EINVALID, "kube_events_new: no client");
    rec = calloc(1, sizeof(*rec));
    if (!rec)
        return op_err_set(OP_ENOMEM, "out of memory");
    rec->c = c;
    if (!reporting_instance || !*reporting_instance) {
        reporting_instance = getenv("POD_NAME");
        if (!reporting_instance || !*reporting_instance) {
            if (gethostname(host, sizeof(host)) != 0)
                kube__strlcpy(host, "unknown", sizeof(host));
            host[sizeof(host) - 1] = '\0';
            reporting_instance = host;
        }
    }
    rec->controller = op_strdup(reporting_controller && *reporting_controller
                                    ? reporting_controller
                                    : "crosslink.dev/controller");
    rec->instance = strndup(reporting_instance, 128);
    pthread_mutex_init(&rec->lock, NULL);
    if (!rec->controller || !rec->instance) {
        kube_events_free(rec);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    *out = rec;
    return OP_OK;
}

void kube_events_free(struct kube_events *rec)
{
    if (!rec)
        return;
    free(rec->e);
    free(rec->controller);
    free(rec->instance);
    pthread_mutex_destroy(&rec->lock);
    free(rec);
}

/* Copies s truncated to at most max bytes on a UTF-8 boundary. */
static char *trunc_utf8(const char *s, size_t max)
{
    size_t l = s ? strlen(s) : 0;
    if (l > max) {
        l = max;
        while (l > 0 && ((unsigned char)s[l] & 0xC0) == 0x80)
            l--;
    }
    return strndup(s ? s : "", l);
}

/* Drops expired entries. Lock held. */
static void prune(struct kube_events *rec, int64_t now)
{
    size_t i = 0;
    while (i < rec->n) {
        if (now - rec->e[i].last_ms > KUBE_EVENT_DEDUP_MS) {
            rec->e[i] = rec->e[--rec->n];
        } else {
            i++;
        }
    }
    if (rec->cap > 64 && rec->n < rec->cap / 4) { /* give a burst's table back */
        struct ev_entry *ne = realloc(rec->e, rec->cap / 2 * sizeof(*ne));
        if (ne) {
            rec->e = ne;
            rec->cap /= 2;
        }
    }
}

static struct ev_entry *find(struct kube_events *rec, const unsigned char key[32])
{
    for (size_t i = 0; i < rec->n; i++)
        if (memcmp(rec->e[i].key, key, 32) == 0)
            return &rec->e[i];
    return NULL;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

int kube_event_emit(struct kube_events *rec, const json_t *regarding, const char *type,
                    const char *reason, const char *action, const char *note)
{
    const char *name = kube_obj_name(regarding), *ns = kube_obj_namespace(regarding);
    const char *uid = kube_obj_uid(regarding);
    char hex[65], now_s[40], *ev_name = NULL;
    unsigned char key[32];
    uint64_t ts_ns = 0;
    char *r_reason = NULL, *r_action = NULL, *r_note = NULL;
    struct op_buf tuple;
    struct ev_entry *ent;
    json_t *body = NULL, *ref = NULL;
    int64_t now = op_mono_ms();
    int count = 0, err = OP_OK;
    struct timespec ts;

    if (!rec || !name || !type || !reason)
        return op_err_set(OP_EINVALID, "event: regarding object name, type and reason are required");
    if (!ns || !*ns)
        ns = "default";
    if (!action || !*action)
        action = reason;
    r_reason = trunc_utf8(reason, 128);
    r_action = trunc_utf8(action, 128);
    r_note = trunc_utf8(note, 1024);
    op_buf_init(&tuple, 8192);
    if (!r_reason || !r_action || !r_note ||
        op_buf_appendf(&tuple, "%s\x1f%s\x1f%s\x1f%s\x1f%s/%s\x1f%s", type, r_reason, r_action,
                       uid ? uid : "", ns, name, r_note) < 0) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    op_sha256_hex(tuple.data, tuple.len, hex);
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    op_rfc3339_micro(now_s);

    pthread_mutex_lock(&rec->lock);
    prune(rec, now);
    ent = find(rec, key);
    if (ent) {
        ent->count++;
        ent->last_ms = now;
        count = ent->count;
        ts_ns = ent->ts_ns;
    }
    pthread_mutex_unlock(&rec->lock);

    if (count > 1) {
        json_t *patch;
        ev_name = op_asprintf("%s.%llx", name, (unsigned long long)ts_ns);
        if (!ev_name) {
            err = op_err_set(OP_ENOMEM, "out of memory");
            goto out;
        }
        patch = json_pack("{s:{s:i,s:s}}", "series", "count", count, "lastObservedTime", now_s);
        if (!patch) {
            err = op_err_set(OP_ENOMEM, "out of memory");
            goto out;
        }
        err = kube_merge_patch(rec->c, &KUBE_RES_EVENT, ns, ev_name, patch, NULL, NULL);
        json_decref(patch);
        if (err != OP_ENOTFOUND)
            goto out;
        /* the Event expired or was deleted: start a new one */
        free(ev_name);
        ev_name = NULL;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    ts_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    ev_name = op_asprintf("%s.%llx", name, (unsigned long long)ts_ns);
    ref = json_pack("{s:s*,s:s*,s:s,s:s,s:s*,s:s*}", "apiVersion",
                    json_string_value(json_object_get(regarding, "apiVersion")), "kind",
                    json_string_value(json_object_get(regarding, "kind")), "name", name,
                    "namespace", ns, "uid", uid, "resourceVersion",
                    kube_obj_resource_version(regarding));
    if (!ev_name || !ref) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    body = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "apiVersion",
                     "events.k8s.io/v1", "kind", "Event", "metadata", "name", ev_name, "namespace",
                     ns, "eventTime", now_s, "reportingController", rec->controller,
                     "reportingInstance", rec->instance, "action", r_action, "reason", r_reason,
                     "type", type, "note", r_note, "regarding", ref);
    if (!body) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    err = kube_create(rec->c, &KUBE_RES_EVENT, ns, body, NULL, NULL);
    if (err == OP_OK) {
        pthread_mutex_lock(&rec->lock);
        ent = find(rec, key);
        if (ent) {
            /* a concurrent emit raced us; point the entry at our Event */
            ent->ts_ns = ts_ns;
            ent->count = 1;
        } else if (rec->n < KUBE_EVENT_TABLE_MAX) {
            if (rec->n == rec->cap) {
                size_t nc = rec->cap ? rec->cap * 2 : 16;
                struct ev_entry *ne = realloc(rec->e, nc * sizeof(*ne));
                if (ne) {
                    rec->e = ne;
                    rec->cap = nc;
                }
            }
            if (rec->n < rec->cap) {
                ent = &rec->e[rec->n++];
                memcpy(ent->key, key, sizeof(ent->key));
                ent->ts_ns = ts_ns;
                ent->count = 1;
                ent->last_ms = now;
            }
        }
        pthread_mutex_unlock(&rec->lock);
    }
out:
    json_decref(body);
    json_decref(ref);
    free(ev_name);
    free(r_reason);
    free(r_action);
    free(r_note);
    op_buf_cleanup(&tuple);
    return err;
}
