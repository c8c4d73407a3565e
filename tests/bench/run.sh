#!/usr/bin/env bash
# tests/bench/run.sh: what `skiff run` costs, measured next to its peers in one run.
#
# Run it beside the harness's registries, with the static release binary built:
#   make build && tests/harness/with-registry.sh tests/bench/run.sh
#
# Its peers come from Debian when missing (hyperfine, crun, runc; podman is optional).
# It pulls the fixture library/busybox into a scratch SKIFF_ROOT, unpacks the same
# image's layers with tar into ROOT (an OCI bundle's rootfs for crun and runc), then
# times `true` in a fresh container with hyperfine (warm-up, >= 30 runs):
#   - `skiff run --rm --pull=never busybox true` (image cached), on the default bridge,
#     and again with `--network none` and `--network host` (the bridge's cost, and the
#     network namespace's);
#   - `unshare -fpm --mount-proc chroot ROOT /bin/true`: the namespaces and nothing
#     else, the floor any runtime is held against; and `unshare -fpmniu`, the same
#     with a network, an IPC and a UTS namespace, as every bridged container has;
#   - `crun run` and `runc run` of the bundle (a fresh container id each run);
#   - `podman --runtime runc run --rm --network=none`, if podman works here.
# The first four again with 50 ms between runs, as starts come in real use. Then 50
# concurrent `skiff run --rm` (total wall, failures) and the binary's size.
# It prints markdown tables with ratios to the baselines measured in the same run.
#
# Everything it creates lives under one mktemp directory and is removed when it ends,
# however it ends; the one host change (crun's hugetlb fix, below) is undone too.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
bench_setup run
runs=${BENCH_RUNS:-30}
concurrent=${BENCH_CONCURRENT:-50}
need hyperfine
need crun
need runc

exec_started=
cleanup() {
  # The exec section's long-lived containers, if it got that far.
  if [ -n "$exec_started" ]; then
    "$skiff" rm -f bench-exec >/dev/null
    crun --root "$work/crun-state" delete -f bench-crun-exec
    runc --root "$work/runc-state" delete -f bench-runc-exec
    [ -z "$podman_cmd" ] || "${podman[@]}" rm -f -t 0 bench-exec >/dev/null
  fi
  crun_hugetlb_undo
}

echo "run.sh: pulling $image into a scratch store" >&2
"$skiff" pull -q "$image" >/dev/null

# The same image for the other runtimes: an OCI bundle running /bin/true, with no
# terminal, on a read-only root (lib.sh).
busybox_bundle "$work/bundle" readonly
root=$work/bundle/rootfs

# crun and this machine's hybrid cgroups (lib.sh); undone in cleanup.
crun_run() { crun --root "$work/crun-state" run --bundle "$work/bundle" "bench-crun-$1"; }
crun_hugetlb crun_run || exit 1

# Podman, if it works quickly: a containers.conf of its own (its default rlimits would
# need CAP_SYS_RESOURCE here), its storage in the scratch directory, runc as runtime
# (crun refuses the hybrid cgroup layout).
podman_cmd=
podman_note=
if command -v podman >/dev/null; then
  printf '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n' >"$work/containers.conf"
  export CONTAINERS_CONF=$work/containers.conf
  podman=(podman --root "$work/podman/root" --runroot "$work/podman/run" --tmpdir "$work/podman/tmp"
    --runtime runc --cgroup-manager cgroupfs --events-backend none)
  if timeout 60 "${podman[@]}" pull -q --tls-verify=false "$image" >/dev/null 2>"$work/podman.err" &&
    timeout 30 "${podman[@]}" run --rm --network=none "$image" true 2>>"$work/podman.err"; then
    podman_cmd="${podman[*]} run --rm --network=none $image true"
  else
    podman_note="podman skipped: $(tail -1 "$work/podman.err")"
  fi
else
  podman_note="podman skipped: not installed (apt-get install podman)"
fi

