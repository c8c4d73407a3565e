#!/usr/bin/env bash
# tests/bench/large.sh: skiff on a realistic image, measured next to its peers in one run
# (`make bench`).
#
# Run it beside the harness's registries, with the static release binary built:
#   make build && tests/harness/with-registry.sh tests/bench/large.sh
#
# The image is built here from real Debian binaries, from the Debian mirror this machine's
# apt uses: layer 1 is `debootstrap --variant=minbase bookworm` (apt's caches and lists
# emptied, as Debian's own images are); layer 2 is python3-minimal and redis-server with
# their dependencies, as `dpkg-deb -x` unpacks the .debs apt downloads for them (no
# maintainer scripts run; /bin, /lib… go under /usr, as dpkg would put them through the
# merged-/usr symlinks). Both are gzip'd tars (gzip -6), pushed to the plain registry as
# bench/debian:large with the fixtures' push code (push_image.py). Then, in one run:
#   1. `skiff run --rm --pull=never IMAGE true` on it and on library/busybox, both cached
#      (hyperfine, warm-up, >= 30 runs): the large image should cost nothing more to start.
#   2. A cold pull and unpack (wall, CPU, peak RSS; /usr/bin/time -v, median of 3 rounds,
#      the tools taking turns within each round):
#      - `skiff pull` into an empty store (fetch, verify, fsync each blob, unpack);
#      - `curl BLOB | gzip -dc | tar -x`, each layer into a directory of its own, as skiff
#        keeps them: no verification at all, the floor;
#      - `skopeo copy docker://… oci:DIR` then `umoci unpack` (one rootfs, plus umoci's
#        mtree manifest of it);
#      - `podman pull` into a scratch storage (--root, --runroot; overlay driver).
#   3. Unpacking alone, as throughput (MB/s of tar, 10^6 bytes, per second of wall):
#      `skiff pull` into a store that holds every blob but no unpacked layer (so skiff
#      only reads the blobs from disk, inflates, hashes and untars; the manifest request
#      is all the network it does), next to `tar -xzf BLOB` of the same blobs (GNU tar,
#      gzip in a second process).
# Every measurement starts after sync(1), and nothing unpacked is deleted before the
# end (see the rounds below). It prints markdown tables with ratios, and records them
# for run-all.sh's chart.
#
# BENCH_LARGE_LAYERS=DIR keeps the built layers in DIR and reuses them next time (the
# build takes a minute or two); without it, everything is built afresh. Everything else
# lives under one mktemp directory, removed when the script ends, however it ends, after
# whatever debootstrap left mounted there is unmounted. skopeo and podman run in a mount
# namespace of their own, with a tmpfs on the host's /var/lib/containers/cache, so the
# host's containers state stays as it was and their mounts go with them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
made_dirs=() # host directories this script made, deepest first
cleanup() { for dir in "${made_dirs[@]}"; do rmdir "$dir"; done; }
bench_setup large
busybox=$image
image=$registry/bench/debian:large
runs=${BENCH_RUNS:-30}
rounds=3
need debootstrap
need hyperfine
need skopeo
need umoci
need podman


# The Debian mirror of this machine's apt sources (deb822 or one-line), else Debian's CDN.
mirror() {
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
    awk '($1 == "URIs:" || $1 == "deb") && !found {
           for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { found = $i; break } }
         END { print found ? found : "http://deb.debian.org/debian" }'
}

