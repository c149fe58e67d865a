#!/usr/bin/env bash
# test_helm.sh — the Helm chart (helm/crosslink) on the real control plane,
# with helm from `tests/cluster/tool helm`:
#   lint (and the values schema rejecting bad values); template with default
#   and non-default values; install; CRD Established; the documented CRD
#   upgrade path (helm show crds | kubectl apply --server-side); helm upgrade;
#   the chart's ServiceAccount has exactly the controller's RBAC (and a
#   namespaced install only its namespaces); the controller binary ($CROSSLINK)
#   run locally with that ServiceAccount's token brings an example stack to
#   Ready; uninstall keeps the CRD.
# Needs KUBECONFIG (tests/cluster/up) and CROSSLINK (built binary; default
# build/controller/crosslink). Cleans up what it created.
set -uo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd "$PKG_ROOT" || exit 1
require_cluster

HELM=$(tests/cluster/tool helm) || die_summary "cannot build helm (tests/cluster/tool helm)"
CROSSLINK=${CROSSLINK:-$PKG_ROOT/build/controller/crosslink}
CHART=$PKG_ROOT/helm/crosslink
CRD=observabilitystacks.crosslink.dev
id=$(rand_id)
ns=xl-helm-$id           # release namespace
stackns=xl-helm-st-$id   # where the example stack lives
otherns=xl-helm-ot-$id   # a namespace the namespaced release must not touch
ns2=xl-helm-ns-$id       # release namespace of the namespaced install
rel=xl-$id
rel2=xl-$id-ns
tmp=$(mktemp -d)
pids=()
settle_crd "$CRD"
crd_preexisting=0
kubectl get crd "$CRD" >/dev/null 2>&1 && crd_preexisting=1

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	"$HELM" uninstall "$rel" -n "$ns" >/dev/null 2>&1
	"$HELM" uninstall "$rel2" -n "$ns2" >/dev/null 2>&1
	kubectl delete ns "$ns" "$ns2" "$stackns" "$otherns" --ignore-not-found --wait=false >/dev/null 2>&1
	# Wait (bounded) so the next test does not meet a Terminating CRD.
	[[ $crd_preexisting == 1 ]] || kubectl delete crd "$CRD" --ignore-not-found --timeout=90s >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
m() { python3 "$PKG_DIR/manifests.py" "$@"; }
# helm lint/template judge Chart.yaml kubeVersion against helm's
# built-in default (v1.20 unless helm was built with its k8sVersion ldflags),
# so render for the version of the cluster under test.
KV=$(kubectl version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])') ||
	die_summary "cannot read the server version"
appVersion=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART/Chart.yaml")

# ---- lint --------------------------------------------------------------------
if "$HELM" lint --strict --kube-version "$KV" "$CHART" >"$tmp/lint" 2>&1; then ok "helm lint --strict"; else bad "helm lint: $(cat "$tmp/lint")"; fi
if "$HELM" lint --strict --kube-version "$KV" "$CHART" --set watchNamespaces='{a,b}' --set serviceMonitor.enabled=true --set podDisruptionBudget.enabled=true >"$tmp/lint2" 2>&1; then
	ok "helm lint with non-default values"
else
	bad "helm lint (non-default): $(cat "$tmp/lint2")"
fi
for bad_set in controller.workers=-1 controller.logLevel=verbose watchNamespaces='{Bad_NS}' unknownKey=1 image.digest=latest; do
	if out=$("$HELM" template x "$CHART" --kube-version "$KV" --set "$bad_set" 2>&1); then
		bad "values schema accepted --set $bad_set"
	elif [[ $out == *"don't meet the specifications of the schema"* ]]; then
		ok "values schema rejects --set $bad_set"
	else
		bad "--set $bad_set failed for another reason: $out"
	fi
done
if out=$("$HELM" template x "$CHART" --kube-version 1.24.0 2>&1); then
	bad "chart renders for Kubernetes 1.24 (the CRD needs CEL)"
elif [[ $out == *kubeVersion* ]]; then
	ok "Chart.yaml kubeVersion refuses Kubernetes 1.24"
else
	bad "1.24 render failed for another reason: $out"
