#!/bin/bash
# probe_fanout.sh — how many backend requests do N stacks × 4 signals that all
# point at one backend cost? Generates N ObservabilityStacks against one
# stand-in (tests/standins/standin.py --kind all), runs `crosslink probe` on
# them once, and prints wall time plus the stand-in's own request count.
# With the probe cache the count stays at 4 probes × 3 requests = 12,
# whatever N is.
#   usage: bench/probe_fanout.sh [N=200]   (CROSSLINK=path/to/crosslink)
set -eu
N=${1:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CROSSLINK=${CROSSLINK:-$ROOT/build/controller/crosslink}
TMP=$(mktemp -d /tmp/xl-bench-probe-XXXXXX)
python3 "$ROOT/tests/standins/standin.py" --kind all --tenant bench --port-file "$TMP/port" >"$TMP/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port")
for i in $(seq 1 "$N"); do
  cat <<EOF
---
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: s$i, namespace: bench}
spec:
  metrics:  {url: http://127.0.0.1:$PORT/prometheus, tenant: bench}
  traces:   {url: http://127.0.0.1:$PORT, tenant: bench}
  logs:     {url: http://127.0.0.1:$PORT, tenant: bench}
  profiles: {url: http://127.0.0.1:$PORT, tenant: bench}
EOF
done >"$TMP/stacks.yaml"
start=$(date +%s%N)
"$CROSSLINK" probe -f "$TMP/stacks.yaml" -o json >"$TMP/out.json"
rc=$?
end=$(date +%s%N)
python3 - "$TMP/out.json" "$N" "$(( (end - start) / 1000000 ))" "$(curl -s "http://127.0.0.1:$PORT/__count")" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1])); n = int(sys.argv[2]); ms = int(sys.argv[3]); cnt = json.loads(sys.argv[4])
ok = sum(r["ok"] for r in rows); cached = sum(r["cached"] for r in rows)
print(f"stacks={n} signals={len(rows)} ok={ok} cached={cached} wall_ms={ms} backend_requests={cnt['total']}")
for k, v in sorted(cnt["paths"].items()):
    print(f"  {k}: {v}")
PY
exit $rc
