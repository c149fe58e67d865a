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


def routes_for(kind):
    """(method set, path) → handler name, per kind."""
    r = {}
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
                  "pyro_profile_types"}


class State:
    def __init__(self, args):
        self.args = args
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.counts = {}
        self.total = 0
        self.routes = routes_for(args.kind)
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
        return self.send(200, {"traces": [], "metrics": {"inspectedTraces": 0}})

    def h_loki_buildinfo(self, params, body):
        return self.send(200, {"version": self.version("loki"), "revision": "standin", "branch": "standin",
                               "buildUser": "standin", "buildDate": "2024-01-01", "goVersion": "go1.22"})

    def h_loki_labels(self, params, body):
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
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("PORT %d" % port, flush=True)

    # never outlive the test that started us (killed test → reparented)
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


if __name__ == "__main__":
    sys.exit(main())
