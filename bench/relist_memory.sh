#!/usr/bin/env bash
# relist_memory.sh — peak memory of `crosslink controller` while its informers
# do the initial LIST against many large owned ConfigMaps. Creates N (default
# 500) ConfigMaps of ~SIZE_KIB (default 100) KiB of data each, labelled
# app.kubernetes.io/managed-by=crosslink, in one namespace (8 parallel
# `kubectl create -f` of 50 objects each), then for each controller binary
# starts `crosslink controller --namespaces NS`, waits for /readyz (both
# caches synced), and prints VmHWM / VmRSS / RssAnon from /proc.
#
# Usage: KUBECONFIG=... bench/relist_memory.sh [N=500] [BINARY...]
#   BINARY defaults to $CROSSLINK, else build/controller/crosslink; several
#   binaries (e.g. before/after a change) are measured on the same objects.
#   NS=name reuses a namespace (objects are created only if fewer than N are
#   there); KEEP_NS=1 keeps it afterwards. SIZE_KIB=100 sets the object size.
#   Cluster: eval "$(tests/cluster/up --state-dir /tmp/xl-relist | tail -1)"
set -uo pipefail
N=${1:-500}
shift || true
REPO=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BINARIES=("$@")
((${#BINARIES[@]})) || BINARIES=("${CROSSLINK:-$REPO/build/controller/crosslink}")
SIZE_KIB=${SIZE_KIB:-100}
NS=${NS:-xl-relist-bench}
LABEL=app.kubernetes.io/managed-by=crosslink
[[ -n ${KUBECONFIG:-} ]] || { echo "KUBECONFIG must be set (tests/cluster/up)" >&2; exit 1; }
kubectl get --raw /readyz >/dev/null || { echo "API server unreachable" >&2; exit 1; }
for b in "${BINARIES[@]}"; do [[ -x $b ]] || { echo "$b: not executable" >&2; exit 1; }; done
kubectl apply -f "$REPO/crds/crosslink.dev_observabilitystacks.yaml" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/observabilitystacks.crosslink.dev >/dev/null

TMP=$(mktemp -d /tmp/xl-relist-bench.XXXXXX)
PID=
cleanup() {
	[[ -n $PID ]] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
	[[ ${KEEP_NS:-0} == 1 ]] || kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS" >/dev/null
have=$(kubectl -n "$NS" get configmaps -l "$LABEL" -o name 2>/dev/null | wc -l)
if ((have < N)); then
	# one ~SIZE_KIB KiB value per object; distinct per object so digests differ
	python3 - "$TMP" "$NS" "$N" "$SIZE_KIB" "$have" <<'PY'
import json, os, random, string, sys
tmp, ns, n, kib, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rnd = random.Random(42)
alphabet = string.ascii_letters + string.digits
block = "".join(rnd.choice(alphabet) for _ in range(kib * 1024))
per = 50
for f in range((n - start + per - 1) // per):
    items = []
    for i in range(start + f * per, min(n, start + (f + 1) * per)):
        items.append({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": f"cm-{i:05d}", "namespace": ns,
                                   "labels": {"app.kubernetes.io/managed-by": "crosslink"}},
                      "data": {"dashboard.json": f"{i:08d}" + block[8:]}})
    with open(os.path.join(tmp, f"part-{f:04d}.json"), "w") as fh:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, fh)
PY
	t0=$(date +%s)
	printf "%s\0" "$TMP"/part-*.json | xargs -0 -P 8 -n 1 kubectl create -f >/dev/null 2>"$TMP/create.err" ||
		{ grep -v AlreadyExists "$TMP/create.err" | head -5 >&2; }
	rm -f "$TMP"/part-*.json
	have=$(kubectl -n "$NS" get configmaps -l "$LABEL" -o name | wc -l)
	echo "created ConfigMaps in $(($(date +%s) - t0)) s" >&2
fi
echo "namespace $NS: $have ConfigMaps labelled $LABEL, ~$SIZE_KIB KiB of data each" >&2

kib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PID/status"; }

echo "| binary | ConfigMaps | time to /readyz | VmHWM (peak) | VmRSS | RssAnon |"
echo "|---|---|---|---|---|---|"
for b in "${BINARIES[@]}"; do
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	t0=$(date +%s%3N)
	"$b" controller --namespaces "$NS" --metrics-addr 127.0.0.1:0 --health-addr "127.0.0.1:$PORT" \
		--log-level warn >"$TMP/ctl.log" 2>&1 &
	PID=$!
	ready=
	for ((i = 0; i < 1200; i++)); do
		curl -sf --noproxy '*' "http://127.0.0.1:$PORT/readyz" >/dev/null && { ready=1; break; }
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	t1=$(date +%s%3N)
	if [[ -z $ready ]]; then
		echo "$b: not ready after $((t1 - t0)) ms" >&2
		tail -5 "$TMP/ctl.log" >&2
		kill -TERM "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
		PID=
		continue
	fi
	sleep 2
	echo "| $b | $have | $((t1 - t0)) ms | $(kib "$(field VmHWM)") | $(kib "$(field VmRSS)") | $(kib "$(field RssAnon)") |"
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
done
