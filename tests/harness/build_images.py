#!/usr/bin/env python3
"""build_images.py REGISTRY_HOSTPORT WORKDIR FOREIGN_HOSTPORT: the fixture images, pushed
like `docker push`.

Docker Hub serves images in every shape a client meets in the wild: Docker
schema2 manifests, OCI manifests, OCI indexes with an attestation entry (as
`docker buildx` makes them), Docker manifest lists, and indexes with no
platform the client can run. This script builds one of each from real binaries
(/bin/busybox from busybox-static, WORKDIR/docker-explorer) and uploads them
with the registry HTTP API, the way `docker push` does:

    POST /v2/NAME/blobs/uploads/          -> 202, Location: upload URL
    PUT  <upload URL>&digest=sha256:...   the whole blob (monolithic upload)
    PUT  /v2/NAME/manifests/REF           Content-Type: the manifest's media type

Children of an index are pushed by digest before the index, because the
registry refuses an index that names manifests it does not hold.
<https://github.com/opencontainers/distribution-spec/blob/main/spec.md#push>

The images (busybox = /bin/busybox with its applet links in /bin):

    library/busybox:latest     schema2, 2 layers: busybox, /etc/passwd, /tmp 1777,
                               /var/run -> /run; then docker-explorer, /etc/layer2,
                               a whiteout (/etc/removed-by-upper) and an opaque
                               /etc/opaque (only `new` survives, not `old`)
    library/busybox:oci        the same layers in an OCI manifest
    library/alpine:latest      OCI index: linux/arm64/v8 (no busybox), linux/amd64
                               (alpine's top-level dirs exactly), unknown/unknown
    library/multi:list         Docker manifest list: arm64/v8 (no busybox), amd64
    library/noplatform:latest  OCI index: s390x and ppc64le only
    library/entry:latest       busybox with Entrypoint, Cmd, WorkingDir /srv/app
                               (absent from the layers) and Env
    library/web:latest         busybox with ExposedPorts 80/tcp and 8125/udp (for -P), Labels
    library/volumed:latest     busybox + /data/seed ("from the image"), Volumes /data and
                               /cache (the image's VOLUME list: anonymous volumes)
    private/secret:latest      busybox + /etc/secret ("top secret")
    expiring/busybox:latest    busybox; the token server's tokens for it live 2 s
    library/foreign:latest     schema2, busybox + a foreign layer (/etc/foreign, "from
                               afar") that only http://FOREIGN_HOSTPORT/foreign.tar.gz
                               serves: the registry never sees the blob
    library/foreign:oci        OCI, busybox + the same layer as nondistributable, with
                               two URLs: missing.tar.gz (404) first, then foreign.tar.gz
    library/foreign:tampered   its URL serves the layer with one byte changed
    library/foreign:gone       its URL answers 404
    library/users:latest       busybox + a user `app` (1000, home /home/app, also in
                               staff and audio) and a setuid-root docker-explorer
                               (/usr/local/bin/suid-explorer), User unset
    library/redis:latest       busybox + Debian's redis-server and redis-cli (redis-tools)
                               with the shared libraries ldd names; WorkingDir /data,
                               ExposedPorts 6379/tcp, Cmd redis-server (append-only,
                               not protected: the official image's settings)
    library/many:latest        120 layers: busybox's first (with /etc/removed-by-upper),
                               one /layers/N file each for N = 2…119, then /last
Each image's /etc/platform, where present, names its platform (`linux/amd64`).
The foreign layers' files are written to WORKDIR/foreign/; tests serve them with
file_server.py on FOREIGN_HOSTPORT. The registry accepts manifests with such URLs
only if its config allows them (`validation: manifests: urls: allow`).

Layers are gzipped tars, root-owned, with fixed mtimes, so digests are
reproducible for the same binaries. The whiteout markers of busybox's second
layer (`.wh.NAME`, `.wh..wh..opq`) follow the OCI image-spec:
<https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts>
"""

import gzip
import hashlib
import http.client
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.parse
from dataclasses import dataclass

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
IN_TOTO = "application/vnd.in-toto+json"

