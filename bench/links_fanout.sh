#!/usr/bin/env bash
# links_fanout.sh — what do N stacks cost in link-check queries (condition
# LinksVerified, issue #13) when they share backends? N stacks (default
# uids/names, so each is its own Grafana data-source set) split over G
# distinct backend sets: G stand-ins (tests/standins/standin.py --kind all
# --links-case consistent: Tempo + Loki + Pyroscope) and one REAL Prometheus
# (exemplar storage) scraping all of them. A controller runs with
# --verify-interval VERIFY; once every stack shows LinksVerified=True the
# stand-ins' request counters are reset and read again after WINDOW seconds.
# Prints requests per stand-in, link-check rounds
# (crosslink_link_checks_total{link="traces_logs"}) and status writes in the
# window. Expected: rounds per interval = G, not N.
#   usage: KUBECONFIG=… bench/links_fanout.sh [N=1000] [G=2]
#          (VERIFY=20 WINDOW=60 CROSSLINK=build/controller/crosslink)
set -uo pipefail
N=${1:-1000}
G=${2:-2}
REPO=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CROSSLINK=${CROSSLINK:-$REPO/build/controller/crosslink}
VERIFY=${VERIFY:-20}
WINDOW=${WINDOW:-60}
METRIC=http_server_request_duration_seconds
[[ -n ${KUBECONFIG:-} ]] || { echo "KUBECONFIG must be set (tests/cluster/up)"; exit 1; }
kubectl get --raw /readyz >/dev/null || { echo "API server unreachable"; exit 1; }
kubectl apply -f "$REPO/crds/crosslink.dev_observabilitystacks.yaml" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/observabilitystacks.crosslink.dev >/dev/null

NS=xl-bench-links-$(date +%s)
TMP=$(mktemp -d /tmp/xl-bench-links.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
kubectl create namespace "$NS" >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SP=()
for ((g = 0; g < G; g++)); do
	python3 "$REPO/tests/standins/standin.py" --kind all --tenant team-a --links-case consistent \
		--request-metric "$METRIC" --port-file "$TMP/s$g.port" >"$TMP/s$g.log" 2>&1 &
	PIDS+=($!)
done
for ((g = 0; g < G; g++)); do
	for _ in $(seq 100); do [[ -s $TMP/s$g.port ]] && break; sleep 0.1; done
	SP[g]=$(cat "$TMP/s$g.port")
done
PPORT=$(free_port)
{
	echo "global: {scrape_interval: 1s, evaluation_interval: 1s}"
	echo "scrape_configs:"
	for ((g = 0; g < G; g++)); do
		echo "- job_name: s$g"
		echo "  static_configs: [{targets: ['127.0.0.1:${SP[g]}']}]"
	done
} >"$TMP/prometheus.yml"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --enable-feature=exemplar-storage >"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do
	n=$(curl -sf --noproxy '*' "http://127.0.0.1:$PPORT/api/v1/query_exemplars?query=%7B__name__%3D~%22http_.%2A%22%7D&start=0&end=9999999999" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))' 2>/dev/null)
	[[ ${n:-0} -ge 1 ]] && break
	sleep 0.2
done

PORT=$(free_port)
"$CROSSLINK" controller --namespaces "$NS" --metrics-addr "127.0.0.1:$PORT" --health-addr "127.0.0.1:$PORT" \
	--verify-interval "${VERIFY}s" --log-level warn >"$TMP/ctl.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 300; i++)); do curl -sf --noproxy '*' "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

m() { curl -sf --noproxy '*' "http://127.0.0.1:$PORT/metrics"; }
sum() { m | awk -v re="$1" '$0 ~ re { s += $NF } END { printf "%d\n", s + 0 }'; }
writes() { sum '^rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)"'; }
rounds() { sum '^crosslink_link_checks_total\{link="traces_logs"'; }
now_ms() { date +%s%3N; }
count() { curl -sf --noproxy '*' "http://127.0.0.1:$1/__count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
verified() {
	kubectl -n "$NS" get ostack -o json | python3 -c '
import json, sys
n = 0
for it in json.load(sys.stdin)["items"]:
    c = {x["type"]: x["status"] for x in it.get("status", {}).get("conditions", [])}
    n += c.get("LinksVerified") == "True"
print(n)'
}

mkdir -p "$TMP/parts"
for ((i = 0; i < N; i++)); do
	p=${SP[i % G]}
	cat <<EOF >>"$TMP/parts/p$((i % 10)).yaml"
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: s$i, namespace: $NS}
spec:
  metrics:  {url: "http://127.0.0.1:$PPORT", flavor: Prometheus}
  traces:   {url: "http://127.0.0.1:$p", tenant: team-a}
  logs:     {url: "http://127.0.0.1:$p", tenant: team-a}
  profiles: {url: "http://127.0.0.1:$p", tenant: team-a}
  correlation: {requestMetric: $METRIC}
---
EOF
done
T0=$(now_ms)
ls "$TMP"/parts/*.yaml | xargs -P 10 -n 1 kubectl create -f >/dev/null 2>&1
V=0
while :; do
	V=$(verified)
	((V >= N)) && break
	(($(now_ms) - T0 > 600000)) && break
	sleep 2
done
T_V=$(now_ms)
echo "stacks=$N backend_sets=$G verify_interval=${VERIFY}s: $V/$N LinksVerified=True after $(((T_V - T0) / 1000)) s"
sleep 2
for ((g = 0; g < G; g++)); do curl -sf --noproxy '*' -X POST "http://127.0.0.1:${SP[g]}/__reset" >/dev/null; done
R0=$(rounds)
W0=$(writes)
sleep "$WINDOW"
R1=$(rounds)
W1=$(writes)
tot=0
for ((g = 0; g < G; g++)); do
	c=$(count "${SP[g]}")
	tot=$((tot + c))
	echo "  stand-in $g (N/G stacks): $c requests in ${WINDOW}s"
done
echo "window ${WINDOW}s = $((WINDOW / VERIFY)) intervals: link-check rounds=$((R1 - R0)) (expected ~$((G * WINDOW / VERIFY)) = backend sets × intervals, not stacks × intervals = $((N * WINDOW / VERIFY)))"
echo "  stand-in requests (probes + link checks) = $tot; status/ConfigMap writes in the window = $((W1 - W0))"
echo "  controller RSS: $(awk '/^VmRSS/ { print $2 }' "/proc/${PIDS[-1]}/status") KiB"
