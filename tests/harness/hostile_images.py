#!/usr/bin/env python3
"""hostile_images.py REGISTRY_HOSTPORT WORKDIR: images made to attack the client that pulls them.

skiff treats every image as hostile. Each image here is one attack a registry (or
whoever pushed to it) can mount on a puller; tests/hostile.rs pulls and runs each one
and checks that skiff refuses it in one clear line, or defuses it, and that nothing
lands outside its store. The layers aim at /tmp/skiff-canary, a directory the tests
create on the host and watch.

    hostile/traversal          a layer entry ../../../../../../../../tmp/skiff-canary/owned-traversal
    hostile/absolute           an entry /tmp/skiff-canary/owned-absolute (busybox below)
    hostile/symlink-escape     layer 1: escape -> /tmp/skiff-canary, up -> ../../../../../../../..;
                               layer 2 writes escape/owned-symlink, up/tmp/skiff-canary/owned-up
    hostile/hardlink-host      :absolute  hard link stolen -> /etc/shadow (the image has its own)
                               :dotdot    hard link stolen -> ../../../../../etc/hostname
    hostile/device             device nodes mem (c 1:1) and kmsg (c 1:11, the kernel's log), the
                               harmless null (c 1:3) and a FIFO
    hostile/tampered           a plain image: the test corrupts its layer in the registry's storage
    hostile/truncated-gzip     a layer blob cut off mid-stream; its descriptor describes the cut
                               bytes, so the download verifies, and its diff_id is the whole tar's
    hostile/zstd               a real zstd layer (application/vnd.oci.image.layer.v1.tar+zstd)
    hostile/diffid-mismatch    a sound gzip layer whose diff_id in the config is wrong
    hostile/oversized-manifest a manifest over 4 MiB (a huge annotation)
    hostile/deep-json          JSON nested 1,000,000 deep in an ignored field of the config and
                               9,000 deep in the manifest (busybox below, so it can run)
    hostile/wrong-size         :smaller   a layer descriptor 100 bytes smaller than its blob
                               :larger    one 100 bytes larger

Every layer holds a file naming its image, so no two images share a blob: the test
that corrupts hostile/tampered's layer in the registry's storage touches nothing else.

The registry refuses two of these on push, so they are put into its storage directly
(WORKDIR/storage, as with-registry.sh configures it), the way a compromised or
non-conforming registry would serve them:
- a manifest over 4 MiB: distribution answers 400 "http: request body too large" (it
  caps manifest uploads at 4 MiB, as Docker caps downloads) but serves one it holds;
- JSON nested deeper than 10,000 levels in a manifest: Go's encoding/json refuses it on
  push and on every GET alike, so the manifest stays at 9,000 levels and the config,
  which the registry never parses, carries the deep one.
<https://distribution.github.io/distribution/storage-drivers/filesystem/>
"""

import functools
import hashlib
import json
import os
import sys
import tarfile

import build_images as b
from build_images import file, directory, symlink, sha256

ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd"
CANARY = "tmp/skiff-canary"
OWNED = b"owned\n"


def hardlink(path, target):
    return (path, tarfile.LNKTYPE, 0o644, target)


def device(path, kind, major, minor, mode=0o666):
    return (path, kind, mode, (major, minor))


def marker(name, n):
    """The file that makes a layer this image's own: etc/hostile-image.N."""
    return file(f"etc/hostile-image.{n}", f"{name}\n".encode())


@functools.cache
def busybox():
    return b.busybox_entries()


def busybox_base(name, *extra):
    """busybox, /tmp, /etc/passwd and a marker: enough for `sh -c` in the good cases."""
    return b.build_layer(busybox() + [
        marker(name, 0), file("etc/passwd", b.PASSWD), directory("tmp", 0o1777), *extra])


def noise(size):
    """Deterministic bytes gzip cannot shrink, so a cut in the blob is a cut in the tar."""
    out, block = bytearray(), b"skiff"
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


def zstd_frame(data):
    """A real zstd frame made of raw (stored) blocks: RFC 8878, sections 3.1.1 and 3.1.1.2."""
    out = bytearray((0xFD2FB528).to_bytes(4, "little"))
    out.append(0b1010_0000)  # 4-byte content size, single segment: no window descriptor
    out += len(data).to_bytes(4, "little")
    chunks = [data[i:i + (128 << 10)] for i in range(0, len(data), 128 << 10)] or [b""]
    for n, chunk in enumerate(chunks):
        last = int(n == len(chunks) - 1)
        out += (len(chunk) << 3 | 0 << 1 | last).to_bytes(3, "little")  # type 0: raw
        out += chunk
    return bytes(out)


