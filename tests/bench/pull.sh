#!/usr/bin/env bash
# tests/bench/pull.sh: what a pull costs, measured, for the issue notes (`make bench`).
#
# Run it beside the harness's registries, with the static release binary built:
#   make build && tests/harness/with-registry.sh tests/bench/pull.sh
#
# It pushes two single-layer images of incompressible random bytes (gzip'd tars of
# 16 MiB and 1 GiB) to the plain registry, the way `docker push` does, then measures
# with /usr/bin/time -v (the median of 3 runs each: the machine may be shared):
#   - peak RSS of a cold `skiff pull` of each (the layer streams: RSS must not grow
#     with the layer);
#   - wall and CPU time of the cold pull and unpack of the largest, next to
#     `curl -s BLOB_URL | gzip -dc | tar -x` of the same blob: download, inflate and
#     untar with no checking at all, the floor skiff's verified pull is held against;
#   - the blob GETs of a warm re-pull, through tests/harness/counting_proxy.py (none:
#     a blob already in the store is never downloaded again).
# It prints a markdown table. Its fixtures live under a mktemp directory in /tmp and
# are removed when it ends, however it ends. Not part of `make test`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
bench_setup pull
proxy_pid=
cleanup() { [ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null; }

# make_image NAME MIB: bench/NAME:latest, one gzip'd layer holding MIB MiB of random
# bytes in one file, pushed with the fixtures' push code. Sets layer_digest.
make_image() {
  local name=$1 mib=$2 dir=$work/$1
  mkdir -p "$dir/root"
  head -c "$((mib << 20))" /dev/urandom >"$dir/root/random"
  tar --create --file "$dir/layer.tar" --directory "$dir/root" --mtime=@0 \
    --owner=0 --group=0 --numeric-owner random
  rm -r "$dir/root"
  gzip -1 --no-name --stdout "$dir/layer.tar" >"$dir/layer.tar.gz"
  rm "$dir/layer.tar"
  layer_digest=$("$here/push_image.py" "$registry" "bench/$name:latest" "$dir/layer.tar.gz" |
    cut -d' ' -f1 | cut -d: -f2)
  rm "$dir/layer.tar.gz" # the registry has it now
}

runs=3
echo "pull.sh: building and pushing the fixtures (16 MiB, 1 GiB)" >&2
make_image small 16
make_image large 1024
large_layer=$layer_digest

# The registry's blobs were just written, so every run reads them from the page cache alike.
echo "pull.sh: measuring, $runs runs each" >&2
for name in small large; do
  for run in $(seq $runs); do
    rm -rf "$work/store-$name"
    SKIFF_ROOT=$work/store-$name measure "$work/pull-$name-$run.txt" \
      "$skiff" pull -q "$registry/bench/$name"
  done
done
blob_url="http://$registry/v2/bench/large/blobs/sha256:$large_layer"
for run in $(seq $runs); do
  rm -rf "$work/untar" && mkdir "$work/untar"
  measure "$work/baseline-$run.txt" \
    sh -c 'curl -sf "$1" | gzip -dc | tar -x -C "$2"' sh "$blob_url" "$work/untar"
done

# The warm re-pull goes through the counting proxy, into the store of the last cold pull.
exec 3< <(exec python3 "$repo/tests/harness/counting_proxy.py" "$registry" "$work/proxy.log")
proxy_pid=$!
read -r _ port <&3
SKIFF_ROOT=$work/store-large measure "$work/warm.txt" "$skiff" pull -q "127.0.0.1:$port/bench/large"
warm_gets=$(grep -c '^GET .*/blobs/' "$work/proxy.log" || true)

small=("$work"/pull-small-*.txt) large=("$work"/pull-large-*.txt) base=("$work"/baseline-*.txt)
versus=$(ratio "$(median wall_s "${large[@]}")" "$(median wall_s "${base[@]}")")
record "1 GiB random layer, cold pull: skiff ÷ curl | gzip -dc | tar -x" "$versus"
rss_mib() { median rss_kib "$@" | awk '{ printf "%.1f", $1 / 1024 }'; }
goal "\`skiff pull\` peak RSS, 16 MiB layer" "$(rss_mib "${small[@]}")" 16 max MiB
goal "\`skiff pull\` peak RSS, 1 GiB layer" "$(rss_mib "${large[@]}")" 16 max MiB
cat <<EOF

Median of $runs runs. \`curl | gzip -dc | tar -x\` downloads and unpacks the same blob
with no verification at all (its peak RSS is its largest process's).

| single-layer image of random bytes | 16 MiB | 1 GiB |
|---|---|---|
| \`skiff pull\` peak RSS | $(mib "${small[@]}") | $(mib "${large[@]}") |
| \`skiff pull\` cold (fetch, verify, unpack): wall | $(seconds wall_s "${small[@]}") | $(seconds wall_s "${large[@]}") |
| \`skiff pull\` cold: CPU (user + sys) | $(seconds cpu_s "${small[@]}") | $(seconds cpu_s "${large[@]}") |
| \`curl \| gzip -dc \| tar -x\`: wall | | $(seconds wall_s "${base[@]}") |
| \`curl \| gzip -dc \| tar -x\`: CPU (user + sys) | | $(seconds cpu_s "${base[@]}") |
| \`curl \| gzip -dc \| tar -x\`: peak RSS | | $(mib "${base[@]}") |
| cold pull, wall: skiff ÷ \`curl \| gzip -dc \| tar -x\` | | ${versus}× |
| warm re-pull: blob GETs (counting proxy) | | $warm_gets |
| warm re-pull: wall | | $(seconds wall_s "$work/warm.txt") |
EOF
