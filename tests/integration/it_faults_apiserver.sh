#!/usr/bin/env bash
# it_faults_apiserver.sh — the control plane fails under a running controller
# (docs/faults.md): competing writers on an owned ConfigMap (forced and
# unforced server-side apply, a stale-resourceVersion update that gets 409,
# a writer that strips the managed-by label), then etcd compacted and the
# kube-apiserver killed (-9) and restarted right after spec edits, while the
# controller is frozen — so its watches die mid-stream and its applies for
# the edits fail or never start. Checked with the API server's own
# request counters for the controller's user (faults_lib.sh): nothing lost
# (every edit reconciled, ConfigMaps equal to `crosslink render`), nothing
# duplicated or orphaned, no hot loop against the rival, and no burst of
# writes when the watches come back with 410 and relist.
#
# Seen red by hand (mutant built from a copy, not committed): pkg/kube/watch.c
# relist() reporting every object as MODIFIED (like client-go's Replace) plus
# controller/reconcile.c cm_needs_apply() ignoring cm_matches() (re-apply on
# every reconcile) — a relist-then-rewrite controller: "no burst of writes
# after the restart" fails (23 writes for 3 edited of 8 stacks) and so does
# "no hot loop against the rival" (6 writes for 3). pkg/kube/watch.c
# re-watching from the same resourceVersion after 410 instead of relisting →
# 10,594 WATCH requests in a minute, the edit made after the restart is never
# seen: "s4 reconciled", "all stacks in sync" and "relisted" fail.
# Needs KUBECONFIG (a tests/cluster control plane: the test mints a client
# certificate from its CA and restarts its apiserver) and CROSSLINK.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/faults_lib.sh"
trap cleanup EXIT

N_STACKS=8
require_cluster
make_ctl_user
new_namespace xl-it-fapi
start_ctl a --kubeconfig "$CTL_KUBECONFIG" --namespaces "$NS" --verify-interval 300s
wait_ready "$PORT_a" 30 || die_setup "controller not ready (log: $(tail -5 "$CTL_TMP/a.log"))"

for i in $(seq "$N_STACKS"); do stack_yaml "s$i"; echo "---"; done | kubectl apply -f - >/dev/null ||
	die_setup "cannot create the stacks"
ALL=($(seq -f "s%g" "$N_STACKS"))
all_in_sync() { in_sync "${ALL[@]}"; }
check "$N_STACKS stacks converge" poll 60 all_in_sync

writes_now() { fs_count "$FS_WRITE" all; }
# quiet W0 SECONDS: no controller write for SECONDS after W0
quiet_for() {
	local w0=$1 s=$2
	sleep "$s"
	[[ $(writes_now) == "$w0" ]]
}

# ---- 1. competing writers on an owned ConfigMap --------------------------------
CM=s1-grafana-datasources
key=$(jp cm $CM '{.data}' | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin))[0])')
rival_apply() { # rival_apply VALUE [FLAGS]
	kubectl apply --server-side --field-manager rival "${@:2}" -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: $CM, namespace: $NS}
data: {"$key": "$1"}
EOF
}
sleep 1
w0=$(writes_now)
t0=$(date +%s%N)
rival_writes=0
for v in 1 2 3; do
	rival_apply "rival-$v" --force-conflicts >/dev/null 2>&1 && rival_writes=$((rival_writes + 1))
	sleep 0.3
done
check "the forced rival wrote ($rival_writes times)" test "$rival_writes" -ge 2
check "rival data undone: ConfigMaps equal the rendering again" poll 15 in_sync s1
echo "     (converged $(ms_since "$t0") ms after the first rival write)"
sleep 2
w1=$(writes_now)
echo "     (controller writes during the fight: $((w1 - w0)) for $rival_writes rival writes)"
check "no hot loop against the rival: ≤ 1 restore per rival write + 2 ($((w1 - w0)))" \
	test $((w1 - w0)) -le $((rival_writes + 2))
check "quiet after the fight (no write in 2 s)" quiet_for "$w1" 2

# an unforced rival meets the controller's field ownership: 409 for the rival
out=$(rival_apply "unforced" 2>&1)
check "an unforced server-side apply by a rival gets 409 Conflict" grep -q -i conflict <<<"$out"
# an update with a stale resourceVersion: 409 for the rival, nothing for us
old_rv=$(jp cm $CM '{.metadata.resourceVersion}')
kubectl -n "$NS" label cm $CM touched=1 >/dev/null
out=$(kubectl -n "$NS" get cm $CM -o json |
	python3 -c "import json,sys; o=json.load(sys.stdin); o['metadata']['resourceVersion']='$old_rv'; o['data']['$key']='stale'; print(json.dumps(o))" |
	kubectl replace -f - 2>&1)
