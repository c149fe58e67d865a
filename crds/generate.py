#!/usr/bin/env python3
"""generate.py — writes crds/crosslink.dev_observabilitystacks.yaml.

The four signal backends share most of their schema, so the CRD is generated
from this script instead of being kept by hand in four copies. The YAML file is
committed and is the artifact everything else uses (kubectl, Helm, tests);
re-run `python3 crds/generate.py` after editing this file (needs PyYAML);
`python3 crds/generate.py --check` fails when the YAML is out of date.
Keep it in sync with pkg/spec (field names, defaults, limits).
"""
import os
import sys

import yaml

# Go duration syntax restricted to whole milliseconds (Grafana has no smaller
# unit): h, m, s, ms in that order, with at most the decimals that keep the
# value whole (h 5, m 4, s 3, ms none); "0" alone. pkg/spec accepts a
# superset (any exact Go form, e.g. 1000us) and renders one integer + unit.
DURATION = (r"^(0|([0-9]+(\.[0-9]{1,5})?h)?([0-9]+(\.[0-9]{1,4})?m)?([0-9]+(\.[0-9]{1,3})?s)?([0-9]+ms)?)$")
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
CONFIG_KEY = r"^[-._a-zA-Z0-9]+$"
UID = r"^[A-Za-z0-9_-]{1,40}$"
LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
METRIC_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
TENANT = r"^[A-Za-z0-9!._*'()|-]+$"
URL = r"^https?://[^\s/?#]+([/?#]\S*)?$"
PROFILE_TYPE = r"^[^:\s]+(:[^:\s]+){4}$"
DEFAULT_PROFILE_TYPE = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"


def s(desc, **kw):
    d = {"type": "string", "description": desc}
    d.update(kw)
    return d


def b(desc, **kw):
    d = {"type": "boolean", "description": desc}
    d.update(kw)
    return d


def obj(desc, props, required=None, **kw):
    d = {"type": "object", "description": desc, "properties": props}
    if required:
        d["required"] = required
    d.update(kw)
    return d


def key_ref(desc, what):
    return obj(desc, {
        "name": s(f"Name of the {what} in the stack's namespace.", maxLength=253, pattern=DNS_SUBDOMAIN),
        "key": s(f"Key inside the {what}.", maxLength=253, pattern=CONFIG_KEY),
    }, ["name", "key"])


def duration(desc, **kw):
    return s(desc + " Go duration syntax with h, m, s, ms in that order (15s, 5m, 1h30m, 1.5h, 500ms): a "
             "whole number of milliseconds, as Grafana has no smaller unit.", minLength=1, maxLength=32,
             pattern=DURATION, **kw)


def tags(desc):
    return {
        "type": "array",
        "description": desc,
        "maxItems": 16,
        "items": obj("Maps a span or resource attribute to the label that holds the same value in the target.", {
            "attribute": s("Span or resource attribute, e.g. service.name.", minLength=1, maxLength=256),
            "label": s("Label name in the target data source, e.g. service_name.", maxLength=128, pattern=LABEL_NAME),
        }, ["attribute", "label"]),
    }


def time_shift(desc):
    return obj(desc, {
        "before": duration("How far before the span start the linked query begins (rendered as a negative shift)."),
        "after": duration("How far after the span end the linked query ends."),
    })


