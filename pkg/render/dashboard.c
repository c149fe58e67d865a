/* dashboard.c — the service-overview dashboard (bare model: Grafana's file
 * provisioning never unwraps the HTTP API's {"dashboard": …} envelope) and
 * the dashboard-provider file. Dashboard JSON is not env-interpolated by
 * Grafana, so it carries plain '$' variables; the provider YAML is, so its
 * strings are $$-escaped. Pure; pretty JSON with sorted keys. */
#include "render.h"
#include "render_int.h"

#include "core.h"
#include "xy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASHBOARD_SCHEMA_VERSION 39

static json_t *ds_ref(struct render_ctx *r, enum spec_signal sig, const char *uid)
{
    json_t *o = json_object();
    render__put(r, o, "type", render__str(r, spec_signal_grafana_type(sig)));
    render__put(r, o, "uid", render__str(r, uid));
    return o;
}

static json_t *grid(struct render_ctx *r, int x, int y, int w, int h)
{
    json_t *o = json_object();
    render__put(r, o, "x", json_integer(x));
    render__put(r, o, "y", json_integer(y));
    render__put(r, o, "w", json_integer(w));
    render__put(r, o, "h", json_integer(h));
    return o;
}

static json_t *panel(struct render_ctx *r, int id, const char *type, const char *title, enum spec_signal sig,
                     const char *uid, json_t *gridpos, json_t *target)
{
    json_t *p = json_object(), *targets = json_array();
    render__put(r, p, "id", json_integer(id));
    render__put(r, p, "type", render__str(r, type));
    render__put(r, p, "title", render__str(r, title));
    render__put(r, p, "gridPos", gridpos);
    render__put(r, p, "datasource", ds_ref(r, sig, uid));
    render__put(r, target, "refId", render__str(r, "A"));
    render__put(r, target, "datasource", ds_ref(r, sig, uid));
    render__append(r, targets, target);
    render__put(r, p, "targets", targets);
    return p;
}

static json_t *owned_str(struct render_ctx *r, char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    free(s);
    if (!v)
        r->oom = 1;
    return v;
}

/* The $service variable, from the first provisioned source that can list
 * label values, in each data source's own variable-query model (the shape
 * its variable editor saves; another shape lists nothing):
 *   prometheus  {qryType: 1 (LabelValues), query: "label_values(m, l)", refId}
 *               packages/grafana-prometheus/src/types.ts PromVariableQueryType
 *   loki        {type: 1 (LabelValues), label, stream: "", refId}
 *               public/app/plugins/datasource/loki/types.ts LokiVariableQuery
 *   tempo       {type: 1 (LabelValues), label: "resource.<attr>", refId}
 *               public/app/plugins/datasource/tempo/VariableQueryEditor.tsx
 *   pyroscope   {type: "labelValue", labelName, profileTypeId, refId}
 *               public/app/plugins/datasource/grafana-pyroscope-datasource/VariableSupport.ts */
static json_t *service_variable(struct render_ctx *r, const struct spec_stack *s)
{
    const struct spec_backend *m = spec_stack_backend(s, SPEC_SIGNAL_METRICS);
    const struct spec_backend *l = spec_stack_backend(s, SPEC_SIGNAL_LOGS);
    const struct spec_backend *t = spec_stack_backend(s, SPEC_SIGNAL_TRACES);
    const struct spec_backend *p = spec_stack_backend(s, SPEC_SIGNAL_PROFILES);
    const char *label = s->correlation.service_label;
    json_t *v = json_object(), *query = json_object();
    char *def = NULL;

    render__put(r, v, "name", render__str(r, "service"));
    render__put(r, v, "label", render__str(r, "Service"));
    render__put(r, v, "type", render__str(r, "query"));
    if (m) {
        /* native histograms have no _count series: list the histogram itself */
        def = op_asprintf("label_values(%s%s, %s)", s->correlation.request_metric,
                          s->correlation.histograms == SPEC_HISTOGRAMS_NATIVE ? "" : "_count", label);
        render__put(r, v, "datasource", ds_ref(r, SPEC_SIGNAL_METRICS, m->uid));
        render__put(r, query, "qryType", json_integer(1));
        render__put(r, query, "query", render__str(r, def));
        render__put(r, query, "refId", render__str(r, "PrometheusVariableQueryEditor-VariableQuery"));
    } else if (l) {
        def = op_asprintf("label_values(%s)", label);
        render__put(r, v, "datasource", ds_ref(r, SPEC_SIGNAL_LOGS, l->uid));
        render__put(r, query, "type", json_integer(1));
        render__put(r, query, "label", render__str(r, label));
        render__put(r, query, "stream", render__str(r, ""));
        render__put(r, query, "refId", render__str(r, "LokiVariableQueryEditor-VariableQuery"));
    } else if (t) {
        char *attr = op_asprintf("resource.%s", s->correlation.service_attribute);
        def = op_asprintf("label_values(%s)", attr ? attr : "");
        render__put(r, v, "datasource", ds_ref(r, SPEC_SIGNAL_TRACES, t->uid));
        render__put(r, query, "type", json_integer(1));
        render__put(r, query, "label", owned_str(r, attr));
        render__put(r, query, "refId", render__str(r, "TempoDatasourceVariableQueryEditor-VariableQuery"));
    } else if (p) {
        def = op_asprintf("label_values(%s)", label);
        render__put(r, v, "datasource", ds_ref(r, SPEC_SIGNAL_PROFILES, p->uid));
        render__put(r, query, "type", render__str(r, "labelValue"));
        render__put(r, query, "labelName", render__str(r, label));
        render__put(r, query, "profileTypeId", render__str(r, p->profile_type));
        render__put(r, query, "refId", render__str(r, "PyroscopeVariableQueryEditor-VariableQuery"));
    }
    render__put(r, v, "definition", owned_str(r, def));
    render__put(r, v, "query", query);
    render__put(r, v, "refresh", json_integer(2));
    render__put(r, v, "sort", json_integer(1));
    render__put(r, v, "includeAll", json_false());
    render__put(r, v, "multi", json_false());
    render__put(r, v, "current", json_object());
    render__put(r, v, "options", json_array());
    return v;
}

