#!/usr/bin/env bash
# controller_bench.sh — measures `crosslink controller` on the local control
# plane: RSS idle and with N stacks (VmRSS/VmHWM from /proc), time for N
# stacks created at once to converge, API writes per unchanged stack (one
# full re-verify round) and per changed stack, and probes started per
# verify interval versus distinct backends. Prints a Markdown table.
#
# Usage: KUBECONFIG=... bench/controller_bench.sh [N=1000]
#        (CROSSLINK defaults to build/controller/crosslink)
set -uo pipefail
N=${1:-1000}
REPO=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CROSSLINK=${CROSSLINK:-$REPO/build/controller/crosslink}
VERIFY=${VERIFY:-20}
WORKERS=${WORKERS:-4}
[[ -n ${KUBECONFIG:-} ]] || { echo "KUBECONFIG must be set (tests/cluster/up)"; exit 1; }
kubectl get --raw /readyz >/dev/null || { echo "API server unreachable"; exit 1; }
kubectl apply -f "$REPO/crds/crosslink.dev_observabilitystacks.yaml" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/observabilitystacks.crosslink.dev >/dev/null

NS=xl-bench-$(date +%s)
TMP=$(mktemp -d /tmp/xl-bench.XXXXXX)
kubectl create namespace "$NS" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CROSSLINK" controller --namespaces "$NS" --metrics-addr "127.0.0.1:$PORT" --health-addr "127.0.0.1:$PORT" \
	--verify-interval "${VERIFY}s" --workers "$WORKERS" --log-level warn >"$TMP/ctl.log" 2>&1 &
PID=$!
cleanup() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

m() { curl -sf --noproxy '*' "http://127.0.0.1:$PORT/metrics"; }
sum() { m | awk -v re="$1" '$0 ~ re { s += $NF } END { printf "%d\n", s + 0 }'; }
writes() { sum '^rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)"'; }
reconciles() { sum '^controller_runtime_reconcile_total\{'; }
probes() { sum '^crosslink_backend_probe_duration_seconds_count'; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$PID/status"; }
anon() { awk '/^RssAnon/ { print $2 }' "/proc/$PID/status"; }
kib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
now_ms() { date +%s%3N; }
seen() { sum '^crosslink_stacks\{'; }
depth() { sum '^workqueue_depth\{'; }

for ((i = 0; i < 300; i++)); do curl -sf --noproxy '*' "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
sleep 3
IDLE_RSS=$(rss)
IDLE_HWM=$(hwm)
IDLE_ANON=$(anon)

# ---- N stacks at once -----------------------------------------------------------
mkdir -p "$TMP/parts"
for ((i = 0; i < N; i++)); do
	cat <<EOF >>"$TMP/parts/p$((i % 10)).yaml"
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: s$i, namespace: $NS}
spec:
  metrics: {url: "http://127.0.0.1:1/prometheus"}
  traces: {url: "http://127.0.0.1:1"}
---
EOF
done
W0=$(writes)
T0=$(now_ms)
ls "$TMP"/parts/*.yaml | xargs -P 10 -n 1 kubectl create -f >/dev/null 2>&1
T_CREATED=$(now_ms)
while (($(seen) < N || $(depth) > 0)); do
	(($(now_ms) - T0 > 300000)) && break
	sleep 0.2
done
T_CONV=$(now_ms)
CONVERGED=$(kubectl -n "$NS" get ostack -o json | python3 -c '
import json, sys
n = 0
for it in json.load(sys.stdin)["items"]:
    st = it.get("status", {})
    c = {x["type"]: x["status"] for x in st.get("conditions", [])}
    n += st.get("observedGeneration") == it["metadata"]["generation"] and c.get("ProvisioningApplied") == "True"
print(n)')
W1=$(writes)
RT_SUM=$(m | awk '/^controller_runtime_reconcile_time_seconds_sum/ { s += $NF } END { print s + 0 }')
RT_CNT=$(sum '^controller_runtime_reconcile_time_seconds_count')
sleep 2
LOADED_RSS=$(rss)
LOADED_HWM=$(hwm)
LOADED_ANON=$(anon)

# ---- unchanged stacks: one full re-verify round ---------------------------------------
sleep 3
W2=$(writes)
R2=$(reconciles)
P2=$(probes)
sleep $((VERIFY * 13 / 10))
W3=$(writes)
R3=$(reconciles)
P3=$(probes)

# ---- changed stacks ---------------------------------------------------------------------
K=20
W4=$(writes)
for ((i = 0; i < K; i++)); do
	kubectl -n "$NS" patch ostack "s$i" --type merge -p '{"spec":{"correlation":{"serviceLabel":"svc"}}}' >/dev/null
done
changed_done() {
	kubectl -n "$NS" get ostack -o json | python3 -c '
import json, sys
k = int(sys.argv[1]); n = 0
for it in json.load(sys.stdin)["items"]:
    if it["metadata"]["generation"] == 2 and it.get("status", {}).get("observedGeneration") == 2:
        n += 1
sys.exit(0 if n == k else 1)' "$K"
}
for ((i = 0; i < 300; i++)); do changed_done && break; sleep 0.2; done
sleep 2
W5=$(writes)
FINAL_HWM=$(hwm)

cat <<EOF
| measure | value |
|---|---|
| stacks, workers | $N, $WORKERS |
| idle RSS (VmRSS / VmHWM / private RssAnon) | $(kib "$IDLE_RSS") / $(kib "$IDLE_HWM") / $(kib "$IDLE_ANON") |
| RSS with $N stacks (VmRSS / VmHWM / private RssAnon) | $(kib "$LOADED_RSS") / $(kib "$LOADED_HWM") / $(kib "$LOADED_ANON") |
| peak RSS over the whole run (VmHWM) | $(kib "$FINAL_HWM") |
| create $N stacks (10 parallel kubectl) | $((T_CREATED - T0)) ms |
| all $N reconciled, queue empty (from first create) | $((T_CONV - T0)) ms |
| after the last create returned | $((T_CONV - T_CREATED)) ms |
| stacks converged (observedGeneration + ProvisioningApplied) | $CONVERGED / $N |
| reconciles during convergence, mean reconcile time | $RT_CNT, $(awk -v s="$RT_SUM" -v c="$RT_CNT" 'BEGIN { printf "%.1f ms", c ? 1000 * s / c : 0 }') |
| API writes to converge $N new stacks | $((W1 - W0)) ($(awk -v a=$((W1 - W0)) -v n="$N" 'BEGIN { printf "%.2f", a / n }') per stack, incl. Events) |
| re-verify round (${VERIFY}s interval ±10%): reconciles | $((R3 - R2)) |
| writes during that round (unchanged stacks) | $((W3 - W2)) |
| probes started during that round (2 distinct backends) | $((P3 - P2)) |
| writes for $K changed stacks | $((W5 - W4)) ($(awk -v a=$((W5 - W4)) -v n="$K" 'BEGIN { printf "%.2f", a / n }') per stack) |
EOF