fi
check "chart CRD is the one in crds/" cmp -s crds/crosslink.dev_observabilitystacks.yaml "$CHART/crds/crosslink.dev_observabilitystacks.yaml"

# ---- template: defaults --------------------------------------------------------
if "$HELM" template "$rel" "$CHART" -n "$ns" --kube-version "$KV" >"$tmp/def.yaml" 2>"$tmp/err"; then
	ok "helm template with defaults"
else
	bad "helm template: $(cat "$tmp/err")"
fi
full=$rel-crosslink
want="ClusterRole $full
ClusterRole $full-stack-editor
ClusterRole $full-stack-viewer
ClusterRoleBinding $full
Deployment $ns/$full
Role $ns/$full-leader-election
RoleBinding $ns/$full-leader-election
Service $ns/$full-metrics
ServiceAccount $ns/$full"
got=$(m kinds <"$tmp/def.yaml")
[[ $got == "$want" ]] && ok "default objects (no ServiceMonitor/PDB)" || bad "default objects:"$'\n'"$got"
problems=$(m check-deployment "$full" <"$tmp/def.yaml")
[[ -z $problems ]] && ok "Deployment hardened (non-root, ro rootfs, seccomp, caps, resources, probes)" || bad "Deployment: $problems"
[[ $(m get Deployment "$full" spec.replicas <"$tmp/def.yaml") == 2 ]] && ok "2 replicas" || bad "replicas"
img=$(m images <"$tmp/def.yaml")
[[ $img == "ghcr.io/crosslink-dev/crosslink:$appVersion" ]] && ok "image tag defaults to appVersion ($img)" || bad "image $img"
args=$(m get Deployment "$full" spec.template.spec.containers.0.args <"$tmp/def.yaml")
missing=""
for a in controller --leader-elect=true --lease-name=crosslink-controller '--lease-namespace=$(POD_NAMESPACE)' \
	--metrics-addr=:8080 --health-addr=:8081 --workers=0 --verify-interval=60s --log-level=info; do
	[[ $args == *"$a"* ]] || missing+=" $a"
done
[[ -z $missing ]] && ok "default args" || bad "default args lack$missing: $args"
[[ $args != *--namespaces* ]] && ok "default args watch all namespaces" || bad "args: $args"
m rules ClusterRole "$full" <"$tmp/def.yaml" | rules_match "ClusterRole rules are exactly expected-rules.txt" "$PKG_DIR/expected-rules.txt"
m rules Role "$full-leader-election" "$ns" <"$tmp/def.yaml" |
	rules_match "leader-election Role rules are exactly expected-lease-rules.txt" "$PKG_DIR/expected-lease-rules.txt"
m rules ClusterRole crosslink-controller <deploy/rbac/role.yaml | rules_match "deploy/rbac/role.yaml matches the chart's rules" "$PKG_DIR/expected-rules.txt"

# ---- template: non-default values -------------------------------------------------
cat >"$tmp/values.yaml" <<V
replicaCount: 3
watchNamespaces: [team-a, team-b]
image: {digest: "sha256:$(printf 'ab%.0s' {1..32})"}
controller: {workers: 8, verifyInterval: 2m, logLevel: debug, leaderElection: {enabled: false}, extraArgs: ["--log-level=warn"]}
serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}
podDisruptionBudget: {enabled: true}
rbac: {aggregateToDefaultRoles: false}
podAntiAffinityPreset: hard
V
if "$HELM" template "$rel" "$CHART" -n "$ns" --kube-version "$KV" -f "$tmp/values.yaml" >"$tmp/nd.yaml" 2>"$tmp/err"; then
	ok "helm template with non-default values"
else
	bad "helm template (non-default): $(cat "$tmp/err")"
