#!/usr/bin/env bash
# it_controller_scale.sh — 100 stacks applied at once all converge; then the
# API server is restarted mid-run and the controller reconnects (no restart
# of its own) and converges on changes made around the restart.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
trap cleanup EXIT

require_cluster
new_namespace xl-it-scale
start_ctl a --namespaces "$NS"
wait_ready "$PORT_a" 30 || die_setup "controller not ready"

# ---- 100 stacks at once ------------------------------------------------------
N=100
for ((i = 0; i < N; i++)); do
	stack_yaml "s$i"
	echo "---"
done >"$CTL_TMP/stacks.yaml"
t0=$(date +%s%N)
kubectl apply -f "$CTL_TMP/stacks.yaml" >/dev/null || die_setup "cannot apply $N stacks"
all_converged() {
	local n
	n=$(kubectl -n "$NS" get ostack -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
ok = 0
for it in items:
    st = it.get("status", {})
    conds = {c["type"]: c["status"] for c in st.get("conditions", [])}
    if st.get("observedGeneration") == it["metadata"]["generation"] and conds.get("ProvisioningApplied") == "True":
        ok += 1
print(ok)')
	((n == N))
}
check "$N stacks converge within 120 s" poll 120 all_converged
echo "     ($N stacks converged after $((($(date +%s%N) - t0) / 1000000)) ms)"
cms=$(kubectl -n "$NS" get cm -l app.kubernetes.io/managed-by=crosslink -o name | wc -l)
check "$((2 * N)) ConfigMaps exist ($cms)" test "$cms" == $((2 * N))
# the watch events of our own applies and status patches (often ahead of
# their responses) must not reconcile a new stack a second time
queue_idle() { (($(metric_value "$PORT_a" '^workqueue_depth\{') == 0)); }
poll 30 queue_idle
sleep 1
rec=$(metric_value "$PORT_a" '^controller_runtime_reconcile_total\{')
check "about one reconcile per new stack ($rec for $N)" test "$rec" -le $((N + N / 10))

# ---- API server restart --------------------------------------------------------
STATE=$(dirname -- "$KUBECONFIG")
repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ ! -x $repo/tests/cluster/restart-apiserver ]]; then
	bad "tests/cluster/restart-apiserver missing"
else
	"$repo/tests/cluster/restart-apiserver" --state-dir "$STATE" >/dev/null 2>&1
	check "API server restarted" test $? == 0
	check "controller process survived the restart" kill -0 "$PID_a"
	# changes after the restart must be picked up by the re-established watches
	stack_yaml after-restart | kubectl apply -f - >/dev/null
	check "a stack created after the restart converges" poll 60 stack_converged after-restart
	kubectl -n "$NS" delete cm s7-grafana-datasources >/dev/null
	check "drift after the restart is repaired" poll 30 kubectl -n "$NS" get cm s7-grafana-datasources
	check "readyz still OK" wait_ready "$PORT_a" 10
fi

summary
