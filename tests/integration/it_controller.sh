#!/usr/bin/env bash
# it_controller.sh — `crosslink controller` against the real control plane
# (tests/cluster): apply → ConfigMaps with owner references, labels and
# digest; status with observedGeneration and every condition; spec edit →
# new data; unchanged reconcile → zero writes, also after a controller
# restart; drift repair (delete, edited data, label, annotation,
# blockOwnerDeletion); InvalidSpec and UIDConflict stalls; garbage
# collection on stack deletion.
# Needs KUBECONFIG and CROSSLINK; FAILS when the cluster is unreachable.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
trap cleanup EXIT

require_cluster
new_namespace xl-it-ctl
start_ctl a --namespaces "$NS" --verify-interval 60s
wait_ready "$PORT_a" 30 || die_setup "controller not ready (log: $(tail -5 "$CTL_TMP/a.log"))"

# ---- 1. apply a stack ------------------------------------------------------
stack_yaml prod | kubectl apply -f - >/dev/null || die_setup "cannot create stack"
check "stack converges (ProvisioningApplied, observedGeneration)" poll 30 stack_converged prod
uid=$(jp ostack prod '{.metadata.uid}')
for cm in prod-grafana-datasources prod-grafana-dashboards; do
	check "$cm exists" poll 10 kubectl -n "$NS" get cm "$cm"
	check "$cm ownerReference is the stack (controller, blockOwnerDeletion)" \
		test "$(jp cm $cm '{.metadata.ownerReferences[0].uid}/{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].controller}/{.metadata.ownerReferences[0].blockOwnerDeletion}')" \
		== "$uid/ObservabilityStack/true/true"
	check "$cm labels (managed-by, stack, grafana sidecar)" \
		test "$(jp cm $cm '{.metadata.labels.app\.kubernetes\.io/managed-by}/{.metadata.labels.crosslink\.dev/stack}')" == "crosslink/prod"
	d=$(jp cm $cm '{.metadata.annotations.crosslink\.dev/digest}')
	check "$cm digest annotation ($d)" test "${d:0:7}" == "sha256:"
done
check "datasources ConfigMap has the grafana_datasource label" \
	test "$(jp cm prod-grafana-datasources '{.metadata.labels.grafana_datasource}')" == "1"
for t in Ready ProvisioningApplied MetricsReachable TracesReachable Stalled Reconciling; do
	check "condition $t present with a reason" test -n "$(cond prod $t reason)"
done
check "Stalled=False" test "$(cond prod Stalled status)" == "False"
check "MetricsReachable=False with a reason for a refused backend" \
	poll 15 cond_is prod MetricsReachable status False
check "status.configMaps lists both" \
	test "$(jp ostack prod '{.status.configMaps[*]}')" == "prod-grafana-datasources prod-grafana-dashboards"
check "status.renderedDigest set" test -n "$(jp ostack prod '{.status.renderedDigest}')"
check "status.signals has one entry per signal" \
	test "$(jp ostack prod '{.status.signals[*].signal}')" == "metrics traces"
backend_down() { metrics "$PORT_a" | grep -q "^crosslink_backend_up{namespace=\"$NS\",stack=\"prod\",signal=\"metrics\"} 0"; }
check "crosslink_backend_up reports the refused metrics backend as 0" poll 10 backend_down
check "crosslink_backend_up has one series per configured signal" \
	test "$(metrics "$PORT_a" | grep -c "^crosslink_backend_up{namespace=\"$NS\",stack=\"prod\"")" == 2

# ---- 2. edit the spec ------------------------------------------------------
old_digest=$(jp cm prod-grafana-datasources '{.metadata.annotations.crosslink\.dev/digest}')
stack_yaml prod "  correlation:
    serviceLabel: svc" | kubectl apply -f - >/dev/null
