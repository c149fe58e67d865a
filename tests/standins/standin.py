#!/usr/bin/env python3
"""standin.py — a small HTTP stand-in for Mimir, Tempo, Loki and Pyroscope that
answers exactly the health/version/tenant-checked endpoints documented in
shared/docs/grafana.md §D (and 404s everything else), and can be told to fail.

Python 3 standard library only. Used by the pkg/probe tests and the
`crosslink probe` CLI tests.

  standin.py --kind tempo|loki|pyroscope|mimir|all [--host 127.0.0.1] [--port N]
             [--port-file F] [--tenant T] [--require-basic USER:PASS]
             [--require-bearer TOKEN] [--fail-mode MODE] [--slow-seconds S]
             [--tls-cert F --tls-key F] [--version V] [--application NAME]

Fail modes: none | 500 (tenant-checked query answers 500) | slow (every
documented endpoint sleeps --slow-seconds before answering) | badbody (the
query answers 200 with a non-JSON body) | notready (/ready answers 503 forever)
| notready-for-N-seconds (/ready answers 503 for N s after start, like Loki's
min_ready_duration).

Auth (--require-basic / --require-bearer) is enforced on every documented
endpoint, like a gateway; --tenant (X-Scope-OrgID) only on the tenant-checked
query, like the backends (missing → 401 "no org id", other tenant → 401).

Link data (--links-case CASE, with --kind all|tempo|loki|pyroscope): the
stand-in also holds one consistent data set for link verification
(docs/links.md) and answers, with the documented shapes: Tempo
GET /api/traces/<id> (OTLP JSON {batches}, ids base64) and GET /api/search
(the case's trace); Loki GET /loki/api/v1/query_range (a LogQL subset: one
stream selector of = matchers, then `|= "x"`, `| label_format …contains "x"
__line__… or trace_id="x"`, `| logfmt`, `| json` and `| k="x"`
filters), /loki/api/v1/labels and
/loki/api/v1/series (match[] of `{k=~".+"}`); Pyroscope POST
/querier.v1.QuerierService/SelectMergeSpanProfile, SelectMergeStacktraces
and Series (Connect JSON); and GET /metrics, an OpenMetrics exposition
(not a backend path: Prometheus scrapes it) of the histogram
<--request-metric> whose buckets carry exemplars with the trace id, plus
traces_service_graph_request_total. Cases: consistent | otlp (trace id only
in structured metadata) | app-label (Loki streams labelled app, not
service_name) | no-exemplars | missing-trace (the exemplar names a trace
Tempo does not have) | no-profiles | tenant-mismatch (same data as
consistent; start the Loki of the case with another --tenant).

Test hooks (not documented backend paths): GET /__count → {"total": N,
"paths": {"GET /ready": n, …}} counting every request to a documented path;
POST /__reset zeroes the counts. With --port 0 the chosen port is written to
--port-file (and printed as "PORT <n>" on stdout). The process exits by itself
when its parent dies.
"""
import argparse
import base64
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSIONS = {"mimir": "2.14.0", "tempo": "2.6.1", "loki": "3.2.0", "pyroscope": "1.9.0"}