MTIME = 1700000000  # 2023-11-14: any fixed time keeps digests stable
CREATED = "2023-11-14T22:13:20Z"
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHELL = {"Env": [PATH], "Cmd": ["sh"]}  # the config of every image but library/entry
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\n"
ALPINE_TOP = "bin dev etc home lib media mnt opt proc root run sbin srv sys tmp usr var".split()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- layers -----------------------------------------------------------------
# A layer spec is a list of entries; parents missing from it are added as 0755
# directories, and the tar lists everything in path order (parents first).

def directory(path, mode=0o755):
    return (path, tarfile.DIRTYPE, mode, b"")


def file(path, data, mode=0o644):
    return (path, tarfile.REGTYPE, mode, data)


def symlink(path, target):
    return (path, tarfile.SYMTYPE, 0o777, target)


@dataclass
class Layer:
    gz: bytes
    digest: str   # sha256 of the gzip stream: the blob's name
    diff_id: str  # sha256 of the tar: what the config's rootfs.diff_ids lists


def build_layer(entries):
    by_path = {path: (kind, mode, data) for path, kind, mode, data in entries}
    for path in list(by_path):
        parent = os.path.dirname(path)
        while parent and parent not in by_path:
            by_path[parent] = (tarfile.DIRTYPE, 0o755, b"")
            parent = os.path.dirname(parent)
    return tar_layer([(path, *by_path[path]) for path in sorted(by_path)])


def tar_layer(entries):
    """The layer of exactly these entries, in this order, names verbatim. The data of a
    link is its target; of a device node, its (major, minor). An entry may end with its
    (uid, gid); root's otherwise."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, mode, data, *owner in entries:
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.mtime = kind, mode, MTIME
            info.uname = info.gname = "root"
            if owner:
                (info.uid, info.gid), info.uname, info.gname = owner[0], "", ""
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = data
                tar.addfile(info)
            elif kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                info.devmajor, info.devminor = data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    tar_bytes = buf.getvalue()
    gz = gzip.compress(tar_bytes, compresslevel=6, mtime=0)
    return Layer(gz=gz, digest=sha256(gz), diff_id=sha256(tar_bytes))


def gzip_layer(path):
    """A layer already on disk as a gzip'd tar (tests/bench/push_image.py's large image);
    the tar is hashed as it streams out of gzip, never held whole."""
    with open(path, "rb") as f:
        gz = f.read()
    tar_hash = hashlib.sha256()
    with gzip.open(io.BytesIO(gz)) as tar:
        while chunk := tar.read(1 << 20):
            tar_hash.update(chunk)
    return Layer(gz=gz, digest=sha256(gz), diff_id="sha256:" + tar_hash.hexdigest())


def busybox_entries():
    """/bin/busybox and a /bin symlink for each applet it lists."""
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    entries = [file("bin/busybox", open("/bin/busybox", "rb").read(), 0o755)]
    entries += [symlink(f"bin/{name}", "busybox") for name in applets if name != "busybox"]
    return entries


def explorer_entries(workdir):
    data = open(os.path.join(workdir, "docker-explorer"), "rb").read()
    return [file("usr/local/bin/docker-explorer", data, 0o755)]


def platform_entries(platform):
    return [file("etc/platform", f"{platform}\n".encode()), file("etc/passwd", PASSWD)]


def alpine_entries(platform, workdir, with_busybox):
    """Alpine's top-level directories; busybox only when the image should run here."""
    modes = {"root": 0o700, "tmp": 0o1777, "proc": 0o555, "sys": 0o555}
    entries = [directory(name, modes.get(name, 0o755)) for name in ALPINE_TOP]
    entries += platform_entries(platform) + [file("etc/group", GROUP), symlink("var/run", "/run")]
    if with_busybox:
        entries += busybox_entries() + explorer_entries(workdir)
    return entries


# --- registry ---------------------------------------------------------------

@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int

    def json(self, **extra):
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


