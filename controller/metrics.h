/* metrics.h — a tiny Prometheus registry: counters, gauges and histograms
 * with labels, rendered in the text exposition format (version 0.0.4). Every
 * function is thread-safe. Metric names follow controller-runtime where the
 * meaning matches (see manager.c). */
#ifndef CROSSLINK_CTL_METRICS_H
#define CROSSLINK_CTL_METRICS_H

#include "core.h"

#include <stddef.h>

enum ctl_metric_type { CTL_METRIC_COUNTER, CTL_METRIC_GAUGE, CTL_METRIC_HISTOGRAM };

struct ctl_metrics;
struct ctl_metric;

/* controller-runtime's reconcile_time_seconds buckets (40 of them). */
extern const double CTL_RECONCILE_BUCKETS[];
extern const size_t CTL_RECONCILE_NBUCKETS;

struct ctl_metrics *ctl_metrics_new(void);
void ctl_metrics_free(struct ctl_metrics *m);

/* Registers a family. labels: NULL-terminated label names (NULL = none);
 * buckets (ascending upper bounds, without +Inf) only for histograms. The
 * returned handle is borrowed, valid until ctl_metrics_free. NULL on OOM or
 * when the name is taken. Register everything before sharing the registry. */
struct ctl_metric *ctl_metrics_register(struct ctl_metrics *m, enum ctl_metric_type type,
                                        const char *name, const char *help,
                                        const char *const *labels, const double *buckets,
                                        size_t nbuckets);

/* lv: label values in the order of the registered names (NULL when the
 * family has none). Missing series are created (0 on OOM: the sample is
 * dropped). */
void ctl_metric_add(struct ctl_metric *x, const char *const *lv, double v); /* counter, gauge */
void ctl_metric_set(struct ctl_metric *x, const char *const *lv, double v); /* gauge */
void ctl_metric_observe(struct ctl_metric *x, const char *const *lv, double v); /* histogram */
/* ctl_metric_set for a series the caller knows is absent (the family was just
 * cleared and every lv is distinct): appends it without the linear lookup,
 * so a collector rebuilding one series per stack stays O(stacks). */
void ctl_metric_set_new(struct ctl_metric *x, const char *const *lv, double v);
/* Current value (counter/gauge) or observation count (histogram); 0 when the
 * series does not exist. For tests and the bench. */
double ctl_metric_value(struct ctl_metric *x, const char *const *lv);
/* Drops every series of the family (gauges recomputed at each scrape). */
void ctl_metric_clear(struct ctl_metric *x);

/* Called at the start of every ctl_metrics_render, without the registry
 * lock, to refresh gauges (queue depth, stacks by readiness). */
typedef void (*ctl_metrics_collect_fn)(struct ctl_metrics *m, void *payload);
void ctl_metrics_set_collector(struct ctl_metrics *m, ctl_metrics_collect_fn fn, void *payload);

/* Appends the exposition text of every family (in registration order). */
int ctl_metrics_render(struct ctl_metrics *m, struct op_buf *out);

#endif