def routes_for(kind, links=False):
    """(method set, path) → handler name, per kind."""
    r = {}
    if links:
        if kind in ("all", "tempo"):
            r[("GET", "/api/traces/")] = "tempo_trace"  # prefix, see dispatch
        if kind in ("all", "loki"):
            r[("GET", "/loki/api/v1/query_range")] = "loki_query_range"
            r[("GET", "/loki/api/v1/series")] = "loki_series"
        if kind in ("all", "pyroscope"):
            r[("POST", "/querier.v1.QuerierService/SelectMergeSpanProfile")] = "pyro_select_span"
            r[("POST", "/querier.v1.QuerierService/SelectMergeStacktraces")] = "pyro_select_merge"
            r[("POST", "/querier.v1.QuerierService/Series")] = "pyro_series"
        r[("GET", "/metrics")] = "openmetrics"
    kinds = ["mimir", "tempo", "loki", "pyroscope"] if kind == "all" else [kind]
    for k in kinds:
        if k == "mimir":
            if kind == "mimir":  # in "all" mode the root one is Pyroscope's
                r[("GET", "/api/v1/status/buildinfo")] = "mimir_buildinfo"
            r[("GET", "/prometheus/api/v1/status/buildinfo")] = "mimir_buildinfo"
            r[("GET", "/prometheus/api/v1/query")] = "mimir_query"
            r[("POST", "/prometheus/api/v1/query")] = "mimir_query"
        elif k == "tempo":
            r[("GET", "/api/status/buildinfo")] = "tempo_buildinfo"
            r[("GET", "/api/echo")] = "tempo_echo"
            r[("GET", "/api/search/tags")] = "tempo_tags"
            r[("GET", "/api/search")] = "tempo_search"
        elif k == "loki":
            r[("GET", "/loki/api/v1/status/buildinfo")] = "loki_buildinfo"
            r[("GET", "/loki/api/v1/labels")] = "loki_labels"
            r[("GET", "/loki/api/v1/query")] = "loki_query"
            r[("POST", "/loki/api/v1/query")] = "loki_query"
        elif k == "pyroscope":
            r[("GET", "/api/v1/status/buildinfo")] = "pyro_buildinfo"
            r[("POST", "/querier.v1.QuerierService/ProfileTypes")] = "pyro_profile_types"
    r[("GET", "/ready")] = "ready"
    return r


TENANT_CHECKED = {"mimir_query", "tempo_tags", "tempo_search", "loki_labels", "loki_query",
                  "pyro_profile_types", "tempo_trace", "loki_query_range", "loki_series", "pyro_select_span",
                  "pyro_select_merge", "pyro_series"}

LINK_CASES = ("consistent", "otlp", "app-label", "no-exemplars", "missing-trace", "no-profiles", "tenant-mismatch")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
MISSING_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
ROOT_SPAN = "00f067aa0ba902b7"
CHILD_SPAN = "53995c3f42cd8ad8"
SERVICE = "checkout"
NAMESPACE = "shop"


class LinkData:
    """One consistent data set for link verification, anchored at start."""

    def __init__(self, case, metric):
        self.case = case
        self.metric = metric
        self.t0 = time.time() - 5.0
        self.start_ns = int(self.t0 * 1e9)
        self.end_ns = self.start_ns + 120_000_000

    def b64(self, hexid):
        return base64.b64encode(bytes.fromhex(hexid)).decode()

    def trace(self):
        def attr(k, v):
            return {"key": k, "value": {"stringValue": v}}
        root = {"traceId": self.b64(TRACE_ID), "spanId": self.b64(ROOT_SPAN), "name": "POST /checkout",
                "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": str(self.start_ns),
                "endTimeUnixNano": str(self.end_ns),
                "attributes": [attr("http.route", "/checkout")]}
        if self.case != "no-profiles":
            root["attributes"].append(attr("pyroscope.profile.id", ROOT_SPAN))
        child = {"traceId": self.b64(TRACE_ID), "spanId": self.b64(CHILD_SPAN),
                 "parentSpanId": self.b64(ROOT_SPAN), "name": "charge card",
                 "startTimeUnixNano": str(self.start_ns + 10_000_000),
                 "endTimeUnixNano": str(self.start_ns + 90_000_000), "attributes": []}
        return {"batches": [{"resource": {"attributes": [attr("service.name", SERVICE),
                                                         attr("k8s.namespace.name", NAMESPACE)]},
                             "scopeSpans": [{"scope": {"name": "standin"}, "spans": [root, child]}]}]}

    def streams(self):
        """[(stream labels, [(ts_ns, line, structured metadata)])]"""
        ts = self.start_ns + 20_000_000
        if self.case == "app-label":
            lbl = {"app": SERVICE, "namespace": NAMESPACE}
        else:
            lbl = {"service_name": SERVICE, "k8s_namespace_name": NAMESPACE}
        if self.case == "otlp":
            entries = [(ts, "charged card amount=42", {"trace_id": TRACE_ID, "span_id": CHILD_SPAN}),
                       (ts + 1000, "order stored", {"trace_id": TRACE_ID, "span_id": ROOT_SPAN})]
        else:
            entries = [(ts, "level=info msg=\"charged card\" trace_id=%s span_id=%s" % (TRACE_ID, CHILD_SPAN), {}),
                       (ts + 1000, "level=info msg=\"order stored\" traceID=%s" % TRACE_ID, {})]
        return [(lbl, entries)]

    def openmetrics(self):
        m = self.metric
        up = max(1, int(time.time() - self.t0))
        tid = MISSING_TRACE_ID if self.case == "missing-trace" else TRACE_ID
        ex = "" if self.case == "no-exemplars" else ' # {trace_id="%s"} 0.12' % tid
        lbl = 'service_name="%s",k8s_namespace_name="%s"' % (SERVICE, NAMESPACE)
        out = ["# TYPE %s histogram" % m, "# UNIT %s seconds" % m]
        for le, cnt, e in (("0.05", up, ""), ("0.25", 2 * up, ex), ("+Inf", 2 * up, "")):
            out.append('%s_bucket{%s,le="%s"} %d%s' % (m, lbl, le, cnt, e))
        out.append("%s_count{%s} %d" % (m, lbl, 2 * up))
        out.append("%s_sum{%s} %.3f" % (m, lbl, 0.15 * up))
        out.append("# TYPE traces_service_graph_request counter")
        out.append('traces_service_graph_request_total{client="frontend",server="%s",case="%s"} %d'
                   % (SERVICE, self.case, up))
        out.append("# EOF")
        return "\n".join(out) + "\n"