class Registry:
    def __init__(self, hostport):
        self.hostport = hostport

    def request(self, method, path, body=b"", content_type=None, expect=201):
        conn = http.client.HTTPConnection(self.hostport, timeout=30)
        headers = {"Content-Type": content_type} if content_type else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        conn.close()
        if response.status != expect:
            sys.exit(f"build_images.py: {method} {path}: {response.status} {answer[:300]!r}")
        return response

    def push_blob(self, repo, data, media_type):
        started = self.request("POST", f"/v2/{repo}/blobs/uploads/", expect=202)
        upload = urllib.parse.urlsplit(started.getheader("Location"))
        query = "&".join(filter(None, [upload.query, "digest=" + sha256(data)]))
        self.request("PUT", f"{upload.path}?{query}", data, "application/octet-stream")
        return Descriptor(media_type, sha256(data), len(data))

    def push_manifest(self, repo, ref, manifest, media_type):
        """Tags `ref`; with ref None, pushes by digest (an index's children)."""
        body = json.dumps(manifest, indent=3).encode()
        self.request("PUT", f"/v2/{repo}/manifests/{ref or sha256(body)}", body, media_type)
        return Descriptor(media_type, sha256(body), len(body))

    def push_image(self, repo, ref, layers, config, oci=False, arch="amd64", variant=None,
                   foreign=None, history=None):
        """Layers, then the config, then the manifest; returns the manifest's descriptor.
        foreign: (layer, urls), a last layer listed but not pushed."""
        layer_type, config_type, manifest_type, foreign_type = (
            (OCI_LAYER, OCI_CONFIG, OCI_MANIFEST, OCI_NONDISTRIBUTABLE) if oci else
            (DOCKER_LAYER, DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_FOREIGN))
        diff_ids = [l.diff_id for l in layers] + ([foreign[0].diff_id] if foreign else [])
        image = {"architecture": arch, "os": "linux", "created": CREATED, "config": config,
                 "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        if variant:
            image["variant"] = variant
        if history:
            image["history"] = history
        manifest = {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": self.push_blob(repo, json.dumps(image).encode(), config_type).json(),
            "layers": [self.push_blob(repo, l.gz, layer_type).json() for l in layers],
        }
        if foreign:
            layer, urls = foreign
            manifest["layers"].append(
                Descriptor(foreign_type, layer.digest, len(layer.gz)).json(urls=urls))
        return self.push_manifest(repo, ref, manifest, manifest_type)

    def push_child(self, repo, layers, platform, oci):
        """One image of an index, pushed by digest; returns its index entry as
        (descriptor, platform, annotations). platform: "linux/arm64/v8"."""
        os_, arch, *variant = platform.split("/")
        descriptor = self.push_image(repo, None, layers, SHELL, oci, arch, *variant)
        fields = {"architecture": arch, "os": os_}
        if variant:
            fields["variant"] = variant[0]
        return descriptor, fields, None

    def push_index(self, repo, tag, children, media_type):
        """children: index entries from push_child and push_attestation."""
        manifests = []
        for descriptor, platform, annotations in children:
            entry = descriptor.json(platform=platform)
            if annotations:
                entry["annotations"] = annotations
            manifests.append(entry)
        index = {"schemaVersion": 2, "mediaType": media_type, "manifests": manifests}
        return self.push_manifest(repo, tag, index, media_type)

    def push_attestation(self, repo, subject):
        """What buildx adds beside each image: an in-toto statement in a manifest
        whose config says unknown/unknown, which no runtime may pick."""
        statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1",
                                "predicateType": "https://spdx.dev/Document",
                                "subject": [], "predicate": {}}).encode()
        config = {"architecture": "unknown", "os": "unknown", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": [sha256(statement)]}}
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.push_blob(repo, json.dumps(config).encode(), OCI_CONFIG).json(),
            "layers": [self.push_blob(repo, statement, IN_TOTO).json(
                annotations={"in-toto.io/predicate-type": "https://spdx.dev/Document"})],
        }
        descriptor = self.push_manifest(repo, None, manifest, OCI_MANIFEST)
        return (descriptor, {"architecture": "unknown", "os": "unknown"},
                {"vnd.docker.reference.digest": subject.digest,
                 "vnd.docker.reference.type": "attestation-manifest"})


# --- the images ---------------------------------------------------------------

