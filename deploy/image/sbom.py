#!/usr/bin/env python3
"""sbom.py — writes the image's SBOM as SPDX 2.3 JSON on stdout (Python 3
standard library only; called by deploy/image/build).

Input: files.tsv from deploy/image/collect (image path, type, Debian package or
"crosslink" for what the build generated), the image root filesystem (for
checksums) and the dpkg database the libraries came from (versions, source
packages). Output: one SPDX package for the image, one for crosslink, one per
Debian binary package (version, source package and version, purl), one SPDX
file per regular file with SHA1 + SHA256 and a CONTAINS relationship from the
package that ships it. Deterministic: sorted, and `created` is the commit time.
"""
import argparse
import hashlib
import json
import os
import re
import sys
import urllib.parse


def dpkg_status(admindir):
    """package name -> {field: value} for installed packages."""
    pkgs = {}
    with open(os.path.join(admindir, "status"), encoding="utf-8") as f:
        for stanza in f.read().split("\n\n"):
            fields = {}
            key = None
            for line in stanza.split("\n"):
                if not line:
                    continue
                if line[0] in " \t" and key:
                    fields[key] += "\n" + line
                    continue
                key, _, val = line.partition(":")
                fields[key] = val.strip()
            if fields.get("Package") and fields.get("Status", "").endswith(" installed"):
                pkgs[fields["Package"]] = fields
    return pkgs


def spdx_id(s):
    return "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", s)


def digests(path):
    h1, h256 = hashlib.sha1(), hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h1.update(chunk)
            h256.update(chunk)
    return h1.hexdigest(), h256.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    for a in ("files", "rootfs", "admindir", "name", "version", "revision", "created",
              "source", "licenses", "image", "suite", "arch"):
        ap.add_argument("--" + a, required=True)
    a = ap.parse_args()
    status = dpkg_status(a.admindir)
    rows = []
    with open(a.files, encoding="utf-8") as f:
        for line in f:
            path, typ, pkg = line.rstrip("\n").split("\t")
            rows.append((path, typ, pkg))
    distro = "debian-" + {"bookworm": "12", "trixie": "13", "bullseye": "11"}.get(a.suite, a.suite)

    image_id = spdx_id("image-" + a.name)
    xl_id = spdx_id("package-" + a.name)
    packages = [
        {
            "SPDXID": image_id,
            "name": a.image,
            "versionInfo": a.version,
            "primaryPackagePurpose": "CONTAINER",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "comment": "OCI image built by deploy/image/build from " + a.source + " at " + a.revision,
        },
        {
            "SPDXID": xl_id,
            "name": a.name,
            "versionInfo": a.version,
            "primaryPackagePurpose": "APPLICATION",
            "downloadLocation": "git+" + a.source + "@" + a.revision.replace("-dirty", ""),
            "sourceInfo": "built from " + a.source + " revision " + a.revision,
            "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": a.licenses,
            "copyrightText": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": "pkg:github/crosslink-dev/crosslink@" + a.version}],
        },
    ]
    rels = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id},
        {"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": xl_id},
    ]
    debs = sorted({p for _, _, p in rows if p not in ("-", a.name)})
    for p in debs:
        st = status.get(p)
        if st is None:
            sys.exit("sbom: package %s is not installed in %s" % (p, a.admindir))
        ver = st["Version"]
        src = st.get("Source", p)
        m = re.match(r"(\S+)(?: \((.*)\))?", src)
        src_name, src_ver = m.group(1), m.group(2) or ver
        q = {"arch": st.get("Architecture", a.arch), "distro": distro}
        if src_name != p or src_ver != ver:
            q["upstream"] = src_name + "@" + src_ver
        purl = "pkg:deb/debian/%s@%s?%s" % (p, urllib.parse.quote(ver, safe=""),
                                             urllib.parse.urlencode(sorted(q.items()), safe=""))
        packages.append({
            "SPDXID": spdx_id("deb-" + p),
            "name": p,
            "versionInfo": ver,
            "supplier": "Organization: Debian",
            "originator": "Organization: Debian",
            "sourceInfo": "built package from: %s %s" % (src_name, src_ver),
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "comment": "Debian binary package %s %s (%s), source package %s %s; licence text in "
                       "/usr/share/doc/%s/copyright" % (p, ver, st.get("Architecture", a.arch), src_name, src_ver, p),
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": purl}],
        })
        rels.append({"spdxElementId": image_id, "relationshipType": "CONTAINS",
                     "relatedSpdxElement": spdx_id("deb-" + p)})
    files = []
    for path, typ, pkg in rows:
        if typ != "f":
            continue
        s1, s256 = digests(os.path.join(a.rootfs, path.lstrip("/")))
        fid = spdx_id("file" + path)
        owner = xl_id if pkg in ("-", a.name) else spdx_id("deb-" + pkg)
        files.append({
            "SPDXID": fid,
            "fileName": "." + path,
            "checksums": [{"algorithm": "SHA1", "checksumValue": s1},
                          {"algorithm": "SHA256", "checksumValue": s256}],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "comment": ("generated by deploy/image/build" if pkg in ("-", a.name) and path != "/usr/local/bin/crosslink"
                        else "from %s" % pkg),
        })
        rels.append({"spdxElementId": owner, "relationshipType": "CONTAINS", "relatedSpdxElement": fid})
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "%s-%s" % (a.name, a.version),
        "documentNamespace": "%s/sbom/%s-%s-%s" % (a.source, a.name, a.version, a.revision),
        "creationInfo": {"created": a.created, "creators": ["Tool: crosslink-deploy/image/build"]},
        "packages": packages,
        "files": files,
        "relationships": rels,
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
