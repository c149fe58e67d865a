#!/usr/bin/env bash
# test_consistency.sh — offline checks that the packagings agree with each
# other and with the binary: CRD copies, versions (CMake project = chart
# appVersion = kustomize image tag), the same RBAC and resources in the chart
# and deploy/, and a Dockerfile whose final stage is non-root and installs
# exactly the Debian packages that provide the libraries the binary links
# (readelf NEEDED of $CROSSLINK, default build/controller/crosslink).
set -uo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd "$PKG_ROOT" || exit 1
CROSSLINK=${CROSSLINK:-$PKG_ROOT/build/controller/crosslink}
DF=deploy/Dockerfile

# ---- CRD copies -----------------------------------------------------------------
if out=$(bash "$PKG_DIR/check_crd_copy.sh" 2>&1); then ok "CRD copies match crds/ (check_crd_copy.sh)"; else bad "check_crd_copy.sh:"$'\n'"$out"; fi

# ---- versions -------------------------------------------------------------------
cmake_ver=$(sed -n 's/^project(crosslink VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
app_ver=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' helm/crosslink/Chart.yaml)
kust_tag=$(sed -n 's/^ *newTag: *\(.*\)$/\1/p' deploy/kustomization.yaml)
[[ -n $cmake_ver && $cmake_ver == "$app_ver" ]] && ok "chart appVersion = CMake project version ($app_ver)" || bad "appVersion '$app_ver' vs CMake '$cmake_ver'"
[[ $kust_tag == "$app_ver" ]] && ok "kustomize image tag = appVersion" || bad "kustomize newTag '$kust_tag' vs appVersion '$app_ver'"
if [[ -x $CROSSLINK ]]; then
	bin_ver=$("$CROSSLINK" version 2>/dev/null | head -1)
	[[ $bin_ver == *"$app_ver"* ]] && ok "crosslink version reports $app_ver" || bad "crosslink version says '$bin_ver', chart says $app_ver"
fi

# ---- chart and deploy/ agree ------------------------------------------------------
python3 - <<'PY' && ok "chart defaults and deploy/ have the same resources, ports and security context" || bad "chart values and deploy/manager/deployment.yaml disagree"
import sys, yaml
v = yaml.safe_load(open("helm/crosslink/values.yaml"))
d = yaml.safe_load(open("deploy/manager/deployment.yaml"))
c = d["spec"]["template"]["spec"]["containers"][0]
errs = []
if c["resources"] != v["resources"]:
    errs.append("resources %r vs %r" % (c["resources"], v["resources"]))
if c["securityContext"] != v["securityContext"]:
    errs.append("securityContext differs")
if d["spec"]["template"]["spec"]["securityContext"] != v["podSecurityContext"]:
    errs.append("pod securityContext differs")
if d["spec"]["replicas"] != v["replicaCount"]:
    errs.append("replicas differ")
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
if ports != {"metrics": v["ports"]["metrics"], "health": v["ports"]["health"]}:
    errs.append("ports %r" % ports)
for e in errs:
    print("     " + e)
sys.exit(1 if errs else 0)
PY

# ---- Dockerfile -------------------------------------------------------------------
final=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$DF")
build=$(awk '/^FROM /{n++} n==1' "$DF")
[[ $(grep -c '^FROM ' "$DF") -ge 2 ]] && ok "multi-stage Dockerfile" || bad "Dockerfile is not multi-stage"
grep -qE '^FROM debian:(\$\{DEBIAN_RELEASE\}|bookworm)-slim|^FROM gcr.io/distroless/' <<<"$final" && ok "final stage is slim/distroless" || bad "final stage base: $(head -1 <<<"$final")"
grep -qE '^USER 65532:65532$' <<<"$final" && ok "final stage runs as 65532:65532" || bad "final stage USER is not 65532:65532"
grep -qE '^ENTRYPOINT \["/usr/local/bin/crosslink"\]' <<<"$final" && ok "entrypoint /usr/local/bin/crosslink" || bad "entrypoint"
copies=$(grep -E '^COPY ' <<<"$final")
[[ $copies == "COPY --from=build /build/controller/crosslink /usr/local/bin/crosslink" ]] && ok "final stage copies only the binary" || bad "final stage COPY: $copies"
# Runtime packages: the words of the final stage's apt-get install.
runtime=$(sed -n '/apt-get install/,/&&/p' <<<"$final" | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|&&)$' | sort -u)
grep -qx ca-certificates <<<"$runtime" && ok "final stage installs ca-certificates" || bad "no ca-certificates in the final stage"
devs=$(sed -n '/apt-get install/,/&&/p' <<<"$build" | tr ' \\' '\n\n' | grep -E -- '-dev$' | sort -u)
if [[ ! -x $CROSSLINK ]]; then
	bad "binary not found at $CROSSLINK: cannot check its libraries"
elif ! command -v readelf >/dev/null || ! command -v dpkg >/dev/null; then
	bad "readelf/dpkg missing"
else
	# Every directly linked library must come from a listed runtime package
	# (libc6 is in every Debian base image).
	needed_pkgs=""
	while read -r lib; do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x86_64|AArch64|aarch64/ {print $NF; exit}')
		[[ -n $path ]] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
		[[ -n $pkg ]] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
		if [[ -z $pkg ]]; then
			bad "NEEDED $lib: no Debian package owns it"
			continue
		fi
		needed_pkgs+="$pkg"$'\n'
		if [[ $pkg == libc6 ]] || grep -qx "$pkg" <<<"$runtime"; then
			ok "NEEDED $lib comes from $pkg, installed in the image"
		else
			bad "NEEDED $lib comes from $pkg, which the final stage does not install"
		fi
	done < <(readelf -d "$CROSSLINK" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	# Every runtime library package has its -dev package in the build stage.
	for p in $runtime; do
		[[ $p == ca-certificates ]] && continue
		found=""
		for d in $devs; do
			if dpkg-query -W -f='${Depends}\n' "$d" 2>/dev/null | tr ',' '\n' | sed 's/^ *//;s/ .*//' | grep -x "$p" >/dev/null; then found=$d; break; fi
		done
		[[ -n $found ]] && ok "runtime $p is built against via $found" || bad "runtime package $p has no matching -dev package in the build stage"
		grep -qx "$p" <<<"$needed_pkgs" || echo "note: $p is installed in the image but not linked by this build of $CROSSLINK"
	done
fi

summary