def summary(name, kind, descriptor, what):
    print(f"pushed {name:26} {kind:13} {descriptor.digest[:19]}…  {what}")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: build_images.py REGISTRY_HOSTPORT WORKDIR FOREIGN_HOSTPORT")
    registry, workdir, foreign_host = Registry(sys.argv[1]), sys.argv[2], sys.argv[3]

    lower = build_layer(busybox_entries() + [
        file("etc/passwd", PASSWD), file("etc/group", GROUP),
        file("etc/removed-by-upper", b"lower\n"), file("etc/opaque/old", b"old\n"),
        directory("root", 0o700), directory("tmp", 0o1777),
        directory("run"), symlink("var/run", "/run"),
    ])
    upper = build_layer(explorer_entries(workdir) + [
        file("etc/.wh.removed-by-upper", b""),
        file("etc/opaque/.wh..wh..opq", b""), file("etc/opaque/new", b"new\n"),
        file("etc/layer2", b"layer2\n"),
    ])
    busybox = [lower, upper]

    d = registry.push_image("library/busybox", "latest", busybox, SHELL)
    summary("library/busybox:latest", "schema2", d, "busybox; explorer, whiteout, opaque dir")
    d = registry.push_image("library/busybox", "oci", busybox, SHELL, oci=True)
    summary("library/busybox:oci", "oci manifest", d, "the same two layers")

    arm64 = build_layer(alpine_entries("linux/arm64", workdir, with_busybox=False))
    amd64 = build_layer(alpine_entries("linux/amd64", workdir, with_busybox=True))
    children = [registry.push_child("library/alpine", [arm64], "linux/arm64/v8", oci=True),
                registry.push_child("library/alpine", [amd64], "linux/amd64", oci=True)]
    children.append(registry.push_attestation("library/alpine", subject=children[1][0]))
    d = registry.push_index("library/alpine", "latest", children, OCI_INDEX)
    summary("library/alpine:latest", "oci index", d, "arm64/v8 (no sh), amd64, unknown/unknown")

    arm64 = [build_layer(platform_entries("linux/arm64"))]
    amd64 = busybox + [build_layer(platform_entries("linux/amd64"))]
    children = [registry.push_child("library/multi", arm64, "linux/arm64/v8", oci=False),
                registry.push_child("library/multi", amd64, "linux/amd64", oci=False)]
    d = registry.push_index("library/multi", "list", children, DOCKER_LIST)
    summary("library/multi:list", "manifest list", d, "arm64/v8 (no sh), amd64 (busybox)")

    children = [registry.push_child("library/noplatform", [build_layer(platform_entries(p))],
                                    p, oci=True) for p in ("linux/s390x", "linux/ppc64le")]
    d = registry.push_index("library/noplatform", "latest", children, OCI_INDEX)
    summary("library/noplatform:latest", "oci index", d, "s390x and ppc64le only")

    d = registry.push_image("library/entry", "latest", busybox, {
        "Entrypoint": ["/usr/local/bin/docker-explorer"], "Cmd": ["echo", "from-cmd"],
        "WorkingDir": "/srv/app", "Env": ["PATH=/usr/local/bin:/bin", "GREETING=hello from config"]})
    summary("library/entry:latest", "schema2", d, "Entrypoint, Cmd, WorkingDir /srv/app, Env")

    d = registry.push_image("library/web", "latest", busybox,
                            dict(SHELL, ExposedPorts={"80/tcp": {}, "8125/udp": {}},
                                 Labels={"maintainer": "skiff tests", "tier": "image"}))
    summary("library/web:latest", "schema2", d, "ExposedPorts 80/tcp, 8125/udp, Labels")

    seed = build_layer([directory("data"), file("data/seed", b"from the image\n")])
    d = registry.push_image("library/volumed", "latest", busybox + [seed],
                            dict(SHELL, Volumes={"/data": {}, "/cache": {}}))
    summary("library/volumed:latest", "schema2", d, "busybox + /data/seed, Volumes /data /cache")

    steps = [{"created": CREATED, "created_by": "/bin/sh -c #(nop) ADD file:0f1e2d in / "},
             {"created": CREATED, "created_by": '/bin/sh -c #(nop)  CMD ["sh"]',
              "empty_layer": True},
             {"created": CREATED, "created_by": "/bin/sh -c echo\tthe explorer goes in, with a long line",
              "comment": "buildkit.dockerfile.v0"}]
    d = registry.push_image("library/history", "latest", busybox, SHELL, history=steps)
    summary("library/history:latest", "schema2", d, "busybox with 3 history steps, 1 empty")

    users(registry, busybox, workdir)
    redis(registry, busybox)
    many_layers(registry, lower)

    secret = build_layer([file("etc/secret", b"top secret\n")])
    d = registry.push_image("private/secret", "latest", busybox + [secret], SHELL)
    summary("private/secret:latest", "schema2", d, "busybox + /etc/secret, for alice only")

    d = registry.push_image("expiring/busybox", "latest", busybox, SHELL)
    summary("expiring/busybox:latest", "schema2", d, "busybox; its tokens live 2 s")

    push_foreign_images(registry, workdir, foreign_host, busybox)