def parse_selector(expr):
    """'{a="b", c="d"} | …' → ({a: b, c: d}, rest) or (None, expr)."""
    import re
    m = re.match(r'\s*\{([^}]*)\}(.*)$', expr, re.S)
    if not m:
        return None, expr
    sel = {}
    for part in re.finditer(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?', m.group(1)):
        sel[part.group(1)] = (part.group(2), part.group(3))
    return sel, m.group(2)


def sel_match(sel, labels):
    import re
    for k, (op, v) in sel.items():
        have = labels.get(k)
        if op == "=" and have != v:
            return False
        if op == "!=" and have == v:
            return False
        if op == "=~" and (have is None or not re.fullmatch(v, have)):
            return False
    return True


def pipeline_keep(rest, line, labels):
    """The LogQL subset Grafana's trace-to-logs queries use (plus | logfmt and
    | json, which add the line's fields as labels)."""
    import re
    if re.search(r'\|\s*logfmt\b', rest):
        labels = dict(labels)
        for m in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)', line):
            labels.setdefault(m.group(1), m.group(2).strip('"'))
        rest = re.sub(r'\|\s*logfmt\b', "", rest)
    if re.search(r'\|\s*json\b', rest):
        labels = dict(labels)
        try:
            obj = json.loads(line)
            if isinstance(obj, dict):
                for k, v in obj.items():
                    if isinstance(v, (str, int, float)):
                        labels.setdefault(k, str(v))
        except ValueError:
            pass
        rest = re.sub(r'\|\s*json\b', "", rest)
    for m in re.finditer(r'contains\s+"([^"]+)"\s+__line__.*?or\s+([A-Za-z_]+)="([^"]+)"', rest):
        if not (m.group(1) in line or labels.get(m.group(2)) == m.group(3)):
            return False
        rest = rest.replace(m.group(0), "")
    for m in re.finditer(r'\|=\s*"([^"]*)"', rest):
        if m.group(1) not in line:
            return False
    for m in re.finditer(r'\|\s*([A-Za-z_]+)\s*=\s*"([^"]*)"', rest):
        if labels.get(m.group(1)) != m.group(2):
            return False
    return True