fi
want="Deployment $ns/$full
PodDisruptionBudget $ns/$full
Role team-a/$full
Role team-b/$full
RoleBinding team-a/$full
RoleBinding team-b/$full
Service $ns/$full-metrics
ServiceAccount $ns/$full
ServiceMonitor $ns/$full"
got=$(m kinds <"$tmp/nd.yaml")
[[ $got == "$want" ]] && ok "watchNamespaces: a Role per namespace, no ClusterRole; ServiceMonitor and PDB on" || bad "objects:"$'\n'"$got"
for n in team-a team-b; do
	m rules Role "$full" "$n" <"$tmp/nd.yaml" | rules_match "Role in $n has exactly expected-rules.txt" "$PKG_DIR/expected-rules.txt"
done
args=$(m get Deployment "$full" spec.template.spec.containers.0.args <"$tmp/nd.yaml")
for a in --namespaces=team-a,team-b --leader-elect=false --workers=8 --verify-interval=2m --log-level=debug --log-level=warn; do
	[[ $args == *"$a"* ]] && ok "non-default args carry $a" || bad "args lack $a: $args"
done
[[ $args != *--lease-name* ]] && ok "no lease flags without leader election" || bad "args: $args"
img=$(m images <"$tmp/nd.yaml")
[[ $img == ghcr.io/crosslink-dev/crosslink@sha256:abab* ]] && ok "image by digest" || bad "image $img"
[[ $(m get ServiceMonitor "$full" metadata.labels.release <"$tmp/nd.yaml") == kube-prometheus-stack ]] && ok "ServiceMonitor labels" || bad "ServiceMonitor labels"
[[ $(m get Deployment "$full" spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.0.topologyKey <"$tmp/nd.yaml") == kubernetes.io/hostname ]] &&
	ok "hard anti-affinity" || bad "hard anti-affinity missing"
problems=$(m check-deployment "$full" <"$tmp/nd.yaml")
[[ -z $problems ]] && ok "Deployment still hardened with non-default values" || bad "Deployment: $problems"
if "$HELM" install "$rel" "$CHART" -n "$ns" --dry-run=server --set replicaCount=2 --set controller.leaderElection.enabled=false \
	>"$tmp/notes" 2>&1 && grep -q 'WARNING: replicaCount' "$tmp/notes"; then
	ok "NOTES warn about replicas without leader election"
else
	bad "NOTES do not warn about replicas without leader election"
fi

# ---- install -------------------------------------------------------------------
kubectl create ns "$stackns" >/dev/null && kubectl create ns "$otherns" >/dev/null
if "$HELM" install "$rel" "$CHART" -n "$ns" --create-namespace >"$tmp/install" 2>&1; then
	ok "helm install"
else
	die_summary "helm install failed: $(cat "$tmp/install")"
fi
grep -q 'kubectl apply --server-side' "$tmp/install" && ok "NOTES explain the CRD upgrade" || bad "NOTES lack the CRD upgrade command"
if kubectl wait --for=condition=Established "crd/$CRD" --timeout=60s >/dev/null 2>&1; then ok "CRD Established"; else bad "CRD not Established"; fi
exists() { kubectl get "$@" -o name >/dev/null 2>&1; }
check "Deployment created" exists -n "$ns" deployment "$full"
check "ServiceAccount created" exists -n "$ns" serviceaccount "$full"
check "metrics Service created" exists -n "$ns" service "$full-metrics"
check "ClusterRole created" exists clusterrole "$full"

# ---- CRD upgrade path (Helm never upgrades crds/) -----------------------------------
# A "newer" chart whose CRD carries an extra label; the documented command
# must apply it, and re-applying the old one must remove it again (server-side
# apply owns the fields, so removals propagate too).
cp -r "$CHART" "$tmp/chart-next"
python3 - "$tmp/chart-next/crds/crosslink.dev_observabilitystacks.yaml" "$id" <<'PY'
import sys, yaml
p = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(p)) if d]
docs[0]["metadata"].setdefault("labels", {})["crosslink.dev/upgrade-test"] = "t-" + sys.argv[2]
yaml.safe_dump_all(docs, open(p, "w"), sort_keys=False)
PY
crd_upgrade() { "$HELM" show crds "$1" | kubectl apply --server-side --force-conflicts --field-manager=crosslink-crds -f - >"$tmp/crdup" 2>&1; }
if crd_upgrade "$tmp/chart-next"; then ok "helm show crds | kubectl apply --server-side (upgrade)"; else bad "CRD upgrade failed: $(cat "$tmp/crdup")"; fi
lbl=$(kubectl get crd "$CRD" -o jsonpath='{.metadata.labels.crosslink\.dev/upgrade-test}')
[[ $lbl == "t-$id" ]] && ok "upgraded CRD is live" || bad "upgraded CRD label = '$lbl'"
if crd_upgrade "$CHART"; then ok "CRD downgrade/re-apply"; else bad "CRD re-apply failed: $(cat "$tmp/crdup")"; fi
lbl=$(kubectl get crd "$CRD" -o jsonpath='{.metadata.labels.crosslink\.dev/upgrade-test}')
[[ -z $lbl ]] && ok "re-applied CRD dropped the removed field" || bad "label still '$lbl'"
kubectl wait --for=condition=Established "crd/$CRD" --timeout=60s >/dev/null 2>&1 || bad "CRD not Established after upgrade"

