#!/usr/bin/env bash
# tests/bench/seccomp.sh: what Docker's default seccomp filter costs a system call
# (issue 17): 10^6 getppid(2) calls inside a container (docker-explorer's `getppid`
# loop, timed inside, so the container's start is not in it), with the filter and
# with `--security-opt seccomp=unconfined`, and with a profile that allows everything,
# BENCH_SECCOMP_RUNS times each (default 5); the table has the medians and ratios
# (goal: at most 1.15). The allow-everything filter never runs (the kernel's
# constant-action cache, Linux 5.11+, knows its answer): what it costs is the slower
# system-call entry of any seccomp'd task, which no program layout can avoid. Docker's
# profile is cached the same way for every call it allows without argument checks.
#
# Run it beside the harness's registries, with the static release binary built:
#   make build && tests/harness/with-registry.sh tests/bench/seccomp.sh
# Everything it creates lives under one mktemp directory and goes when it ends.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
bench_setup seccomp
runs=${BENCH_SECCOMP_RUNS:-5}
"$skiff" pull -q "$image" >/dev/null

# per_call FLAGS...: the median nanoseconds per getppid(2) over $runs containers.
per_call() {
  for _ in $(seq "$runs"); do
    "$skiff" run --rm "$@" "$image" docker-explorer getppid 1000000
  done | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "seccomp.sh: $runs runs of 10^6 getppid(2), with and without the filter" >&2
echo '{"defaultAction": "SCMP_ACT_ALLOW"}' >"$work/allow-all.json"
filtered=$(per_call)
allow_all=$(per_call --security-opt "seccomp=$work/allow-all.json")
unconfined=$(per_call --security-opt seccomp=unconfined)
cost=$(ratio "$filtered" "$unconfined")
record "seccomp filter: getppid(2)" "$cost" 1.15 max

cat <<TABLE
| 10^6 getppid(2) in a busybox container | ns per call (median of $runs) |
|---|---|
| Docker's default profile (skiff's BPF binary search) | $filtered |
| a profile that allows everything (seccomp's own entry cost) | $allow_all |
| \`--security-opt seccomp=unconfined\` | $unconfined |
| ratio, Docker's profile / unconfined (goal ≤ 1.15) | $cost |
| ratio, Docker's profile / allow everything | $(ratio "$filtered" "$allow_all") |
TABLE