/* "CPU profile" for process_cpu:cpu, else "<name>:<sample type> profile"
 * (e.g. "memory:alloc_space profile"): the title follows the data. */
static char *profile_title(const char *profile_type)
{
    const char *c1 = strchr(profile_type, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2)
        return op_asprintf("%s profile", profile_type);
    if (strncmp(profile_type, "process_cpu:cpu:", 16) == 0)
        return op_asprintf("CPU profile");
    return op_asprintf("%.*s profile", (int)(c2 - profile_type), profile_type);
}

static json_t *dashboard_doc(const struct spec_stack *s)
{
    struct render_ctx r = {0};
    const struct spec_correlation *c = &s->correlation;
    const struct spec_backend *m = spec_stack_backend(s, SPEC_SIGNAL_METRICS);
    const struct spec_backend *t = spec_stack_backend(s, SPEC_SIGNAL_TRACES);
    const struct spec_backend *l = spec_stack_backend(s, SPEC_SIGNAL_LOGS);
    const struct spec_backend *p = spec_stack_backend(s, SPEC_SIGNAL_PROFILES);
    const char *lbl = c->service_label;
    json_t *d = json_object(), *panels = json_array(), *o, *tgt, *list;
    int id = 1, y = 0;

    render__put(&r, d, "uid", render__str(&r, s->dashboards.uid));
    render__put(&r, d, "title", render__str(&r, s->dashboards.title));
    render__put(&r, d, "schemaVersion", json_integer(DASHBOARD_SCHEMA_VERSION));
    render__put(&r, d, "version", json_integer(1));
    render__put(&r, d, "editable", json_false());
    render__put(&r, d, "graphTooltip", json_integer(1));
    render__put(&r, d, "refresh", render__str(&r, "1m"));
    render__put(&r, d, "timezone", render__str(&r, "browser"));
    o = json_array();
    render__append(&r, o, render__str(&r, "crosslink"));
    render__put(&r, d, "tags", o);
    o = json_object();
    render__put(&r, o, "from", render__str(&r, "now-1h"));
    render__put(&r, o, "to", render__str(&r, "now"));
    render__put(&r, d, "time", o);
    list = json_array();
    render__append(&r, list, service_variable(&r, s));
    o = json_object();
    render__put(&r, o, "list", list);
    render__put(&r, d, "templating", o);

    if (m) {
        json_t *fc, *defaults;
        int native = c->histograms == SPEC_HISTOGRAMS_NATIVE;
        tgt = json_object();
        render__put(&r, tgt, "expr",
                    owned_str(&r, native ? op_asprintf("sum by (%s) (histogram_count(rate(%s{%s=~\"$service\"}"
                                                       "[$__rate_interval])))",
                                                       lbl, c->request_metric, lbl)
                                         : op_asprintf("sum by (%s) (rate(%s_count{%s=~\"$service\"}"
                                                       "[$__rate_interval]))",
                                                       lbl, c->request_metric, lbl)));
        render__put(&r, tgt, "legendFormat", owned_str(&r, op_asprintf("{{%s}}", lbl)));
        render__put(&r, tgt, "exemplar", json_true());
        render__put(&r, tgt, "range", json_true());
        render__put(&r, tgt, "instant", json_false());
        o = panel(&r, id++, "timeseries", "Request rate", SPEC_SIGNAL_METRICS, m->uid, grid(&r, 0, y, 12, 8), tgt);
        fc = json_object();
        defaults = json_object();
        render__put(&r, defaults, "unit", render__str(&r, "reqps"));
        render__put(&r, fc, "defaults", defaults);
        render__put(&r, fc, "overrides", json_array());
        render__put(&r, o, "fieldConfig", fc);
        render__append(&r, panels, o);

        tgt = json_object();
        render__put(&r, tgt, "expr",
                    owned_str(&r, native ? op_asprintf("histogram_quantile(0.99, sum(rate(%s{%s=~\"$service\"}"
                                                       "[$__rate_interval])))",
                                                       c->request_metric, lbl)
                                         : op_asprintf("histogram_quantile(0.99, sum by (le) (rate(%s_bucket{%s=~"
                                                       "\"$service\"}[$__rate_interval])))",
                                                       c->request_metric, lbl)));
        render__put(&r, tgt, "legendFormat", render__str(&r, "p99"));
        render__put(&r, tgt, "exemplar", json_true());
        render__put(&r, tgt, "range", json_true());
        render__put(&r, tgt, "instant", json_false());
        o = panel(&r, id++, "timeseries", "p99 latency", SPEC_SIGNAL_METRICS, m->uid, grid(&r, 12, y, 12, 8), tgt);
        fc = json_object();
        defaults = json_object();
        render__put(&r, defaults, "unit", render__str(&r, "s"));
        render__put(&r, fc, "defaults", defaults);
        render__put(&r, fc, "overrides", json_array());
        render__put(&r, o, "fieldConfig", fc);
        render__append(&r, panels, o);
        y += 8;
    }
    if (t) {
        tgt = json_object();
        render__put(&r, tgt, "queryType", render__str(&r, "traceql"));
        render__put(&r, tgt, "query",
                    owned_str(&r, op_asprintf("{ resource.%s =~ \"$service\" }", c->service_attribute)));
        render__put(&r, tgt, "limit", json_integer(20));
        render__put(&r, tgt, "tableType", render__str(&r, "traces"));
        render__append(&r, panels,
                       panel(&r, id++, "table", "Traces", SPEC_SIGNAL_TRACES, t->uid, grid(&r, 0, y, 24, 8), tgt));
        y += 8;
    }
    if (l) {
        tgt = json_object();
        render__put(&r, tgt, "expr",
                    owned_str(&r, op_asprintf("{%s=~\"$service\"} |~ \"(?i)(error|exception|fatal|panic)\"", lbl)));
        render__put(&r, tgt, "queryType", render__str(&r, "range"));
        o = panel(&r, id++, "logs", "Error logs", SPEC_SIGNAL_LOGS, l->uid, grid(&r, 0, y, 24, 10), tgt);
        render__append(&r, panels, o);
        y += 10;
    }
    if (p) {
        tgt = json_object();
        render__put(&r, tgt, "queryType", render__str(&r, "profile"));
        render__put(&r, tgt, "profileTypeId", render__str(&r, p->profile_type));
        render__put(&r, tgt, "labelSelector", owned_str(&r, op_asprintf("{%s=~\"$service\"}", lbl)));
        render__put(&r, tgt, "groupBy", json_array());
        {
            char *title = profile_title(p->profile_type);
            if (!title)
                r.oom = 1;
            render__append(&r, panels,
                           panel(&r, id++, "flamegraph", title ? title : "", SPEC_SIGNAL_PROFILES, p->uid,
                                 grid(&r, 0, y, 24, 12), tgt));
            free(title);
        }
        y += 12;
    }
    render__put(&r, d, "panels", panels);
    if (r.oom) {
        json_decref(d);
        return NULL;
    }
    return d;
}