check "an update with a stale resourceVersion gets 409 Conflict" grep -q -i conflict <<<"$out"
# a writer that takes the ConfigMap out of the controller's label selector
w2=$(writes_now)
kubectl -n "$NS" label cm $CM app.kubernetes.io/managed-by- >/dev/null
relabelled() { [[ $(jp cm $CM '{.metadata.labels.app\.kubernetes\.io/managed-by}') == crosslink ]]; }
check "a stripped managed-by label is restored" poll 15 relabelled
check "and the data is still the rendering" poll 10 in_sync s1
sleep 2
w3=$(writes_now)
check "restoring the label took ≤ 3 writes ($((w3 - w2)))" test $((w3 - w2)) -le 3
check "no orphaned or duplicate ConfigMap after the rivals" no_orphans_or_duplicates

# ---- 2. etcd compaction + apiserver restart mid-watch / mid-apply -------------
# s2 and s3 are edited right before the kill; s4…sN are unchanged and must
# cost nothing when the watches come back with 410 and relist.
check "the controller's watches are established" test "$(fs_count "$FS_WATCH")" -ge 2
# the controller is frozen (SIGSTOP) while s2 and s3 are edited and the
# apiserver is killed (-9), then thawed: it finds the edits' watch events
# in its socket (its applies then fail and are retried) or never got them
# (the watch resumes after the restart, meets 410 and relists);
# restart-apiserver starts the apiserver again
kill -STOP "$PID_a"
for s in s2 s3; do stack_yaml "$s" "  correlation:
    serviceLabel: edited_before_kill"; echo "---"; done | kubectl apply -f - >/dev/null
pid=$(cat "$STATE/kube-apiserver.pid")
kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
t_kill=$(date +%s%N)
# compacted past the edits: a watch resumed from before them cannot be served
rev=$(etcd_compact)
kill -CONT "$PID_a"
check "etcd compacted to its current revision ($rev)" test -n "$rev"
w_pre=$(metric_value "$PORT_a" '^rest_client_requests_total\{.*method="(PATCH|POST|PUT|DELETE)"')
if ! bash "$(dirname -- "${BASH_SOURCE[0]}")/../cluster/restart-apiserver" --state-dir "$STATE" \
	>"$CTL_TMP/restart.log" 2>&1; then
	die_setup "restart-apiserver failed: $(tail -3 "$CTL_TMP/restart.log")"
fi
echo "     (apiserver back after $(ms_since "$t_kill") ms)"
t_up=$(date +%s%N)
check "s2 and s3 (edited just before the kill) reconciled after the restart" poll 60 in_sync s2 s3
echo "     (edited stacks converged $(ms_since "$t_up") ms after the apiserver was back)"
# a spec change after the restart: the watches are alive again
stack_yaml s4 "  correlation:
    serviceLabel: edited_after_restart" | kubectl apply -f - >/dev/null
t_edit=$(date +%s%N)
check "s4 (edited after the restart) reconciled" poll 45 in_sync s4
echo "     (edit after the restart reconciled in $(ms_since "$t_edit") ms)"
check "all $N_STACKS stacks in sync after the restart" poll 30 all_in_sync
sleep 3
# the apiserver's counters started again at zero with the new process
lists=$(fs_count "$FS_LIST")
watches=$(fs_count "$FS_WATCH")
wr=$(writes_now)
echo "     (after the restart the controller listed $lists, watched $watches, wrote $wr times;"
echo "      it had sent $w_pre writes when the apiserver died, $(metric_value "$PORT_a" '^rest_client_requests_total\{.*method="(PATCH|POST|PUT|DELETE)"') now)"
# A relist is a paged LIST or, where the server has WatchList (v1.36 has it
# on), a watch with sendInitialEvents — the apiserver counts the latter as a
# watch. Either way both informers must have come back; that the relist saw
# the state is proven by s2/s3 above (their edits happened while etcd was
# compacted past the controller's resourceVersion, so only a relist finds them).
check "both informers re-synced after the restart ($lists lists + $watches watches ≥ 2)" \
	test "$((lists + watches))" -ge 2
# s2, s3 and s4: at most 2 ConfigMap applies + 1 status patch each, plus one
# retried write for a request the kill cut off; unchanged stacks: none
check "no burst of writes after the restart: $wr ≤ 12 for 3 edited of $N_STACKS stacks" test "$wr" -le 12
check "no orphaned or duplicate ConfigMap after the restart" no_orphans_or_duplicates
w4=$(writes_now)
check "quiet after the restart (no write in 2 s)" quiet_for "$w4" 2

summary
