# shellcheck shell=bash
# lib.sh — shared helpers of the packaging tests (sourced). Every test prints
# "ok"/"FAIL" lines and ends with "N passed, N failed".

PKG_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck disable=SC2034 # used by the sourcing tests
PKG_DIR=$PKG_ROOT/tests/packaging
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
# check DESC CMD...: ok when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}
summary() {
	echo "$pass passed, $fail failed"
	[[ $fail -eq 0 ]]
}
# die_summary MSG: a precondition failed; count it and stop.
die_summary() {
	bad "$*"
	summary
	exit 1
}

# require_cluster: KUBECONFIG set and the API answering, else fail (never skip).
require_cluster() {
	[[ -n ${KUBECONFIG:-} ]] || die_summary "KUBECONFIG is not set (bring up tests/cluster/up first)"
	local r
	r=$(kubectl get --raw /readyz --request-timeout=10s 2>&1) || die_summary "API server unreachable: $r"
	[[ $r == ok ]] || die_summary "API server not ready: $r"
}

# rand_id: 6 hex chars for unique names.
rand_id() { od -An -N3 -tx1 /dev/urandom | tr -d ' \n'; }

# sa_kubeconfig SA NS OUT: write a kubeconfig at OUT that talks to the current
# cluster with a fresh token of ServiceAccount NS/SA (TokenRequest API; works
# without the ServiceAccount token controller).
sa_kubeconfig() {
	local sa=$1 ns=$2 out=$3 server ca cafile token
	server=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}') || return 1
	ca=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
	cafile=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')
	if [[ -z $ca && -n $cafile ]]; then
		ca=$(base64 -w0 <"$cafile") || return 1
	fi
	token=$(kubectl create token "$sa" -n "$ns" --duration=1h) || return 1
	umask 077
	cat >"$out" <<KC
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: $server
    certificate-authority-data: $ca
users:
- name: $sa
  user:
    token: $token
contexts:
- name: sa
  context: {cluster: c, user: $sa, namespace: $ns}
current-context: sa
KC
}

# can_i KUBECONFIG WANT(yes|no) VERB RESOURCE [kubectl auth can-i args...]
can_i() {
	local kc=$1 want=$2 verb=$3 res=$4 got
	shift 4
	got=$(kubectl --kubeconfig "$kc" auth can-i "$verb" "$res" "$@" 2>/dev/null)
	[[ -n $got ]] || got=no
	if [[ $got == "$want" ]]; then
		ok "can-i $verb $res $* = $want"
	else
		bad "can-i $verb $res $* = $got, want $want"
	fi
}

# check_controller_rbac KC LEASE_NS STACK_NS OTHER_NS CLUSTER_WIDE(1|0):
# the ServiceAccount behind KC has exactly the controller's permissions.
check_controller_rbac() {
	local kc=$1 lns=$2 sns=$3 ons=$4 cw=$5 all=no
	[[ $cw == 1 ]] && all=yes
	# Needed, in a stack namespace.
	local v
	for v in get list watch; do can_i "$kc" yes "$v" observabilitystacks.crosslink.dev -n "$sns"; done
	for v in get patch update; do can_i "$kc" yes "$v" observabilitystacks.crosslink.dev --subresource=status -n "$sns"; done
	can_i "$kc" yes update observabilitystacks.crosslink.dev --subresource=finalizers -n "$sns"
	for v in get list watch create patch update delete; do can_i "$kc" yes "$v" configmaps -n "$sns"; done
	can_i "$kc" yes get secrets -n "$sns"
	for v in create patch; do
		can_i "$kc" yes "$v" events.events.k8s.io -n "$sns"
		can_i "$kc" yes "$v" events -n "$sns"
	done
	for v in get create update; do can_i "$kc" yes "$v" leases.coordination.k8s.io -n "$lns"; done
	# Cluster-wide watch only when installed cluster-wide.
	can_i "$kc" "$all" list observabilitystacks.crosslink.dev -A
	can_i "$kc" "$all" watch configmaps -A
	can_i "$kc" "$all" get configmaps -n "$ons"
	# Never: Secrets beyond get, writes to the stack spec, other leases, pods.
	for v in list watch create update patch delete; do can_i "$kc" no "$v" secrets -n "$sns"; done
	can_i "$kc" no list secrets -A
	for v in create update patch delete; do can_i "$kc" no "$v" observabilitystacks.crosslink.dev -n "$sns"; done
	can_i "$kc" no delete leases.coordination.k8s.io -n "$lns"
	can_i "$kc" no get leases.coordination.k8s.io -n "$sns"
	can_i "$kc" no create pods -n "$sns"
	can_i "$kc" no list nodes
	can_i "$kc" no create clusterroles.rbac.authorization.k8s.io
	# Real requests, not only the access review.
	local out
	if out=$(kubectl --kubeconfig "$kc" get secrets -A 2>&1); then
		bad "list Secrets cluster-wide was allowed"
	elif [[ $out == *[Ff]orbidden* ]]; then
		ok "list Secrets cluster-wide refused (Forbidden)"
	else
		bad "list Secrets cluster-wide failed but not with Forbidden: $out"
	fi
	if out=$(kubectl --kubeconfig "$kc" create secret generic xl-rbac-probe -n "$sns" --from-literal=a=b 2>&1); then
		bad "creating a Secret was allowed"
		kubectl delete secret xl-rbac-probe -n "$sns" --ignore-not-found >/dev/null 2>&1
	elif [[ $out == *[Ff]orbidden* ]]; then
		ok "creating a Secret refused (Forbidden)"
	else
		bad "creating a Secret failed but not with Forbidden: $out"
	fi
}

# rules_match DESC EXPECTED_FILE < rules: the rendered rules equal the file's.
rules_match() {
	local desc=$1 exp=$2 got want
	got=$(cat)
	want=$(grep -v '^#' "$exp" | grep -v '^$' | sort)
	if [[ $got == "$want" ]]; then
		ok "$desc"
	else
		bad "$desc:"
		diff <(echo "$want") <(echo "$got") | sed 's/^/     /'
	fi
}

# settle_crd NAME: if the CRD is being deleted (e.g. by an earlier test),
# wait until it is gone, so this test can install it afresh.
settle_crd() {
	local ts
	ts=$(kubectl get crd "$1" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null)
	[[ -z $ts ]] || kubectl wait --for=delete "crd/$1" --timeout=90s >/dev/null 2>&1 || die_summary "CRD $1 stuck Terminating"
}