int render_dashboard_json(char **out, const struct spec_stack *s)
{
    json_t *d = dashboard_doc(s);
    char *txt, *withnl;
    if (!d)
        return op_err_set(OP_ENOMEM, "out of memory");
    txt = json_dumps(d, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(d);
    if (!txt)
        return op_err_set(OP_ENOMEM, "out of memory");
    withnl = op_asprintf("%s\n", txt);
    free(txt);
    if (!withnl)
        return op_err_set(OP_ENOMEM, "out of memory");
    *out = withnl;
    return 0;
}

int render_dashboard_provider_yaml(char **out, const struct spec_stack *s)
{
    struct render_ctx r = {0};
    json_t *doc = json_object(), *providers = json_array(), *p = json_object(), *opts = json_object();
    char *name = op_asprintf("crosslink-%s-%s", s->meta.namespace, s->meta.name);
    int rc;

    render__put(&r, p, "name", render__esc(&r, name));
    render__put(&r, p, "orgId", json_integer(s->grafana.org_id));
    render__put(&r, p, "folder", render__esc(&r, s->grafana.folder));
    render__put(&r, p, "type", render__str(&r, "file"));
    render__put(&r, p, "disableDeletion", json_false());
    render__put(&r, p, "allowUiUpdates", json_false());
    render__put(&r, p, "updateIntervalSeconds", json_integer(30));
    render__put(&r, opts, "path", render__esc(&r, s->grafana.dashboards_path));
    render__put(&r, opts, "foldersFromFilesStructure", json_false());
    render__put(&r, p, "options", opts);
    render__append(&r, providers, p);
    render__put(&r, doc, "apiVersion", json_integer(1));
    render__put(&r, doc, "providers", providers);
    free(name);
    if (r.oom || !name) {
        json_decref(doc);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    rc = xy_emit(out, doc);
    json_decref(doc);
    return rc;
}
