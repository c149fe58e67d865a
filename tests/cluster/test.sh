#!/usr/bin/env bash
# Tests for the test control plane: tests/cluster/test.sh
# Prints "N passed, N failed" last and exits non-zero on any failure.
set -euo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
check() { # DESCRIPTION CMD...
	local d=$1
	shift
	if "$@" >/dev/null; then pass "$d"; else fail "$d"; fi
}

WORK=$(mktemp -d /tmp/crosslink-cluster-test.XXXXXX)
STATE_DIR=$WORK/cluster
BAD_DIR=$WORK/bad
cleanup() {
	"$HERE/down" --state-dir "$STATE_DIR" >/dev/null 2>&1 || true
	"$HERE/down" --state-dir "$BAD_DIR" >/dev/null 2>&1 || true
	rm -rf -- "$WORK"
}
trap cleanup EXIT

# poll TIMEOUT_S CMD...: retry CMD every 0.5 s until it succeeds or time runs out.
poll() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.5
	done
}

# pids of processes whose command line mentions DIR (excluding this script).
procs_using() { grep -lsF -- "$1" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 | while read -r p; do
	[[ $p != "$$" && $p != "$BASHPID" ]] || continue
	st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
	[[ $st == Z ]] || echo "$p"
done; }

echo "# building tools (cached after the first run)"
for t in etcd kube-apiserver kube-controller-manager helm; do
	check "tool $t prints an executable path" test -x "$("$HERE/tool" "$t")"
done

echo "# up"
start=$SECONDS
if out=$("$HERE/up" --state-dir "$STATE_DIR" 2>"$WORK/up.err"); then
	pass "up exits 0 ($((SECONDS - start)) s, cold start)"
else
	cat "$WORK/up.err" >&2
	fail "up exits 0"
	echo "0 passed, $((FAILED)) failed"
	exit 1
fi
last=$(tail -n1 <<<"$out")
check "up prints 'export KUBECONFIG=...' last" test "$last" = "export KUBECONFIG=$STATE_DIR/admin.kubeconfig"
eval "$last"
k() { kubectl --request-timeout=20s "$@"; }

server_version() { k version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'; }
sv=$(server_version 2>/dev/null || true)
check "kubectl version reports server $K8S_VERSION (got '$sv')" test "$sv" = "$K8S_VERSION"
check "/readyz is ok" test "$(k get --raw /readyz 2>/dev/null)" = ok
check "namespace default exists" k get namespace default -o name

again=$("$HERE/up" --state-dir "$STATE_DIR" 2>/dev/null | tail -n1)
check "second up on a running cluster is a no-op printing the same line" test "$again" = "$last"

echo "# garbage collection"
k create configmap gc-owner --from-literal=a=b >/dev/null
uid=$(k get configmap gc-owner -o jsonpath='{.metadata.uid}')
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: gc-child
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: gc-owner
    uid: $uid
data: {x: "z"}
YAML
check "owned ConfigMap exists" k get configmap gc-child
k delete configmap gc-owner --wait=false >/dev/null
start=$SECONDS
child_gone() { ! k get configmap gc-child -o name 2>/dev/null | grep -q .; }
if poll 30 child_gone; then pass "owned ConfigMap garbage-collected $((SECONDS - start)) s after its owner was deleted"; else fail "owned ConfigMap garbage-collected within 30 s"; fi

echo "# namespace deletion"
k create namespace doomed >/dev/null
k -n doomed create configmap inside --from-literal=a=b >/dev/null
k delete namespace doomed --wait=false >/dev/null
start=$SECONDS
ns_gone() { ! k get namespace doomed -o name 2>/dev/null | grep -q .; }
if poll 60 ns_gone; then pass "namespace deletion completes ($((SECONDS - start)) s)"; else fail "namespace deletion completes within 60 s"; fi

echo "# helm"
HELM=$("$HERE/tool" helm)
hv=$("$HELM" version --short 2>&1 || true)
check "helm version reports v3 (got '$hv')" grep -q '^v3\.' <<<"$hv"
chart=$WORK/chart
mkdir -p "$chart/templates"
printf 'apiVersion: v2\nname: smoke\nversion: 0.1.0\nkubeVersion: ">=1.36.0-0"\n' >"$chart/Chart.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: helm-smoke\ndata:\n  k: v\n' >"$chart/templates/cm.yaml"
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data
# helm is stamped with the Kubernetes version of its client libraries, so an
# offline `helm template` satisfies a current kubeVersion constraint
check "offline helm template honours kubeVersion >= 1.36" "$HELM" template smoke "$chart"
check "helm install against the test cluster" "$HELM" install smoke "$chart" --namespace default --wait=false
check "helm-installed ConfigMap exists" k get configmap helm-smoke
check "helm uninstall" "$HELM" uninstall smoke --namespace default

echo "# restart-apiserver"
k create configmap survives --from-literal=a=b >/dev/null
old_pid=$(cat "$STATE_DIR/kube-apiserver.pid")
start=$SECONDS
if "$HERE/restart-apiserver" --state-dir "$STATE_DIR" 2>"$WORK/restart.err"; then
	pass "restart-apiserver exits 0 ($((SECONDS - start)) s)"
else
	cat "$WORK/restart.err" >&2
	fail "restart-apiserver exits 0"
fi
new_pid=$(cat "$STATE_DIR/kube-apiserver.pid" 2>/dev/null || true)
check "kube-apiserver has a new pid ($old_pid -> $new_pid)" test -n "$new_pid" -a "$new_pid" != "$old_pid"
check "old kube-apiserver process is gone" test -z "$(procs_using "$STATE_DIR" | grep -x "$old_pid")"
check "/readyz is ok after restart" test "$(k get --raw /readyz 2>/dev/null)" = ok
check "data survives the restart" k get configmap survives
k create configmap gc-owner2 --from-literal=a=b >/dev/null
uid=$(k get configmap gc-owner2 -o jsonpath='{.metadata.uid}')
k create -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: gc-child2, ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: gc-owner2, uid: $uid}]}
YAML
k delete configmap gc-owner2 --wait=false >/dev/null
child2_gone() { ! k get configmap gc-child2 -o name 2>/dev/null | grep -q .; }
check "garbage collector still works after an apiserver restart" poll 30 child2_gone