check "generation moved" test "$(jp ostack prod '{.metadata.generation}')" == 2
check "observedGeneration follows the edit" poll 30 stack_converged prod
new_digest() { test "$(jp cm prod-grafana-datasources '{.metadata.annotations.crosslink\.dev/digest}')" != "$old_digest"; }
check "datasources ConfigMap data changed" poll 10 new_digest
check "conditions carry the new observedGeneration" \
	test "$(cond prod Ready observedGeneration)" == 2

# ---- 3. zero writes when nothing changed -------------------------------------
sleep 2 # let the watch events of the edit settle
w0=$(writes "$PORT_a")
r0=$(metric_value "$PORT_a" '^controller_runtime_reconcile_total\{')
stack_yaml prod "  correlation:
    serviceLabel: svc" | kubectl apply -f - >/dev/null   # same spec again
kubectl -n "$NS" label cm prod-grafana-datasources unrelated=touch >/dev/null # forces a reconcile
reconciled() { (($(metric_value "$PORT_a" '^controller_runtime_reconcile_total\{') > r0)); }
check "the touch triggered a reconcile" poll 10 reconciled
sleep 2
w1=$(writes "$PORT_a")
check "unchanged stack: zero API writes ($w0 -> $w1)" same_count "$w0" "$w1"
# a restarted controller builds its caches from full LISTs (through the
# informer transforms) and finds the stack and its ConfigMaps in sync
kill -TERM "$PID_a"
wait "$PID_a"
start_ctl b --namespaces "$NS" --verify-interval 60s
wait_ready "$PORT_b" 30 || die_setup "restarted controller not ready (log: $(tail -5 "$CTL_TMP/b.log"))"
reconciled_b() { (($(metric_value "$PORT_b" '^controller_runtime_reconcile_total\{') > 0)); }
check "the restarted controller reconciled the stack" poll 10 reconciled_b
sleep 2
w2=$(writes "$PORT_b")
check "restarted controller, unchanged stack: zero API writes ($w2)" test "$w2" == 0

# ---- 4. drift repair ---------------------------------------------------------
data_before=$(jp cm prod-grafana-datasources '{.data}')
kubectl -n "$NS" delete cm prod-grafana-datasources >/dev/null
t0=$(date +%s%N)
check "deleted ConfigMap recreated" poll 10 kubectl -n "$NS" get cm prod-grafana-datasources
echo "     (recreated after $((($(date +%s%N) - t0) / 1000000)) ms)"
check "recreated ConfigMap has the same data" test "$(jp cm prod-grafana-datasources '{.data}')" == "$data_before"
key=$(jp cm prod-grafana-datasources '{.data}' | python3 -c 'import json,sys; print(list(json.load(sys.stdin))[0])')
kubectl -n "$NS" patch cm prod-grafana-datasources --type merge -p "{\"data\":{\"$key\":\"tampered\"}}" >/dev/null
t0=$(date +%s%N)
restored() { test "$(jp cm prod-grafana-datasources '{.data}')" == "$data_before"; }
check "edited ConfigMap data restored" poll 10 restored
echo "     (restored after $((($(date +%s%N) - t0) / 1000000)) ms)"
# metadata drift: a label, an annotation and the owner reference we set
kubectl -n "$NS" label --overwrite cm prod-grafana-datasources grafana_datasource=0 >/dev/null
label_restored() { test "$(jp cm prod-grafana-datasources '{.metadata.labels.grafana_datasource}')" == 1; }
check "edited sidecar label restored" poll 10 label_restored
digest_ann=$(jp cm prod-grafana-dashboards '{.metadata.annotations.crosslink\.dev/digest}')
kubectl -n "$NS" annotate --overwrite cm prod-grafana-dashboards crosslink.dev/digest=sha256:tampered >/dev/null
ann_restored() { test "$(jp cm prod-grafana-dashboards '{.metadata.annotations.crosslink\.dev/digest}')" == "$digest_ann"; }
check "edited digest annotation restored" poll 10 ann_restored
kubectl -n "$NS" patch cm prod-grafana-dashboards --type json \
	-p '[{"op":"replace","path":"/metadata/ownerReferences/0/blockOwnerDeletion","value":false}]' >/dev/null