# ---- helm upgrade ------------------------------------------------------------------
if "$HELM" upgrade "$rel" "$CHART" -n "$ns" --reuse-values --set controller.workers=2 >"$tmp/up" 2>&1; then
	ok "helm upgrade"
else
	bad "helm upgrade: $(cat "$tmp/up")"
fi
live_args=$(kubectl get -n "$ns" deployment "$full" -o jsonpath='{.spec.template.spec.containers[0].args}')
[[ $live_args == *--workers=2* ]] && ok "upgrade changed the live Deployment" || bad "live args: $live_args"

# ---- RBAC of the chart's ServiceAccount ------------------------------------------------
if sa_kubeconfig "$full" "$ns" "$tmp/sa.kubeconfig"; then
	ok "token for ServiceAccount $ns/$full"
	check_controller_rbac "$tmp/sa.kubeconfig" "$ns" "$stackns" "$otherns" 1
else
	bad "cannot create a token for $ns/$full"
fi

# A namespaced install (watchNamespaces) reaches only its namespaces.
if "$HELM" install "$rel2" "$CHART" -n "$ns2" --create-namespace --set "watchNamespaces={$stackns}" \
	--set rbac.aggregateToDefaultRoles=false >"$tmp/install2" 2>&1; then
	ok "helm install with watchNamespaces (CRD already present)"
	if sa_kubeconfig "$rel2-crosslink" "$ns2" "$tmp/sa2.kubeconfig"; then
		check_controller_rbac "$tmp/sa2.kubeconfig" "$ns2" "$stackns" "$otherns" 0
	else
		bad "cannot create a token for $ns2/$rel2-crosslink"
	fi
else
	bad "helm install (watchNamespaces): $(cat "$tmp/install2")"
fi

# ---- the controller as the chart's ServiceAccount ----------------------------------------
run_controller_test() {
	if [[ ! -x $CROSSLINK ]]; then
		bad "controller binary not found: CROSSLINK=$CROSSLINK"
		return
	fi
	if ! "$CROSSLINK" controller --help >/dev/null 2>&1; then
		bad "$CROSSLINK controller --help fails: the controller is not implemented"
		return
	fi
	# Backends: Mimir (basic auth from a Secret: proves secrets/get suffices)
	# and Tempo stand-ins on loopback.
	local kind
	for kind in mimir tempo; do
		local extra=()
		[[ $kind == mimir ]] && extra=(--require-basic grafana:s3cr3t)
		python3 tests/standins/standin.py --kind "$kind" --port 0 --port-file "$tmp/$kind.port" "${extra[@]}" \
			>"$tmp/$kind.log" 2>&1 &
		pids+=($!)
	done
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $tmp/mimir.port && -s $tmp/tempo.port ]] && break
		sleep 0.1
	done
	local mport tport
	mport=$(cat "$tmp/mimir.port" 2>/dev/null) tport=$(cat "$tmp/tempo.port" 2>/dev/null)
	if [[ -z $mport || -z $tport ]]; then
		bad "stand-ins did not start: $(cat "$tmp"/*.log)"
		return
	fi
	kubectl create secret generic mimir-auth -n "$stackns" --from-literal=password=s3cr3t >/dev/null
	local hp mp
	hp=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
	mp=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
	POD_NAME=xl-helm-test-pod POD_NAMESPACE=$ns "$CROSSLINK" controller --kubeconfig "$tmp/sa.kubeconfig" \
		--leader-elect=true --lease-name=crosslink-controller --health-addr="127.0.0.1:$hp" \
		--metrics-addr="127.0.0.1:$mp" --verify-interval=5s --log-level=debug >"$tmp/controller.log" 2>&1 &
	local cpid=$!
	pids+=("$cpid")
	local healthy=0
	for ((i = 0; i < 100; i++)); do
		if curl -fsS --max-time 2 "http://127.0.0.1:$hp/healthz" >/dev/null 2>&1; then healthy=1; break; fi
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.2
	done
	[[ $healthy == 1 ]] && ok "controller /healthz answers" || { bad "controller not healthy: $(tail -20 "$tmp/controller.log")"; return; }
	cat >"$tmp/stack.yaml" <<S
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: helm-example, namespace: $stackns}
spec:
  metrics:
    url: http://127.0.0.1:$mport/prometheus
    flavor: Mimir
    auth: {basic: {username: grafana, passwordSecretRef: {name: mimir-auth, key: password}}}
  traces:
    url: http://127.0.0.1:$tport
  verify: {interval: 5s, timeout: 2s}