def backend(signal, flavor_desc, extra):
    props = {
        "enabled": b("Set to false to keep the configuration but render and probe nothing for this signal.",
                     default=True),
        "url": s("Base URL Grafana and the probes use for this backend (http or https). Mimir: include the "
                 "/prometheus prefix; Tempo: the query-frontend HTTP port (3200); Loki: the gateway or "
                 "query-frontend root; Pyroscope: the HTTP root (4040).", minLength=1, maxLength=2048,
                 pattern=URL),
        "uid": s(f"Grafana data-source UID. Default: <stack name>-{signal} when that fits Grafana's 40 "
                 f"characters, else the name cut short + '-' + 8 hex digits of sha256(name) + '-{signal}'. Treat "
                 "as immutable: Grafana breaks links when a provisioned UID changes.", maxLength=40, pattern=UID),
        "name": s(f"Grafana data-source name (Grafana identifies provisioned data sources by name). Default: "
                  f"'{flavor_desc} (<namespace>/<stack>)'.", minLength=1, maxLength=190),
        "tenant": s("Tenant ID sent as X-Scope-OrgID by Grafana and by the probes. Omit for single-tenant "
                    "backends.", maxLength=256, pattern=TENANT),
        "default": b("Make this Grafana's default data source. At most one per stack, and at most one per "
                     "Grafana organization across ALL provisioning files: kube-prometheus-stack already "
                     "provisions a default Prometheus, and two defaults make Grafana refuse every data source. "
                     "Leave false unless this Grafana has no other default."),
        "auth": obj("Credentials. Secrets are referenced, never copied: Grafana reads them from files mounted "
                    "under /etc/grafana/crosslink-secrets/<secret>/<key>.", {
                        "basic": obj("HTTP basic authentication.", {
                            "username": s("User name.", minLength=1, maxLength=256),
                            "passwordSecretRef": key_ref("Secret key holding the password.", "Secret"),
                        }, ["username", "passwordSecretRef"]),
                        "bearerTokenSecretRef": key_ref("Secret key holding a bearer token (sent as "
                                                        "Authorization: Bearer <token>).", "Secret"),
                    }, **{"x-kubernetes-validations": [{
                        "rule": "!(has(self.basic) && has(self.bearerTokenSecretRef))",
                        "message": "set at most one of basic and bearerTokenSecretRef"}]}),
        "tls": obj("TLS settings for https URLs.", {
            "caSecretRef": key_ref("Secret key holding the PEM CA bundle that signs the backend's certificate.",
                                   "Secret"),
            "caConfigMapRef": key_ref("ConfigMap key holding the PEM CA bundle (mounted under "
                                      "/etc/grafana/crosslink-configmaps/<configmap>/<key>).", "ConfigMap"),
            "serverName": s("Server name used for SNI and certificate verification.", maxLength=253),
            "insecureSkipVerify": b("Skip certificate verification. Not for production.", default=False),
        }, **{"x-kubernetes-validations": [{
            "rule": "!(has(self.caSecretRef) && has(self.caConfigMapRef))",
            "message": "set at most one of caSecretRef and caConfigMapRef"}]}),
    }
    props.update(extra)
    return obj(f"The {signal} backend ({flavor_desc}). Omit to run the stack without {signal}; links to and "
               f"from {signal} are then not rendered.", props, **{"x-kubernetes-validations": [{
                   "rule": "has(self.url) || (has(self.enabled) && !self.enabled)",
                   "message": "url is required unless enabled is false", "fieldPath": ".url",
                   "reason": "FieldValueRequired"}]})


