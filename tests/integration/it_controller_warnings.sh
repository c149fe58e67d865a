#!/usr/bin/env bash
# it_controller_warnings.sh — the controller's Warning Events and flavor gate
# on the real control plane (issue #6, design.md §3):
#  - tls.insecureSkipVerify against an https stand-in with a self-signed
#    certificate: TracesReachable=True, the condition message and ONE Warning
#    Event (reason InsecureSkipVerify) say so; periodic re-verification does
#    not send it again (no Event writes for an unchanged stack); a new
#    generation sends it once more (series count 2).
#  - a basic-auth password containing '$': the probe passes, one Warning
#    Event (reason CredentialContainsDollar) and the condition message say
#    Grafana would truncate it; the value appears in no Event, status or log.
#  - flavor: Mimir against a backend whose buildinfo names another
#    application → MetricsReachable=False (InvalidResponse), like
#    `crosslink probe`; flavor: Cortex on the same backend → True.
#  - issue 12 point 2: two stacks of one Grafana org both claiming the
#    default data source: the later one is Stalled=True UIDConflict, the
#    message names spec.metrics.default and the other stack, ONE Warning
#    Event (DefaultDataSourceConflict) per generation.
#  - issue 12 point 8: the data-source ConfigMap of the stack that reads
#    mimir-auth carries a refs-digest line; unchanged while the Secret is
#    (0 writes above); rotating the Secret's value changes it within one
#    verify interval (2 s); neither value appears in a ConfigMap, Event,
#    status or log line.
# Mutants tried (unit level, same code paths): see test_stack_reconcile.c;
# here, disabling the DefaultDataSourceConflict emit turns the "one Warning
# Event" checks red, and rendering without the digest the refs-digest ones.
# Needs KUBECONFIG and CROSSLINK; FAILS when the cluster is unreachable.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
trap cleanup EXIT

require_cluster
new_namespace xl-it-warn

SECRET='Dollar$Secret$42'
(cd "$CTL_TMP" &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=localhost' \
		-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' -keyout srv.key -out srv.crt) \
	>/dev/null 2>&1 || die_setup "openssl"

start_standin tls --kind tempo --tls-cert "$CTL_TMP/srv.crt" --tls-key "$CTL_TMP/srv.key"
start_standin dollar --kind mimir --require-basic "grafana:$SECRET"
start_standin cortex --kind mimir --application "Grafana Cortex"

kubectl -n "$NS" create secret generic mimir-auth --from-literal=password="$SECRET" >/dev/null ||
	die_setup "cannot create the Secret"

start_ctl a --namespaces "$NS"
wait_ready "$PORT_a" 30 || die_setup "controller not ready (log: $(tail -5 "$CTL_TMP/a.log"))"

apply_stacks() { # apply_stacks TIMEOUT: (re)applies the three stacks
	kubectl apply -f - >/dev/null <<YML
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: insecure, namespace: $NS}
spec:
  traces:
    url: "https://127.0.0.1:$PORT_tls"
    tls: {insecureSkipVerify: true}
  verify: {interval: 2s, timeout: $1}
---
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: dollar, namespace: $NS}
spec:
  metrics:
    url: "http://127.0.0.1:$PORT_dollar/prometheus"
    auth: {basic: {username: grafana, passwordSecretRef: {name: mimir-auth, key: password}}}
  verify: {interval: 2s, timeout: $1}
---
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: mimir-flavor, namespace: $NS}
spec:
  metrics: {url: "http://127.0.0.1:$PORT_cortex/prometheus", flavor: Mimir, uid: m1}
  verify: {timeout: $1}
---
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: cortex-flavor, namespace: $NS}
spec:
  metrics: {url: "http://127.0.0.1:$PORT_cortex/prometheus", flavor: Cortex, uid: m2}
  verify: {timeout: $1}
---
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: def-a, namespace: $NS}
spec:
  metrics: {url: "http://127.0.0.1:$PORT_cortex/prometheus", uid: da, name: DefA, default: true}
  verify: {timeout: $1}
---
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: def-b, namespace: $NS}
spec:
  metrics: {url: "http://127.0.0.1:$PORT_cortex/prometheus", uid: db, name: DefB, default: true}
  verify: {timeout: $1}
YML
}
apply_stacks 1s || die_setup "cannot create the stacks"

# warnings STACK REASON: how many times the Event was sent (series count)
warnings() {
	kubectl -n "$NS" get events.events.k8s.io -o json 2>/dev/null | python3 -c '
import json, sys
stack, reason = sys.argv[1], sys.argv[2]
n = 0
for e in json.load(sys.stdin)["items"]:
    r = e.get("regarding") or {}
    if r.get("name") == stack and r.get("kind") == "ObservabilityStack" and e.get("reason") == reason:
        assert e.get("type") == "Warning", e
        n += (e.get("series") or {}).get("count", 1)
print(n)' "$1" "$2"
}
is_count() { [[ $(warnings "$1" "$2") == "$3" ]]; }
reachable_is() { [[ $(cond "$1" "$2" status) == "$3" ]]; }

check "insecureSkipVerify: https backend with a self-signed certificate passes" \
	poll 30 reachable_is insecure TracesReachable True
check "insecureSkipVerify: the condition message says the certificate is not verified" \
	poll 10 eval '[[ $(cond insecure TracesReachable message) == *"insecureSkipVerify is set"* ]]'
check "insecureSkipVerify: one Warning Event (InsecureSkipVerify)" poll 20 is_count insecure InsecureSkipVerify 1
check "'\$' in a credential: the probe passes" poll 30 reachable_is dollar MetricsReachable True
check "'\$' in a credential: the condition message warns" \
	eval '[[ $(cond dollar MetricsReachable message) == *"contains '"'"'\$'"'"'"* ]]'