def push_foreign_images(registry, workdir, foreign_host, busybox):
    """library/foreign: images whose last layer only a third party's server has."""
    layer = build_layer([file("etc/foreign", b"from afar\n")])
    tampered = bytearray(layer.gz)
    tampered[len(tampered) // 2] ^= 0xFF
    files = os.path.join(workdir, "foreign")
    os.makedirs(files, exist_ok=True)
    for name, data in (("foreign.tar.gz", layer.gz), ("tampered.tar.gz", bytes(tampered))):
        with open(os.path.join(files, name), "wb") as f:
            f.write(data)
    url = lambda name: f"http://{foreign_host}/{name}"
    images = (
        ("latest", False, [url("foreign.tar.gz")], "schema2", "foreign layer from its URL"),
        ("oci", True, [url("missing.tar.gz"), url("foreign.tar.gz")], "oci manifest",
         "nondistributable; first URL 404"),
        ("tampered", False, [url("tampered.tar.gz")], "schema2", "its URL serves other bytes"),
        ("gone", False, [url("gone.tar.gz")], "schema2", "its URL answers 404"),
    )
    for tag, oci, urls, kind, what in images:
        d = registry.push_image("library/foreign", tag, busybox, SHELL, oci=oci,
                                foreign=(layer, urls))
        summary(f"library/foreign:{tag}", kind, d, what)


def users(registry, busybox, workdir):
    passwd = PASSWD + b"app:x:1000:1000:App:/home/app:/bin/sh\n"
    group = GROUP + b"app:x:1000:\nstaff:x:50:app,other\naudio:x:29:app\n"
    explorer = explorer_entries(workdir)[0][3]
    layer = build_layer([file("etc/passwd", passwd), file("etc/group", group),
                         directory("home/app"),
                         file("usr/local/bin/suid-explorer", explorer, 0o4755)])
    d = registry.push_image("library/users", "latest", busybox + [layer], SHELL)
    summary("library/users:latest", "schema2", d, "user app (1000), setuid explorer")


def redis(registry, busybox):
    """tinydock's example service: Debian's Redis, as the official image runs it. Debian's
    redis-server is redis-check-rdb under another name (redis-tools ships the binary,
    redis-server only the link), and Redis picks its mode from argv[0]."""
    binaries = {"usr/bin/redis-server": "/usr/bin/redis-check-rdb",
                "usr/bin/redis-cli": "/usr/bin/redis-cli"}
    libraries = set()
    for binary in binaries.values():
        listed = subprocess.run(["ldd", binary], capture_output=True, text=True,
                                check=True).stdout
        libraries.update(re.findall(r"(/\S+) \(0x", listed))
    entries = [file(path.lstrip("/"), open(os.path.realpath(path), "rb").read(), 0o755)
               for path in sorted(libraries)]
    entries += [file(name, open(path, "rb").read(), 0o755) for name, path in binaries.items()]
    entries.append(directory("data"))
    d = registry.push_image("library/redis", "latest", busybox + [build_layer(entries)], {
        "Cmd": ["redis-server", "--appendonly", "yes", "--protected-mode", "no"],
        "WorkingDir": "/data", "ExposedPorts": {"6379/tcp": {}},
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]})
    version = subprocess.run(["/usr/bin/redis-cli", "--version"], capture_output=True,
                             text=True, check=True).stdout.split()[-1]
    summary("library/redis:latest", "schema2", d, f"Debian's Redis {version}")


def many_layers(registry, lower):
    """More layers than overlayfs's one-page option string can name by diff_id."""
    middle = [build_layer([file(f"layers/{n}", f"{n}\n".encode())]) for n in range(2, 120)]
    last = build_layer([file("last", b"last\n")])
    layers = [lower] + middle + [last]
    assert len(layers) == 120, len(layers)
    d = registry.push_image("library/many", "latest", layers, SHELL)
    summary("library/many:latest", "schema2", d, f"{len(layers)} layers")


if __name__ == "__main__":
    main()