S
	if kubectl apply -f "$tmp/stack.yaml" >/dev/null 2>"$tmp/err"; then ok "example stack created"; else bad "stack: $(cat "$tmp/err")"; return; fi
	if kubectl wait --for=condition=ProvisioningApplied=True ostack/helm-example -n "$stackns" --timeout=90s >/dev/null 2>&1; then
		ok "ProvisioningApplied=True as the chart's ServiceAccount"
	else
		bad "ProvisioningApplied not True: $(kubectl get ostack helm-example -n "$stackns" -o jsonpath='{.status}')"
	fi
	if kubectl wait --for=condition=Ready ostack/helm-example -n "$stackns" --timeout=90s >/dev/null 2>&1; then
		ok "stack Ready (kubectl wait --for=condition=Ready) as the chart's ServiceAccount"
	else
		bad "stack not Ready: $(kubectl get ostack helm-example -n "$stackns" -o jsonpath='{.status}')"
	fi
	# The live status, as Flux (kstatus) and Argo CD (health.lua) read it.
	kubectl get ostack helm-example -n "$stackns" -o yaml >"$tmp/live.yaml"
	if (cd "$PKG_DIR/kstatus" && KSTATUS_LIVE_OBJECT=$tmp/live.yaml KSTATUS_WANT=Current GOTOOLCHAIN=local \
		GOFLAGS=-mod=readonly GOWORK=off go test -count=1 -run TestLiveObject ./... >"$tmp/kstatus.log" 2>&1); then
		ok "kstatus computes Current for the live Ready stack"
	else
		bad "kstatus on the live stack: $(grep -E 'kstatus of|FAIL|error' "$tmp/kstatus.log" | head -3)"
	fi
	local hs
	if python3 "$PKG_DIR/yaml2lua.py" "$tmp/live.yaml" >"$tmp/live.lua" &&
		hs=$(lua5.1 "$PKG_DIR/run_health.lua" deploy/argocd/health.lua "$tmp/live.lua" 2>&1) && [[ ${hs%%$'\t'*} == Healthy ]]; then
		ok "Argo CD health.lua says Healthy for the live Ready stack"
	else
		bad "Argo CD health of the live stack: $hs"
	fi
	local gen og
	gen=$(kubectl get ostack helm-example -n "$stackns" -o jsonpath='{.metadata.generation}')
	og=$(kubectl get ostack helm-example -n "$stackns" -o jsonpath='{.status.observedGeneration}')
	[[ -n $og && $og == "$gen" ]] && ok "status.observedGeneration = metadata.generation ($gen)" || bad "observedGeneration '$og' vs generation '$gen'"
	local cms
	cms=$(kubectl get configmaps -n "$stackns" -l crosslink.dev/stack=helm-example -o name | sort | tr '\n' ' ')
	[[ $cms == *helm-example-grafana-dashboards*helm-example-grafana-datasources* ]] && ok "ConfigMaps rendered: $cms" || bad "ConfigMaps: '$cms'"
	# GitOps: the live ConfigMaps equal what `crosslink render` prints offline
	# (data, labels, annotations), and nothing is rewritten while the stack
	# stays the same — several verify intervals (5 s) pass without a write.
	kubectl get configmaps -n "$stackns" -l crosslink.dev/stack=helm-example -o json >"$tmp/cm1.json"
	kubectl get ostack helm-example -n "$stackns" -o jsonpath='{.metadata.resourceVersion}' >"$tmp/st1.rv"
	if "$CROSSLINK" render -f "$tmp/stack.yaml" -o json >"$tmp/render.json" 2>"$tmp/err"; then
		if python3 - "$tmp/render.json" "$tmp/cm1.json" <<'PY'; then
