#!/usr/bin/env bash
# quickstart.sh — crosslink's main job on one machine: build crosslink, start
# the local control plane (tests/cluster: real kube-apiserver + etcd + garbage
# collector), install the CRD, start a real Prometheus and the Tempo/Loki/
# Pyroscope stand-ins on loopback, run the controller, apply an example stack
# and print the rendered ConfigMaps and the stack's status.
#   examples/quickstart.sh          # bring everything up (idempotent)
#   examples/quickstart.sh down     # stop it all
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLUSTER_DIR=${CROSSLINK_QUICKSTART_CLUSTER:-/tmp/crosslink-quickstart-cluster}
RUN=${CROSSLINK_QUICKSTART_RUN:-/tmp/crosslink-quickstart}
NS=observability

stop_all() {
  for f in "$RUN"/*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  for f in "$RUN"/*.pid; do
    [ -f "$f" ] || continue
    kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  rm -rf "$RUN"
  bash "$ROOT/tests/cluster/down" --state-dir "$CLUSTER_DIR" || true
}

if [ "${1:-}" = down ]; then
  stop_all
  echo "quickstart: stopped"
  exit 0
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
step() { echo ">>> $*" >&2; }

step "checking the Debian packages (tests/install-deps installs what is missing)"
bash "$ROOT/tests/install-deps"

step "building crosslink"
cmake -S "$ROOT" -B "$ROOT/build" >/dev/null
cmake --build "$ROOT/build" -j2 >/dev/null
XL="$ROOT/build/controller/crosslink"

step "starting the local control plane (first run builds it from Go modules; later runs reuse the cache)"
eval "$(bash "$ROOT/tests/cluster/up" --state-dir "$CLUSTER_DIR" | tail -1)"
export KUBECONFIG

step "installing the CRD"
kubectl apply --server-side -f "$ROOT/crds/crosslink.dev_observabilitystacks.yaml" >/dev/null
kubectl wait --for condition=established --timeout=60s crd/observabilitystacks.crosslink.dev >/dev/null

mkdir -p "$RUN"
if [ ! -f "$RUN/backends.env" ]; then
  step "starting Prometheus (metrics) and the Tempo/Loki/Pyroscope stand-ins on loopback"
  PROM_PORT=$(free_port)
  STANDIN_PORT=$(free_port)
  cat >"$RUN/prometheus.yml" <<YML
global: {scrape_interval: 15s}
scrape_configs: []
YML
  setsid prometheus --config.file="$RUN/prometheus.yml" --storage.tsdb.path="$RUN/prom-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --web.route-prefix=/prometheus \
    --web.external-url="http://127.0.0.1:$PROM_PORT/prometheus" --enable-feature=exemplar-storage \
    >"$RUN/prometheus.log" 2>&1 </dev/null &
  echo $! >"$RUN/prometheus.pid"
  setsid python3 "$ROOT/tests/standins/standin.py" --kind all --port "$STANDIN_PORT" --tenant team-a \
    >"$RUN/standin.log" 2>&1 </dev/null &
  echo $! >"$RUN/standin.pid"
  printf 'PROM_PORT=%s\nSTANDIN_PORT=%s\n' "$PROM_PORT" "$STANDIN_PORT" >"$RUN/backends.env"
fi
# shellcheck disable=SC1091
. "$RUN/backends.env"

if ! { [ -f "$RUN/controller.pid" ] && kill -0 "$(cat "$RUN/controller.pid")" 2>/dev/null; }; then
  step "starting the controller (log: $RUN/controller.log)"
  setsid "$XL" controller --kubeconfig "$KUBECONFIG" --leader-elect=false \
    --metrics-addr "127.0.0.1:$(free_port)" --health-addr "127.0.0.1:$(free_port)" \
    >"$RUN/controller.log" 2>&1 </dev/null &
  echo $! >"$RUN/controller.pid"
fi

step "applying the example stack ($NS/demo)"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
cat >"$RUN/stack.yaml" <<YML
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: demo, namespace: $NS}
spec:
  metrics:  {url: "http://127.0.0.1:$PROM_PORT/prometheus", flavor: Prometheus}
  traces:   {url: "http://127.0.0.1:$STANDIN_PORT", tenant: team-a}
  logs:     {url: "http://127.0.0.1:$STANDIN_PORT", tenant: team-a}
  profiles: {url: "http://127.0.0.1:$STANDIN_PORT", tenant: team-a}
  grafana: {folder: Demo}
  verify: {interval: 60s, timeout: 5s}
YML
kubectl apply -f "$RUN/stack.yaml" >/dev/null
if ! kubectl wait --for=condition=Ready --timeout=90s -n "$NS" ostack/demo >/dev/null; then
  echo "quickstart: the stack did not become Ready; controller log tail:" >&2
  tail -20 "$RUN/controller.log" >&2
fi

echo
echo "### rendered ConfigMaps"
kubectl get configmaps -n "$NS" -l app.kubernetes.io/managed-by=crosslink -o yaml
echo
echo "### the stack"
kubectl get ostack -n "$NS"
echo
kubectl get ostack demo -n "$NS" -o jsonpath='{range .status.conditions[*]}{.type}{"\t"}{.status}{"\t"}{.reason}{"\t"}{.message}{"\n"}{end}'
echo
echo "Everything keeps running. Use it by hand with:  export KUBECONFIG=$KUBECONFIG"
echo "Stop it all with:  examples/quickstart.sh down"
