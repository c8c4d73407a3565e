#!/usr/bin/env bash
# tests/bench/run-all.sh: `make bench`. Runs every bench script beside the harness's
# registries and writes their tables, with the machine and commit they describe, to
# tests/bench/RESULTS.md (and to stdout), and the ratios they record to a chart,
# tests/bench/ratios.svg (ratios.py). Not part of `make test`: it takes minutes.
#   make build && tests/harness/with-registry.sh tests/bench/run-all.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=$here/RESULTS.md
commit=$(git -C "$repo" rev-parse --short HEAD)
git -C "$repo" diff --quiet HEAD -- src Cargo.toml Cargo.lock || commit="$commit (with uncommitted changes)"

# RESULTS.md keeps, as it is, everything after this line: the notes written by hand.
marker='<!-- make bench writes everything above this line; it keeps what follows as it is -->'
notes=$(awk -v m="$marker" 'kept { print } $0 == m { kept = 1 }' "$results" 2>/dev/null || true)

BENCH_RATIOS=$(mktemp /tmp/bench-ratios.XXXXXX) BENCH_GOALS=$(mktemp /tmp/bench-goals.XXXXXX)
export BENCH_RATIOS BENCH_GOALS
sections=$(mktemp -d /tmp/bench-sections.XXXXXX)
trap 'rm -rf "$BENCH_RATIOS" "$BENCH_GOALS" "$sections"' EXIT

minsec() { awk -v s="$1" 'BEGIN { printf "%d min %02d s", s / 60, s % 60 }'; }

# section NAME: runs NAME.sh, its table kept in $sections/NAME. One that fails or
# outlives BENCH_SCRIPT_TIMEOUT seconds (default 600; it is sent SIGTERM, on which
# every script cleans up) leaves a line saying so, and the others still run: the
# run is unattended. Its time goes to the header.
limit=${BENCH_SCRIPT_TIMEOUT:-600}
took=() failed=()
section() {
  local t0=$SECONDS rc=0
  sync # the last script's (or the fixtures') dirty pages, written back now, not during this one
  timeout -k 30 "$limit" "$here/$1.sh" >"$sections/$1" || rc=$?
  took+=("$1.sh $(minsec $((SECONDS - t0)))")
  [ "$rc" -eq 0 ] && return
  failed+=("$1.sh")
  local why="exited $rc"
  [ "$rc" -ne 124 ] || why="was stopped after $limit s"
  echo "**Not measured in this run:** \`$1.sh\` $why (its messages are in the run's log)." >"$sections/$1"
}

for script in run start pull large terminal ports seccomp runtime-tools oci; do
  # runtime-tools: the OCI validation suite, if RUNTIME_TOOLS names a built copy (else
  # its section says "not measured").
  section "$script"
done
python3 "$here/ratios.py" "$BENCH_RATIOS" "$here/ratios.svg"
minutes=$(minsec "$SECONDS")
table() { cat "$sections/$1"; }

# targets: every figure a script gave a target (the ratios with one, and `goal`s), met or not.
targets() {
  python3 - "$BENCH_RATIOS" "$BENCH_GOALS" <<'EOF'
import sys
rows = [(l.split("\t") + [""] * 5)[:5] for f in sys.argv[1:] for l in open(f).read().splitlines()]
print("| what | figure | target | met |\n|---|---|---|---|")
for what, figure, target, kind, unit in rows:
    if not target:
        continue
    unit = " " + unit if unit else "×"
    try:
        met = float(figure) <= float(target) if kind == "max" else float(figure) >= float(target)
    except ValueError:
        met = False  # a figure that could not be measured
    print(f"| {what} | {figure}{unit} | {'≤' if kind == 'max' else '≥'} {target}{unit} | {'yes' if met else '**no**'} |")
EOF
}

{
cat <<EOF
# skiff benchmarks

Written by \`make bench\` (tests/bench/run-all.sh); every ratio compares figures measured
in this same run, on this machine, which other people share (expect noise).

- date: $(date -u '+%Y-%m-%d %H:%M UTC'), all scripts took $minutes ($(IFS=,; echo "${took[*]}" | sed 's/,/, /g'))
- commit: $commit
- kernel: $(uname -r)
- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores
- peers: $(hyperfine --version), $(crun --version | head -1), $(runc --version | head -1), $(podman --version 2>/dev/null || echo 'no podman'), $(skopeo --version), umoci $(umoci --version | awk '{ print $NF }'), $(tar --version | head -1), gzip $(gzip --version | awk 'NR == 1 { print $2 }')

The ratios of this run, as a chart: [ratios.svg](ratios.svg)

![the ratios of this run](ratios.svg)

## Every target, this run

$(targets)

## Starting a container (tests/bench/run.sh)

$(table run)

## Where a start's time goes (tests/bench/start.sh)

$(table start)

## Pulling (tests/bench/pull.sh)
$(table pull)

## A realistic image: Debian, Python, Redis (tests/bench/large.sh)

$(table large)

## The terminal relay (tests/bench/terminal.sh)

$(table terminal)

## Published ports (tests/bench/ports.sh)

$(table ports)

## The seccomp filter (tests/bench/seccomp.sh)

$(table seccomp)

## The OCI runtime-tools validation suite (tests/bench/runtime-tools.sh)

$(table runtime-tools)

## skiff as an OCI runtime (tests/bench/oci.sh)

$(table oci)
EOF
echo
echo "$marker"
[ -z "$notes" ] || printf '%s\n' "$notes"
} >"$sections/RESULTS.md"
cp "$sections/RESULTS.md" "$results"
awk -v m="$marker" '$0 == m { exit } { print }' "$results" # the tables, to the log
if [ "${#failed[@]}" -gt 0 ]; then
  echo "run-all.sh: not measured: ${failed[*]} (see above)" >&2
  exit 1
fi
