#!/usr/bin/env bash
# test_consistency.sh — offline checks that the packagings agree with each
# other and with the binary: CRD copies, versions (CMake project = chart
# appVersion = kustomize image tag), the same RBAC and resources in the chart
# and deploy/, and a Dockerfile whose final stage is the collected rootfs on
# scratch, non-root, with a build stage whose -dev packages bring every library the binary links
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
# The final stage is deploy/image/collect's rootfs on scratch (the file set is
# compared with deploy/image/build's image in test_image.sh); the build stage's
# -dev packages must bring every library the binary links.
final=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$DF")
build=$(awk '/^FROM /{n++} n==1' "$DF")
[[ $(grep -c '^FROM ' "$DF") -ge 2 ]] && ok "multi-stage Dockerfile" || bad "Dockerfile is not multi-stage"
grep -qE '^FROM scratch$' <<<"$final" && ok "final stage is FROM scratch (no shell, no package manager)" || bad "final stage base: $(head -1 <<<"$final")"
grep -qE '^USER 65532:65532$' <<<"$final" && ok "final stage runs as 65532:65532" || bad "final stage USER is not 65532:65532"
grep -qE '^ENTRYPOINT \["/usr/local/bin/crosslink"\]' <<<"$final" && grep -qE '^CMD \["controller"\]' <<<"$final" &&
	ok "entrypoint /usr/local/bin/crosslink, cmd controller" || bad "entrypoint/cmd"
grep -qE '^EXPOSE 8080 8081$' <<<"$final" && ok "exposes 8080 8081" || bad "EXPOSE"
copies=$(grep -E '^COPY ' <<<"$final")
[[ $copies == "COPY --from=build /rootfs/ /" ]] && ok "final stage copies only the collected rootfs" || bad "final stage COPY: $copies"
grep -qxE 'RUN python3 deploy/image/collect / /crosslink /rootfs' <<<"$build" && ok "build stage assembles /rootfs with deploy/image/collect" ||
	bad "build stage does not run 'python3 deploy/image/collect / /crosslink /rootfs'"
grep -qx '!deploy/image/collect' deploy/Dockerfile.dockerignore && ok "dockerignore sends deploy/image/collect" || bad "deploy/image/collect not in the build context"
apt_words() { sed -n '/apt-get install/,/&&/p' | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u; }
buildpkgs=$(apt_words <<<"$build")
for p in ca-certificates binutils python3; do
	grep -qx "$p" <<<"$buildpkgs" && ok "build stage installs $p (strip, collect)" || bad "build stage lacks $p"
done
devs=$(grep -E -- '-dev$' <<<"$buildpkgs")
if [[ ! -x $CROSSLINK ]]; then
	bad "binary not found at $CROSSLINK: cannot check its libraries"
elif ! command -v readelf >/dev/null || ! command -v dpkg >/dev/null; then
	bad "readelf/dpkg missing"
else
	# Every directly linked library must come from a package that one of the
	# build stage's -dev packages depends on (libc6 via libc6-dev).
	while read -r lib; do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x86_64|AArch64|aarch64/ {print $NF; exit}')
		[[ -n $path ]] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
		[[ -n $pkg ]] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
		if [[ -z $pkg ]]; then
			bad "NEEDED $lib: no Debian package owns it"
			continue
		fi
		found=""
		for d in $devs; do
			if dpkg-query -W -f='${Depends}\n' "$d" 2>/dev/null | tr ',|' '\n\n' | sed 's/^ *//;s/[ :].*//' | grep -qx "$pkg"; then found=$d; break; fi
		done
		[[ -n $found ]] && ok "NEEDED $lib ($pkg) comes with $found in the build stage" ||
			bad "NEEDED $lib comes from $pkg, which no -dev package of the build stage brings (add its -dev package)"
	done < <(readelf -d "$CROSSLINK" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
fi

summary
