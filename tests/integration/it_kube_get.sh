#!/usr/bin/env bash
# it_kube_get.sh — `crosslink get stacks` against the real control plane:
# table columns and Ready condition, -n / -A, the context's namespace,
# --context and --kubeconfig handling, tls-server-name (verified against the
# apiserver certificate, kubectl as referee). Needs KUBECONFIG (tests/cluster/up) and
# CROSSLINK (the built binary); fails, never skips, without them.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "FAIL: $*" >&2; exit 1; }
: "${KUBECONFIG:?KUBECONFIG must point at the control plane from tests/cluster/up}"
: "${CROSSLINK:?CROSSLINK must be the crosslink binary}"
kubectl get --raw /readyz --request-timeout=10s >/dev/null || fail "API server not reachable via $KUBECONFIG"

ns=xl-kube-get-$$-$RANDOM
empty=$ns-empty
tmp=$(mktemp -d)
cleanup() {
	kubectl delete namespace "$ns" "$empty" --wait=false --ignore-not-found >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

kubectl apply --server-side --field-manager=crosslink-it --force-conflicts \
	-f crds/crosslink.dev_observabilitystacks.yaml >/dev/null
kubectl wait --for=condition=Established crd/observabilitystacks.crosslink.dev --timeout=60s >/dev/null
kubectl create namespace "$ns" >/dev/null
kubectl create namespace "$empty" >/dev/null
for i in $(seq 50); do
	kubectl get observabilitystacks -n "$ns" >/dev/null 2>&1 && break
	sleep 0.2
done
kubectl apply -n "$ns" -f - >/dev/null <<'EOF'
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: alpha}
spec:
  metrics: {url: "http://mimir.example/prometheus"}
---
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: beta-with-a-long-name}
spec:
  traces: {url: "http://tempo.example:3200"}
EOF
kubectl patch observabilitystack alpha -n "$ns" --subresource=status --type=merge -p \
	'{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Reconciled","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}' >/dev/null

# -n NS
out=$("$CROSSLINK" get stacks -n "$ns")
echo "$out"
header=$(head -1 <<<"$out")
[[ $header =~ ^NAME\ +READY\ +REASON\ +AGE$ ]] || fail "unexpected header: $header"
grep -Eq "^alpha +True +Reconciled +[0-9a-z]+$" <<<"$out" || fail "alpha row wrong"
grep -Eq "^beta-with-a-long-name +Unknown +<none> +[0-9a-z]+$" <<<"$out" || fail "beta row wrong"
[[ $(wc -l <<<"$out") -eq 3 ]] || fail "expected header + 2 rows"
# columns are aligned: READY starts at the same offset in every line
cols=$(awk '{ print index($0, $2) }' <<<"$out" | sort -u | wc -l)
[[ $cols -eq 1 ]] || fail "READY column not aligned"

# -A adds the NAMESPACE column and sees every namespace
out=$("$CROSSLINK" get stacks -A)
echo "$out"
[[ $(head -1 <<<"$out") =~ ^NAMESPACE\ +NAME\ +READY\ +REASON\ +AGE$ ]] || fail "-A header"
grep -Eq "^$ns +alpha +True +Reconciled " <<<"$out" || fail "-A alpha row"

# the context's namespace is the default, like kubectl
cp "$KUBECONFIG" "$tmp/kc"
kubectl --kubeconfig "$tmp/kc" config set-context --current --namespace="$ns" >/dev/null
out=$(KUBECONFIG=/nonexistent "$CROSSLINK" get stacks --kubeconfig "$tmp/kc")
grep -q '^alpha ' <<<"$out" || fail "context namespace not used"
# KUBECONFIG from the environment, with a missing file in the list
out=$(KUBECONFIG="$tmp/missing:$tmp/kc" "$CROSSLINK" get ostacks)
grep -q '^alpha ' <<<"$out" || fail "KUBECONFIG list not merged"
ctx=$(kubectl --kubeconfig "$tmp/kc" config current-context)
out=$("$CROSSLINK" get stacks --kubeconfig "$tmp/kc" --context "$ctx")
grep -q '^alpha ' <<<"$out" || fail "--context $ctx"

# an empty namespace
err=$("$CROSSLINK" get stacks -n "$empty" 2>&1 >/dev/null)
[[ $err == "No resources found in $empty namespace." ]] || fail "empty namespace message: $err"

# errors: unknown context → exit 1 naming it; usage errors → exit 2
set +e
err=$("$CROSSLINK" get stacks --context no-such-context 2>&1); rc=$?
set -e
[[ $rc -eq 1 && $err == *no-such-context* ]] || fail "unknown context: rc=$rc $err"
set +e
"$CROSSLINK" get stacks -n x -A >/dev/null 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "-n with -A should be a usage error"
# tls-server-name: the certificate is verified against it, not the URL's host
# (the apiserver's certificate names kubernetes.default but not wrong.invalid);
# kubectl agrees on both
cl=$(kubectl --kubeconfig "$tmp/kc" config view --minify -o jsonpath='{.contexts[0].context.cluster}')
cp "$tmp/kc" "$tmp/kc-sni"
kubectl --kubeconfig "$tmp/kc-sni" config set "clusters.$cl.tls-server-name" kubernetes.default >/dev/null
out=$("$CROSSLINK" get stacks --kubeconfig "$tmp/kc-sni" -n "$ns") || fail "tls-server-name kubernetes.default refused"
grep -q '^alpha ' <<<"$out" || fail "tls-server-name: no alpha row"
kubectl --kubeconfig "$tmp/kc-sni" get --raw /readyz >/dev/null || fail "kubectl refused tls-server-name kubernetes.default"
kubectl --kubeconfig "$tmp/kc-sni" config set "clusters.$cl.tls-server-name" wrong.invalid >/dev/null
set +e
err=$("$CROSSLINK" get stacks --kubeconfig "$tmp/kc-sni" -n "$ns" 2>&1); rc=$?
kubectl --kubeconfig "$tmp/kc-sni" get --raw /readyz --request-timeout=10s >/dev/null 2>&1; krc=$?
set -e
[[ $rc -eq 1 ]] || fail "tls-server-name wrong.invalid accepted (rc=$rc): $err"
grep -qiE 'certificate|tls|ssl' <<<"$err" || fail "tls-server-name mismatch not reported as a TLS error: $err"
[[ $krc -ne 0 ]] || fail "kubectl accepted tls-server-name wrong.invalid (the test premise is wrong)"
echo "it_kube_get: ok"
