#!/usr/bin/env bash
# deps.sh [bench]: installs the Debian packages the tests run programs from.
#
# Docker Hub is out of reach from the test machines, so the harness rebuilds its
# protocol from real parts (Debian's docker-registry, openssl, python3 ...), and the
# tests run real peers (skopeo, podman with runc, qemu with Debian's kernel). Which
# programs, and from which package, is programs.txt; this installs the packages of its
# `test` and `build` sets, and with `bench` those `make bench` adds. check-deps.sh then
# checks that every program is there. Idempotent: when every package is present it
# returns at once, without touching apt.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/programs.sh"
program_sets deps.sh "${1:-}"
mapfile -t packages < <(program_rows | awk '{ print $2 }' | sort -u)

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
