#!/usr/bin/env bash
# After the suite: skiff must have left nothing behind on this machine. A test that
# leaks a mount, a process, a cgroup or a temporary directory is a failing test.
set -euo pipefail

leaks=()
mounts=$(grep -c skiff /proc/self/mounts || true)
[ "$mounts" -eq 0 ] || leaks+=("$mounts mounts mention skiff: $(grep skiff /proc/self/mounts | head -3)")
procs=$(pgrep -c -x skiff || true)
[ "$procs" -eq 0 ] || leaks+=("$procs skiff processes still running")
# A container's cgroup is skiff/ID at the root of each tree. The empty skiff/ parent
# stays between containers, as Docker's docker/ does (remove-cgroups.sh takes it down
# after the suite): it is no leak, but anything inside it, or else named *skiff*, is.
skiff_cgroups() { find /sys/fs/cgroup -maxdepth 3 -type d \( -path '*/skiff/*' -o -name '*skiff*' ! -name skiff \) 2>/dev/null; }
cgroups=$(skiff_cgroups | wc -l)
[ "$cgroups" -eq 0 ] || leaks+=("$cgroups cgroups of skiff's containers: $(skiff_cgroups | head -3)")
dirs=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'skiff-*' 2>/dev/null | wc -l)
[ "$dirs" -eq 0 ] || leaks+=("$dirs temporary directories: $(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'skiff-*' | head -3)")
# Networks (issue 14): the host ends of containers' veths (veth + 11 hex digits of the
# ID), the bridge skiff0 and its table (they stay up between containers, as docker0
# does: remove-networks.sh takes them down after the suite) and its leases.
veths=$(ls /sys/class/net | grep -cE '^veth[0-9a-f]{11}$' || true)
[ "$veths" -eq 0 ] || leaks+=("$veths veths of skiff: $(ls /sys/class/net | grep -E '^veth[0-9a-f]{11}$' | head -3)")
[ ! -e /sys/class/net/skiff0 ] || leaks+=("the bridge skiff0")
# Published ports: their table goes with the last container publishing one, and so
# do the records it is built from.
! nft list table ip skiff_ports >/dev/null 2>&1 || leaks+=("the nf_tables table ip skiff_ports")
[ -z "$(ls -A /run/skiff/ports 2>/dev/null)" ] || leaks+=("port records in /run/skiff/ports: $(ls /run/skiff/ports | head -3)")
# Volumes (issue 14): tests name theirs skiff-test-*; each test's own store must end
# without any (tests/testenv.rs), and none may reach the machine's default store.
volumes=$({ find /var/lib/skiff/volumes -maxdepth 1 -name 'skiff-test-*' 2>/dev/null || true; } | wc -l)
[ "$volumes" -eq 0 ] || leaks+=("$volumes test volumes in /var/lib/skiff/volumes: $(ls /var/lib/skiff/volumes | head -3)")
# User networks' bridges (br- + 12 hex digits of the ID): each test removes its networks.
bridges=$(ls /sys/class/net | grep -cE '^br-[0-9a-f]{12}$' || true)
[ "$bridges" -eq 0 ] || leaks+=("$bridges bridges of user networks: $(ls /sys/class/net | grep -E '^br-[0-9a-f]{12}$' | head -3)")
! nft list table ip skiff >/dev/null 2>&1 || leaks+=("the nf_tables table ip skiff")
[ -z "$(ls -A /run/skiff/networks 2>/dev/null)" ] || leaks+=("records or leases in /run/skiff/networks: $(ls -A /run/skiff/networks | head -3)")
# --userns=auto (issue 17): each container's range of host IDs, given back by rm.
[ -z "$(ls -A /run/skiff/userns 2>/dev/null)" ] || leaks+=("user namespace leases in /run/skiff/userns: $(ls -A /run/skiff/userns | head -3)")

if [ ${#leaks[@]} -gt 0 ]; then
    printf 'check-leaks: %s\n' "${leaks[@]}" >&2
    exit 1
fi
echo "check-leaks: no mounts, processes, cgroups, temporary directories, veths, bridges, tables, leases, published ports or test volumes of skiff remain"
