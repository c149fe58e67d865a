# shellcheck shell=bash
# Shared settings for tests/cluster/* scripts. Sourced, not executed.

CLUSTER_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
K8S_VERSION=v1.36.3
K8S_MAJOR=1
K8S_MINOR=36
HELM_VERSION=v3.21.4

die() { echo "tests/cluster: $*" >&2; exit 1; }
log() { echo "tests/cluster: $*" >&2; }

# kube_ldflags: version stamping so /version reports the real release.
kube_ldflags() {
	local ld="-s -w" p
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR -X $p.gitTreeState=clean"
	done
	printf '%s' "$ld"
}

helm_ldflags() {
	# Like helm's own Makefile: stamp the Kubernetes version helm's client
	# libraries come from, or `helm template`/`lint` assume v1.20 and charts
	# with a kubeVersion constraint refuse to render.
	local kmaj=1 kmin=36
	printf '%s' "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
	printf ' %s' "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kmaj" "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kmin" \
		"-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kmaj" "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kmin"
}

# Build environment: local toolchain only, committed go.sum, static binaries.
go_build_env() {
	export GOTOOLCHAIN=local
	export CGO_ENABLED=0
	export GOFLAGS="-mod=readonly -trimpath -buildvcs=false"
	export GOWORK=off
}

# tools_dir: where built binaries are cached (outside the work tree).
tools_dir() {
	if [[ -n ${CROSSLINK_TOOLS_DIR:-} ]]; then
		printf '%s' "$CROSSLINK_TOOLS_DIR"
		return
	fi
	local gov hash
	gov=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || die "go not found in PATH"
	hash=$(cd "$CLUSTER_DIR" && {
		cat go.mod go.sum main.go helm/go.mod helm/go.sum
		echo "$gov $(kube_ldflags) $(helm_ldflags) CGO_ENABLED=0 -trimpath"
	} | sha256sum | cut -c1-12)
	printf '%s' "${XDG_CACHE_HOME:-$HOME/.cache}/crosslink/tools/$K8S_VERSION-$hash"
}

# free_ports N: N distinct unused TCP ports on 127.0.0.1, one per line. They
# are drawn below the kernel's ephemeral range, so an outgoing connection
# cannot take one between now and the moment our server binds it. Prefers the
# system python3: a pyenv shim can take seconds to start on a loaded machine.
free_ports() {
	local py
	for py in /usr/bin/python3 python3; do
		if command -v "$py" >/dev/null 2>&1; then
			"$py" - "$1" <<'PY'
import random, socket, sys
want = int(sys.argv[1])
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except Exception:
    low = 32768
hi = low - 1 if low > 12000 else 65535
lo = 10000 if low > 12000 else low + 1
picked, socks = [], []
for _ in range(1000):
    if len(picked) == want:
        break
    p = random.randint(lo, hi)
    if p in picked:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    socks.append(s)
    picked.append(p)
if len(picked) != want:
    sys.exit("no free ports")
print("\n".join(map(str, picked)))
PY
			return
		fi
	done
	# Fallback: random ports below the usual ephemeral range that nothing answers on.
	local n=0 p i seen=" "
	for ((i = 0; i < 500 && n < $1; i++)); do
		p=$((10000 + RANDOM % 22000))
		[[ $seen != *" $p "* ]] || continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			seen+="$p "
			n=$((n + 1))
		fi
	done
	((n == $1)) || die "no free ports found"
}

# ---- state directory helpers ---------------------------------------------
# shellcheck disable=SC2034 # used by up and down
STATE_MARKER=.crosslink-cluster

