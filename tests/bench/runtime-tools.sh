#!/usr/bin/env bash
# tests/bench/runtime-tools.sh: the OCI runtime-tools validation suite (issue 16) against
# skiff as a runtime (a `skiff-runtime` link to the built binary), runc and crun, in the
# same run. Each program of `validation/` makes bundles, drives the runtime's CLI
# (create, start, state, kill, delete) and, inside the container, its `runtimetest`
# checks what the container sees; it prints TAP (https://testanything.org). The table
# has, per program, the assertions each runtime passed of those the program made
# (a TAP `ok`, skips included, of its plan `1..N`), and the totals.
#
# The suite is not part of `make test`: CI has no copy of its repository. Give its
# path, with `runtimetest` and the `validation/*/*.t` programs already built there
# (how: ../shared/README.md, "The OCI runtime-tools validation suite"), as the first
# argument or as RUNTIME_TOOLS; without it the table says "not measured". Each program
# runs from the repository's root (it unpacks the root filesystem found there) with a
# timeout (BENCH_RUNTIME_TOOLS_TIMEOUT, default 120 s); BENCH_RUNTIME_TOOLS_LOGS=DIR
# keeps every program's TAP as DIR/RUNTIME/NAME.tap; BENCH_RUNTIME_TOOLS_RUNTIMES picks
# some of "skiff-runtime runc crun". Its bundles go to a mktemp
# directory, and a container a failed program left behind is deleted with --force;
# a mount one left on the host is unmounted.
#   make build && tests/bench/runtime-tools.sh /path/to/runtime-tools
# (`RUNTIME_TOOLS=/path/to/runtime-tools make bench` runs it with the others.)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
skiff=${SKIFF_BIN:-$repo/target/x86_64-unknown-linux-musl/release/skiff}
suite=${1:-${RUNTIME_TOOLS:-}}
timeout=${BENCH_RUNTIME_TOOLS_TIMEOUT:-120}

. "$here/lib.sh"

not_measured() {
  echo "runtime-tools.sh: not measured: $1" >&2
  echo "not measured: $1"
  exit 0
}
[ -n "$suite" ] || not_measured "no runtime-tools repository given (argument or RUNTIME_TOOLS)"
[ -x "$suite/runtimetest" ] || not_measured "no built runtimetest in $suite"
programs=$(cd "$suite" && ls validation/*/*.t 2>/dev/null) ||
  not_measured "no built validation programs in $suite/validation"
[ -x "$skiff" ] || { echo "runtime-tools.sh: no $skiff; run 'make build' first" >&2; exit 1; }

work=$(mktemp -d /tmp/bench-runtime-tools.XXXXXX)
# A program that asks for no mount namespace (linux_ns_itype) leaves runc's mounts of
# its bundle on the host: unmount them before anything is removed.
clean() { unmount_under "$work/tmp"; rm -rf --one-file-system "$work/tmp"; mkdir -p "$work/tmp"; }
trap 'clean; rm -rf --one-file-system "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$work/bin"
clean
ln -s "$skiff" "$work/bin/skiff-runtime"
logs=${BENCH_RUNTIME_TOOLS_LOGS:-$work/logs}
runtimes=${BENCH_RUNTIME_TOOLS_RUNTIMES:-skiff-runtime runc crun}
# Where each keeps its containers' state (its default --root).
declare -A state_dir=([skiff-runtime]=/run/skiff-runtime [runc]=/run/runc [crun]=/run/crun)

# sweep RUNTIME BEFORE: force-deletes the containers RUNTIME holds that were not in BEFORE.
sweep() {
  local id
  for id in $(ls "${state_dir[$1]}" 2>/dev/null); do
    grep -qxF "$id" <<<"$2" || "$1" delete --force "$id" >/dev/null 2>&1 || true
  done
}

# cell TAP STATUS: "passed/total" of one program's TAP, with how it ended if not well.
cell() {
  local ok notok plan
  ok=$(grep -c '^ok ' "$1" || true)
  notok=$(grep -c '^not ok ' "$1" || true)
  plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$1" | tail -1)
  local total=$((ok + notok > ${plan:-0} ? ok + notok : ${plan:-0}))
  printf '%s/%s' "$ok" "$total"
  case $2 in
    0) ;;
    124) printf ' (timeout)' ;;
    *) printf ' (exit %s)' "$2" ;;
  esac
  printf '\t%s\t%s\n' "$ok" "$total" >>"$work/sums.$3"
}

echo "runtime-tools.sh: $(wc -w <<<"$programs") programs × {$runtimes}, timeout ${timeout}s" >&2
rows=""
for program in $programs; do
  name=$(basename "$program" .t)
  row="| $name"
  for rt in $runtimes; do
    mkdir -p "$logs/$rt"
    before=$(ls "${state_dir[$rt]}" 2>/dev/null || true)
    status=0
    (cd "$suite" && PATH="$work/bin:$PATH" TMPDIR="$work/tmp" RUNTIME=$rt \
      timeout "$timeout" "./$program" >"$logs/$rt/$name.tap" 2>"$logs/$rt/$name.err") ||
      status=$?
    sweep "$rt" "$before"
    clean
    row="$row | $(cell "$logs/$rt/$name.tap" "$status" "$rt")"
  done
  rows="$rows$row |"$'\n'
done

# totals RUNTIME: assertions passed of all made, and the programs passed whole.
totals() {
  awk -F'\t' '{ ok += $2; all += $3; whole += ($2 == $3 && $3 > 0) }
    END { printf "%d/%d, %d whole", ok, all, whole }' "$work/sums.$1"
}
passed() { awk -F'\t' '{ ok += $2 } END { print ok + 0 }' "$work/sums.$1"; }
[ ! -f "$work/sums.runc" ] ||
  record "runtime-tools: assertions passed, skiff / runc" "$(ratio "$(passed skiff-runtime)" "$(passed runc)")" 1 min

cat <<TABLE
$(wc -w <<<"$programs") programs of runtime-tools $(git -C "$suite" describe --always --tags 2>/dev/null || echo '(no git)'); $(runc --version | head -1), $(crun --version | head -1). A cell is the assertions (TAP \`ok\`, skips included) passed of those the program made; "(exit N)" or "(timeout)": the program ended so, often before its plan.

| program | ${runtimes// / | } |
|---|$(for _ in $runtimes; do printf -- '---|'; done)
${rows}| **total** (assertions; programs passed whole) |$(for rt in $runtimes; do printf ' %s |' "$(totals "$rt")"; done)
TABLE
