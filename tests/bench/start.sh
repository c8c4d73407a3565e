#!/usr/bin/env bash
# tests/bench/start.sh: where a start's time goes, mechanism by mechanism (issue 15).
#
# Run it beside the harness's registries, with the static release binary built:
#   make build && tests/harness/with-registry.sh tests/bench/start.sh
#
# It pulls the fixture library/busybox into a scratch SKIFF_ROOT and runs
# `skiff run --rm --trace busybox true` BENCH_START_RUNS times (default 30), each with
# SKIFF_TRACE_T0 set just before it starts, so the trace's microseconds count from the
# moment the process was spawned (src/trace.rs). Each trace line belongs to the
# mechanism of the step it sits under (a few calls, such as fork(2) and the final
# execve(2), are mechanisms of their own); a line lasts until the next one, and the
# last step lasts until the process has exited. It prints the median share of each
# mechanism as a markdown table, with the median wall time beside it. The trace's own
# writes to stderr (a pipe here) are counted in the steps they narrate.
# Everything it creates lives under one mktemp directory, removed however it ends.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
bench_setup start
runs=${BENCH_START_RUNS:-30}
"$skiff" pull -q "$image" >/dev/null

echo "start.sh: $runs traced runs of skiff run --rm busybox true" >&2
python3 - "$skiff" "$registry/library/busybox" "$runs" <<'EOF'
import os, re, statistics, subprocess, sys, time

skiff, image, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
# (mechanism, what the step or call says), first match wins; calls are matched first.
CALLS = [("fork(2) of the container's PID 1", r"^clone3?\("),
         ("the command runs, exits, its namespaces are torn down; skiff waits", r"^execve\(")]
STEPS = [
    ("the sealed copy of skiff (CVE-2019-5736): overlayfs view, execveat(2), its start-up", r"read-only copy|seal a copy"),
    ("the image, from the store", r"^the image|layers stay blobs"),
    ("records: the container's directory and config.json", r"^record the container"),
    ("/etc/hostname, hosts, resolv.conf", r"^its /etc/hostname"),
    ("cgroups: PID 1 joins, then a cgroup namespace (v2: mkdir(2) and limits too, before the fork)", r"cgroup of its own|join its cgroup"),
    ("namespaces: PID 1 cloned into a new PID namespace; network (its own: made by PID 1), mount, UTS, IPC unshared", r"PID namespace|mount, UTS and IPC|network namespace of its own|^it runs"),
    ("network, before the fork: the bridge, a lease (rootless: the namespace too)", r"^a new network namespace|namespace of another|bring up lo|bridge|veth|NAT|ports?\b"),
    ("PID 1 waits for its cgroup and network before pivot_root(2): what the overlap did not hide", r"^wait for its (cgroup|network)"),
    ("mounts: overlayfs, /proc, /sys, /dev, masks, /etc files, pivot_root(2), cgroupfs", r"mount|pivot_root|overlayfs|hide what|private|layer names"),
    ("identity: working directory, capabilities, user", r"working directory|capabilities|become user"),
    ("execve(2) set-up: descriptors, signals", r"^execve the command"),
    ("cleanup: the address, the record renamed away (--rm: its cgroup and files go with a detached process)", r"^the container ended|^its files: deleted"),
]
# skiff stacks the layers (an overlayfs attached nowhere, which PID 1 moves into place) and
# makes the cgroup (cgroup v1), then reaches the network namespace PID 1 made and
# configures it (lo, the veth pair, addresses, route) while PID 1 makes its mounts: those
# lines, from the first step to the last, are skiff's alone, and overlap the others (PID
# 1's trace reaches stderr after them), so they are timed apart, not summed.
BESIDE = ("beside PID 1: the overlayfs of the layers; v1: the cgroup, its limits; PID 1's network namespace, received with a netlink socket inside: lo, a veth pair, addresses (in parallel: not summed)",
          r"^while it makes its mounts", r"^its network is ready: tell it$")
LINE = re.compile(r"^skiff: +(\d+) (    )?(.*)$")

def mechanism(text, is_call, current):
    table = CALLS if is_call else STEPS
    for name, pattern in table:
        if re.search(pattern, text):
            return name
    return current if is_call else "other steps"

def one_run():
    env = dict(os.environ, SKIFF_TRACE_T0=str(time.time_ns() // 1000))
    start = int(env["SKIFF_TRACE_T0"])
    proc = subprocess.run([skiff, "run", "--rm", "--trace", "--pull=never", image, "true"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.time_ns() // 1000 - start
    if proc.returncode != 0:
        sys.exit(f"start.sh: skiff run failed: {proc.stderr[-500:]}")
    shares = {"process start-up (exec to the first step)": None}
    current = "process start-up (exec to the first step)"
    last = 0
    lines = [(int(m.group(1)), bool(m.group(2)), m.group(3))
             for m in map(LINE.match, proc.stderr.splitlines()) if m]
    first = next((i for i, l in enumerate(lines) if re.search(BESIDE[1], l[2])), None)
    if first is not None:
        end_of = next(i for i in range(first, len(lines)) if re.search(BESIDE[2], lines[i][2]))
        shares[BESIDE[0]] = lines[end_of][0] - lines[first][0]
        lines[first:end_of + 1] = []
    # PID 1's lines reach skiff's stderr through its pipe, after the parent's that follow
    # them in time: in time order, each lasts until the next of the one serial path.
    lines.sort(key=lambda line: line[0])
    for at, is_call, text in lines:
        shares[current] = shares.get(current) or 0
        shares[current] += at - last
        # A call outside CALLS stays with its step; fork(2) and execve(2) start their own.
        current = mechanism(text, is_call, current)
        last = at
    shares[current] = (shares.get(current) or 0) + max(end - last, 0)
    return end, shares

walls, table = [], {}
for _ in range(runs):
    wall, shares = one_run()
    walls.append(wall)
    for name, us in shares.items():
        table.setdefault(name, []).append(us or 0)
steps = [name for name, _ in STEPS]
order = ["process start-up (exec to the first step)"] + steps[:7] + [CALLS[0][0], BESIDE[0]] + \
        steps[8:9] + steps[7:8] + steps[9:11] + [CALLS[1][0], steps[11], "other steps"]
print(f"| `skiff run --rm --trace busybox true`, {runs} runs: mechanism | median | share of the median wall |")
print("|---|---|---|")
wall = statistics.median(walls)
total = 0
for name in order:
    values = table.get(name, [0])
    values += [0] * (runs - len(values))
    us = statistics.median(values)
    total += us if name != BESIDE[0] else 0
    print(f"| {name} | {us / 1000:.2f} ms | {100 * us / wall:.0f}% |")
print(f"| sum of the medians | {total / 1000:.2f} ms | |")
print(f"| wall, spawn to exit (median; min {min(walls) / 1000:.2f} ms) | {wall / 1000:.2f} ms | 100% |")
EOF