import json, re, sys
want = {o["metadata"]["name"]: o for o in json.load(open(sys.argv[1]))["items"]}
live = {o["metadata"]["name"]: o for o in json.load(open(sys.argv[2]))["items"]}
assert set(want) == set(live), (sorted(want), sorted(live))
for n, w in want.items():
    l = live[n]
    # the controller adds the refs-digest comment (names and resourceVersions
    # of the referenced Secrets: it changes the file when one is rotated);
    # `crosslink render` has no cluster to read them from (docs/grafana.md)
    ld = {k: re.sub(r"\A# crosslink\.dev/refs-digest: sha256:[0-9a-f]{64}\n", "", v) for k, v in l["data"].items()}
    if n.endswith("-grafana-datasources"):
        assert ld != l["data"], n + ": no refs-digest line though the stack references Secret mimir-auth"
    assert w["data"] == ld, n + ": data differs: " + repr(w["data"])[:2000] + " vs live " + repr(ld)[:2000]
    for f in ("labels", "annotations"):
        # the data digest covers the refs-digest line, so it differs where that line is
        skip = {"kubectl.kubernetes.io/last-applied-configuration"} | ({"crosslink.dev/digest"} if ld != l["data"] else set())
        extra = {k: v for k, v in (l["metadata"].get(f) or {}).items() if k not in skip}
        wf = {k: v for k, v in (w["metadata"].get(f) or {}).items() if k not in skip}
        assert extra == wf, "%s: %s differ: %r vs %r" % (n, f, extra, wf)
    refs = l["metadata"].get("ownerReferences") or []
    assert len(refs) == 1 and refs[0]["kind"] == "ObservabilityStack" and refs[0].get("controller") and refs[0].get("blockOwnerDeletion"), n + ": ownerReferences " + repr(refs)
PY
			ok "live ConfigMaps = crosslink render output (data, labels, annotations) + controller ownerReference + refs-digest line"
		else
			bad "live ConfigMaps differ from crosslink render"
		fi
	else
		bad "crosslink render failed: $(cat "$tmp/err")"
	fi
	sleep 12
	kubectl get configmaps -n "$stackns" -l crosslink.dev/stack=helm-example -o json >"$tmp/cm2.json"
	if python3 - "$tmp/cm1.json" "$tmp/cm2.json" <<'PY'; then
import json, sys
a, b = (json.load(open(p))["items"] for p in sys.argv[1:3])
rv = lambda items: {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in items}
assert rv(a) == rv(b), "resourceVersions moved: %r -> %r" % (rv(a), rv(b))
PY
		ok "ConfigMaps not rewritten across verify cycles (GitOps tools stay Synced)"
	else
		bad "ConfigMaps were rewritten while nothing changed"
	fi
	local rv2
	rv2=$(kubectl get ostack helm-example -n "$stackns" -o jsonpath='{.metadata.resourceVersion}')
	[[ $rv2 == "$(cat "$tmp/st1.rv")" ]] && ok "stack status not rewritten across verify cycles (no heartbeat writes)" ||
		bad "stack rewritten while nothing changed: resourceVersion $(cat "$tmp/st1.rv") -> $rv2"
	# A second stack claiming the first one's metrics UID in the same Grafana
	# is Stalled (UIDConflict): kstatus Failed, Argo CD Degraded.
	cat >"$tmp/conflict.yaml" <<S
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: helm-conflict, namespace: $stackns}
spec:
  metrics: {url: "http://127.0.0.1:$mport/prometheus", uid: helm-example-metrics}
  verify: {interval: 5s, timeout: 2s}