echo "run.sh: hyperfine, $runs runs each" >&2
# No shell in between (-N): a few-millisecond run is measured with no shell startup to
# subtract. `crun run` and `runc run` delete their container when it exits, so one id
# serves every run.
commands=(
  "$skiff run --rm --pull=never $image true"
  "unshare -fpm --mount-proc chroot $root /bin/true"
  "crun --root $work/crun-state run --bundle $work/bundle bench-crun"
  "runc --root $work/runc-state run --bundle $work/bundle bench-runc"
)
names=("skiff run --rm busybox true (bridge)" "unshare -fpm --mount-proc chroot ROOT /bin/true" "crun run" "runc run")
# The default bridge's cost (issue 14): the same run with no network but lo.
commands+=("$skiff run --rm --pull=never --network none $image true")
names+=("skiff run --rm --network none busybox true")
commands+=("$skiff run --rm --pull=never --network host $image true")
names+=("skiff run --rm --network host busybox true")
# The floor again, with the namespaces a bridged container has besides (issue 15): a
# network namespace (only lo in it), an IPC and a UTS namespace.
commands+=("unshare -fpmniu --mount-proc chroot $root /bin/true")
names+=("unshare -fpmniu --mount-proc chroot ROOT /bin/true")
podman_name="podman --runtime runc run --rm --network=none"
if [ -n "$podman_cmd" ]; then
  commands+=("$podman_cmd")
  names+=("$podman_name")
fi
named=()
for i in "${!commands[@]}"; do named+=(--command-name "${names[$i]}" "${commands[$i]}"); done
hyperfine --shell=none --style basic --warmup 3 --runs "$runs" --export-json "$work/hyperfine.json" \
  "${named[@]}" >&2

# Back to back, the kernel's cgroup lock stays in its fast mode; a person starts one
# container now and then, and each start that moves a process into a cgroup waits for
# an RCU grace period. The first four again, 50 ms apart, show what that costs.
spaced_runs=$((runs < 20 ? runs : 20))
echo "run.sh: hyperfine, $spaced_runs runs each, 50 ms apart" >&2
hyperfine --shell=none --style basic --warmup 2 --runs "$spaced_runs" --prepare 'sleep 0.05' \
  --export-json "$work/spaced.json" "${named[@]:0:12}" >&2

# concurrently NAME CMD...: starts CMD $concurrent times at once and waits for all;
# sets wall (seconds, all of them) and failures (how many exited non-zero).
concurrently() {
  local name=$1 start end pid i pids=()
  shift
  echo "run.sh: $concurrent concurrent $name" >&2
  start=$(date +%s.%N)
  for i in $(seq "$concurrent"); do
    timeout 300 "$@" >/dev/null 2>"$work/$name-$i.err" &
    pids+=($!)
  done
  failures=0
  for pid in "${pids[@]}"; do wait "$pid" || failures=$((failures + 1)); done
  end=$(date +%s.%N)
  wall=$(echo "$start $end" | awk '{ printf "%.2f", $2 - $1 }')
  [ "$failures" -eq 0 ] || echo "run.sh: $name, first failure: $(cat "$work/$name"-*.err | head -1)" >&2
}
concurrently skiff "$skiff" run --rm --pull=never "$image" true
skiff_wall=$wall skiff_failures=$failures
podman_rows=
if [ -n "$podman_cmd" ]; then
  concurrently podman "${podman[@]}" run --rm --network=none "$image" true
  podman_rows="| $concurrent concurrent \`podman run --rm\`: total wall, failures | $wall s, $failures | |"
fi

size=$(stat -c %s "$skiff")

# exec: one more `true` in a running container (`sleep 1000`), each runtime's own.
echo "run.sh: hyperfine, exec into a running container, $runs runs each" >&2
mkdir "$work/exec-bundle"
python3 - "$work/bundle/config.json" "$work/exec-bundle/config.json" "$root" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["process"]["args"] = ["/bin/sleep", "1000"]
spec["root"]["path"] = sys.argv[3]  # the same rootfs, read-only
json.dump(spec, open(sys.argv[2], "w"), indent=1)
EOF
exec_started=yes
"$skiff" run -d --pull=never --name bench-exec "$image" sleep 1000 >/dev/null
crun --root "$work/crun-state" run -d --bundle "$work/exec-bundle" bench-crun-exec </dev/null >/dev/null 2>&1
runc --root "$work/runc-state" run -d --bundle "$work/exec-bundle" bench-runc-exec </dev/null >/dev/null 2>&1
exec_commands=(
  "$skiff exec bench-exec true"
  "crun --root $work/crun-state exec bench-crun-exec /bin/true"
  "runc --root $work/runc-state exec bench-runc-exec /bin/true"
)
exec_names=("skiff exec" "crun exec" "runc exec")
if [ -n "$podman_cmd" ]; then
  "${podman[@]}" run -d --network=none --name bench-exec "$image" sleep 1000 >/dev/null
  exec_commands+=("${podman[*]} exec bench-exec true")
  exec_names+=("podman exec")
