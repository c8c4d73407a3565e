#!/usr/bin/env bash
# tests/bench/oci.sh: skiff as an OCI runtime (issue 16), next to crun and runc in one run.
#
# Run it beside the harness's registries, with the static release binary built:
#   make build && tests/harness/with-registry.sh tests/bench/oci.sh
#
# Two tables (hyperfine, warm-up, BENCH_RUNS runs, default 30):
#   - one container's life, as containerd's shim and conmon live it, for `skiff-runtime`
#     (a link to skiff), crun and runc with one bundle (busybox's /bin/true, `runc
#     spec`'s config): `create`, `start`, wait for the process, `delete`. A small Perl
#     driver does it as a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), as the
#     shims are, so it reaps each container (this machine's init reaps nobody); its own
#     cost is the row with `true` as the runtime. Goal: skiff ≤ 1.0× crun.
#   - `podman run --rm --network=none busybox true` with `--runtime runc` and with
#     `--runtime skiff-runtime` (crun refuses podman on this hybrid cgroup layout, and
#     run.sh has no podman with crun either). A runtime podman cannot use is a row
#     "not measured: REASON", and so is skiff where it refuses the bundle.
# Everything it creates lives under one mktemp directory and is removed when it ends,
# however it ends; crun's hugetlb fix (lib.sh) is undone too.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
bench_setup oci
runs=${BENCH_RUNS:-30}
need hyperfine
need crun
need runc

cleanup() {
  for id in skiff skiff-probe skiff-probe2 crun crun-probe crun-probe2 runc; do
    "$work/${id%%-*}" --root "$work/${id%%-*}-state" delete --force "bench-$id" 2>/dev/null
  done
  crun_hugetlb_undo
}

# The runtimes by the names the table shows; skiff speaks the runtime CLI by this name.
ln -s "$skiff" "$work/skiff-runtime"
ln -s "$work/skiff-runtime" "$work/skiff"
ln -s "$(command -v crun)" "$work/crun"
ln -s "$(command -v runc)" "$work/runc"

# The bundle: busybox running /bin/true (lib.sh).
busybox_bundle "$work/bundle"

# The driver: one container's life under a subreaper; `true` as RUNTIME is its floor.
cat >"$work/cycle" <<'EOF'
# cycle RUNTIME ROOT BUNDLE ID: create, start, reap the container's process, delete.
use strict;
syscall(157, 36, 1) == 0 or die "prctl(PR_SET_CHILD_SUBREAPER): $!\n"; # prctl(2) on x86_64
my ($runtime, $root, $bundle, $id) = @ARGV;
sub runtime { system($runtime, "--root", $root, @_) == 0 or die "$runtime @_: failed\n" }
runtime("create", "--bundle", $bundle, $id);
runtime("start", $id);
1 while wait != -1; # the container's process is ours once `create` has exited
runtime("delete", $id);
EOF
cycle() { perl "$work/cycle" "$work/$1" "$work/$1-state" "$work/bundle" "bench-$1${2:+-$2}"; }
crun_hugetlb cycle crun || exit 1

# skiff refuses a field it cannot honour: then the same bundle without the fields this
# commit refuses in `runc spec`'s config (ambient capabilities, device rules) for all
# three, said under the table; failing that, skiff's row is "not measured".
bundle_note=
skiff_note=
if ! cycle skiff probe >/dev/null 2>"$work/skiff.err"; then
  python3 - "$work/bundle/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["capabilities"].pop("ambient", None)
spec["linux"].pop("resources", None)
json.dump(spec, open(path, "w"), indent=1)
EOF
  bundle_note="The bundle lacks \`runc spec\`'s process.capabilities.ambient and linux.resources (its device rules): skiff refused the whole one ($(grep -m1 skiff: "$work/skiff.err"))."
  cycle skiff probe2 >/dev/null 2>"$work/skiff.err" ||
    skiff_note="not measured: $(grep -m1 skiff: "$work/skiff.err" || tail -1 "$work/skiff.err")"
fi

