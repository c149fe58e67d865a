#!/usr/bin/env bash
# test_cli.sh — the crosslink dispatcher (controller/main.c) and the shared
# option handling of every subcommand, end to end without a cluster: help,
# version, exit codes, unknown commands and flags named on stderr.
set -u
CROSSLINK=${CROSSLINK:?CROSSLINK must point at the built binary}
cd "$(dirname "$0")/../.."
fails=0 passes=0
ok() { echo "ok   $1"; passes=$((passes + 1)); }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
# expect NAME RC STREAM(out|err) PATTERN -- ARGS...
expect() {
    local name=$1 want=$2 stream=$3 pat=$4 out err rc
    shift 5
    out=$("$CROSSLINK" "$@" 2>/tmp/test_cli.$$.err); rc=$?
    err=$(cat /tmp/test_cli.$$.err); rm -f /tmp/test_cli.$$.err
    local text=$out; [ "$stream" = err ] && text=$err
    if [ "$rc" -eq "$want" ] && grep -qF -- "$pat" <<<"$text"; then ok "$name"; else
        fail "$name: exit $rc (want $want), $stream: $(head -3 <<<"$text")"; fi
}

expect help 0 out "Run \`crosslink SUBCOMMAND --help\`" -- help
expect --help 0 out "crosslink get stacks" -- --help
expect -h 0 out "crosslink render -f FILE" -- -h
expect no_args 2 err "Usage:" --
expect unknown_command 2 err 'unknown command "bogus"' -- bogus
expect version 0 out "crosslink " -- version
expect --version 0 out "crosslink " -- --version
for c in render probe get controller; do
    expect "$c --help" 0 out "Usage: crosslink $c" -- "$c" --help
    expect "$c -h" 0 out "  -h, --help" -- "$c" -h
    expect "$c unknown flag" 2 err "crosslink $c: unknown flag \"--bogus\"" -- "$c" --bogus
    expect "$c unknown short flag" 2 err "crosslink $c: unknown flag \"-Z\"" -- "$c" -Z
done
expect "controller help" 0 out "--leader-elect[=BOOL]" -- controller help
expect "render abbreviation" 2 err 'unknown flag "--file"' -- render --file=x
expect "render -f needs a value" 2 err "flag -f needs a value" -- render -f
expect "probe --kubeconfig needs a value" 2 err "flag --kubeconfig needs a value" -- probe -f x --kubeconfig
expect "render stray argument" 2 err 'unexpected argument "stray"' -- render stray -f x
expect "get -n and -A" 2 err "mutually exclusive" -- get stacks -n x -A
expect "get unknown resource" 2 err 'unknown resource "pods"' -- get pods
expect "controller bad bool" 2 err '--leader-elect: invalid boolean "maybe"' -- controller --leader-elect=maybe
# every spelling of a value that the docs use renders the same bytes
a=$("$CROSSLINK" render -f examples/stack.yaml -o json -n default)
[ -n "$a" ] && [ "${a:0:1}" = "{" ] && ok "render -o json" || fail "render -o json"
for spelling in "--filename=examples/stack.yaml --output=json --namespace=default" \
                "-fexamples/stack.yaml -ojson -ndefault" "-f examples/stack.yaml -o=json -n=default"; do
    # shellcheck disable=SC2086
    b=$("$CROSSLINK" render $spelling)
    [ -n "$b" ] && [ "$a" = "$b" ] && ok "render spelling: $spelling" || fail "render spelling: $spelling"
done
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
