#!/usr/bin/env python3
"""push_image.py REGISTRY_HOSTPORT REPO:TAG LAYER.tar.gz...: pushes an image made of these
gzip'd tar layers (bottom first) the way `docker push` does, with the fixtures' push code
(tests/harness/build_images.py's Registry), and a config like Debian's (Env PATH, Cmd bash).

Prints one line per layer, bottom first: `DIGEST DIFF_ID SIZE` (the blob's digest, the
uncompressed tar's digest, the blob's size in bytes), for the bench scripts to use.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import build_images  # noqa: E402  (found through the path above)


def main():
    if len(sys.argv) < 4 or ":" not in sys.argv[2]:
        sys.exit("usage: push_image.py REGISTRY_HOSTPORT REPO:TAG LAYER.tar.gz...")
    registry = build_images.Registry(sys.argv[1])
    repo, tag = sys.argv[2].rsplit(":", 1)
    layers = [build_images.gzip_layer(path) for path in sys.argv[3:]]
    config = {"Env": [build_images.PATH], "Cmd": ["bash"]}
    registry.push_image(repo, tag, layers, config)
    for layer in layers:
        print(layer.digest, layer.diff_id, len(layer.gz))


if __name__ == "__main__":
    main()
