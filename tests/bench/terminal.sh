#!/usr/bin/env bash
# tests/bench/terminal.sh: the terminal relay's throughput (issue 13), next to script(1).
#
# Run it beside the harness's registries, with the static release binary built:
#   make build && tests/harness/with-registry.sh tests/bench/terminal.sh
#
# 100 MiB of text lines go through a pseudo-terminal twice, timed by hyperfine:
#   - `skiff run --rm -t busybox cat BIGFILE` (BIGFILE bound in read-only): the
#     container's pty, skiff's poll loop relaying the master to stdout, and the
#     json-file log every container has;
#   - `script -qc 'cat BIGFILE' /dev/null`: util-linux's relay of a pty of its own.
# Both write to /dev/null. It prints a markdown table with the throughputs and their
# ratio (the goal: skiff >= 0.8x script), and records the ratio for run-all.sh's chart.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
bench_setup terminal
runs=${BENCH_RUNS:-5}
need hyperfine

"$skiff" pull -q "$image" >/dev/null
{ yes 'the quick brown fox jumps over the lazy dog, 0123456789 abcdefghijklmnopqrstuvwxyz' || true; } |
  head -c 100M >"$work/big" # `yes` ends by SIGPIPE
mib=100

echo "terminal.sh: hyperfine, $runs runs each" >&2
hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$work/hyperfine.json" \
  --command-name "skiff run -t busybox cat BIGFILE" \
  "$skiff run --rm --pull=never -t -v $work/big:/big:ro $image cat /big >/dev/null" \
  --command-name "script -qc 'cat BIGFILE'" \
  "script -qc 'cat $work/big' /dev/null >/dev/null" >&2

python3 - "$work/hyperfine.json" "$mib" "$work/ratio" <<'EOF'
import json, sys
path, mib, ratio_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
results = {r["command"]: r for r in json.load(open(path))["results"]}
skiff = results["skiff run -t busybox cat BIGFILE"]
script = results["script -qc 'cat BIGFILE'"]
print(f"| {mib} MiB of text through a pseudo-terminal to /dev/null | mean ± σ | throughput | × script |")
print("|---|---|---|---|")
for name, r in (("skiff run -t busybox cat BIGFILE", skiff), ("script -qc 'cat BIGFILE'", script)):
    print(f"| `{name}` | {r['mean']:.2f} ± {r['stddev']:.2f} s | {mib / r['mean']:.0f} MiB/s "
          f"| {script['mean'] / r['mean']:.2f}× |")
open(ratio_path, "w").write(f"{script['mean'] / skiff['mean']:.2f}\n")
EOF
record "skiff run -t relay ÷ script (throughput)" "$(cat "$work/ratio")" 0.8 min
