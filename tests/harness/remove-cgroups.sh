#!/usr/bin/env bash
# After the suite, before check-leaks.sh: remove the empty `skiff/` parent cgroup that
# skiff keeps at the root of each cgroup tree between containers, as Docker's cgroupfs
# driver keeps `docker/` (a reboot would take it too: cgroupfs lives in memory).
# Only when empty: a container's `skiff/ID` still inside it is a leak, or another
# skiff's running container, and check-leaks.sh tells which trees hold one.
set -euo pipefail

for parent in /sys/fs/cgroup/skiff /sys/fs/cgroup/*/skiff; do
    if [ -d "$parent" ]; then rmdir "$parent" 2>/dev/null || true; fi
done