class State:
    def __init__(self, args):
        self.args = args
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.counts = {}
        self.total = 0
        self.routes = routes_for(args.kind, bool(args.links_case))
        self.links = LinkData(args.links_case, args.request_metric) if args.links_case else None
        self.notready_for = None
        fm = args.fail_mode
        if fm == "notready":
            self.notready_for = float("inf")
        elif fm.startswith("notready-for-"):
            self.notready_for = float(fm[len("notready-for-"):].removesuffix("-seconds").rstrip("s"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1"

    def log_message(self, fmt, *a):  # quiet
        pass

    # ---- plumbing ----
    def send(self, code, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        st = self.server.state
        u = urllib.parse.urlsplit(self.path)
        path = u.path
        body = self.read_body()
        if path == "/__count" and method == "GET":
            with st.lock:
                return self.send(200, {"total": st.total, "paths": dict(st.counts)})
        if path == "/__reset" and method == "POST":
            with st.lock:
                st.counts.clear()
                st.total = 0
            return self.send(200, {})
        name = st.routes.get((method, path))
        if name is None and st.links and method == "GET" and path.startswith("/api/traces/") \
                and ("GET", "/api/traces/") in st.routes:
            name = "tempo_trace"
        if name is None:
            if any(p == path for (_, p) in st.routes):
                return self.send(405, "method not allowed\n", "text/plain")
            return self.send(404, "404 page not found\n", "text/plain")
        with st.lock:
            key = method + " " + path
            st.counts[key] = st.counts.get(key, 0) + 1
            st.total += 1
        a = st.args
        if a.fail_mode == "slow":
            time.sleep(a.slow_seconds)
        if not self.auth_ok():
            return self.send(401, "unauthorized\n", "text/plain")
        if name in TENANT_CHECKED and a.tenant is not None:
            org = self.headers.get("X-Scope-OrgID")
            if not org:
                if name == "pyro_profile_types":
                    return self.send(401, {"code": "unauthenticated", "message": "no org id"})
                return self.send(401, "no org id\n", "text/plain")
            if org != a.tenant:
                return self.send(401, "unknown tenant\n", "text/plain")
        if name in TENANT_CHECKED and a.fail_mode == "500":
            return self.send(500, "internal server error: injected failure\n", "text/plain")
        if name in TENANT_CHECKED and a.fail_mode == "badbody":
            return self.send(200, "<html>definitely not json</html>", "text/html")
        params = dict(urllib.parse.parse_qsl(u.query))
        self.multi = urllib.parse.parse_qs(u.query)
        if method == "POST" and self.headers.get("Content-Type", "").startswith(
                "application/x-www-form-urlencoded"):
            params.update(dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"))))
        return getattr(self, "h_" + name)(params, body)

    def auth_ok(self):
        a = self.server.state.args
        got = self.headers.get("Authorization", "")
        if a.require_basic:
            want = "Basic " + base64.b64encode(a.require_basic.encode()).decode()
            if got != want:
                return False
        if a.require_bearer:
            if got != "Bearer " + a.require_bearer:
                return False
        return True

    def version(self, kind):
        return self.server.state.args.version or VERSIONS[kind]

    # ---- endpoints ----
    def h_ready(self, params, body):
        st = self.server.state
        if st.notready_for is not None and time.monotonic() - st.start < st.notready_for:
            return self.send(503, "Ingester not ready: waiting for 15s after being ready\n", "text/plain")
        return self.send(200, "ready\n", "text/plain")

    def h_mimir_buildinfo(self, params, body):
        return self.send(200, {"status": "success", "data": {
            "application": self.server.state.args.application, "version": self.version("mimir"), "revision": "standin",
            "branch": "standin", "goVersion": "go1.22", "features": {"ruler_config_api": "true"}}})

    def h_mimir_query(self, params, body):
        q = params.get("query", "").replace(" ", "")
        if q != "1+1":
            return self.send(400, {"status": "error", "errorType": "bad_data",
                                   "error": "stand-in only evaluates 1+1"})
        return self.send(200, {"status": "success",
                               "data": {"resultType": "scalar", "result": [time.time(), "2"]}})

    def h_tempo_buildinfo(self, params, body):
        return self.send(200, {"version": self.version("tempo"), "revision": "standin", "branch": "standin",
                               "buildUser": "standin", "buildDate": "2024-01-01", "goVersion": "go1.22"})

    def h_tempo_echo(self, params, body):
        return self.send(200, "echo", "text/plain")

    def h_tempo_tags(self, params, body):
        return self.send(200, {"tagNames": ["service.name", "http.route"]})

    def h_tempo_search(self, params, body):
        ld = self.server.state.links
        if ld:
            return self.send(200, {"traces": [{"traceID": TRACE_ID, "rootServiceName": SERVICE,
                                               "rootTraceName": "POST /checkout",
                                               "startTimeUnixNano": str(ld.start_ns), "durationMs": 120}],
                                   "metrics": {"inspectedTraces": 1}})
        return self.send(200, {"traces": [], "metrics": {"inspectedTraces": 0}})

    def h_tempo_trace(self, params, body):
        ld = self.server.state.links
        tid = urllib.parse.urlsplit(self.path).path[len("/api/traces/"):].lower()
        if tid != TRACE_ID:
            return self.send(404, "trace not found\n", "text/plain")
        return self.send(200, ld.trace())

    def loki_window(self, params):
        now = time.time_ns()
        return int(params.get("start", now - 3600 * 10**9)), int(params.get("end", now))

    def h_loki_query_range(self, params, body):
        ld = self.server.state.links
        sel, rest = parse_selector(params.get("query", ""))
        if sel is None or not sel:
            return self.send(400, "parse error: queries require at least one stream selector\n", "text/plain")
        start, end = self.loki_window(params)
        limit = int(params.get("limit", "100"))
        result = []
        for lbl, entries in ld.streams():
            if not sel_match(sel, lbl):
                continue
            vals = []
            for ts, line, meta in entries:
                full = dict(lbl)
                full.update(meta)
                if start <= ts <= end and pipeline_keep(rest, line, full) and len(vals) < limit:
                    vals.append([str(ts), line, {"structuredMetadata": meta}] if meta else [str(ts), line])
            if vals:
                # like Loki without categorize-labels: structured metadata merged into the stream labels
                stream = dict(lbl)
                for v in vals:
                    if len(v) == 3:
                        stream.update(v[2]["structuredMetadata"])
                result.append({"stream": stream, "values": vals})
        return self.send(200, {"status": "success", "data": {"resultType": "streams", "result": result,
                                                             "stats": {}}})

    def h_loki_series(self, params, body):
        ld = self.server.state.links
        out = []
        for m in self.multi.get("match[]", []):
            sel, _ = parse_selector(m)
            for lbl, _e in ld.streams():
                if sel and sel_match(sel, lbl) and lbl not in out:
                    out.append(lbl)
        return self.send(200, {"status": "success", "data": out})

    def pyro_req(self, body):
        try:
            return json.loads(body.decode() or "{}")
        except ValueError:
            return None

    def flame(self, total):
        if total == 0:
            return {"flamegraph": {"names": [], "levels": [], "total": "0", "maxSelf": "0"}}
        return {"flamegraph": {"names": ["total", "main", "chargeCard"],
                               "levels": [{"values": ["0", str(total), "0", "0"]},
                                          {"values": ["0", str(total), "10", "1"]},
                                          {"values": ["0", str(total - 10), str(total - 10), "2"]}],
                               "total": str(total), "maxSelf": str(total - 10)}}

    def pyro_has(self, req, span):
        ld = self.server.state.links
        if ld.case == "no-profiles" or req is None:
            return False
        sel, _ = parse_selector(req.get("labelSelector", ""))
        if sel is None or not sel_match(sel, {"service_name": SERVICE, "service_namespace": NAMESPACE}):
            return False
        if req.get("profileTypeID") != "process_cpu:cpu:nanoseconds:cpu:nanoseconds":
            return False
        if span and ROOT_SPAN not in req.get("spanSelector", []):
            return False
        return True

    def h_pyro_select_span(self, params, body):
        req = self.pyro_req(body)
        return self.send(200, self.flame(100 if self.pyro_has(req, True) else 0))

    def h_pyro_select_merge(self, params, body):
        req = self.pyro_req(body)
        return self.send(200, self.flame(250 if self.pyro_has(req, False) else 0))

    def h_pyro_series(self, params, body):
        if self.server.state.links.case == "no-profiles":
            return self.send(200, {"labelsSet": []})
        return self.send(200, {"labelsSet": [{"labels": [
            {"name": "__profile_type__", "value": "process_cpu:cpu:nanoseconds:cpu:nanoseconds"},
            {"name": "service_name", "value": SERVICE}]}]})

    def h_openmetrics(self, params, body):
        return self.send(200, self.server.state.links.openmetrics(),
                         "application/openmetrics-text; version=1.0.0; charset=utf-8")

    def h_loki_buildinfo(self, params, body):
        return self.send(200, {"version": self.version("loki"), "revision": "standin", "branch": "standin",
                               "buildUser": "standin", "buildDate": "2024-01-01", "goVersion": "go1.22"})

    def h_loki_labels(self, params, body):
        ld = self.server.state.links
        if ld:
            names = sorted({k for lbl, _e in ld.streams() for k in lbl})
            return self.send(200, {"status": "success", "data": names})
        return self.send(200, {"status": "success", "data": []})

    def h_loki_query(self, params, body):
        q = params.get("query", "").replace(" ", "")
        if q != "vector(1)+vector(1)":
            return self.send(400, "parse error: stand-in only evaluates vector(1)+vector(1)\n", "text/plain")
        return self.send(200, {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [time.time(), "2"]}], "stats": {}}})

    def h_pyro_buildinfo(self, params, body):
        return self.send(200, {"status": "success", "data": {
            "version": self.version("pyroscope"), "revision": "standin", "branch": "standin",
            "goVersion": "go1.22"}})

    def h_pyro_profile_types(self, params, body):
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return self.send(415, {"code": "unknown", "message": "unsupported content type"})
        try:
            json.loads(body.decode() or "{}")
        except ValueError:
            return self.send(400, {"code": "invalid_argument", "message": "bad json"})
        return self.send(200, {"profileTypes": [{
            "ID": "process_cpu:cpu:nanoseconds:cpu:nanoseconds", "name": "process_cpu",
            "sampleType": "cpu", "sampleUnit": "nanoseconds", "periodType": "cpu",
            "periodUnit": "nanoseconds"}]})


def serve(srv, port_file):
    """Announces srv's port (PORT line on stdout, and port_file written
    atomically when given), serves until interrupted, and never outlives the
    test that started it (a killed test reparents us: exit). Shared with
    faultserver.py. Returns 0."""
    port = srv.server_address[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, port_file)
    print("PORT %d" % port, flush=True)
    parent = os.getppid()

    def watch_parent():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kind", required=True, choices=["tempo", "loki", "pyroscope", "mimir", "all"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--tenant")
    p.add_argument("--require-basic")
    p.add_argument("--require-bearer")
    p.add_argument("--fail-mode", default="none")
    p.add_argument("--slow-seconds", type=float, default=30.0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--version")
    p.add_argument("--application", default="Grafana Mimir", help="Mimir buildinfo application")
    p.add_argument("--links-case", choices=LINK_CASES, help="hold this link-verification data set")
    p.add_argument("--request-metric", default="http_server_request_duration_seconds",
                   help="histogram name of the /metrics exposition (--links-case)")
    args = p.parse_args()
    fm = args.fail_mode
    if fm not in ("none", "500", "slow", "badbody", "notready") and not fm.startswith("notready-for-"):
        p.error("unknown --fail-mode " + fm)

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.state = State(args)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # handshake in the handler thread, not in accept()
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    return serve(srv, args.port_file)


if __name__ == "__main__":
    sys.exit(main())
