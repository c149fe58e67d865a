#!/usr/bin/env python3
"""ready_watch.py — follows `kubectl get ostack -w -o json` in one namespace
(one list + one watch, so polling does not load the apiserver) and prints
"READY <epoch-ms>" once WANT stacks are Ready at their current generation
(status.observedGeneration == metadata.generation and condition Ready=True),
then exits. Also prints "SEEN <n>" every time the count of ready stacks
crosses a multiple of 500 (progress for long runs).

Usage: ready_watch.py NAMESPACE WANT [TIMEOUT_S=900]
"""
import json
import subprocess
import sys
import time


def ready(obj):
    st = obj.get("status") or {}
    if st.get("observedGeneration") != obj["metadata"].get("generation"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])


def main():
    ns, want = sys.argv[1], int(sys.argv[2])
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 900.0
    deadline = time.time() + timeout
    p = subprocess.Popen(["kubectl", "-n", ns, "get", "observabilitystacks.crosslink.dev", "-w", "-o", "json",
                          "--output-watch-events"], stdout=subprocess.PIPE, text=True, bufsize=1 << 20)
    dec = json.JSONDecoder()
    buf = ""
    ok = set()
    last = 0
    try:
        while time.time() < deadline:
            chunk = p.stdout.readline()
            if not chunk:
                break
            buf += chunk
            while True:
                s = buf.lstrip()
                if not s:
                    buf = ""
                    break
                try:
                    ev, end = dec.raw_decode(s)
                except ValueError:
                    buf = s
                    break
                buf = s[end:]
                obj = ev.get("object", ev)
                items = obj.get("items") if obj.get("kind", "").endswith("List") else [obj]
                for it in items or []:
                    name = it["metadata"]["name"]
                    if ev.get("type") != "DELETED" and ready(it):
                        ok.add(name)
                    else:
                        ok.discard(name)
                if len(ok) // 500 > last:
                    last = len(ok) // 500
                    print("SEEN %d" % len(ok), flush=True)
                if len(ok) >= want:
                    print("READY %d" % int(time.time() * 1000), flush=True)
                    return 0
    finally:
        p.kill()
        p.wait()
    print("TIMEOUT %d ready of %d" % (len(ok), want), flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
