#!/usr/bin/env bash
# it_faults_apf.sh — API Priority and Fairness rejects the controller
# (docs/faults.md): a FlowSchema sends every write of the controller's user
# to a PriorityLevelConfiguration with no seats (nominalConcurrencyShares 0,
# no borrowing) and limitResponse Reject. APF still runs one request of such
# a level when nothing else of it executes, so a "hog" user, routed to the
# same level, keeps it busy with requests that block for 3 s each (a LIST at
# a future resourceVersion waits for the watch cache, then 504s). Each
# ConfigMap apply and status patch of the controller then gets 429 with
# Retry-After from the real API server. While that lasts the controller must
# back off (honour Retry-After: at most one attempt per second per write in
# flight), not relist or re-watch, and keep its watches; once the FlowSchema
# is gone it must converge. Counted by the API server
# (apiserver_flowcontrol_{dispatched,rejected}_requests_total per FlowSchema).
#
# Seen red by hand (not committed): pkg/kube/client.c do_request() retrying
# at once instead of sleeping Retry-After (`long wait = 0;`) → "backs off
# while throttled" exceeds its bound several times over; pkg/kube/limiter.c
# not halving on 429 (`l->limit = l->limit;`) → "the in-flight limit fell
# while throttled (36 → 36)" and "answers raised it again" red. The limit
# (gauge crosslink_api_in_flight_limit) fell 36 → 1..4 in the runs seen with
# a ceiling of workers × 2 + 4, 20 → 1 with workers + 4 (2 CPUs).
# Needs KUBECONFIG (a tests/cluster control plane) and CROSSLINK.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/faults_lib.sh"
FS_TINY=xl-faults-tiny-write
FS_HOG=xl-faults-tiny-hog
PL_TINY=xl-faults-tiny
HOG_PIDS=()
lift() {
	local p
	for p in "${HOG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	kubectl delete flowschema "$FS_TINY" "$FS_HOG" --ignore-not-found >/dev/null 2>&1
}
trap 'lift; kubectl delete prioritylevelconfiguration "$PL_TINY" --ignore-not-found >/dev/null 2>&1; cleanup' EXIT

N=2 # stacks edited while throttled: 2 ConfigMap applies + 1 status patch each
require_cluster
make_ctl_user
new_namespace xl-it-fapf
start_ctl a --kubeconfig "$CTL_KUBECONFIG" --namespaces "$NS" --verify-interval 300s
wait_ready "$PORT_a" 30 || die_setup "controller not ready (log: $(tail -5 "$CTL_TMP/a.log"))"
for i in $(seq "$N"); do stack_yaml "s$i"; echo "---"; done | kubectl apply -f - >/dev/null
all_in_sync() { in_sync s1 s2; }
check "stacks converge" poll 60 all_in_sync

# ---- throttle: no seats, reject -------------------------------------------------
kubectl apply -f - >/dev/null <<EOF || die_setup "cannot create the tiny priority level"
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: $PL_TINY}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 0
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse: {type: Reject}
$(fs_yaml "$FS_TINY" 100 "$PL_TINY" '[create, update, patch, delete]' '["*"]')
$(FS_USER=$HOG_USER fs_yaml "$FS_HOG" 100 "$PL_TINY" '[list]' '["*"]')
EOF
tiny_active() {
	local f
	for f in "$FS_TINY" "$FS_HOG"; do
		[[ $(kubectl get flowschema "$f" -o 'jsonpath={.status.conditions[?(@.type=="Dangling")].status}') == False ]] || return 1
	done
}
check "the tiny FlowSchemas are active" poll 15 tiny_active
mint_user "$HOG_USER"
hog() {
	local d=$CTL_TMP/user-$HOG_USER
	while :; do
		curl -s -o /dev/null --max-time 10 --cacert "$STATE/pki/ca.crt" --cert "$d/u.crt" --key "$d/u.key" \
			"$APISERVER_URL/api/v1/namespaces/$NS/configmaps?limit=1&resourceVersion=999999999&resourceVersionMatch=NotOlderThan"
		sleep 0.05
	done
}
for _ in 1 2 3; do hog & HOG_PIDS+=($!); done
hog0=$(fs_count "$FS_HOG" rejected)
hogging() { (($(fs_count "$FS_HOG" rejected) > hog0)); }
check "the hog keeps the tiny level busy" poll 15 hogging
# the API server keeps a FlowSchema's counters after it is deleted: deltas
rej0=$(fs_count "$FS_TINY" rejected)
disp0=$(fs_count "$FS_TINY")
lists0=$(fs_count "$FS_LIST")
watches0=$(fs_count "$FS_WATCH")
LIM0=$(metric_value "$PORT_a" '^crosslink_api_in_flight_limit ') # its ceiling: no 429 yet
for i in $(seq "$N"); do stack_yaml "s$i" "  correlation:
    serviceLabel: while_throttled" | kubectl apply -f - >/dev/null; done
