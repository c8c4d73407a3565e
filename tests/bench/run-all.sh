#!/usr/bin/env bash
# tests/bench/run-all.sh: `make bench`. Runs every bench script beside the harness's
# registries and writes their tables, with the machine and commit they describe, to
# tests/bench/RESULTS.md (and to stdout). Not part of `make test`: it takes minutes.
#   make build && tests/harness/with-registry.sh tests/bench/run-all.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=$here/RESULTS.md
commit=$(git -C "$repo" rev-parse --short HEAD)
git -C "$repo" diff --quiet HEAD -- src Cargo.toml Cargo.lock || commit="$commit (with uncommitted changes)"

run=$("$here/run.sh")
pull=$("$here/pull.sh")

tee "$results" <<EOF
# skiff benchmarks

Written by \`make bench\` (tests/bench/run-all.sh); every ratio compares figures measured
in this same run, on this machine, which other people share (expect noise).

- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- commit: $commit
- kernel: $(uname -r)
- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores
- peers: $(hyperfine --version), $(crun --version | head -1), $(runc --version | head -1), $(podman --version 2>/dev/null || echo 'no podman')

## Starting a container (tests/bench/run.sh)

$run

## Pulling (tests/bench/pull.sh)
$pull
EOF
