#!/usr/bin/env python3
"""faultserver.py — a hostile HTTP backend for the controller's fault tests
(tests/integration/it_faults_backends.sh). Python 3 standard library only.

The first path segment picks the fault, so one server stands in for many
broken backends: a stack's URL http://127.0.0.1:P/<mode>/prometheus sends
every probe request of that stack to <mode>:

  hang     read the request, then never answer (the socket stays open)
  reset    read the request, then close with RST (SO_LINGER 0)
  garbage  200 application/json whose body is not JSON
  rawbytes bytes that are not HTTP at all, then close
  huge     200 application/json with a 10 MiB body (a never-ending JSON string)
  401 403 500 that status with a short text body

  faultserver.py [--host 127.0.0.1] [--port N] [--port-file F] [--huge-mib N]

GET /__count → {"<mode>": n, …} counts requests per mode (test hook). With
--port 0 the chosen port is written to --port-file. Exits by itself when
its parent dies. Healthy backends and TLS faults (wrong CA, expired
certificate) are tests/standins/standin.py with --tls-cert/--tls-key.
"""
import argparse
import json
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standin import serve  # same folder: on sys.path when run as a script

MODES = ("hang", "reset", "garbage", "rawbytes", "huge", "401", "403", "500")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultserver/1"

    def log_message(self, fmt, *a):  # quiet
        pass

    def do_GET(self):
        self.fault()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 0:
            self.rfile.read(min(n, 1 << 20))
        self.fault()

    def send_text(self, code, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def fault(self):
        st = self.server
        parts = self.path.split("?", 1)[0].split("/")
        mode = parts[1] if len(parts) > 1 else ""
        if mode == "__count":
            with st.lock:
                return self.send_text(200, json.dumps(st.counts), "application/json")
        if mode not in MODES:
            return self.send_text(404, "404 page not found\n")
        with st.lock:
            st.counts[mode] = st.counts.get(mode, 0) + 1
        if mode == "hang":
            # hold the connection until the client gives up (or 10 min)
            self.close_connection = True
            self.connection.settimeout(600)
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            return None
        if mode == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return None
        if mode == "rawbytes":
            self.close_connection = True
            self.wfile.write(b"\x00\xff\xfeSSH-2.0-not-http\r\n\x16\x03\x01garbage\r\n\r\n")
            return None
        if mode == "garbage":
            return self.send_text(200, '{"status": "success", "data": {"version": [1, 2,,, \x00 }}',
                                  "application/json")
        if mode == "huge":
            n = st.huge_bytes
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"A" * 65536
            try:
                head = b'{"status":"success","data":{"version":"'
                self.wfile.write(head)
                left = n - len(head)
                while left > 0:
                    w = chunk if left >= len(chunk) else chunk[:left]
                    self.wfile.write(w)
                    left -= len(w)
            except OSError:
                pass  # the client stopped reading: the point of the test
            self.close_connection = True
            return None
        code = int(mode)
        return self.send_text(code, "%d injected by faultserver\n" % code)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--huge-mib", type=int, default=10)
    args = p.parse_args()

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.request_queue_size = 128  # many probes connect at once
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.lock = threading.Lock()
    srv.counts = {}
    srv.huge_bytes = args.huge_mib << 20
    return serve(srv, args.port_file)


if __name__ == "__main__":
    sys.exit(main())