t_edit=$(date +%s%N)
rejected() { (($(fs_count "$FS_TINY" rejected) > rej0)); }
check "the controller's writes are rejected with 429" poll 15 rejected
WINDOW=8
# the lowest in-flight limit the controller reports during the window
LIM_MIN=
for ((i = 0; i < WINDOW * 5; i++)); do
	l=$(metric_value "$PORT_a" '^crosslink_api_in_flight_limit ') || l=
	[[ $l =~ ^[0-9]+$ ]] && { [[ -z $LIM_MIN ]] || ((l < LIM_MIN)); } && LIM_MIN=$l
	sleep 0.2
done
rej=$(($(fs_count "$FS_TINY" rejected) - rej0))
disp=$(($(fs_count "$FS_TINY") - disp0))
lists1=$(fs_count "$FS_LIST")
watches1=$(fs_count "$FS_WATCH")
c429=$(metric_value "$PORT_a" '^rest_client_requests_total\{code="429"')
echo "     (in ~$((WINDOW + 1)) s throttled: $rej rejected, $disp dispatched writes; the controller saw $c429 × 429)"
# honouring Retry-After (≥ 1 s) allows ≤ 1 attempt per second for each of the
# ≤ 3·N writes in flight, over the window plus the time to see the first 429
max=$((3 * N * (WINDOW + 4)))
check "backs off while throttled: $rej attempts ≤ $max" test "$rej" -le "$max"
check "the writes were rejected, not queued ($rej rejected ≥ 3)" test "$rej" -ge 3
check "no relist while throttled ($lists0 → $lists1 lists)" test "$lists1" == "$lists0"
check "no re-watch while throttled ($watches0 → $watches1 watches)" test "$watches1" == "$watches0"
check "the controller stays ready" curl -sf --noproxy '*' "http://127.0.0.1:$PORT_a/readyz"
check "the controller counted the 429s it got" test "$c429" -gt 0
# the client's in-flight limit follows APF: halved by the 429s, raised by
# answers again after the lift (additively, towards workers + 4)
check "the in-flight limit fell while throttled ($LIM0 → ${LIM_MIN:-?}, ≤ a quarter)" \
	test "$((${LIM_MIN:-99} * 4))" -le "$LIM0"

# ---- lift: converge -----------------------------------------------------------
LIM_LIFT=$(metric_value "$PORT_a" '^crosslink_api_in_flight_limit ')
lift
t_lift=$(date +%s%N)
check "converges once the FlowSchema is gone" poll 90 all_in_sync
echo "     (converged $(ms_since "$t_lift") ms after the lift, $(ms_since "$t_edit") ms after the edit)"
w0=$(fs_count "$FS_WRITE" all)
sleep 3
check "quiet after converging" test "$(fs_count "$FS_WRITE" all)" == "$w0"
lim=$(metric_value "$PORT_a" '^crosslink_api_in_flight_limit ')
check "answers raised the in-flight limit again ($LIM_LIFT → $lim)" test "$lim" -gt "$LIM_LIFT"

summary