fi
named=()
for i in "${!exec_commands[@]}"; do named+=(--command-name "${exec_names[$i]}" "${exec_commands[$i]}"); done
hyperfine --shell=none --style basic --warmup 3 --runs "$runs" --export-json "$work/exec.json" \
  "${named[@]}" >&2

# table JSON TITLE: hyperfine's results as a markdown table, with ratios to unshare and crun.
table() {
  python3 - "$1" "$2" "${names[1]}" <<'EOF'
import json, sys
path, title, unshare_name = sys.argv[1:]
results = json.load(open(path))["results"]
ms = {r["command"]: r for r in results}
unshare = ms[unshare_name]["mean"]
crun = ms["crun run"]["mean"]
print(f"| {title} | mean ± σ | min | × unshare | × crun |")
print("|---|---|---|---|---|")
for r in results:
    print(f"| `{r['command']}` | {r['mean'] * 1e3:.2f} ± {r['stddev'] * 1e3:.2f} ms "
          f"| {r['min'] * 1e3:.2f} ms | {r['mean'] / unshare:.2f}× | {r['mean'] / crun:.2f}× |")
EOF
}
table "$work/hyperfine.json" "\`true\` in a fresh container (hyperfine, $runs runs, 3 warm-up)"
echo
table "$work/spaced.json" "the same, each run 50 ms after the last ($spaced_runs runs)"

echo
python3 - "$work/exec.json" "$runs" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
crun = {r["command"]: r["mean"] for r in results}["crun exec"]
print(f"| `true` in a running container (hyperfine, {sys.argv[2]} runs, 3 warm-up) | mean ± σ | min | × crun exec |")
print("|---|---|---|---|")
for r in results:
    print(f"| `{r['command']}` | {r['mean'] * 1e3:.2f} ± {r['stddev'] * 1e3:.2f} ms "
          f"| {r['min'] * 1e3:.2f} ms | {r['mean'] / crun:.2f}× |")
EOF

python3 - "$work/hyperfine.json" "$work/exec.json" "$work/spaced.json" <<EOF
import json, sys
ms = {r["command"]: r["mean"] for r in json.load(open(sys.argv[1]))["results"]}
skiff, unshare, crun = ms["${names[0]}"], ms["${names[1]}"], ms["crun run"]
spaced = {r["command"]: r["mean"] for r in json.load(open(sys.argv[3]))["results"]}
with open("$work/ratios", "w") as f:  # for run-all.sh's chart
    f.write(f"skiff run true ÷ unshare … chroot\t{skiff / unshare:.2f}\t2.0\tmax\n")  # issue 15
    f.write(f"skiff run true ÷ crun run\t{skiff / crun:.2f}\t0.7\tmax\n")
    s = spaced["${names[0]}"]
    f.write(f"spaced 50 ms: skiff run true ÷ unshare … chroot\t{s / spaced['${names[1]}']:.2f}\t2.0\tmax\n")
    f.write(f"spaced 50 ms: skiff run true ÷ crun run\t{s / spaced['crun run']:.2f}\t0.7\tmax\n")
    if "$podman_name" in ms:
        f.write(f"podman run true ÷ skiff run true\t{ms['$podman_name'] / skiff:.2f}\n")
    ex = {r["command"]: r["mean"] for r in json.load(open(sys.argv[2]))["results"]}
    f.write(f"skiff exec true ÷ crun exec\t{ex['skiff exec'] / ex['crun exec']:.2f}\t1.0\tmax\n")
EOF
[ -z "${BENCH_RATIOS:-}" ] || cat "$work/ratios" >>"$BENCH_RATIOS"
cat <<EOF

| more of skiff | figure | target |
|---|---|---|
| $concurrent concurrent \`skiff run --rm busybox true\`: total wall | $skiff_wall s | |
| $concurrent concurrent \`skiff run --rm\`: failures | $skiff_failures | 0 |
${podman_rows:+$podman_rows
}| static musl release binary, size | $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }') MiB) | ≤ 2,300,000 bytes (this wave's limit) |
EOF
goal "static musl release binary, every feature" "$size" 2300000 max bytes
[ -z "$podman_note" ] || printf '\n%s\n' "$podman_note"
