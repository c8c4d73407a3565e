#!/usr/bin/env python3
"""hostile_images.py REGISTRY_HOSTPORT: images made to attack the client that pulls them.

skiff treats every image as hostile. Each image here is one attack that a registry, or
whoever pushed to it, can make on a puller; tests/hostile.rs pulls and runs each one and
checks that skiff refuses it with one clear line, or defuses it, and that nothing lands
outside its store. The paths aim at /tmp/skiff-canary, which the tests create on the
host and watch. "busybox +" means the image has a busybox layer below, so it can run.

    hostile/traversal          entry ../../../../../../../../tmp/skiff-canary/owned-traversal
    hostile/absolute           busybox + entry /tmp/skiff-canary/owned-absolute
    hostile/symlink-escape     busybox + escape -> /tmp/skiff-canary, up -> ../../../../../../../..
                               and files written through them (escape/owned-symlink-1,
                               up/tmp/skiff-canary/owned-up-1); then a layer writing through
                               them again (owned-symlink-2, owned-up-2)
    hostile/hardlink-host      :absolute  busybox + its own /etc/shadow and a hard link
                                          stolen -> /etc/shadow
                               :dotdot    hard link stolen -> ../../../../../etc/hostname
    hostile/device             busybox + device nodes mem (c 1:1), kmsg (c 1:11: the host
                               kernel's log, readable and writable), null (c 1:3), a FIFO
    hostile/tampered           a plain image: its test corrupts the layer in the registry's storage
    hostile/tampered-late      a plain image: its test changes the gzip header's MTIME in
                               the registry's storage, which inflating ignores
    hostile/truncated-gzip     a gzip stream cut in half; the descriptor describes the cut
                               bytes (so the download verifies), the diff_id the whole tar
    hostile/zstd               a real zstd layer (application/vnd.oci.image.layer.v1.tar+zstd)
    hostile/diffid-mismatch    a sound gzip layer whose diff_id in the config is wrong
    hostile/deep-json          busybox + JSON nested 1,000,000 deep in an ignored field of
                               the config, and 9,000 deep in one of the manifest
    hostile/wrong-size         :smaller   a layer descriptor 100 bytes smaller than its blob
                               :larger    one 100 bytes larger
    hostile/volume             busybox + /data (1000:50, 0750), whose content aims
                               out of the root (data/escape -> /tmp/skiff-volume-canary,
                               data/up -> ../../../../../../../..) beside data/file (1000:50,
                               0640); and link ->
                               /tmp/skiff-volume-canary, for a volume mounted on a symlink
                               (tests/volumes.rs: a volume's copy-up must not follow them)

Every layer holds a file naming its image (etc/hostile-image.N), so no two images share
a blob: the tests that corrupt hostile/tampered's and hostile/tampered-late's layers
touch nothing else.

What this registry (distribution 2.8) will not hold, the tests play themselves:
- a manifest over 4 MiB: distribution refuses it on push (400 "http: request body too
  large") and, put straight into its storage, on GET too (500 "storage: read exceeds
  limit"); tests/hostile.rs serves one from a socket of its own;
- JSON nested deeper than 10,000 levels in a manifest: Go's encoding/json refuses it on
  push and GET alike, hence 9,000 there; the config, which the registry never parses,
  carries the deep one.
"""

import functools
import gzip
import hashlib
import json
import sys
import tarfile