block_restored() { test "$(jp cm prod-grafana-dashboards '{.metadata.ownerReferences[0].blockOwnerDeletion}')" == true; }
check "cleared blockOwnerDeletion restored" poll 10 block_restored

# ---- 4b. owned ConfigMaps the spec no longer renders are removed ------------
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: v1
kind: ConfigMap
metadata:
  name: prod-grafana-obsolete
  namespace: $NS
  labels: {app.kubernetes.io/managed-by: crosslink, crosslink.dev/stack: prod}
  ownerReferences:
  - {apiVersion: crosslink.dev/v1alpha1, kind: ObservabilityStack, name: prod, uid: "$uid", controller: true, blockOwnerDeletion: true}
data: {old.yaml: "stale"}
EOF
check "an owned ConfigMap that is no longer rendered is deleted" poll 15 absent cm prod-grafana-obsolete
rendered_stay() { kubectl -n "$NS" get cm prod-grafana-datasources prod-grafana-dashboards >/dev/null; }
check "the rendered ConfigMaps stay" rendered_stay

# ---- 5. InvalidSpec (passes the CRD schema, fails the controller's checks) ---
cat <<EOF | kubectl apply -f - >/dev/null 2>"$CTL_TMP/apply.err"
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: broken, namespace: $NS}
spec:
  metrics: {url: "http://127.0.0.1:1/prometheus", name: Same Name}
  traces: {url: "http://127.0.0.1:1", name: Same Name}
EOF
if [[ -s $CTL_TMP/apply.err ]]; then
	bad "a spec with duplicate data-source names was rejected by the API server: $(cat "$CTL_TMP/apply.err")"
else
	check "InvalidSpec: Stalled=True" poll 15 cond_is broken Stalled reason InvalidSpec
	check "InvalidSpec: message names the field" \
		test -n "$(cond broken Stalled message | grep 'spec.traces.name: duplicate data source name')"
	check "InvalidSpec: Ready=False" test "$(cond broken Ready status)" == False
	check "InvalidSpec: observedGeneration set" test "$(jp ostack broken '{.status.observedGeneration}')" == 1
	check "InvalidSpec: no ConfigMap written" absent cm broken-grafana-datasources broken-grafana-dashboards
fi

# ---- 6. UIDConflict between two stacks sharing a Grafana ---------------------
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: first, namespace: $NS}
spec:
  metrics: {url: "http://127.0.0.1:1/prometheus", uid: shared-metrics}
EOF
check "first stack converges" poll 30 stack_converged first
sleep 1 # creationTimestamp has second resolution: make the order unambiguous
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: second, namespace: $NS}
spec:
  metrics: {url: "http://127.0.0.1:2/prometheus", uid: shared-metrics}
EOF
check "UIDConflict: later stack Stalled" poll 15 cond_is second Stalled reason UIDConflict
check "UIDConflict: message names the other stack" test -n "$(cond second Stalled message | grep "$NS/first")"
check "UIDConflict: earlier stack not stalled" test "$(cond first Stalled status)" == False
check "UIDConflict: no ConfigMap for the loser" absent cm second-grafana-datasources second-grafana-dashboards
event_for() { # event_for OBJECT REASON: an Event about OBJECT with REASON exists
	kubectl -n "$NS" get events -o jsonpath='{range .items[*]}{.involvedObject.name}/{.reason}{"\n"}{end}' |
		grep -qx "$1/$2"
}
check "UIDConflict: a Warning Event was recorded" poll 15 event_for second UIDConflict
kubectl -n "$NS" delete ostack first --wait=true >/dev/null
check "conflict resolved once the winner is gone" poll 30 stack_converged second

# ---- 7. garbage collection -----------------------------------------------------
kubectl -n "$NS" delete ostack prod --wait=true >/dev/null
check "deleting the stack garbage-collects its ConfigMaps" poll 60 absent cm prod-grafana-datasources prod-grafana-dashboards

summary
