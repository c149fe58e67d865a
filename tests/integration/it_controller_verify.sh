#!/usr/bin/env bash
# it_controller_verify.sh — periodic re-verification on the real control
# plane: a stack with spec.verify.interval 2s is re-probed every ~2 s, and a
# stack with interval 0s is probed once and then never again (0 really
# disables periodic probing), counted in the Tempo stand-ins it points at.
# Needs KUBECONFIG and CROSSLINK; FAILS when the cluster is unreachable.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
trap cleanup EXIT

require_cluster
new_namespace xl-it-verify

count() { curl -sf --noproxy '*' "http://127.0.0.1:$1/__count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
reset() { curl -sf --noproxy '*' -X POST "http://127.0.0.1:$1/__reset" >/dev/null; }

start_standin zero --kind tempo
start_standin periodic --kind tempo
start_ctl a --namespaces "$NS" --verify-interval 2s
wait_ready "$PORT_a" 30 || die_setup "controller not ready (log: $(tail -5 "$CTL_TMP/a.log"))"

for s in zero periodic; do
	if [[ $s == zero ]]; then port=$PORT_zero; iv=0s; else port=$PORT_periodic; iv=2s; fi
	kubectl apply -f - >/dev/null <<YML || die_setup "cannot create stack $s"
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: $s, namespace: $NS}
spec:
  traces: {url: "http://127.0.0.1:$port"}
  verify: {interval: $iv, timeout: 1s}
YML
done
reachable() { [[ $(cond "$1" TracesReachable status) == True ]]; }
check "interval 0s: first check runs (TracesReachable=True)" poll 30 reachable zero
check "interval 2s: first check runs (TracesReachable=True)" poll 30 reachable periodic
check "interval 0s is accepted by the CRD and kept" test "$(jp ostack zero '{.spec.verify.interval}')" == 0s

sleep 1 # let the first reconciles finish
reset "$PORT_zero"
reset "$PORT_periodic"
sleep 7
z=$(count "$PORT_zero")
p=$(count "$PORT_periodic")
check "interval 2s: re-probed periodically ($p requests in 7 s)" test "${p:-0}" -ge 6
check "interval 0s: no periodic probing ($z requests in 7 s)" test "${z:-1}" -eq 0

summary
