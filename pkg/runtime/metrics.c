/* metrics.c — Prometheus registry behind one mutex. Families keep their
 * series in a short linked list (a handful of label combinations each), so
 * lookups are linear and memory stays at a few hundred bytes per series.
 * Rendering writes HELP/TYPE lines, escaped label values, cumulative
 * histogram buckets with le="+Inf", _sum and _count. */
#include "runtime.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double RT_RECONCILE_BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35,
                                        0.4,   0.45, 0.5,   0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5,
                                        1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,    7,
                                        8,     9,    10,    15,   20,  25,   30,  40,   50,   60};
const size_t RT_RECONCILE_NBUCKETS = sizeof(RT_RECONCILE_BUCKETS) / sizeof(RT_RECONCILE_BUCKETS[0]);

struct series {
    struct series *next;
    char **lv;
    double value;      /* counter/gauge; histogram sum */
    uint64_t count;    /* histogram */
    uint64_t *buckets; /* histogram: per-bucket (non-cumulative) counts */
};

struct rt_metric {
    struct rt_metric *next;
    struct rt_metrics *reg;
    enum rt_metric_type type;
    char *name, *help;
    char **labels;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    struct series *series, **tail;
};

struct rt_metrics {
    pthread_mutex_t mu;
    struct rt_metric *first, **tail;
    rt_metrics_collect_fn collect;
    void *collect_payload;
};

struct rt_metrics *rt_metrics_new(void)
{
    struct rt_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->tail = &m->first;
    return m;
}

static void series_free(struct series *s, size_t nlabels)
{
    (void)nlabels; /* the label values live in the series' own block */
    free(s->buckets);
    free(s);
}

static void clear_series(struct rt_metric *x)
{
    struct series *s = x->series;
    while (s) {
        struct series *n = s->next;
        series_free(s, x->nlabels);
        s = n;
    }
    x->series = NULL;
    x->tail = &x->series;
}

static void metric_free(struct rt_metric *x)
{
    clear_series(x);
    for (size_t i = 0; i < x->nlabels; i++)
        free(x->labels[i]);
    free(x->labels);
    free(x->bounds);
    free(x->name);
    free(x->help);
    free(x);
}

