#!/usr/bin/env bash
# rss_floor.sh — the memory floor set by the shared libraries. Builds
# bench/rss_floor.c (one HTTPS GET with Debian's libcurl, a jansson parse, a
# SHA-256) and runs it against the local control plane, then starts the
# controller idle (no stacks in its namespace) for 10 s and prints both in
# one Markdown table: VmHWM, VmRSS, RssAnon, RssFile (MiB), and the largest
# file-backed mappings of each. On this kernel a library's resident size is
# close to its whole file as soon as any of it runs (page-cache folios are
# mapped around each fault: one SHA256() call makes libcrypto.so.3 ~3.4 MiB
# resident), so RssFile is a floor for every client of these libraries.
#
# Usage: KUBECONFIG=... bench/rss_floor.sh [CONTROLLER-BINARY]
#   default binary: build/controller/crosslink
set -euo pipefail
REPO=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$REPO/build/controller/crosslink}
[[ -n ${KUBECONFIG:-} ]] || { echo "KUBECONFIG must be set (tests/cluster/up)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/xl-floor.XXXXXX)
PID= NS=xl-floor-$$
cleanup() {
	[[ -n $PID ]] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
	kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
cc -std=c11 -O2 -Wall -Wextra -Werror -o "$TMP/rss_floor" "$REPO/bench/rss_floor.c" -lcurl -ljansson -lcrypto
SERVER=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
field() { awk -v k="$2" '$1 == k":" { print $2 }' "$1"; }
top_maps() { # top_maps PID → "lib MiB, ..." for the 5 largest file mappings
	awk '/^[0-9a-f]+-/ { n = $6 } /^Rss:/ { if (n ~ /^\//) r[n] += $2 }
		END { for (x in r) printf "%d %s\n", r[x], x }' "/proc/$1/smaps" | sort -rn | head -5 |
		awk '{ sub(".*/", "", $2); printf "%s%s %.1f", (NR > 1 ? ", " : ""), $2, $1 / 1024 }'
}
"$TMP/rss_floor" "$SERVER/readyz" >"$TMP/floor"
kubectl create namespace "$NS" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" controller --namespaces "$NS" --metrics-addr "127.0.0.1:$PORT" --health-addr "127.0.0.1:$PORT" \
	--log-level warn >"$TMP/ctl.log" 2>&1 &
PID=$!
sleep 10
cp "/proc/$PID/status" "$TMP/ctl"
MAPS=$(top_maps "$PID")
echo "| process | VmHWM MiB | VmRSS MiB | RssAnon MiB | RssFile MiB | largest file mappings (MiB) |"
echo "|---|---|---|---|---|---|"
for w in floor ctl; do
	name=$([[ $w == floor ]] && echo "rss_floor (1 HTTPS GET)" || echo "crosslink controller, idle 10 s")
	extra=$([[ $w == ctl ]] && echo "$MAPS" || echo "")
	printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$(mib "$(field "$TMP/$w" VmHWM)")" \
		"$(mib "$(field "$TMP/$w" VmRSS)")" "$(mib "$(field "$TMP/$w" RssAnon)")" \
		"$(mib "$(field "$TMP/$w" RssFile)")" "$extra"
done