check "'\$' in a credential: one Warning Event (CredentialContainsDollar)" \
	poll 20 is_count dollar CredentialContainsDollar 1
check "flavor Mimir vs a backend reporting Grafana Cortex: MetricsReachable=False" \
	poll 30 reachable_is mimir-flavor MetricsReachable False
check "flavor Mimir mismatch: reason InvalidResponse" test "$(cond mimir-flavor MetricsReachable reason)" == InvalidResponse
check "flavor Mimir mismatch: the message names the application" \
	eval '[[ $(cond mimir-flavor MetricsReachable message) == *"flavor is Mimir"*"Grafana Cortex"* ]]'
check "flavor Cortex on the same backend: MetricsReachable=True" poll 30 reachable_is cortex-flavor MetricsReachable True

# default data source claimed twice (same namespace, same creation second:
# the earlier is def-a by name)
check "default claimed twice: the later stack is Stalled=True UIDConflict" \
	poll 30 eval '[[ $(cond def-b Stalled status)/$(cond def-b Stalled reason) == True/UIDConflict ]]'
check "default claimed twice: the message names spec.metrics.default and the other stack" \
	eval '[[ $(cond def-b Stalled message) == *"spec.metrics.default"*"$NS/def-a"* ]]'
check "default claimed twice: the earlier stack is not stalled" cond_is def-a Stalled status False
check "default claimed twice: one Warning Event (DefaultDataSourceConflict)" \
	poll 20 is_count def-b DefaultDataSourceConflict 1
check "default claimed twice: the Warning names the field and the other stack" eval '
	kubectl -n "$NS" get events.events.k8s.io -o json | python3 -c "
import json, sys
ns = sys.argv[1]
notes = [e.get(\"note\", \"\") for e in json.load(sys.stdin)[\"items\"] if e.get(\"reason\") == \"DefaultDataSourceConflict\"]
sys.exit(0 if notes and all(\"spec.metrics.default\" in n and ns + \"/def-a\" in n for n in notes) else 1)" "$NS"'

# refs digest: the stack that reads mimir-auth
ds_digest() { # the refs-digest line atop dollar's data-source file
	kubectl -n "$NS" get configmap dollar-grafana-datasources -o json 2>/dev/null | python3 -c '
import json, sys
for v in (json.load(sys.stdin).get("data") or {}).values():
    if v.startswith("# crosslink.dev/refs-digest: sha256:"):
        print(v.split("\n", 1)[0])' 2>/dev/null
}
digest0=$(ds_digest)
check "refs digest: the data-source file starts with a refs-digest line" \
	eval '[[ $digest0 == "# crosslink.dev/refs-digest: sha256:"* ]]'

# re-verified every 2 s: no more Events and no writes at all while unchanged
sleep 2
w0=$(writes "$PORT_a")
sleep 7
w1=$(writes "$PORT_a")
check "unchanged stacks re-verified for 7 s: 0 API writes ($w0 → $w1)" same_count "$w0" "$w1"
check "insecureSkipVerify Warning not repeated by re-verification" is_count insecure InsecureSkipVerify 1
check "'\$' Warning not repeated by re-verification" is_count dollar CredentialContainsDollar 1
check "default-conflict Warning not repeated by re-verification" is_count def-b DefaultDataSourceConflict 1
check "refs digest: unchanged Secret, unchanged digest" eval '[[ -n $digest0 && $(ds_digest) == "$digest0" ]]'

# a new generation: the warnings are sent once more
apply_stacks 2s || bad "cannot update the stacks"
check "new generation: InsecureSkipVerify sent again (count 2)" poll 20 is_count insecure InsecureSkipVerify 2
check "new generation: CredentialContainsDollar sent again (count 2)" poll 20 is_count dollar CredentialContainsDollar 2
check "new generation: DefaultDataSourceConflict sent again (count 2)" poll 20 is_count def-b DefaultDataSourceConflict 2
sleep 5
check "new generation: still 2 after re-verification" is_count insecure InsecureSkipVerify 2
check "new generation: DefaultDataSourceConflict still 2 after re-verification" is_count def-b DefaultDataSourceConflict 2

# rotation: a new value (new resourceVersion) reaches the data-source file
# within one verify interval (2 s; polled up to 2 s + probe timeout + slack)
ROTATED='Rotated$Value$77'
digest1=$(ds_digest)
kubectl -n "$NS" create secret generic mimir-auth --from-literal=password="$ROTATED" --dry-run=client -o yaml |
	kubectl apply -f - >/dev/null 2>&1 || bad "cannot rotate the Secret"
t0=$SECONDS
digest_changed() { local d; d=$(ds_digest); [[ -n $d && $d != "$digest1" ]]; }
check "refs digest: the rotated Secret changes the digest line" poll 6 digest_changed
check "refs digest: within one interval (+ probe timeout): $((SECONDS - t0)) s" eval '((SECONDS - t0 <= 5))'

# the secret value never leaves the Secret
leak=0
kubectl -n "$NS" get events.events.k8s.io,ostack,configmap -o yaml >"$CTL_TMP/objs.yaml" || leak=2
for v in "$SECRET" "$ROTATED"; do
	grep -qF "$v" "$CTL_TMP/objs.yaml" && leak=1
	grep -qF "$v" "$CTL_TMP/a.log" && leak=1
done
check "neither secret value (before/after rotation) is in an Event, status, ConfigMap or log line" test "$leak" == 0
check "controller log has no ERROR" no_match '"level":"error"' "$CTL_TMP/a.log"

summary