# build_layers DIR: DIR/layer1.tar.gz (minbase) and DIR/layer2.tar.gz (python3, redis).
build_layers() {
  local out=$1 root=$work/rootfs extra=$work/layer2 debs=$work/debs dir from
  from=$(mirror)
  echo "large.sh: debootstrap --variant=minbase bookworm from $from" >&2
  debootstrap --variant=minbase bookworm "$root" "$from" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; return 1; }
  echo "large.sh: downloading python3-minimal and redis-server with their dependencies" >&2
  chroot "$root" apt-get clean
  chroot "$root" apt-get install -y -qq --download-only python3-minimal redis-server >&2
  mkdir "$debs" "$extra"
  mv "$root"/var/cache/apt/archives/*.deb "$debs/"
  find "$root/var/lib/apt/lists" -type f -delete
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$extra"; done
  for dir in bin sbin lib lib32 lib64 libx32; do
    if [ -L "$root/$dir" ] && [ -d "$extra/$dir" ] && [ ! -L "$extra/$dir" ]; then
      mkdir -p "$extra/usr/$dir"
      cp -a "$extra/$dir/." "$extra/usr/$dir/"
      rm -r "${extra:?}/$dir"
    fi
  done
  echo "large.sh: packing the two layers" >&2
  pack "$root" "$out/layer1.tar.gz"
  pack "$extra" "$out/layer2.tar.gz"
  rm -rf "$root" "$extra" "$debs"
}

# pack DIR OUT: DIR's contents as a gzip'd tar, names relative to DIR, sorted, numeric
# owners; OUT appears only when whole.
pack() {
  (cd "$1" && ls -A | tar --create --sort=name --numeric-owner --files-from=- --file=-) |
    gzip -6 --no-name >"$2.part"
  mv "$2.part" "$2"
}

layers=${BENCH_LARGE_LAYERS:-$work/layers}
mkdir -p "$layers"
if [ ! -s "$layers/layer2.tar.gz" ]; then
  build_layers "$layers"
else
  echo "large.sh: reusing the layers in $layers" >&2
fi

echo "large.sh: pushing $image" >&2
python3 "$here/push_image.py" "$registry" bench/debian:large \
  "$layers/layer1.tar.gz" "$layers/layer2.tar.gz" >"$work/pushed" # DIGEST DIFF_ID SIZE
mapfile -t digests < <(cut -d' ' -f1 "$work/pushed")
urls=() sizes=()
for digest in "${digests[@]}"; do urls+=("http://$registry/v2/bench/debian/blobs/$digest"); done
for layer in layer1 layer2; do
  sizes+=("$(gzip --list --quiet "$layers/$layer.tar.gz" | awk '{ print $2 }')") # < 4 GiB
done
gz_bytes=$(awk '{ s += $3 } END { print s }' "$work/pushed")
tar_bytes=$((sizes[0] + sizes[1]))
entries=$(for layer in layer1 layer2; do gzip -dc "$layers/$layer.tar.gz" | tar -t; done | wc -l)
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# Cached for `skiff run`: busybox and the large image, in a store of their own.
export SKIFF_ROOT=$work/run-store
"$skiff" pull -q "$busybox" >/dev/null
"$skiff" pull -q "$image" >/dev/null
inside=$("$skiff" run --rm --pull=never "$image" sh -c \
  'echo "Python $(python3 -c "import platform; print(platform.python_version())")," \
   "$(redis-server --version | cut -d" " -f1-3)"')

echo "large.sh: hyperfine, $runs runs each" >&2
sync
hyperfine --shell=none --style basic --warmup 3 --runs "$runs" --export-json "$work/hyperfine.json" \
  --command-name "skiff run --rm busybox true" "$skiff run --rm --pull=never $busybox true" \
  --command-name "skiff run --rm debian:large true" "$skiff run --rm --pull=never $image true" >&2
unset SKIFF_ROOT

# As root, skopeo and podman write a blob-info cache to the host's
# /var/lib/containers/cache whatever --root says, and podman mounts in its storage: both
# run in a mount namespace of their own with a tmpfs on that directory, so nothing of the
# host's containers state changes and whatever they mount goes with the namespace.
# podman's storage is a scratch one per round, made before its clock starts; the plain
# registry is HTTP, hence --tls-verify=false (skopeo 1.9 ignores registries.conf's
# `insecure` when it pings the registry).
for dir in /var/lib/containers /var/lib/containers/cache; do
  [ -d "$dir" ] || { mkdir -m 0700 "$dir" && made_dirs=("$dir" "${made_dirs[@]}"); }
done
shielded=(unshare --mount sh -c
  'mount -t tmpfs -o mode=0700 bench /var/lib/containers/cache && exec "$@"' sh)
podman=("${shielded[@]}" podman --storage-driver overlay --cgroup-manager cgroupfs --events-backend none)

# Nothing unpacked is deleted until the script ends: ext4 will not hand out an inode
# freed a moment ago (recently_deleted() in its allocator), and scanning past thousands
# of them made each file creation cost ~0.5 ms of kernel time here, for every tool alike
# (perf). Each round writes about 1.5 GB under $work.
for round in $(seq $rounds); do
  echo "large.sh: round $round of $rounds: cold pulls (skiff, curl, skopeo+umoci, podman), unpacks" >&2
  out=$work/round-$round
  mkdir -p "$out/curl" "$out/tar"
  sync # what the last tool wrote is on disk before the next one's clock starts
  SKIFF_ROOT=$out/store measure "$work/skiff-$round.txt" "$skiff" pull -q "$image"

  sync
  measure "$work/curl-$round.txt" sh -c 'cd "$1" && shift && n=0 && for url; do
    n=$((n + 1)) && mkdir $n && curl -sf "$url" | gzip -dc | tar -x -C $n || exit; done' \
    sh "$out/curl" "${urls[@]}"

  sync
  measure "$work/skopeo-$round.txt" "${shielded[@]}" sh -c 'skopeo copy -q --src-tls-verify=false \
    "docker://$1" "oci:$2:large" && umoci unpack --image "$2:large" "$3"' \
    sh "$image" "$out/oci" "$out/bundle"

  podman_round=("${podman[@]}" --root "$out/podman/root" --runroot "$out/podman/run" --tmpdir "$out/podman/tmp")
  "${podman_round[@]}" images >/dev/null
  sync
  measure "$work/podman-$round.txt" "${podman_round[@]}" pull -q --tls-verify=false "$image"

  # Unpacking alone: a store holding the cold pull's blobs (hard links), no layers.
  mkdir -p "$out/unpack-store/blobs"
  cp -al "$out/store/blobs/sha256" "$out/unpack-store/blobs/"
  sync
  SKIFF_ROOT=$out/unpack-store measure "$work/skiff-unpack-$round.txt" "$skiff" pull -q "$image"
  sync
  measure "$work/tar-unpack-$round.txt" sh -c 'cd "$1" && shift && n=0 && for blob; do
    n=$((n + 1)) && mkdir $n && tar -xzf "$blob" -C $n || exit; done' \
    sh "$out/tar" "${digests[@]/#sha256:/$out/store/blobs/sha256/}"
done

# The tables: medians of each tool's reports, ratios of the medians.
reports() { printf "$work/%s-%d.txt\n" $(for r in $(seq $rounds); do echo "$1" "$r"; done); }
row() { # row LABEL TOOL [LAST]: wall, CPU, peak RSS, then LAST (default: × skiff's wall)
  local files
  mapfile -t files < <(reports "$2")
  echo "| $1 | $(seconds wall_s "${files[@]}") | $(seconds cpu_s "${files[@]}") | $(mib "${files[@]}")" \
    "| ${3:-$(ratio "$(median wall_s "${files[@]}")" "$skiff_wall")×} |"
}
wall_of() { local files; mapfile -t files < <(reports "$1") && median wall_s "${files[@]}"; }
skiff_wall=$(wall_of skiff)
mbps() { awk -v b="$tar_bytes" -v s="$1" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }
skiff_mbps=$(mbps "$(wall_of skiff-unpack)") tar_mbps=$(mbps "$(wall_of tar-unpack)")
start=$(python3 -c 'import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(r["skiff run --rm debian:large true"] / r["skiff run --rm busybox true"])' "$work/hyperfine.json")

start_ratio=$(ratio "$start" 1) curl_ratio=$(ratio "$skiff_wall" "$(wall_of curl)")
podman_ratio=$(ratio "$skiff_wall" "$(wall_of podman)")
skopeo_ratio=$(ratio "$(wall_of skopeo)" "$skiff_wall")
unpack_ratio=$(ratio "$skiff_mbps" "$tar_mbps")
met() { awk -v v="$1" -v t="$2" -v k="$3" 'BEGIN { print ((k == "max" ? v <= t : v >= t) ? "yes" : "**no**") }'; }
record "skiff run true: debian:large ÷ busybox" "$start_ratio" 1.1 max
record "cold pull: skiff ÷ curl | gzip -dc | tar -x" "$curl_ratio" 1.5 max
record "cold pull: skiff ÷ podman pull" "$podman_ratio" 1.0 max
record "cold pull: skopeo + umoci ÷ skiff" "$skopeo_ratio"
record "unpack MB/s: skiff ÷ GNU tar -xzf" "$unpack_ratio"
goal "unpacking alone (blobs in the store), MB/s of tar" "$skiff_mbps" 110 min "MB/s"

cat <<EOF
\`bench/debian:large\`, built in this run: $(mb "$gz_bytes") of gzip'd layers, $(mb "$tar_bytes")
of tar, $entries entries. Layer 1: \`debootstrap --variant=minbase bookworm\` ($(mb "${sizes[0]}"));
layer 2: python3-minimal and redis-server with their dependencies ($(mb "${sizes[1]}")). In it:
$inside.

EOF
python3 - "$work/hyperfine.json" <<EOF
import json, sys
results = json.load(open(sys.argv[1]))["results"]
busybox = results[0]["mean"]
print("| \`true\` in a fresh container, image cached (hyperfine, $runs runs, 3 warm-up) | mean ± σ | min | × busybox |")
print("|---|---|---|---|")
for r in results:
    print(f"| \`{r['command']}\` | {r['mean'] * 1e3:.2f} ± {r['stddev'] * 1e3:.2f} ms "
          f"| {r['min'] * 1e3:.2f} ms | {r['mean'] / busybox:.2f}× |")
EOF
cat <<EOF

| cold pull and unpack of \`bench/debian:large\` (median of $rounds) | wall | CPU (user + sys) | peak RSS | wall × skiff's |
|---|---|---|---|---|
$(row '`skiff pull` (fetch, verify, unpack)' skiff)
$(row '`curl \| gzip -dc \| tar -x`, per layer (no verification)' curl)
$(row '`skopeo copy docker://… oci:DIR` + `umoci unpack`' skopeo)
$(row '`podman pull` (overlay storage)' podman)

| unpacking alone, both layers from blobs on disk (median of $rounds) | wall | CPU (user + sys) | peak RSS | MB/s of tar |
|---|---|---|---|---|
$(row '`skiff pull`, every blob already in the store' skiff-unpack "$skiff_mbps")
$(row '`tar -xzf BLOB`, per layer (gzip in a second process)' tar-unpack "$tar_mbps")

| ratio (same run) | figure | target | met |
|---|---|---|---|
| \`skiff run --rm true\`: debian:large ÷ busybox | ${start_ratio}× | ≤ 1.1× | $(met "$start_ratio" 1.1 max) |
| cold pull, wall: skiff ÷ \`curl \| gzip -dc \| tar -x\` | ${curl_ratio}× | ≤ 1.5× | $(met "$curl_ratio" 1.5 max) |
| cold pull, wall: skiff ÷ podman | ${podman_ratio}× | ≤ 1.0× (moonshot ≤ 0.8×) | $(met "$podman_ratio" 1.0 max), moonshot $(met "$podman_ratio" 0.8 max) |
| cold pull, wall: skopeo + umoci ÷ skiff | ${skopeo_ratio}× | | |
| unpack throughput: skiff ÷ GNU \`tar -xzf\` | ${unpack_ratio}× | | |
| unpacking alone, MB/s of tar | $skiff_mbps | ≥ 110 | $(met "$skiff_mbps" 110 min) |

The targets are issue 15's; issue 7 had asked ≤ 1.2× the pipeline and podman ≥ 2× skiff's time.
EOF
