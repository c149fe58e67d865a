# faults_lib.sh — helpers for the fault tests (tests/integration/it_faults_*.sh),
# sourced after ctl_lib.sh: the control plane's state dir, a dedicated
# controller user (client certificate from the test cluster's CA) so that the
# API server itself counts the controller's requests, per-verb counting
# FlowSchemas, VmRSS sampling, etcd compaction, and the fault stand-ins.
# Not a test itself (the ctest glob only registers it_*.sh). See docs/faults.md.
#
# Counting: four FlowSchemas send the controller user's requests, split by
# verb, to one roomy priority level; the API server's
# apiserver_flowcontrol_{dispatched,rejected}_requests_total{flow_schema}
# then count the controller's lists, watches, writes (ConfigMaps and stacks)
# and everything else — the server's numbers, not the controller's own.

CTL_USER=crosslink-faults
HOG_USER=xl-faults-hog # it_faults_apf.sh: holds the seat of the tiny priority level
FS_LIST=xl-faults-list
FS_WATCH=xl-faults-watch
FS_WRITE=xl-faults-write
FS_OTHER=xl-faults-other

# cluster_state: sets STATE (the tests/cluster state dir) and sources its env
# (ETCD_PORT, APISERVER_URL, …); dies when the CA key is not there.
cluster_state() {
	STATE=${CROSSLINK_CLUSTER_DIR:-$(dirname -- "$KUBECONFIG")}
	[[ -f $STATE/env && -f $STATE/pki/ca.key ]] ||
		die_setup "no tests/cluster state dir at $STATE (set CROSSLINK_CLUSTER_DIR)"
	# shellcheck disable=SC1091
	source "$STATE/env"
}

# mint_user NAME: a client certificate and key for user NAME from the test
# cluster's CA, in $CTL_TMP/user-NAME/u.{crt,key}
mint_user() {
	local d=$CTL_TMP/user-$1
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout u.key \
			-subj "/CN=$1" -out u.csr 2>/dev/null &&
			openssl x509 -req -in u.csr -CA "$STATE/pki/ca.crt" -CAkey "$STATE/pki/ca.key" \
				-CAcreateserial -CAserial "$d/ca.srl" -days 1 -sha256 -out u.crt 2>/dev/null
	) || die_setup "cannot mint a client certificate for $1"
}

# make_ctl_user: a client certificate for $CTL_USER, bound to cluster-admin,
# and $CTL_KUBECONFIG using it; plus the counting FlowSchemas.
make_ctl_user() {
	cluster_state
	local d=$CTL_TMP/user-$CTL_USER
	mint_user "$CTL_USER"
	CTL_KUBECONFIG=$d/kubeconfig
	cat >"$CTL_KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$APISERVER_URL", certificate-authority-data: $(base64 -w0 <"$STATE/pki/ca.crt")}
users:
- name: u
  user: {client-certificate-data: $(base64 -w0 <"$d/u.crt"), client-key-data: $(base64 -w0 <"$d/u.key")}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
EOF
	kubectl apply -f - >/dev/null <<EOF || die_setup "cannot create the RBAC / FlowSchemas for $CTL_USER"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: xl-faults-crosslink}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: $CTL_USER}
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: $HOG_USER}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: xl-faults-count}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 20
    limitResponse: {type: Queue, queuing: {queues: 16, handSize: 4, queueLengthLimit: 50}}
$(fs_yaml "$FS_LIST" 900 xl-faults-count '[list]' '["*"]')
$(fs_yaml "$FS_WATCH" 900 xl-faults-count '[watch]' '["*"]')
$(fs_yaml "$FS_WRITE" 900 xl-faults-count '[create, update, patch, delete, deletecollection]' \
		'[configmaps, observabilitystacks, observabilitystacks/status]')
$(fs_yaml "$FS_OTHER" 950 xl-faults-count '["*"]' '["*"]' 1)
EOF
	# a FlowSchema takes effect once the APF config controller has seen it
	fs_ready() { [[ $(kubectl get flowschema "$FS_OTHER" -o 'jsonpath={.status.conditions[?(@.type=="Dangling")].status}') == False ]]; }
	poll 15 fs_ready || die_setup "FlowSchema $FS_OTHER not active"
}

# fs_yaml NAME PRECEDENCE PRIORITY_LEVEL VERBS RESOURCES [NONRESOURCE]: a
# FlowSchema for $CTL_USER, or $FS_USER when set (with NONRESOURCE=1 also
# for non-resource URLs)
fs_yaml() {
	cat <<EOF
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: $1}
spec:
  matchingPrecedence: $2
  priorityLevelConfiguration: {name: $3}
  distinguisherMethod: {type: ByUser}
  rules:
  - subjects: [{kind: User, user: {name: ${FS_USER:-$CTL_USER}}}]
    resourceRules:
    - {verbs: $4, apiGroups: ["*"], resources: $5, clusterScope: true, namespaces: ["*"]}
EOF
	[[ ${6:-} != 1 ]] || printf '    nonResourceRules:\n    - {verbs: ["*"], nonResourceURLs: ["*"]}\n'
}

apiserver_metrics() { kubectl get --raw /metrics 2>/dev/null; }

