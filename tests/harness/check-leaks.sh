#!/usr/bin/env bash
# After the suite: skiff must have left nothing behind on this machine. A test that
# leaks a mount, a process, a cgroup or a temporary directory is a failing test.
set -euo pipefail

leaks=()
mounts=$(grep -c skiff /proc/self/mounts || true)
[ "$mounts" -eq 0 ] || leaks+=("$mounts mounts mention skiff: $(grep skiff /proc/self/mounts | head -3)")
procs=$(pgrep -c -x skiff || true)
[ "$procs" -eq 0 ] || leaks+=("$procs skiff processes still running")
# A container's cgroup is skiff/ID at the root of each tree; the skiff/ parent goes
# with the last container, so no directory named *skiff* may stay.
cgroups=$(find /sys/fs/cgroup -maxdepth 3 -type d -name '*skiff*' 2>/dev/null | wc -l)
[ "$cgroups" -eq 0 ] || leaks+=("$cgroups cgroups named *skiff*: $(find /sys/fs/cgroup -maxdepth 3 -type d -name '*skiff*' | head -3)")
dirs=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'skiff-*' 2>/dev/null | wc -l)
[ "$dirs" -eq 0 ] || leaks+=("$dirs temporary directories: $(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'skiff-*' | head -3)")

if [ ${#leaks[@]} -gt 0 ]; then
    printf 'check-leaks: %s\n' "${leaks[@]}" >&2
    exit 1
fi
echo "check-leaks: no mounts, processes, cgroups or temporary directories of skiff remain"
