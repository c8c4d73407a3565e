# tests/bench/lib.sh: what the bench scripts share; sourced, never run.
#   here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   . "$here/lib.sh"
#   bench_setup NAME
# The prologue and scratch directory, installing a peer, timing a command with
# /usr/bin/time -v and reading its report, medians, ratios, and the record of ratios
# that run-all.sh charts.

# bench_setup NAME: what a script measuring skiff beside the harness's registries starts
# with: $repo, $skiff (SKIFF_BIN, else the static release build, which must exist),
# $registry and $image (the harness's plain registry and its busybox), and $work, a fresh
# directory under /tmp for everything the script makes (SKIFF_ROOT is in it). $work goes
# when the script ends, however it ends: first the script's own `cleanup` function, if it
# has one, then whatever is still mounted below $work.
bench_setup() {
  repo=$(cd "$here/../.." && pwd)
  skiff=${SKIFF_BIN:-$repo/target/x86_64-unknown-linux-musl/release/skiff}
  registry=${SKIFF_TEST_PLAIN:?run me under tests/harness/with-registry.sh}
  image=$registry/library/busybox
  [ -x "$skiff" ] || { echo "$1.sh: no $skiff; run 'make build' first" >&2; exit 1; }
  work=$(mktemp -d "/tmp/bench-$1.XXXXXX")
  export SKIFF_ROOT=$work/skiff-root
  trap bench_teardown EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_teardown() {
  set +e # every step runs, whatever the one before it did
  if declare -F cleanup >/dev/null; then cleanup; fi
  unmount_under "$work"
  rm -rf "$work"
}

# need PACKAGE [COMMAND]: installs PACKAGE from Debian unless COMMAND is already there.
need() {
  command -v "${2:-$1}" >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >&2
}
[ -x /usr/bin/time ] || need time /usr/bin/time

# measure OUT CMD...: runs CMD under /usr/bin/time -v and keeps its report in OUT. Peak
# RSS is that of the largest process CMD ran; CPU counts every process it waited for.
measure() {
  local out=$1; shift
  /usr/bin/time -v -o "$out" "$@" >/dev/null
}

# The numbers of one report: peak RSS in KiB, CPU and wall seconds.
field() { grep -F "$2" "$1" | awk -F': ' '{ print $2 }'; }
rss_kib() { field "$1" 'Maximum resident set size'; }
cpu_s() { echo "$(field "$1" 'User time') $(field "$1" 'System time')" | awk '{ print $1 + $2 }'; }
wall_s() { field "$1" 'Elapsed (wall clock)' | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'; }

# median FIELD REPORT...: the middle value of FIELD over the reports (the machine is
# shared, so one run says little).
median() {
  local what=$1 report; shift
  for report in "$@"; do "$what" "$report"; done |
    sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
seconds() { printf '%.2f s' "$(median "$@")"; }
mib() { median rss_kib "$@" | awk '{ printf "%.1f MiB", $1 / 1024 }'; }

# ratio A B: A / B to two places ("–" if B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "–"; else printf "%.2f\n", a / b }'; }

# record LABEL VALUE [TARGET max|min]: one ratio for run-all.sh's chart (ratios.py), in
# $BENCH_RATIOS when it is set: "max" means VALUE should stay at or under TARGET, "min"
# at or over it.
record() {
  [ -z "${BENCH_RATIOS:-}" ] || printf '%s\t%s\t%s\t%s\n' "$1" "$2" "${3:-}" "${4:-}" >>"$BENCH_RATIOS"
}

# goal WHAT FIGURE TARGET max|min UNIT: a target that is not a ratio (MB/s, MiB, bytes),
# for run-all.sh's table of every target, in $BENCH_GOALS when it is set. A ratio
# `record`ed with a target goes to that table too.
goal() {
  [ -z "${BENCH_GOALS:-}" ] || printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_GOALS"
}

# unmount_under DIR: lazily unmounts whatever is mounted at or below DIR, deepest first
# (what a killed debootstrap or a storage driver may leave behind).
unmount_under() {
  awk -v dir="$1" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r mnt; do umount -l "$mnt"; done
}

# crun_hugetlb RUN...: crun refuses to run while the cgroup v2 hierarchy holds any
# controller, and on this hybrid layout it holds hugetlb: binding hugetlb to a v1
# hierarchy of its own frees it (shared/README.md). Done only if `RUN... probe` (a
# crun run of container `probe`) fails; then `RUN... probe2` must work. Sets
# hugetlb_mounted, for crun_hugetlb_undo.
hugetlb_mounted=
crun_hugetlb() {
  local err
  err=$(mktemp /tmp/bench-crun-probe.XXXXXX)
  if ! "$@" probe >/dev/null 2>"$err"; then
    if [ ! -e /sys/fs/cgroup/hugetlb ] && grep -q hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
      echo "crun failed ($(head -1 "$err")); binding hugetlb to cgroup v1" >&2
      mkdir /sys/fs/cgroup/hugetlb
      hugetlb_mounted=yes
      mount -t cgroup -o hugetlb hugetlb /sys/fs/cgroup/hugetlb
    fi
    "$@" probe2 >/dev/null 2>"$err" || { echo "crun does not run here: $(head -1 "$err")" >&2; rm -f "$err"; return 1; }
  fi
  rm -f "$err"
}
crun_hugetlb_undo() {
  [ -z "$hugetlb_mounted" ] || { umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb; } ||
    echo "could not undo the hugetlb mount at /sys/fs/cgroup/hugetlb" >&2
}

# busybox_bundle DIR [readonly]: an OCI bundle in DIR for the other runtimes: the
# harness's busybox, its layers in order untarred into DIR/rootfs (whiteout markers stay
# as plain files; they touch nothing that `true` needs), and `runc spec`'s config.json
# running /bin/true with no terminal, on a read-only root if asked.
busybox_bundle() {
  local dir=$1 readonly=${2:-} manifest layer
  mkdir -p "$dir/rootfs"
  manifest=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$registry/v2/library/busybox/manifests/latest")
  for layer in $(python3 -c 'import json, sys
for l in json.loads(sys.argv[1])["layers"]: print(l["digest"])' "$manifest"); do
    curl -sf "http://$registry/v2/library/busybox/blobs/$layer" | tar -xz -C "$dir/rootfs"
  done
  (cd "$dir" && runc spec)
  python3 - "$dir/config.json" "$readonly" <<'EOF'
import json, sys
path, readonly = sys.argv[1], sys.argv[2] == "readonly"
spec = json.load(open(path))
spec["process"]["args"] = ["/bin/true"]
spec["process"]["terminal"] = False
if readonly:
    spec["root"]["readonly"] = True
json.dump(spec, open(path, "w"), indent=1)
EOF
}