# fs_count FLOWSCHEMA [WHICH]: requests of that FlowSchema the API server has
# seen since it started; WHICH = dispatched (default), rejected or all
fs_count() {
	local fs=$1 which=${2:-dispatched}
	apiserver_metrics | awk -v fs="flow_schema=\"$fs\"" -v w="$which" '
		/^apiserver_flowcontrol_dispatched_requests_total\{/ && index($0, fs) && (w == "dispatched" || w == "all") { s += $NF }
		/^apiserver_flowcontrol_rejected_requests_total\{/ && index($0, fs) && (w == "rejected" || w == "all") { s += $NF }
		END { print s + 0 }'
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# etcd_compact: compacts etcd (physically) to its current revision through
# etcd's v3 JSON gateway, like `etcdctl compact --physical`; prints it.
etcd_compact() {
	local rev
	rev=$(curl -sf --noproxy '*' -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"Lw=="}' |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])') || return 1
	curl -sf --noproxy '*' -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/compaction" \
		-d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null || return 1
	echo "$rev"
}

# start_faultserver NAME: tests/standins/faultserver.py on a free port; sets PORT_<NAME>
start_faultserver() {
	local n=$1; shift
	python3 "$(dirname -- "${BASH_SOURCE[0]}")/../standins/faultserver.py" --port-file "$CTL_TMP/$n.port" "$@" \
		>"$CTL_TMP/standin-$n.log" 2>&1 &
	STANDIN_PIDS+=($!)
	for _ in $(seq 100); do [[ -s $CTL_TMP/$n.port ]] && break; sleep 0.1; done
	[[ -s $CTL_TMP/$n.port ]] || die_setup "fault server $n did not start"
	printf -v "PORT_$n" '%s' "$(cat "$CTL_TMP/$n.port")"
}

# in_sync STACK...: each STACK is converged (observedGeneration ==
# generation, ProvisioningApplied=True) and its managed ConfigMaps hold
# exactly what `crosslink render` makes of its stored spec — one list of
# stacks, one render, one list of ConfigMaps; prints what differs
in_sync() {
	local stacks cms rendered
	stacks=$(kubectl -n "$NS" get ostack -o json) || return 1
	cms=$(kubectl -n "$NS" get cm -l app.kubernetes.io/managed-by=crosslink -o json) || return 1
	rendered=$(python3 -c '
import json, sys
l = json.loads(sys.argv[1])
want = set(sys.argv[2:])
items = [{"apiVersion": o["apiVersion"], "kind": o["kind"], "spec": o["spec"],
          "metadata": {"name": o["metadata"]["name"], "namespace": o["metadata"]["namespace"]}}
         for o in l["items"] if o["metadata"]["name"] in want]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))' "$stacks" "$@" |
		"$CROSSLINK" render -f - -o json) || return 1
	python3 - "$stacks" "$cms" "$rendered" "$@" <<'EOF'
import json, sys
stacks = {o["metadata"]["name"]: o for o in json.loads(sys.argv[1])["items"]}
cms = {c["metadata"]["name"]: c.get("data", {}) for c in json.loads(sys.argv[2])["items"]}
rendered = {c["metadata"]["name"]: c.get("data", {}) for c in json.loads(sys.argv[3])["items"]}
bad = []
for s in sys.argv[4:]:
    o = stacks.get(s)
    if o is None:
        bad.append(s + ": no such stack")
        continue
    st = o.get("status", {})
    applied = [c for c in st.get("conditions", []) if c["type"] == "ProvisioningApplied"]
    if st.get("observedGeneration") != o["metadata"]["generation"] or not applied or applied[0]["status"] != "True":
        bad.append(s + ": not converged")
    for name in (s + "-grafana-datasources", s + "-grafana-dashboards"):
        if name not in rendered:
            bad.append(name + ": not rendered")
        elif cms.get(name) != rendered[name]:
            bad.append(name + ": stored data differs from the rendering")
if bad:
    print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}

# no_orphans_or_duplicates: every managed ConfigMap in $NS is controlled by
# an existing stack of the same name and uid, and each stack has exactly the
# ConfigMaps it renders; prints the offenders
no_orphans_or_duplicates() {
	local stacks cms
	stacks=$(kubectl -n "$NS" get ostack -o json) || return 1
	cms=$(kubectl -n "$NS" get cm -l app.kubernetes.io/managed-by=crosslink -o json) || return 1
	python3 - "$stacks" "$cms" <<'EOF'
import json, sys
stacks = {s["metadata"]["name"]: s["metadata"]["uid"] for s in json.loads(sys.argv[1])["items"]}
bad = []
seen = {}
for c in json.loads(sys.argv[2])["items"]:
    md = c["metadata"]
    refs = [r for r in md.get("ownerReferences", []) if r.get("controller")]
    if len(refs) != 1 or stacks.get(refs[0]["name"]) != refs[0]["uid"]:
        bad.append("orphan " + md["name"])
        continue
    seen.setdefault(refs[0]["name"], []).append(md["name"])
for s in stacks:
    want = sorted([s + "-grafana-dashboards", s + "-grafana-datasources"])
    if sorted(seen.get(s, [])) != want:
        bad.append("stack %s has %s" % (s, sorted(seen.get(s, []))))
if bad:
    print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