sys.dont_write_bytecode = True  # importing build_images leaves no __pycache__ in the tree
import build_images as b  # noqa: E402
from build_images import directory, file, sha256, symlink  # noqa: E402

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

    def __init__(self, registry):
        self.registry = registry

    def push(self, repo, tag, layers, diff_ids=None, media_type=b.OCI_LAYER, sizes=None,
             config_raw="", manifest_raw=""):
        """`diff_ids` and `sizes` replace the true ones; `*_raw` is JSON text added as a
        field `x-hostile` that the client must ignore."""
        config = {"architecture": "amd64", "os": "linux", "created": b.CREATED,
                  "config": b.SHELL, "rootfs": {"type": "layers", "diff_ids":
                                                diff_ids or [l.diff_id for l in layers]}}
        config = self.registry.push_blob(repo, with_field(config, config_raw), b.OCI_CONFIG)
        descriptors = [self.registry.push_blob(repo, l.gz, media_type).json() for l in layers]
        for descriptor, size in zip(descriptors, sizes or []):
            descriptor["size"] = size
        manifest = {"schemaVersion": 2, "mediaType": b.OCI_MANIFEST,
                    "config": config.json(), "layers": descriptors}
        body = with_field(manifest, manifest_raw)
        self.registry.request("PUT", f"/v2/{repo}/manifests/{tag}", body, b.OCI_MANIFEST)
        print(f"pushed {repo + ':' + tag:36} {sha256(body)[:19]}…")


def with_field(document, raw):
    """`document` as JSON bytes, plus `"x-hostile": raw` when raw is given (text, since
    Python's json cannot write what these attacks need)."""
    text = json.dumps(document)
    if raw:
        text = text[:-1] + f', "x-hostile": {raw}}}'
    return text.encode()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: hostile_images.py REGISTRY_HOSTPORT")
    h = Hostile(b.Registry(sys.argv[1]))

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
                     symlink("up", "../../../../../../../.."),
                     file("escape/owned-symlink-1", OWNED),
                     file(f"up/{CANARY}/owned-up-1", OWNED)]),
        b.tar_layer([marker(name, 2), file("escape/owned-symlink-2", OWNED),
                     file(f"up/{CANARY}/owned-up-2", OWNED)])])

    name = "hostile/volume"
    volume_canary = "/tmp/skiff-volume-canary"
    h.push(name, "latest", [busybox_base(name), b.tar_layer([
        marker(name, 1), ("data", tarfile.DIRTYPE, 0o750, b"", (1000, 50)),
        symlink("data/escape", volume_canary), symlink("data/up", "../../../../../../../.."),
        ("data/file", tarfile.REGTYPE, 0o640, b"the image's\n", (1000, 50)),
        symlink("link", volume_canary)])])

    name = "hostile/hardlink-host"
    h.push(name, "absolute", [busybox_base(name), b.tar_layer([
        marker(name, 1), file("etc/shadow", b"the image's own shadow\n", 0o640),
        hardlink("stolen", "/etc/shadow")])])
    h.push(name, "dotdot", [b.tar_layer([
        marker(name, 2), hardlink("stolen", "../../../../../etc/hostname")])])

    name = "hostile/device"
    h.push(name, "latest", [busybox_base(name), b.tar_layer([
        marker(name, 1),
        device("mem", tarfile.CHRTYPE, 1, 1), device("kmsg", tarfile.CHRTYPE, 1, 11),
        device("null", tarfile.CHRTYPE, 1, 3), ("fifo", tarfile.FIFOTYPE, 0o600, b"")])])

    name = "hostile/tampered"
    h.push(name, "latest", [b.tar_layer([marker(name, 1), file("data", noise(64 << 10))])])

    name = "hostile/tampered-late"
    h.push(name, "latest", [b.tar_layer([marker(name, 1), file("data", noise(64 << 10))])])

    name = "hostile/truncated-gzip"
    whole = b.tar_layer([marker(name, 1), file("data", noise(64 << 10))])
    cut = whole.gz[:len(whole.gz) // 2]
    h.push(name, "latest", [b.Layer(gz=cut, digest=sha256(cut), diff_id=whole.diff_id)])

    name = "hostile/zstd"
    tar = b.tar_layer([marker(name, 1)])
    frame = zstd_frame(gzip.decompress(tar.gz))
    h.push(name, "latest", [b.Layer(gz=frame, digest=sha256(frame), diff_id=tar.diff_id)],
           media_type=ZSTD_LAYER)

    name = "hostile/diffid-mismatch"
    layer = b.tar_layer([marker(name, 1)])
    h.push(name, "latest", [layer], diff_ids=[sha256(b"not this layer")])

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