def crd():
    metrics = backend("metrics", "Mimir/Prometheus", {
        "flavor": s("Backend flavor; sets Grafana's prometheusType and the default name.",
                    enum=["Mimir", "Prometheus", "Cortex", "Thanos"], default="Mimir"),
        "scrapeInterval": duration("Scrape interval of the metrics; Grafana's timeInterval (lower bound of "
                                   "$__interval and $__rate_interval).", default="15s"),
    })
    traces = backend("traces", "Tempo", {
        "traceQueryTimeShift": obj("Tempo's trace-by-ID window (jsonData.traceQuery): when set, a trace looked up "
                                   "by ID is searched from the time range's start minus before to its end plus "
                                   "after (Grafana's own default for an unset side is 30m).", {
                                       "before": duration("Widening before the range start."),
                                       "after": duration("Widening after the range end."),
                                   }),
    })
    logs = backend("logs", "Loki", {
        "traceIdFields": {
            "type": "array",
            "description": "Loki derived fields that turn a trace ID in a log line into a link to the trace. "
                           "Empty (default): JSON \"trace_id\", logfmt trace_id= and traceID=, and the OTLP "
                           "structured-metadata field trace_id (matcherType label).",
            "maxItems": 16,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": obj("One derived field.", {
                "name": s("Field name shown in Grafana; unique.", minLength=1, maxLength=64),
                "matcherType": s("regex: matcherRegex runs on the log line and capture group 1 is the trace "
                                 "ID. label: matcherRegex is matched against label and structured-metadata "
                                 "names.", enum=["regex", "label"], default="regex"),
                "matcherRegex": s("regex: the regular expression (JavaScript syntax). label: the plain label "
                                  "name, e.g. trace_id (Grafana before 11.5 looks it up as an exact key).",
                                  minLength=1, maxLength=512),
                "urlDisplayLabel": s("Link text.", maxLength=128),
            }, ["name", "matcherRegex"], **{"x-kubernetes-validations": [{
                "rule": "!has(self.matcherType) || self.matcherType != 'label' || "
                        "self.matcherRegex.matches('^[a-zA-Z_][a-zA-Z0-9_]*$')",
                "message": "with matcherType label, matcherRegex must be a plain label name such as trace_id "
                           "(regex forms work only from Grafana 11.5)",
                "fieldPath": ".matcherRegex"}]}),
        },
        "maxLines": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 100000, "default": 1000,
                     "description": "Grafana's maximum number of log lines per query."},
    })
    profiles = backend("profiles", "Pyroscope", {
        "profileType": s("Profile type ID (name:sample_type:sample_unit:period_type:period_unit) used by the "
                         "flame graph and by trace-to-profiles.", maxLength=256, pattern=PROFILE_TYPE,
                         default=DEFAULT_PROFILE_TYPE),
        "scrapeInterval": duration("Grafana's minStep for profile queries.", default="15s"),
    })
    correlation = obj("How the signals link to each other. Each link's defaults can be overridden below.", {
        "serviceAttribute": s("Span/resource attribute that names the service.", minLength=1, maxLength=256,
                              default="service.name"),
        "serviceLabel": s("The same value as a Loki/Mimir/Pyroscope label.", maxLength=128, pattern=LABEL_NAME,
                          default="service_name"),
        "extraTags": tags("Additional attribute -> label mappings used by trace-to-logs and trace-to-metrics."),
        "timeShift": time_shift("Default time window around a span for trace-to-logs and trace-to-metrics "
                                "links (default 5m before, 5m after)."),
        "requestMetric": s("Request-duration histogram (OTel semantic conventions) behind the request-rate, "
                           "error-rate and p99 queries.", maxLength=256, pattern=METRIC_NAME,
                           default="http_server_request_duration_seconds"),
        "exemplarLabels": {"type": "array", "maxItems": 8,
                           "description": "Exemplar label names holding the trace ID (default trace_id, traceID).",
                           "items": s("Exemplar label name.", maxLength=128, pattern=LABEL_NAME)},
        "histograms": s("How requestMetric is stored: classic (_bucket/_count series) or native (one "
                        "native-histogram series; OTel SDKs sending to Mimir increasingly do). Chooses the "
                        "trace-to-metrics queries and the dashboard panels.", enum=["classic", "native"],
                        default="classic"),
        "grafanaCorrelations": b("Also provision Grafana correlations (Grafana 10+) as a second click path: "
                                 "Loki log line -> Tempo trace (trace id taken from the line by a regex), "
                                 "and Prometheus table results -> the service's logs in Loki.", default=False),
        "tracesToLogs": obj("Override of Tempo's trace-to-logs link.", {
            "tags": tags("Attribute -> label mappings (default: the service mapping plus extraTags)."),
            "timeShift": time_shift("Time window (default correlation.timeShift)."),
            "filterByTraceID": b("Keep only log lines of the trace (default true)."),
            "filterBySpanID": b("Keep only log lines of the span (default false)."),
            "query": s("Custom LogQL query; Grafana variables such as ${__span.traceId} are written "
                       "unescaped here. Default: a query that finds the trace ID in the log line or in the "
                       "trace_id structured metadata (Loki 3 OTLP logs), see docs/grafana.md.", maxLength=4096),
        }),
        "tracesToMetrics": obj("Override of Tempo's trace-to-metrics links.", {
            "tags": tags("Attribute -> label mappings (default: the service mapping plus extraTags)."),
            "timeShift": time_shift("Time window (default correlation.timeShift)."),
            "queries": {"type": "array", "maxItems": 16,
                        "description": "Queries offered from a span (default: request rate, error rate and p99 "
                                       "of requestMetric). $__tags expands to the tag matchers.",
                        "items": obj("One query.", {
                            "name": s("Link name.", minLength=1, maxLength=128),
                            "query": s("PromQL.", minLength=1, maxLength=4096),
                        }, ["name", "query"])},
        }),
        "tracesToProfiles": obj("Override of Tempo's trace-to-profiles link.", {
            "tags": tags("Attribute -> label mappings (default: the service mapping)."),
            "profileType": s("Profile type ID (default spec.profiles.profileType).", maxLength=256,
                             pattern=PROFILE_TYPE),
            "query": s("Custom label selector query.", maxLength=4096),
        }),
    })
    label_map = lambda desc, dflt: {  # noqa: E731
        "type": "object", "description": desc, "maxProperties": 16,
        "additionalProperties": {"type": "string", "maxLength": 63}, "default": dflt}
    grafana = obj("How the rendered ConfigMaps are found by Grafana.", {
        "datasourceLabels": label_map("Labels on the data-source ConfigMap (the Grafana sidecar's label).",
                                      {"grafana_datasource": "1"}),
        "dashboardLabels": label_map("Labels on the dashboards ConfigMap.", {"grafana_dashboard": "1"}),
        "folder": s("Grafana folder of the dashboards (sidecar folder annotation and provider folder).",
                    minLength=1, maxLength=128, default="Observability"),
        "dashboardsPath": s("options.path of the dashboard provider for Grafana installs without the "
                            "sidecar (docs/grafana.md; default /var/lib/grafana/dashboards/crosslink/"
                            "<namespace>-<stack>).", maxLength=1024, pattern=r"^/.*$"),
        "prune": b("Write prune: true into the data-source file, so Grafana deletes this stack's data sources "
                   "when they leave the file. Default false: the Grafana chart's sidecar rewrites a changed file "
                   "by deleting it first, and a provisioning run in between deletes live data sources "
                   "(grafana/grafana#97051).", default=False),
        "orgId": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2147483647, "default": 1,
                  "description": "Grafana organization of the data sources and the dashboard provider. The "
                                 "organization must exist, or Grafana rejects the whole file."},
    })
    dashboards = obj("Dashboards to render.", {
        "serviceOverview": b("Render the service overview dashboard (request rate and p99 with exemplars, "
                             "traces, error logs, CPU flame graph).", default=True),
        "uid": s("Dashboard UID. Default: 'xl-' + the first 20 hex digits of sha256('<namespace>/<name>'), "
                 "unique per stack (Grafana dashboard UIDs are global per organization).", maxLength=40,
                 pattern=UID),
        "title": s("Dashboard title (default 'Service overview (<namespace>/<stack>)').", minLength=1,
                   maxLength=256),
    })
    verify = obj("How often and how long the controller probes the backends.", {
        "interval": duration("Time between periodic probes: 0 turns periodic re-verification off "
                             "(backends are then checked only when the stack changes), otherwise at least 1s.",
                             default="60s"),
        "timeout": duration("Per-probe timeout (at most interval).", default="5s"),
    }, **{"x-kubernetes-validations": [{
        "rule": "!has(self.interval) || !has(self.timeout) || duration(self.interval) == duration('0s') || "
                "duration(self.timeout) <= duration(self.interval)",
        "message": "timeout must not exceed interval"}]})

    spec = obj("Desired state: the backends of one observability stack and how they are linked in Grafana.", {
        "metrics": metrics, "traces": traces, "logs": logs, "profiles": profiles,
        "correlation": correlation, "grafana": grafana, "dashboards": dashboards, "verify": verify,
    }, **{"x-kubernetes-validations": [
        {"rule": "has(self.metrics) || has(self.traces) || has(self.logs) || has(self.profiles)",
         "message": "at least one of metrics, traces, logs, profiles must be set"},
        {"rule": "(has(self.metrics) && has(self.metrics.default) && self.metrics.default ? 1 : 0) + "
                 "(has(self.traces) && has(self.traces.default) && self.traces.default ? 1 : 0) + "
                 "(has(self.logs) && has(self.logs.default) && self.logs.default ? 1 : 0) + "
                 "(has(self.profiles) && has(self.profiles.default) && self.profiles.default ? 1 : 0) <= 1",
         "message": "at most one data source may be the default"},
    ]})

    sigs = ["metrics", "traces", "logs", "profiles"]
    eff = lambda g: (f"(has(self.spec.{g}.uid) ? self.spec.{g}.uid : self.metadata.name + '-{g}')")  # noqa: E731
    pairs = []
    for i in range(4):
        for j in range(i + 1, 4):
            a, c = sigs[i], sigs[j]
            pairs.append(f"(!(has(self.spec.{a}) && has(self.spec.{c})) || {eff(a)} != {eff(c)})")
    uid_rule = " && ".join(pairs)

    cond = obj("metav1.Condition.", {
        "type": s("Ready, ProvisioningApplied, MetricsReachable, TracesReachable, LogsReachable, "
                  "ProfilesReachable, Stalled or Reconciling.", maxLength=316,
                  pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                          r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"),
        "status": s("True, False or Unknown.", enum=["True", "False", "Unknown"]),
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0,
                               "description": "metadata.generation this condition was computed from."},
        "lastTransitionTime": s("When status last changed.", format="date-time"),
        "reason": s("CamelCase reason.", minLength=1, maxLength=1024,
                    pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
        "message": s("Human-readable details.", maxLength=32768),
    }, ["type", "status", "lastTransitionTime", "reason", "message"])
    status = obj("Observed state, written by the controller.", {
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0,
                               "description": "metadata.generation of the last reconciled spec."},
        "conditions": {"type": "array", "maxItems": 16, "description": "Current conditions (kstatus-compatible).",
                       "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"], "items": cond},
        "configMaps": {"type": "array", "maxItems": 8, "description": "Names of the rendered ConfigMaps.",
                       "items": {"type": "string", "maxLength": 253}},
        "renderedDigest": s("sha256 digest of the rendered provisioning.", maxLength=80),
        "signals": {"type": "array", "maxItems": 4, "description": "One entry per configured signal.",
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["signal"],
                    "items": obj("Probe result of one signal.", {
                        "signal": s("The signal.", enum=sigs),
                        "uid": s("Grafana data-source UID.", maxLength=40),
                        "reachable": b("The last probe succeeded."),
                        "version": s("Backend version reported by its build-info endpoint.", maxLength=128),
                        "message": s("What was checked and what was seen.", maxLength=4096),
                    }, ["signal", "uid", "reachable"])},
    })

    root = obj("ObservabilityStack wires a metrics, traces, logs and profiles backend into Grafana: crosslink "
               "renders the data sources (with every cross-signal link) and a service dashboard as "
               "provisioning ConfigMaps, and reports whether each backend is reachable.", {
                   "apiVersion": s("APIVersion of this object."),
                   "kind": s("Kind of this object."),
                   "metadata": {"type": "object"},
                   "spec": spec,
                   "status": status,
               }, ["spec"], **{"x-kubernetes-validations": [
                   {"rule": "size(self.metadata.name) <= 63",
                    "message": "metadata.name must be at most 63 characters"},
                   {"rule": uid_rule,
                    "message": "data source UIDs must be unique within the stack (the default UID is "
                               "<stack name>-<signal>)",
                    "fieldPath": ".spec"},
               ]})

    def col(name, path, desc, typ="string", priority=None):
        c = {"name": name, "type": typ, "jsonPath": path, "description": desc}
        if priority is not None:
            c["priority"] = priority
        return c

    cols = [col("Ready", '.status.conditions[?(@.type=="Ready")].status', "Provisioning applied and every "
                "backend reachable.")]
    for g, t in (("Metrics", "MetricsReachable"), ("Traces", "TracesReachable"), ("Logs", "LogsReachable"),
                 ("Profiles", "ProfilesReachable")):
        cols.append(col(g, f'.status.conditions[?(@.type=="{t}")].status', f"{g} backend reachable."))
    cols.append(col("Reason", '.status.conditions[?(@.type=="Ready")].reason', "Reason of Ready.", priority=1))
    cols.append(col("Age", ".metadata.creationTimestamp", "Age.", typ="date"))

    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "observabilitystacks.crosslink.dev",
                     "labels": {"app.kubernetes.io/name": "crosslink", "app.kubernetes.io/part-of": "crosslink"}},
        "spec": {
            "group": "crosslink.dev",
            "scope": "Namespaced",
            "names": {"plural": "observabilitystacks", "singular": "observabilitystack",
                      "kind": "ObservabilityStack", "listKind": "ObservabilityStackList",
                      "shortNames": ["ostack", "ostacks"], "categories": ["observability"]},
            "versions": [{
                "name": "v1alpha1", "served": True, "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": cols,
                "schema": {"openAPIV3Schema": root},
            }],
        },
    }


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crosslink.dev_observabilitystacks.yaml")
    body = "# Generated by crds/generate.py — edit that file and re-run it.\n" + yaml.safe_dump(
        crd(), sort_keys=False, width=110, allow_unicode=True, default_flow_style=False)
    if sys.argv[1:] == ["--check"]:
        with open(out, encoding="utf-8") as f:
            if f.read() != body:
                print(f"{out} is out of date: run python3 crds/generate.py", file=sys.stderr)
                sys.exit(1)
        return
    with open(out, "w", encoding="utf-8") as f:
        f.write(body)
    print(f"wrote {out} ({len(body)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