class Hostile:
    """Pushes images as OCI manifests, with the knobs the attacks need."""

    def __init__(self, registry, workdir):
        self.registry = registry
        self.storage = os.path.join(workdir, "storage/docker/registry/v2")

    def push(self, repo, tag, layers, diff_ids=None, media_type=b.OCI_LAYER, sizes=None,
             annotations=None, config_raw="", manifest_raw="", plant=False):
        """`diff_ids` and `sizes` replace the true ones; `*_raw` is JSON text added as a
        field `x-hostile` the client must ignore; `plant` writes the manifest into the
        registry's storage instead of pushing it."""
        config = {"architecture": "amd64", "os": "linux", "created": b.CREATED,
                  "config": b.SHELL, "rootfs": {"type": "layers", "diff_ids":
                                                diff_ids or [l.diff_id for l in layers]}}
        config = self.registry.push_blob(repo, with_field(config, config_raw), b.OCI_CONFIG)
        descriptors = [self.registry.push_blob(repo, l.gz, media_type).json() for l in layers]
        for descriptor, size in zip(descriptors, sizes or []):
            descriptor["size"] = size
        manifest = {"schemaVersion": 2, "mediaType": b.OCI_MANIFEST,
                    "config": config.json(), "layers": descriptors}
        if annotations:
            manifest["annotations"] = annotations
        body = with_field(manifest, manifest_raw)
        if plant:
            self.plant_manifest(repo, tag, body)
        else:
            self.registry.request("PUT", f"/v2/{repo}/manifests/{tag}", body, b.OCI_MANIFEST)
        print(f"pushed {repo + ':' + tag:36} {len(body):>8} bytes  {sha256(body)[:19]}…"
              f"{'  (planted in storage)' if plant else ''}")

    def plant_manifest(self, repo, tag, body):
        """The registry's own layout: the manifest is a blob, linked as a revision of the
        repository and as the tag's current target."""
        digest = sha256(body)
        hex_ = digest.removeprefix("sha256:")
        manifests = os.path.join(self.storage, "repositories", repo, "_manifests")
        writes = {
            os.path.join(self.storage, "blobs/sha256", hex_[:2], hex_, "data"): body,
            os.path.join(manifests, "revisions/sha256", hex_, "link"): digest.encode(),
            os.path.join(manifests, "tags", tag, "current/link"): digest.encode(),
            os.path.join(manifests, "tags", tag, "index/sha256", hex_, "link"): digest.encode(),
        }
        for path, data in writes.items():
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(data)


def with_field(document, raw):
    """`document` as JSON bytes, plus `"x-hostile": raw` when raw is given (text, since
    Python's json cannot write what these attacks need)."""
    text = json.dumps(document)
    if raw:
        text = text[:-1] + f', "x-hostile": {raw}}}'
    return text.encode()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: hostile_images.py REGISTRY_HOSTPORT WORKDIR")
    h = Hostile(b.Registry(sys.argv[1]), sys.argv[2])

    name = "hostile/traversal"
    h.push(name, "latest", [b.tar_layer([
        marker(name, 1),
        file(f"../../../../../../../../{CANARY}/owned-traversal", OWNED)])])

    name = "hostile/absolute"
    h.push(name, "latest", [busybox_base(name), b.tar_layer([
        marker(name, 1), file(f"/{CANARY}/owned-absolute", OWNED)])])

    name = "hostile/symlink-escape"
    h.push(name, "latest", [
        busybox_base(name),
        b.tar_layer([marker(name, 1), symlink("escape", f"/{CANARY}"),
                     symlink("up", "../../../../../../../..")]),
        b.tar_layer([marker(name, 2), file("escape/owned-symlink", OWNED),
                     file(f"up/{CANARY}/owned-up", OWNED)])])

    name = "hostile/hardlink-host"
    h.push(name, "absolute", [
        busybox_base(name, file("etc/shadow", b"the image's own shadow\n", 0o640)),
        b.tar_layer([marker(name, 1), hardlink("stolen", "/etc/shadow")])])
    h.push(name, "dotdot", [b.tar_layer([
        marker(name, 2), hardlink("stolen", "../../../../../etc/hostname")])])

    name = "hostile/device"
    h.push(name, "latest", [busybox_base(name), b.tar_layer([
        marker(name, 1),
        device("mem", tarfile.CHRTYPE, 1, 1), device("kmsg", tarfile.CHRTYPE, 1, 11),
        device("null", tarfile.CHRTYPE, 1, 3), ("fifo", tarfile.FIFOTYPE, 0o600, b"")])])

    name = "hostile/tampered"
    h.push(name, "latest", [b.tar_layer([marker(name, 1), file("data", noise(64 << 10))])])

    name = "hostile/truncated-gzip"
    whole = b.tar_layer([marker(name, 1), file("data", noise(64 << 10))])
    cut = whole.gz[:len(whole.gz) // 2]
    h.push(name, "latest", [b.Layer(gz=cut, digest=sha256(cut), diff_id=whole.diff_id)])

    name = "hostile/zstd"
    tar = b.tar_layer([marker(name, 1)])
    frame = zstd_frame(b.gzip.decompress(tar.gz))
    h.push(name, "latest", [b.Layer(gz=frame, digest=sha256(frame), diff_id=tar.diff_id)],
           media_type=ZSTD_LAYER)

    name = "hostile/diffid-mismatch"
    layer = b.tar_layer([marker(name, 1)])
    h.push(name, "latest", [layer], diff_ids=[sha256(b"not this layer")])

    name = "hostile/oversized-manifest"
    layer = b.tar_layer([marker(name, 1)])
    h.push(name, "latest", [layer], annotations={"pad": "x" * (4 << 20)}, plant=True)

    name = "hostile/deep-json"
    h.push(name, "latest", [busybox_base(name)],
           config_raw="[" * 1_000_000 + "]" * 1_000_000,
           manifest_raw="[" * 9_000 + "]" * 9_000)

    name = "hostile/wrong-size"
    layer = b.tar_layer([marker(name, 1), file("data", noise(16 << 10))])
    h.push(name, "smaller", [layer], sizes=[len(layer.gz) - 100])
    h.push(name, "larger", [layer], sizes=[len(layer.gz) + 100])


if __name__ == "__main__":
    main()