void rt_metrics_free(struct rt_metrics *m)
{
    struct rt_metric *x;
    if (!m)
        return;
    x = m->first;
    while (x) {
        struct rt_metric *n = x->next;
        metric_free(x);
        x = n;
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static struct series *new_series(struct rt_metric *x, const char *const *lv);

struct rt_metric *rt_metrics_register(struct rt_metrics *m, enum rt_metric_type type,
                                        const char *name, const char *help,
                                        const char *const *labels, const double *buckets,
                                        size_t nbuckets)
{
    struct rt_metric *x;
    size_t n = 0;

    pthread_mutex_lock(&m->mu);
    for (x = m->first; x; x = x->next) {
        if (!strcmp(x->name, name)) {
            pthread_mutex_unlock(&m->mu);
            return NULL;
        }
    }
    pthread_mutex_unlock(&m->mu);

    x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->reg = m;
    x->type = type;
    x->tail = &x->series;
    x->name = op_strdup(name);
    x->help = op_strdup(help ? help : "");
    while (labels && labels[n])
        n++;
    x->labels = calloc(n + 1, sizeof(*x->labels));
    if (!x->name || !x->help || !x->labels)
        goto oom;
    for (x->nlabels = 0; x->nlabels < n; x->nlabels++)
        if (!(x->labels[x->nlabels] = op_strdup(labels[x->nlabels])))
            goto oom;
    if (type == RT_METRIC_HISTOGRAM && nbuckets) {
        x->bounds = malloc(nbuckets * sizeof(*x->bounds));
        if (!x->bounds)
            goto oom;
        memcpy(x->bounds, buckets, nbuckets * sizeof(*x->bounds));
        x->nbounds = nbuckets;
    }
    /* a family without labels has its one series from the start (0), as
     * client_golang's unlabelled metrics do: a counter nothing added to yet
     * is exported as 0, not left out */
    if (!n && !new_series(x, NULL))
        goto oom;
    pthread_mutex_lock(&m->mu);
    *m->tail = x;
    m->tail = &x->next;
    pthread_mutex_unlock(&m->mu);
    return x;
oom:
    metric_free(x);
    return NULL;
}

/* Finds or creates a series; mutex held. NULL on OOM. */
static struct series *get_series(struct rt_metric *x, const char *const *lv, int create)
{
    struct series *s;
    for (s = x->series; s; s = s->next) {
        size_t i;
        for (i = 0; i < x->nlabels; i++)
            if (strcmp(s->lv[i], lv && lv[i] ? lv[i] : ""))
                break;
        if (i == x->nlabels)
            return s;
    }
    return create ? new_series(x, lv) : NULL;
}

/* Appends a series without looking for an existing one; mutex held. The
 * series, its label-value array and the values are one allocation
 * (thousands of per-stack gauge series). */
static struct series *new_series(struct rt_metric *x, const char *const *lv)
{
    size_t sz = sizeof(struct series) + (x->nlabels + 1) * sizeof(char *);
    struct series *s;
    char *p;
    for (size_t i = 0; i < x->nlabels; i++)
        sz += strlen(lv && lv[i] ? lv[i] : "") + 1;
    s = calloc(1, sz);
    if (!s)
        return NULL;
    s->lv = (char **)(s + 1);
    p = (char *)(s->lv + x->nlabels + 1);
    for (size_t i = 0; i < x->nlabels; i++) {
        size_t l = strlen(lv && lv[i] ? lv[i] : "") + 1;
        memcpy(p, lv && lv[i] ? lv[i] : "", l);
        s->lv[i] = p;
        p += l;
    }
    if (x->type == RT_METRIC_HISTOGRAM && !(s->buckets = calloc(x->nbounds + 1, sizeof(*s->buckets))))
        goto oom;
    *x->tail = s;
    x->tail = &s->next;
    return s;
oom:
    series_free(s, x->nlabels);
    return NULL;
}

void rt_metric_add(struct rt_metric *x, const char *const *lv, double v)
{
    struct series *s;
    if (!x)
        return;
    pthread_mutex_lock(&x->reg->mu);
    if ((s = get_series(x, lv, 1)))
        s->value += v;
    pthread_mutex_unlock(&x->reg->mu);
}

void rt_metric_set(struct rt_metric *x, const char *const *lv, double v)
{
    struct series *s;
    if (!x)
        return;
    pthread_mutex_lock(&x->reg->mu);
    if ((s = get_series(x, lv, 1)))
        s->value = v;
    pthread_mutex_unlock(&x->reg->mu);
}

void rt_metric_set_new(struct rt_metric *x, const char *const *lv, double v)
{
    struct series *s;
    if (!x)
        return;
    pthread_mutex_lock(&x->reg->mu);
    if ((s = new_series(x, lv)))
        s->value = v;
    pthread_mutex_unlock(&x->reg->mu);
}

void rt_metric_observe(struct rt_metric *x, const char *const *lv, double v)
{
    struct series *s;
    if (!x)
        return;
    pthread_mutex_lock(&x->reg->mu);
    if ((s = get_series(x, lv, 1))) {
        size_t i = 0;
        while (i < x->nbounds && v > x->bounds[i])
            i++;
        s->buckets[i]++;
        s->count++;
        s->value += v;
    }
    pthread_mutex_unlock(&x->reg->mu);
}

double rt_metric_value(struct rt_metric *x, const char *const *lv)
{
    struct series *s;
    double v = 0;
    if (!x)
        return 0;
    pthread_mutex_lock(&x->reg->mu);
    if ((s = get_series(x, lv, 0)))
        v = x->type == RT_METRIC_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&x->reg->mu);
    return v;
}

void rt_metric_clear(struct rt_metric *x)
{
    if (!x)
        return;
    pthread_mutex_lock(&x->reg->mu);
    clear_series(x);
    pthread_mutex_unlock(&x->reg->mu);
}

void rt_metrics_set_collector(struct rt_metrics *m, rt_metrics_collect_fn fn, void *payload)
{
    pthread_mutex_lock(&m->mu);
    m->collect = fn;
    m->collect_payload = payload;
    pthread_mutex_unlock(&m->mu);
}

static int put_escaped(struct op_buf *b, const char *s, int help)
{
    for (; *s; s++) {
        int err;
        if (*s == '\\')
            err = op_buf_puts(b, "\\\\");
        else if (*s == '\n')
            err = op_buf_puts(b, "\\n");
        else if (*s == '"' && !help)
            err = op_buf_puts(b, "\\\"");
        else
            err = op_buf_append(b, s, 1);
        if (err)
            return err;
    }
    return 0;
}

static int put_num(struct op_buf *b, double v)
{
    if (isinf(v))
        return op_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    if (isnan(v))
        return op_buf_puts(b, "NaN");
    if (v == floor(v) && fabs(v) < 1e15)
        return op_buf_appendf(b, "%.0f", v);
    return op_buf_appendf(b, "%.9g", v);
}

/* name{l1="v1",...[,le="x"]} */
static int put_labels(struct op_buf *b, const struct rt_metric *x, const struct series *s,
                      const char *le)
{
    int err = 0;
    if (x->nlabels == 0 && !le)
        return 0;
    if ((err = op_buf_puts(b, "{")))
        return err;
    for (size_t i = 0; i < x->nlabels; i++) {
        if ((err = op_buf_appendf(b, "%s%s=\"", i ? "," : "", x->labels[i])) ||
            (err = put_escaped(b, s->lv[i], 0)) || (err = op_buf_puts(b, "\"")))
            return err;
    }
    if (le && (err = op_buf_appendf(b, "%sle=\"%s\"", x->nlabels ? "," : "", le)))
        return err;
    return op_buf_puts(b, "}");
}

static int render_metric(struct op_buf *b, const struct rt_metric *x)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    int err;

    if ((err = op_buf_appendf(b, "# HELP %s ", x->name)) || (err = put_escaped(b, x->help, 1)) ||
        (err = op_buf_appendf(b, "\n# TYPE %s %s\n", x->name, types[x->type])))
        return err;
    for (const struct series *s = x->series; s; s = s->next) {
        if (x->type != RT_METRIC_HISTOGRAM) {
            if ((err = op_buf_puts(b, x->name)) || (err = put_labels(b, x, s, NULL)) ||
                (err = op_buf_puts(b, " ")) || (err = put_num(b, s->value)) ||
                (err = op_buf_puts(b, "\n")))
                return err;
            continue;
        }
        uint64_t cum = 0;
        char le[32];
        for (size_t i = 0; i <= x->nbounds; i++) {
            cum += s->buckets[i];
            if (i < x->nbounds)
                snprintf(le, sizeof(le), "%g", x->bounds[i]);
            else
                snprintf(le, sizeof(le), "+Inf");
            if ((err = op_buf_appendf(b, "%s_bucket", x->name)) || (err = put_labels(b, x, s, le)) ||
                (err = op_buf_appendf(b, " %llu\n", (unsigned long long)cum)))
                return err;
        }
        if ((err = op_buf_appendf(b, "%s_sum", x->name)) || (err = put_labels(b, x, s, NULL)) ||
            (err = op_buf_puts(b, " ")) || (err = put_num(b, s->value)) ||
            (err = op_buf_appendf(b, "\n%s_count", x->name)) || (err = put_labels(b, x, s, NULL)) ||
            (err = op_buf_appendf(b, " %llu\n", (unsigned long long)s->count)))
            return err;
    }
    return 0;
}

int rt_metrics_render(struct rt_metrics *m, struct op_buf *out)
{
    rt_metrics_collect_fn fn;
    void *payload;
    int err = 0;

    pthread_mutex_lock(&m->mu);
    fn = m->collect;
    payload = m->collect_payload;
    pthread_mutex_unlock(&m->mu);
    if (fn)
        fn(m, payload);
    pthread_mutex_lock(&m->mu);
    for (const struct rt_metric *x = m->first; x && !err; x = x->next)
        err = render_metric(out, x);
    pthread_mutex_unlock(&m->mu);
    return err;
}
