#!/usr/bin/env bash
# it_controller_probe_sharing.sh — probes as the controller runs them, on the
# real control plane (issue #6):
#  - 200 stacks × 4 signals against ONE stand-in (--kind all): every stack
#    gets Ready=True, and the stand-in sees at most one probe per signal per
#    verify interval, while converging and afterwards
#    (its own request counts, not the controller's);
#  - a dead backend (accepts, never answers) used by 8 stacks with a 20 s
#    timeout — more stacks than workers — does not delay 20 other stacks,
#    which converge well before that timeout; the 8 share one probe and end
#    with TracesReachable=False, reason Timeout.
# Needs KUBECONFIG and CROSSLINK; FAILS when the cluster is unreachable.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
trap cleanup EXIT

require_cluster
new_namespace xl-it-share

counts() { curl -sf --noproxy '*' "http://127.0.0.1:$1/__count"; }
reset() { curl -sf --noproxy '*' -X POST "http://127.0.0.1:$1/__reset" >/dev/null; }
# queries PORT: tenant-checked queries per signal, "m t l p"
queries() {
	counts "$1" | python3 -c '
import json, sys
p = json.load(sys.stdin)["paths"]
g = lambda k: p.get(k, 0)
print(g("POST /prometheus/api/v1/query"), g("GET /api/search/tags"), g("GET /loki/api/v1/query"),
      g("POST /querier.v1.QuerierService/ProfileTypes"))'
}
all_le() { # all_le "a b c d" MAX
	local v
	for v in $1; do ((v <= $2)) || return 1; done
}

start_standin all --kind all --tenant t1
start_standin dead --kind tempo --fail-mode slow --slow-seconds 60
start_ctl a --namespaces "$NS"
wait_ready "$PORT_a" 30 || die_setup "controller not ready (log: $(tail -5 "$CTL_TMP/a.log"))"

# ---- 200 stacks × 4 signals, one backend ------------------------------------
N=200
IV=10
for ((i = 0; i < N; i++)); do
	cat <<EOF
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: s$i, namespace: $NS}
spec:
  metrics:  {url: "http://127.0.0.1:$PORT_all/prometheus", tenant: t1, uid: m$i}
  traces:   {url: "http://127.0.0.1:$PORT_all", tenant: t1, uid: t$i}
  logs:     {url: "http://127.0.0.1:$PORT_all", tenant: t1, uid: l$i}
  profiles: {url: "http://127.0.0.1:$PORT_all", tenant: t1, uid: p$i}
  grafana: {datasourceLabels: {grafana_datasource: "s$i"}}
  dashboards: {serviceOverview: false}
  verify: {interval: ${IV}s, timeout: 3s}
---
EOF
done >"$CTL_TMP/many.yaml"
t_many=$SECONDS
kubectl apply -f "$CTL_TMP/many.yaml" >/dev/null || die_setup "cannot apply $N stacks"
ready_count() { # ready_count PREFIX: stacks named PREFIX* with Ready=True at the current generation
	kubectl -n "$NS" get ostack -o json | python3 -c '
import json, sys
n = 0
for it in json.load(sys.stdin)["items"]:
    if not it["metadata"]["name"].startswith(sys.argv[1]):
        continue
    st = it.get("status", {})
    c = {x["type"]: x["status"] for x in st.get("conditions", [])}
    n += st.get("observedGeneration") == it["metadata"]["generation"] and c.get("Ready") == "True"
print(n)' "$1"
}
all_ready() { [[ $(ready_count s) == "$N" ]]; }
check "$N stacks × 4 signals on one stand-in: all Ready=True" poll 90 all_ready
# one probe per signal per interval, whatever the number of stacks: in E
# seconds at most 1 + E / (0.9 × interval) (requeues are jittered ±10%)
rounds() { echo $((1 + $1 * 10 / (9 * IV))); }
first=$(queries "$PORT_all")
el=$((SECONDS - t_many))
check "converging: ≤ $(rounds $el) queries per signal in ${el} s for $N stacks ($first)" all_le "$first" "$(rounds $el)"
reset "$PORT_all"
sleep $((IV + 2))
q=$(queries "$PORT_all")
check "re-verification: ≤ $(rounds $((IV + 2))) queries per signal in $((IV + 2)) s for $N stacks ($q)" \
	all_le "$q" "$(rounds $((IV + 2)))"
kubectl -n "$NS" delete ostack --all --wait=false >/dev/null

# ---- a dead backend does not hold up other stacks ----------------------------
for i in $(seq 8); do
	cat <<EOF
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: dead$i, namespace: $NS}
spec:
  traces: {url: "http://127.0.0.1:$PORT_dead", uid: dead$i}
  grafana: {datasourceLabels: {grafana_datasource: "dead$i"}}
  verify: {interval: 60s, timeout: 20s}
---
EOF
done | kubectl apply -f - >/dev/null || die_setup "cannot apply the dead stacks"
sleep 1 # their reconciles have started and their probe is in flight
t0=$SECONDS
for i in $(seq 20); do
	cat <<EOF
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: live$i, namespace: $NS}
spec:
  traces: {url: "http://127.0.0.1:$PORT_all", tenant: t1, uid: live$i}
  grafana: {datasourceLabels: {grafana_datasource: "live$i"}}
  verify: {timeout: 2s}
---
EOF
done | kubectl apply -f - >/dev/null || die_setup "cannot apply the live stacks"
live_ready() { [[ $(ready_count live) == 20 ]]; }
poll 30 live_ready
took=$((SECONDS - t0))
# blocked behind the dead probe they would need ≥ 20 s (two rounds of 4 workers)
check "20 live stacks Ready while 8 stacks wait on a dead backend (20 s timeout): ${took} s" \
	eval "live_ready && ((took < 15))"
dead_timeout() { [[ $(cond dead8 TracesReachable reason) == Timeout && $(cond dead1 TracesReachable reason) == Timeout ]]; }
check "the dead backend's stacks end with TracesReachable=False, reason Timeout" poll 45 dead_timeout
check "the dead stacks shared one probe (stand-in saw $(counts "$PORT_dead" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])') request)" \
	eval '[[ $(counts "$PORT_dead" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"total\"])") == 1 ]]'
check "controller log has no ERROR" no_match '"level":"error"' "$CTL_TMP/a.log"

summary
