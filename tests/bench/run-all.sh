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

BENCH_RATIOS=$(mktemp /tmp/bench-ratios.XXXXXX)
export BENCH_RATIOS
trap 'rm -f "$BENCH_RATIOS"' EXIT

run=$("$here/run.sh")
start=$("$here/start.sh")
pull=$("$here/pull.sh")
large=$("$here/large.sh")
terminal=$("$here/terminal.sh")
ports=$("$here/ports.sh")
seccomp=$("$here/seccomp.sh")
# The OCI validation suite, if RUNTIME_TOOLS names a built copy (else "not measured").
runtime_tools=$("$here/runtime-tools.sh")
oci=$("$here/oci.sh")
python3 "$here/ratios.py" "$BENCH_RATIOS" "$here/ratios.svg"
minutes=$(awk -v s="$SECONDS" 'BEGIN { printf "%d min %02d s", s / 60, s % 60 }')

tee "$results" <<EOF
# skiff benchmarks

Written by \`make bench\` (tests/bench/run-all.sh); every ratio compares figures measured
in this same run, on this machine, which other people share (expect noise).

- date: $(date -u '+%Y-%m-%d %H:%M UTC'), all scripts took $minutes
- commit: $commit
- kernel: $(uname -r)
- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores
- peers: $(hyperfine --version), $(crun --version | head -1), $(runc --version | head -1), $(podman --version 2>/dev/null || echo 'no podman'), $(skopeo --version), umoci $(umoci --version | awk '{ print $NF }'), $(tar --version | head -1), gzip $(gzip --version | awk 'NR == 1 { print $2 }')

The ratios of this run, as a chart: [ratios.svg](ratios.svg)

![the ratios of this run](ratios.svg)

## Starting a container (tests/bench/run.sh)

$run

## Where a start's time goes (tests/bench/start.sh)

$start

## Pulling (tests/bench/pull.sh)
$pull

## A realistic image: Debian, Python, Redis (tests/bench/large.sh)

$large

## The terminal relay (tests/bench/terminal.sh)

$terminal

## Published ports (tests/bench/ports.sh)

$ports

## The seccomp filter (tests/bench/seccomp.sh)

$seccomp

## The OCI runtime-tools validation suite (tests/bench/runtime-tools.sh)

$runtime_tools

## skiff as an OCI runtime (tests/bench/oci.sh)

$oci
EOF
