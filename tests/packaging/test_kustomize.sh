#!/usr/bin/env bash
# test_kustomize.sh — the kustomize base (deploy/) on the real control plane:
# renders with one image reference and hardened Deployment, server dry-run and
# real apply succeed, re-apply (client- and server-side) is a no-op, the CRD
# becomes Established, the ServiceAccount has exactly the controller's RBAC,
# and the Argo CD argocd-cm snippet merges into an argocd-cm ConfigMap.
# Needs KUBECONFIG (tests/cluster/up). Cleans up what it created.
set -uo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd "$PKG_ROOT" || exit 1
require_cluster

NS=crosslink-system
CRD=observabilitystacks.crosslink.dev
id=$(rand_id)
stackns=xl-kust-$id
otherns=xl-kust-other-$id
argons=xl-kust-argocd-$id
tmp=$(mktemp -d)
settle_crd "$CRD"
crd_preexisting=0
kubectl get crd "$CRD" >/dev/null 2>&1 && crd_preexisting=1
ns_preexisting=0
kubectl get ns "$NS" >/dev/null 2>&1 && ns_preexisting=1

cleanup() {
	kubectl delete ns "$stackns" "$otherns" "$argons" --ignore-not-found --wait=false >/dev/null 2>&1
	kubectl delete clusterrolebinding crosslink-controller --ignore-not-found >/dev/null 2>&1
	kubectl delete clusterrole crosslink-controller --ignore-not-found >/dev/null 2>&1
	# Wait for the fixed namespace to go, so a re-run does not meet it
	# Terminating (bounded; the namespace controller of tests/cluster does it).
	[[ $ns_preexisting == 1 ]] || kubectl delete ns "$NS" --ignore-not-found --timeout=90s >/dev/null 2>&1
	# Wait (bounded) so the next test does not meet a Terminating CRD.
	[[ $crd_preexisting == 1 ]] || kubectl delete crd "$CRD" --ignore-not-found --timeout=90s >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- render ------------------------------------------------------------------
if kubectl kustomize deploy/ >"$tmp/all.yaml" 2>"$tmp/err"; then
	ok "kubectl kustomize deploy/ renders"
else
	die_summary "kubectl kustomize deploy/ failed: $(cat "$tmp/err")"
fi
want_kinds="ClusterRole crosslink-controller
ClusterRoleBinding crosslink-controller
CustomResourceDefinition $CRD
Deployment $NS/crosslink-controller
Namespace $NS
Role $NS/crosslink-leader-election
RoleBinding $NS/crosslink-leader-election
Service $NS/crosslink-controller-metrics
ServiceAccount $NS/crosslink"
got_kinds=$(python3 "$PKG_DIR/manifests.py" kinds <"$tmp/all.yaml")
if [[ $got_kinds == "$want_kinds" ]]; then ok "base holds namespace, CRD, RBAC, Deployment, Service"; else bad "objects differ:"$'\n'"$got_kinds"; fi
check "CRD in deploy/ is the one in crds/" cmp -s crds/crosslink.dev_observabilitystacks.yaml deploy/crds/crosslink.dev_observabilitystacks.yaml
images=$(python3 "$PKG_DIR/manifests.py" images <"$tmp/all.yaml" | sort -u)
[[ $images == "ghcr.io/crosslink-dev/crosslink:0.1.0" ]] && ok "image set once: $images" || bad "images: $images"
n_img=$(grep -rn 'ghcr.io/crosslink-dev/crosslink' deploy/ --include='*.yaml' | grep -vc '^\S*:[0-9]*:\s*#')
[[ $n_img == 1 ]] && ok "image reference appears in one place in deploy/" || bad "image reference appears $n_img times in deploy/"
problems=$(python3 "$PKG_DIR/manifests.py" check-deployment crosslink-controller <"$tmp/all.yaml")
[[ -z $problems ]] && ok "Deployment hardened (non-root, ro rootfs, seccomp, caps, resources, probes)" || bad "Deployment: $problems"
args=$(python3 "$PKG_DIR/manifests.py" get Deployment crosslink-controller spec.template.spec.containers.0.args <"$tmp/all.yaml")
[[ $args == *"--leader-elect=true"* ]] && ok "leader election on" || bad "args: $args"
replicas=$(python3 "$PKG_DIR/manifests.py" get Deployment crosslink-controller spec.replicas <"$tmp/all.yaml")
[[ $replicas == 2 ]] && ok "2 replicas" || bad "replicas=$replicas"
python3 "$PKG_DIR/manifests.py" rules ClusterRole crosslink-controller <"$tmp/all.yaml" |
	rules_match "ClusterRole rules are exactly expected-rules.txt" "$PKG_DIR/expected-rules.txt"
python3 "$PKG_DIR/manifests.py" rules Role crosslink-leader-election "$NS" <"$tmp/all.yaml" |
	rules_match "leader-election Role rules are exactly expected-lease-rules.txt" "$PKG_DIR/expected-lease-rules.txt"

# ---- server dry-run and apply ------------------------------------------------
if [[ $ns_preexisting == 0 ]]; then
	# On an empty cluster a server dry-run cannot create the namespace, so
	# namespaced objects may only fail with "namespace not found" (documented in
	# docs/install.md); anything else is a real error.
	if kubectl apply -k deploy/ --dry-run=server >"$tmp/dry0" 2>&1; then
		ok "server dry-run on an empty cluster"
	else
		other=$(grep -i 'error' "$tmp/dry0" | grep -v "namespaces \"$NS\" not found")
		[[ -z $other ]] && ok "server dry-run on an empty cluster fails only for the not-yet-created namespace" ||
			bad "server dry-run errors: $other"
	fi
	kubectl apply -f deploy/namespace.yaml >/dev/null 2>&1
fi
if kubectl apply -k deploy/ --dry-run=server >"$tmp/dry" 2>&1; then
	ok "kubectl apply -k deploy/ --dry-run=server"
else
	bad "server dry-run failed: $(cat "$tmp/dry")"
fi
if kubectl apply -k deploy/ >"$tmp/apply" 2>&1; then
	ok "kubectl apply -k deploy/"
else
	bad "apply failed: $(cat "$tmp/apply")"
fi
if kubectl wait --for=condition=Established "crd/$CRD" --timeout=60s >/dev/null 2>&1; then
	ok "CRD Established"
else
	bad "CRD not Established"
fi
exists() { kubectl get "$@" -o name >/dev/null 2>&1; }
for o in deployment/crosslink-controller service/crosslink-controller-metrics serviceaccount/crosslink \
	role/crosslink-leader-election rolebinding/crosslink-leader-election; do
	check "$o exists in $NS" exists -n "$NS" "$o"
done
check "clusterrole/crosslink-controller exists" exists clusterrole crosslink-controller
check "clusterrolebinding/crosslink-controller exists" exists clusterrolebinding crosslink-controller
live_img=$(kubectl get -n "$NS" deployment/crosslink-controller -o jsonpath='{.spec.template.spec.containers[0].image}')
[[ $live_img == ghcr.io/crosslink-dev/crosslink:0.1.0 ]] && ok "live Deployment image $live_img" || bad "live image $live_img"
# Idempotent: a second apply changes nothing, and kubectl diff sees no drift
# (what Argo CD / Flux would show as Synced).
kubectl apply -k deploy/ >"$tmp/apply2" 2>&1
changed=$(grep -v -e ' unchanged$' "$tmp/apply2" | grep -v '^Warning' || true)
[[ -z $changed ]] && ok "re-apply reports everything unchanged" || bad "re-apply changed: $changed"
if kubectl diff -k deploy/ >"$tmp/diff" 2>&1; then ok "kubectl diff -k deploy/ shows no drift"; else bad "drift: $(head -30 "$tmp/diff")"; fi
if kubectl apply --server-side --force-conflicts --field-manager=xl-test-flux -k deploy/ >"$tmp/ssa" 2>&1; then
	ok "server-side apply of deploy/ (the Flux way)"
else
	bad "server-side apply failed: $(cat "$tmp/ssa")"
fi

# ---- RBAC as the ServiceAccount ----------------------------------------------
kubectl create ns "$stackns" >/dev/null && kubectl create ns "$otherns" >/dev/null
if sa_kubeconfig crosslink "$NS" "$tmp/sa.kubeconfig"; then
	ok "token for $NS/crosslink"
	check_controller_rbac "$tmp/sa.kubeconfig" "$NS" "$stackns" "$otherns" 1
else
	bad "cannot create a token for $NS/crosslink"
fi

# ---- Argo CD health-check snippet --------------------------------------------
kubectl create ns "$argons" >/dev/null
kubectl create configmap argocd-cm -n "$argons" --from-literal=url=https://argocd.example >/dev/null
if kubectl patch configmap argocd-cm -n "$argons" --type merge --patch-file deploy/argocd/argocd-cm.yaml >/dev/null 2>&1; then
	ok "argocd-cm.yaml merges into an existing argocd-cm"
else
	bad "kubectl patch with deploy/argocd/argocd-cm.yaml failed"
fi
kubectl get configmap argocd-cm -n "$argons" -o json >"$tmp/cm.json"
if python3 - "$tmp/cm.json" deploy/argocd/health.lua <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))["data"]
assert d.get("url") == "https://argocd.example", "existing key lost"
assert d["resource.customizations.health.crosslink.dev_ObservabilityStack"] == open(sys.argv[2]).read(), "script differs"
PY
	ok "argocd-cm carries health.lua and keeps existing keys"
else
	bad "argocd-cm content after patch is wrong"
fi

summary
