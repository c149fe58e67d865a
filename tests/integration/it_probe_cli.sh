#!/bin/bash
# it_probe_cli.sh — `crosslink probe -f` end to end on loopback (no cluster
# needed): stand-ins for all four signals with a tenant and basic auth read
# from the environment (offline mode), table and JSON output, exit codes, a
# missing Secret → SecretNotFound, a dead backend → ConnectionRefused, and no
# secret value anywhere in the output. Needs $CROSSLINK (set by ctest).
set -u
CROSSLINK=${CROSSLINK:?set CROSSLINK to the crosslink binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/xl-it-probe-cli-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

PASS='cli-S3cret-Pass-77'
python3 "$ROOT/tests/standins/standin.py" --kind all --tenant team-a \
  --require-basic "grafana:$PASS" --port-file "$TMP/port" >"$TMP/standin.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || { echo "stand-in did not start"; cat "$TMP/standin.log"; exit 1; }
PORT=$(cat "$TMP/port")
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

auth='auth: {basic: {username: grafana, passwordSecretRef: {name: backend-auth, key: password}}}'
cat >"$TMP/stack.yaml" <<EOF
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: cli, namespace: team-a}
spec:
  metrics:  {url: http://127.0.0.1:$PORT/prometheus, tenant: team-a, $auth}
  traces:   {url: http://127.0.0.1:$PORT, tenant: team-a, $auth}
  logs:     {url: http://127.0.0.1:$PORT, tenant: team-a, $auth}
  profiles: {url: http://127.0.0.1:$PORT, tenant: team-a, $auth}
  verify: {interval: 60s, timeout: 3s}
EOF

# 1. all pass with the secret from the environment
out=$(CROSSLINK_SECRET_BACKEND_AUTH_PASSWORD="$PASS" "$CROSSLINK" probe -f "$TMP/stack.yaml" 2>"$TMP/err")
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c HealthCheckPassed <<<"$out")" = 4 ] && grep -q '^SIGNAL  *URL  *RESULT  *LATENCY  *MESSAGE' <<<"$out" \
   && grep -q 'Grafana Mimir 2.14.0' <<<"$out" && grep -q 'checked from this machine, not from the controller' <<<"$out"; then
  ok "all four signals pass (table)"
else
  fail "expected 4 passes, rc=$rc"; echo "$out"; cat "$TMP/err"
fi
grep -q -- "$PASS" <<<"$out$(cat "$TMP/err")" && fail "password appears in output"

# 2. JSON output
out=$(CROSSLINK_SECRET_BACKEND_AUTH_PASSWORD="$PASS" "$CROSSLINK" probe -f "$TMP/stack.yaml" -o json 2>/dev/null)
if python3 - "$out" <<'PY'
import json, sys
rows = json.loads(sys.argv[1])
assert len(rows) == 4, rows
assert [r["signal"] for r in rows] == ["metrics", "traces", "logs", "profiles"], rows
assert all(r["ok"] and r["reason"] == "HealthCheckPassed" and r["httpStatus"] == 200 for r in rows), rows
assert rows[0]["version"] == "2.14.0" and rows[2]["version"] == "3.2.0", rows
PY
then ok "json output"; else fail "json output"; echo "$out"; fi

# 3. no secret in the environment → SecretNotFound, not probed, exit 1
out=$(env -u CROSSLINK_SECRET_BACKEND_AUTH_PASSWORD "$CROSSLINK" probe -f "$TMP/stack.yaml" 2>&1)
rc=$?
if [ $rc -eq 1 ] && [ "$(grep -c SecretNotFound <<<"$out")" = 4 ] && grep -q 'CROSSLINK_SECRET_BACKEND_AUTH_PASSWORD' <<<"$out"; then
  ok "missing secret → SecretNotFound, exit 1"
else
  fail "missing secret: rc=$rc"; echo "$out"
fi

# 4. wrong password → Unauthorized, exit 1, wrong value not shown
out=$(CROSSLINK_SECRET_BACKEND_AUTH_PASSWORD='Wrong-Pass-Value-1' "$CROSSLINK" probe -f "$TMP/stack.yaml" 2>&1)
rc=$?
if [ $rc -eq 1 ] && [ "$(grep -c Unauthorized <<<"$out")" = 4 ] && ! grep -q 'Wrong-Pass-Value-1' <<<"$out"; then
  ok "wrong password → Unauthorized"
else
  fail "wrong password: rc=$rc"; echo "$out"
fi

# 5. a dead backend and a .invalid host next to a live one; two stacks in one file
cat >"$TMP/two.yaml" <<EOF
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: live, namespace: team-a}
spec:
  traces: {url: http://127.0.0.1:$PORT, tenant: team-a, $auth}
---
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: dead, namespace: team-a}
spec:
  logs: {url: "http://127.0.0.1:$DEAD"}
  profiles: {url: "http://pyroscope.crosslink-test.invalid:4040"}
EOF
out=$(CROSSLINK_SECRET_BACKEND_AUTH_PASSWORD="$PASS" "$CROSSLINK" probe -f "$TMP/two.yaml" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q '^STACK' <<<"$out" && grep -q '^live .*HealthCheckPassed' <<<"$out" \
   && grep -q '^dead .*ConnectionRefused' <<<"$out" && grep -q '^dead .*DNSFailure' <<<"$out"; then
  ok "two stacks: live passes, dead → ConnectionRefused / DNSFailure"
else
  fail "two stacks: rc=$rc"; echo "$out"
fi

# 6. usage errors
"$CROSSLINK" probe >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "no -f → exit 2" || fail "no -f: rc=$rc"
"$CROSSLINK" probe -f "$TMP/stack.yaml" -o yaml >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "bad -o → exit 2" || fail "bad -o: rc=$rc"
"$CROSSLINK" probe -f "$TMP/nonexistent.yaml" >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && ok "missing file → exit 1" || fail "missing file: rc=$rc"

echo "$fails failed"
[ $fails -eq 0 ]