echo "# down"
pids=$(cat "$STATE_DIR"/*.pid)
"$HERE/down" --state-dir "$STATE_DIR" 2>/dev/null
remaining=""
for p in $pids; do ! procs_using "$STATE_DIR" | grep -qx "$p" || remaining+=" $p"; done
check "down leaves none of the recorded processes (${pids//$'\n'/ })" test -z "$remaining"
check "down leaves no process mentioning the state dir" test -z "$(procs_using "$STATE_DIR")"
check "down removes the state dir" test ! -e "$STATE_DIR"
check "down on an absent state dir is a no-op" "$HERE/down" --state-dir "$STATE_DIR"

echo "# warm up"
t_start=${EPOCHREALTIME/./}
if out=$("$HERE/up" --state-dir "$STATE_DIR" 2>"$WORK/up2.err"); then
	took_ms=$(((${EPOCHREALTIME/./} - t_start) / 1000))
	took=$((took_ms / 1000)).$(printf '%03d' $((took_ms % 1000)))
	limit=${CROSSLINK_WARM_UP_LIMIT:-30}
	echo "# warm up took ${took} s"
	check "second up after down (tools cached) takes under ${limit} s (${took} s)" test "$took_ms" -lt $((limit * 1000))
else
	cat "$WORK/up2.err" >&2
	fail "second up after down"
fi
check "/readyz is ok after second up" test "$(k get --raw /readyz 2>/dev/null)" = ok
"$HERE/down" --state-dir "$STATE_DIR" 2>/dev/null
check "second down leaves no process and no state" test -z "$(procs_using "$STATE_DIR")" -a ! -e "$STATE_DIR"

echo "# failing start is loud"
start=$SECONDS
if "$HERE/up" --state-dir "$BAD_DIR" --apiserver-arg=--no-such-flag --timeout 30 >"$WORK/bad.out" 2>"$WORK/bad.err"; then
	fail "up with a broken apiserver flag fails"
else
	pass "up with a broken apiserver flag fails ($((SECONDS - start)) s)"
fi
check "failure output includes the apiserver log tail" grep -q 'unknown flag: --no-such-flag' "$WORK/bad.err"
check "failed up leaves no process behind" test -z "$(procs_using "$BAD_DIR")"
"$HERE/down" --state-dir "$BAD_DIR" 2>/dev/null
check "down cleans a failed state dir" test ! -e "$BAD_DIR"

echo
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