# parse_state_dir ARGS...: sets STATE (absolute) and REST (remaining args).
parse_state_dir() {
	STATE=${CROSSLINK_CLUSTER_DIR:-/tmp/crosslink-cluster}
	REST=()
	while [[ $# -gt 0 ]]; do
		case $1 in
		--state-dir) [[ $# -ge 2 ]] || die "--state-dir needs a value"; STATE=$2; shift 2 ;;
		--state-dir=*) STATE=${1#*=}; shift ;;
		*) REST+=("$1"); shift ;;
		esac
	done
	[[ -n $STATE && $STATE != / ]] || die "invalid state dir '$STATE'"
	mkdir -p "$(dirname -- "$STATE")"
	STATE=$(cd -- "$(dirname -- "$STATE")" && pwd -P)/$(basename -- "$STATE")
}

# lock_state: serialise up/down/restart-apiserver on one state dir. The lock
# file lives outside the state dir (which `down` removes), keyed by its path.
# fd 8 must be closed in every child we start (see start_proc).
lock_state() {
	local lockdir=${TMPDIR:-/tmp}/crosslink-cluster-locks key
	mkdir -p "$lockdir"
	key=$(printf '%s' "$STATE" | sha256sum | cut -c1-16)
	exec 8>"$lockdir/$key.lock"
	flock -w 300 8 || die "timed out waiting for the lock on $STATE"
}

# proc_alive NAME: the process recorded in $STATE/NAME.pid is running (not a
# zombie) and is ours: its command line mentions the state dir (guards against
# PID reuse). Prints the PID. Bash builtins only: this is polled.
proc_alive() {
	local pid stat args
	[[ -r $STATE/$1.pid ]] || return 1
	read -r pid <"$STATE/$1.pid" || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != [ZX] ]] || return 1
	mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || return 1
	[[ "${args[*]}" == *"$STATE"* ]] || return 1
	echo "$pid"
}

# start_proc NAME BINARY ARGFILE: start BINARY with the args listed one per
# line in ARGFILE, detached (own session, stdin/stdout/stderr not inherited),
# logging to $STATE/NAME.log; records the PID in $STATE/NAME.pid.
start_proc() {
	local name=$1 bin=$2 argfile=$3 args=()
	mapfile -t args <"$argfile"
	setsid "$bin" "${args[@]}" </dev/null >>"$STATE/$name.log" 2>&1 8<&- 9<&- &
	echo $! >"$STATE/$name.pid"
}

# stop_procs NAME...: send TERM to the recorded processes, KILL whatever is
# still running after CROSSLINK_STOP_GRACE seconds (default 5; kube-apiserver
# otherwise waits up to 60 s for open watches), and wait until all are gone.
stop_procs() {
	local grace=${CROSSLINK_STOP_GRACE:-5} n pid deadline left sig
	for sig in TERM KILL; do
		left=()
		for n in "$@"; do
			pid=$(proc_alive "$n") || continue
			left+=("$n")
			[[ $sig == TERM ]] || log "$n (pid $pid) still running ${grace}s after TERM; sending KILL"
			# Each process leads its own process group (setsid): signal the group.
			kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
		done
		((${#left[@]})) || break
		deadline=$(( ${EPOCHREALTIME/./} + grace * 1000000 ))
		while (( ${EPOCHREALTIME/./} < deadline )); do
			for n in "${left[@]}"; do proc_alive "$n" >/dev/null && break; done || break
			sleep 0.1
		done
	done
	for n in "$@"; do
		! proc_alive "$n" >/dev/null || die "could not stop $n (pid $(cat "$STATE/$n.pid"))"
		rm -f "$STATE/$n.pid"
	done
}

# tail_logs NAME...: last log lines of components, to stderr.
tail_logs() {
	local n
	for n in "$@"; do
		[[ -f $STATE/$n.log ]] || continue
		echo "----- last 30 lines of $STATE/$n.log -----" >&2
		tail -n 30 "$STATE/$n.log" >&2
	done
}

# apiserver_ready: GET /readyz on the recorded apiserver port answers "ok".
apiserver_ready() {
	[[ -n ${APISERVER_PORT:-} ]] || return 1
	[[ $(curl -fsS --max-time 5 --cacert "$STATE/pki/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null) == ok ]]
}

# wait_until TIMEOUT_S NAME CMD...: poll CMD until it succeeds; fail if the
# component NAME died or the timeout passed.
wait_until() {
	local timeout=$1 name=$2 deadline
	shift 2
	deadline=$((SECONDS + timeout))
	while ! "$@"; do
		if ! proc_alive "$name" >/dev/null; then
			tail_logs "$name"
			die "$name exited during startup (log: $STATE/$name.log)"
		fi
		if ((SECONDS >= deadline)); then
			tail_logs "$name"
			die "$name not ready after ${timeout}s (log: $STATE/$name.log)"
		fi
		sleep 0.25
	done
}

load_env() {
	[[ -f $STATE/env ]] || return 1
	# shellcheck disable=SC1091
	source "$STATE/env"
}
