#!/bin/bash
# it_probe_secrets.sh — `crosslink probe --secrets-from-cluster` against a real
# API server: basic-auth password and bearer token from Secrets, a CA from a
# ConfigMap for an https stand-in (certificates generated here), a Secret that
# does not exist → SecretNotFound, a key missing from an existing Secret →
# SecretNotFound; no secret value in the output. Needs KUBECONFIG (fails
# without it) and $CROSSLINK. Uses its own namespace and deletes it.
set -u
CROSSLINK=${CROSSLINK:?set CROSSLINK to the crosslink binary}
if [ -z "${KUBECONFIG:-}" ]; then echo "FAIL: KUBECONFIG is not set (run tests/cluster/up)"; exit 1; fi
kubectl version --request-timeout=5s >/dev/null 2>&1 || { echo "FAIL: API server not reachable"; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/xl-it-probe-sec-XXXXXX)
NS="xl-probe-$(date +%s)-$$"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

PASS='Cluster-Basic-PW-314'
TOKEN='Cluster-Bearer-Token-2718'
( cd "$TMP" &&
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=xl test CA' -keyout ca.key -out ca.crt &&
  openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout srv.key -out srv.csr &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf &&
  openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out srv.crt
) >/dev/null 2>&1 || { echo "FAIL: openssl"; exit 1; }

start() { # name args...
  local name=$1; shift
  python3 "$ROOT/tests/standins/standin.py" --port-file "$TMP/$name.port" "$@" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
}
start basic --kind all --tenant t1 --require-basic "grafana:$PASS"
start bearer --kind all --require-bearer "$TOKEN"
start tls --kind all --tls-cert "$TMP/srv.crt" --tls-key "$TMP/srv.key"
for n in basic bearer tls; do
  for _ in $(seq 100); do [ -s "$TMP/$n.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$n.port" ] || { echo "FAIL: stand-in $n did not start"; exit 1; }
done
PB=$(cat "$TMP/basic.port") PT=$(cat "$TMP/bearer.port") PS=$(cat "$TMP/tls.port")

kubectl create namespace "$NS" >/dev/null || { echo "FAIL: create namespace"; exit 1; }
kubectl -n "$NS" create secret generic backend-auth --from-literal=password="$PASS" >/dev/null
kubectl -n "$NS" create secret generic backend-token --from-literal=token="$TOKEN" >/dev/null
kubectl -n "$NS" create configmap internal-ca --from-file=ca.crt="$TMP/ca.crt" >/dev/null

cat >"$TMP/stack.yaml" <<EOF
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: sec, namespace: $NS}
spec:
  metrics:
    url: http://127.0.0.1:$PB/prometheus
    tenant: t1
    auth: {basic: {username: grafana, passwordSecretRef: {name: backend-auth, key: password}}}
  traces:
    url: http://127.0.0.1:$PT
    auth: {bearerTokenSecretRef: {name: backend-token, key: token}}
  logs:
    url: https://127.0.0.1:$PS
    tls: {caConfigMapRef: {name: internal-ca, key: ca.crt}}
  profiles:
    url: http://127.0.0.1:$PT
    auth: {bearerTokenSecretRef: {name: no-such-secret, key: token}}
  verify: {timeout: 3s}
EOF

out=$("$CROSSLINK" probe -f "$TMP/stack.yaml" --secrets-from-cluster -o json 2>"$TMP/err")
rc=$?
if python3 - "$out" <<'PY'
import json, sys
rows = {r["signal"]: r for r in json.loads(sys.argv[1])}
assert rows["metrics"]["reason"] == "HealthCheckPassed", rows["metrics"]
assert rows["traces"]["reason"] == "HealthCheckPassed", rows["traces"]
assert rows["logs"]["reason"] == "HealthCheckPassed", rows["logs"]
assert rows["profiles"]["reason"] == "SecretNotFound", rows["profiles"]
assert "no-such-secret" in rows["profiles"]["message"], rows["profiles"]
PY
then ok "secrets and CA from the cluster; missing Secret → SecretNotFound"; else fail "json rows"; echo "$out"; cat "$TMP/err"; fi
[ $rc -eq 1 ] && ok "exit 1 because one signal fails" || fail "rc=$rc"
if grep -q -e "$PASS" -e "$TOKEN" <<<"$out$(cat "$TMP/err")"; then fail "a secret value appears in the output"; fi

# key missing from an existing Secret; and offline mode cannot see cluster Secrets
sed -i 's/key: password/key: nope/' "$TMP/stack.yaml"
out=$("$CROSSLINK" probe -f "$TMP/stack.yaml" --secrets-from-cluster 2>&1)
grep -q '^metrics .*SecretNotFound.*no key nope' <<<"$out" && ok "missing key → SecretNotFound" || { fail "missing key"; echo "$out"; }
out=$("$CROSSLINK" probe -f "$TMP/stack.yaml" 2>&1)
[ "$(grep -c SecretNotFound <<<"$out")" -ge 3 ] && ok "offline: cluster refs → SecretNotFound" || { fail "offline"; echo "$out"; }

echo "$fails failed"
[ $fails -eq 0 ]