S
	if kubectl apply -f "$tmp/conflict.yaml" >/dev/null 2>"$tmp/err" &&
		kubectl wait --for=condition=Stalled ostack/helm-conflict -n "$stackns" --timeout=60s >/dev/null 2>&1; then
		ok "a stack reusing the UID is Stalled ($(kubectl get ostack helm-conflict -n "$stackns" -o jsonpath='{.status.conditions[?(@.type=="Stalled")].reason}'))"
		kubectl get ostack helm-conflict -n "$stackns" -o yaml >"$tmp/stalled.yaml"
		if (cd "$PKG_DIR/kstatus" && KSTATUS_LIVE_OBJECT=$tmp/stalled.yaml KSTATUS_WANT=Failed GOTOOLCHAIN=local \
			GOFLAGS=-mod=readonly GOWORK=off go test -count=1 -run TestLiveObject ./... >"$tmp/kstatus.log" 2>&1); then
			ok "kstatus computes Failed for the live Stalled stack"
		else
			bad "kstatus on the live Stalled stack: $(grep -E 'kstatus of|FAIL|error' "$tmp/kstatus.log" | head -3)"
		fi
		if python3 "$PKG_DIR/yaml2lua.py" "$tmp/stalled.yaml" >"$tmp/stalled.lua" &&
			hs=$(lua5.1 "$PKG_DIR/run_health.lua" deploy/argocd/health.lua "$tmp/stalled.lua" 2>&1) && [[ ${hs%%$'\t'*} == Degraded ]]; then
			ok "Argo CD health.lua says Degraded for the live Stalled stack"
		else
			bad "Argo CD health of the live Stalled stack: $hs"
		fi
		[[ $(kubectl get ostack helm-example -n "$stackns" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]] &&
			ok "the first stack stays Ready" || bad "the first stack lost Ready after the conflict"
	else
		bad "conflicting stack not Stalled: $(cat "$tmp/err") $(kubectl get ostack helm-conflict -n "$stackns" -o jsonpath='{.status}' 2>&1)"
	fi
	kubectl delete -f "$tmp/conflict.yaml" --ignore-not-found >/dev/null 2>&1
	local holder
	holder=$(kubectl get lease crosslink-controller -n "$ns" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)
	[[ $holder == xl-helm-test-pod ]] && ok "Lease $ns/crosslink-controller held by the pod identity" || bad "Lease holder '$holder'"
	if curl -fsS --max-time 2 "http://127.0.0.1:$hp/readyz" >/dev/null 2>&1; then ok "controller /readyz answers"; else bad "/readyz not OK"; fi
	if curl -fsS --max-time 5 -o "$tmp/metrics.txt" "http://127.0.0.1:$mp/metrics" && grep -q '^controller_runtime_reconcile_total' "$tmp/metrics.txt"; then
		ok "/metrics serves controller_runtime_reconcile_total"
	else
		bad "/metrics lacks controller_runtime_reconcile_total"
	fi
	if grep -qiE 'forbidden|"code": *403|status=403| 403 ' "$tmp/controller.log"; then
		bad "controller hit RBAC denials: $(grep -iE 'forbidden|403' "$tmp/controller.log" | head -5)"
	else
		ok "no RBAC denials in the controller log"
	fi
	kill "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
}
run_controller_test

# ---- uninstall -------------------------------------------------------------------
if "$HELM" uninstall "$rel" -n "$ns" >"$tmp/un" 2>&1; then ok "helm uninstall"; else bad "helm uninstall: $(cat "$tmp/un")"; fi
exists clusterrole "$full" && bad "ClusterRole left after uninstall" || ok "uninstall removed the ClusterRole"
exists crd "$CRD" && ok "uninstall keeps the CRD (and every stack)" || bad "CRD gone after uninstall"

summary
