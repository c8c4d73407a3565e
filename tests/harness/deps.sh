#!/usr/bin/env bash
# Installs the Debian packages the integration-test harness is built from.
#
# Docker Hub is out of reach from the test machines, so the harness rebuilds its
# protocol from real parts: Debian's docker-registry (the CNCF distribution
# server), openssl for the PKI and token signatures, python3 for the token server
# and image builder, busybox-static and musl-tools for the binaries inside the
# images, curl to probe the servers, util-linux for setpriv, bsdutils for script(1)
# (progress tests run skiff on a pseudo-terminal), iproute2 to build a "remote" network
# namespace for the NAT test (skiff itself never runs `ip`); qemu-system-x86 and
# linux-image-amd64 for the cgroup v2 VM test (tests/vm/). Idempotent: when
# every package is present it returns at once, without touching apt.
set -euo pipefail

packages=(docker-registry busybox-static musl-tools openssl python3 util-linux bsdutils curl
  iproute2 qemu-system-x86 linux-image-amd64)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