echo "oci.sh: hyperfine, create+start+delete, $runs runs each" >&2
named=(--command-name "the driver alone, with true as the runtime" "perl $work/cycle /bin/true $work/none $work/bundle x")
for runtime in skiff crun runc; do
  [ "$runtime" != skiff ] || [ -z "$skiff_note" ] || continue
  name=$runtime
  [ "$runtime" != skiff ] || name=skiff-runtime
  named+=(--command-name "$name create+start+delete" "perl $work/cycle $work/$runtime $work/$runtime-state $work/bundle bench-$runtime")
done
hyperfine --shell=none --style basic --warmup 3 --runs "$runs" --export-json "$work/cycle.json" \
  "${named[@]}" >&2

# Podman as run.sh sets it up (containers.conf, scratch storage, cgroupfs), with each
# runtime; one probe run decides whether a runtime gets a row.
podman_rows=()
podman_named=()
if command -v podman >/dev/null; then
  printf '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n' >"$work/containers.conf"
  export CONTAINERS_CONF=$work/containers.conf
  podman=(podman --root "$work/podman/root" --runroot "$work/podman/run" --tmpdir "$work/podman/tmp"
    --cgroup-manager cgroupfs --events-backend none)
  if timeout 60 "${podman[@]}" pull -q --tls-verify=false "$image" >/dev/null 2>"$work/podman.err"; then
    for runtime in runc "$work/skiff-runtime"; do
      name="podman --runtime ${runtime##*/} run --rm --network=none busybox true"
      cmd="${podman[*]} --runtime $runtime run --rm --network=none $image true"
      if timeout 30 $cmd >/dev/null 2>"$work/podman.err"; then
        podman_named+=(--command-name "$name" "$cmd")
      else
        podman_rows+=("| \`$name\` | not measured: $(tail -1 "$work/podman.err") | | |")
      fi
    done
  else
    podman_rows+=("| podman | not measured: $(tail -1 "$work/podman.err") | | |")
  fi
else
  podman_rows+=("| podman | not measured: not installed (apt-get install podman) | | |")
fi
if [ ${#podman_named[@]} -gt 0 ]; then
  echo "oci.sh: hyperfine, podman run, $runs runs each" >&2
  hyperfine --shell=none --style basic --warmup 3 --runs "$runs" --export-json "$work/podman.json" \
    "${podman_named[@]}" >&2
fi

# table JSON TITLE BASELINE LABEL: hyperfine's results as markdown, with ratios to
# BASELINE's mean (when it was measured) headed × LABEL; records skiff's ratio for
# run-all.sh's chart.
table() {
  python3 - "$@" <<'EOF'
import json, os, sys
path, title, baseline, label = sys.argv[1:]
results = json.load(open(path))["results"] if os.path.exists(path) else []
base = {r["command"]: r["mean"] for r in results}.get(baseline)
print(f"| {title} | mean ± σ | min | × {label} |")
print("|---|---|---|---|")
for r in results:
    ratio = f"{r['mean'] / base:.2f}×" if base else "–"
    print(f"| `{r['command']}` | {r['mean'] * 1e3:.2f} ± {r['stddev'] * 1e3:.2f} ms "
          f"| {r['min'] * 1e3:.2f} ms | {ratio} |")
    if base and "skiff" in r["command"] and os.environ.get("BENCH_RATIOS"):
        with open(os.environ["BENCH_RATIOS"], "a") as f:
            target = "\t1.0\tmax" if "create" in r["command"] else ""
            f.write(f"{r['command'].split(' run --rm')[0]} ÷ {label}\t{r['mean'] / base:.2f}{target}\n")
EOF
}
table "$work/cycle.json" "one container's life: \`create\`, \`start\`, reap, \`delete\` (hyperfine, $runs runs)" \
  "crun create+start+delete" crun
[ -z "$skiff_note" ] || echo "| \`skiff-runtime create+start+delete\` | $skiff_note | | |"
[ -z "$bundle_note" ] || printf '\n%s\n' "$bundle_note"
echo
table "$work/podman.json" "\`podman run --rm\` with each runtime (hyperfine, $runs runs)" \
  "podman --runtime runc run --rm --network=none busybox true" "podman with runc"
[ ${#podman_rows[@]} -eq 0 ] || printf '%s\n' "${podman_rows[@]}"
