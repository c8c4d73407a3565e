#!/usr/bin/env bash
# docker-test.sh: skiff the way CodeCrafters' learners run their Docker clone,
#
#   docker build -t mydocker . && docker run --cap-add=SYS_ADMIN mydocker run IMAGE CMD...
#
# that is, as root inside a container whose only extra power is CAP_SYS_ADMIN,
# pulling its image at run time, and judged byte for byte on stdout, stderr and the
# exit status. It runs every check three times:
#   plain     the container as the engine makes it (here: podman, no AppArmor), where
#             skiff can mount and pivot_root;
#   degraded  the same with a seccomp profile that makes mount, umount2 and pivot_root
#             fail with EACCES, as AppArmor's docker-default does on real Docker hosts:
#             skiff must fall back to chroot(2) and still give the same answers;
#   no-pivot  only pivot_root refused (a root on initramfs, or a stricter profile):
#             skiff mounts /proc and /dev, then must still fall back to chroot(2).
# Each mode also checks a `skiff exec` into a detached container.
# Uses Docker when a daemon answers, else podman (installed from apt if missing),
# with the two adjustments this machine needs (see shared/README.md): default
# ulimits it may set (nofile/nproc; raising them is EPERM here) and `--runtime runc`
# (crun refuses the hybrid cgroup layout). Run it under tests/harness/with-registry.sh:
# "Docker Hub" is the harness's registry, reached through SKIFF_REGISTRY_MIRROR over
# the host's loopback (--network=host). Prints `ok - NAME` / `not ok - NAME` per check
# and ends with `N passed, M failed`; exits 1 if any failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=target/x86_64-unknown-linux-musl/release/skiff
[ -x "$bin" ] || { echo "docker-test.sh: no $bin: run make build first" >&2; exit 2; }
: "${SKIFF_TEST_PLAIN:?run me under tests/harness/with-registry.sh}"

tmp=$(mktemp -d /tmp/skiff-docker-test.XXXXXX)
image=localhost/skiff-docker-test:$$
label=skiff-docker-test=$$
engine=()

cleanup() {
  if [ ${#engine[@]} -gt 0 ]; then
    # --rm removes finished containers; this catches any a timeout left behind.
    "${engine[@]}" ps -aq --filter "label=$label" 2>/dev/null |
      xargs -r "${engine[@]}" rm -f >/dev/null 2>&1 || true
    "${engine[@]}" rmi -f "$image" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT   # exit, so the EXIT trap runs
trap 'exit 143' TERM

# --- the engine ----------------------------------------------------------------

# Installs Debian packages; refreshes the package lists only when apt needs it.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local package
  for package in "$@"; do
    if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      apt-get update -qq
      break
    fi
  done
  apt-get install -y -qq --no-install-recommends "$@" >"$tmp/apt.log" 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >"$tmp/apt.log" 2>&1
  } || { cat "$tmp/apt.log" >&2; exit 1; }
}

# Podman's default ulimits (nofile 1048576...) exceed this sandbox's hard limits and
# nothing here may raise one (no CAP_SYS_RESOURCE): lower them, in a containers.conf
# of our own (CONTAINERS_CONF) unless the system's already sets them. CONTAINERS_CONF
# replaces the system files, so ours starts as a copy of /etc's.
podman_conf() {
  local system=/etc/containers/containers.conf conf=$tmp/containers.conf
  if [ -n "${CONTAINERS_CONF:-}" ]; then
    return  # the caller chose a configuration: leave it alone
  fi
  if grep -qs '^[[:space:]]*default_ulimits' "$system" /etc/containers/containers.conf.d/*.conf; then
    return
  fi
  local ulimits='default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]'
  if grep -qs '^[[:space:]]*\[containers\]' "$system"; then
    sed "/^[[:space:]]*\[containers\]/a $ulimits" "$system" >"$conf"
  else
    { cat "$system" 2>/dev/null || true; printf '\n[containers]\n%s\n' "$ulimits"; } >"$conf"
  fi
  export CONTAINERS_CONF=$conf
}

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=(docker)
else
  missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "# no Docker daemon: installing ${missing[*]}"
    apt_install "${missing[@]}"
  fi
  podman_conf
  engine=(podman --runtime runc)
fi
echo "# engine: ${engine[*]} ($("${engine[@]}" --version))"

# --- the image: what `docker build -t mydocker .` makes --------------------------

if ! "${engine[@]}" build -q -t "$image" -f Dockerfile . >"$tmp/build.log" 2>&1; then
  echo "docker-test.sh: ${engine[*]} build failed:" >&2
  cat "$tmp/build.log" >&2
  exit 1
fi

# --- the checks -----------------------------------------------------------------

# What real Docker's AppArmor profile does to mounts, as a seccomp filter: everything
# is allowed but these three, which fail with EACCES (13).
cat >"$tmp/seccomp.json" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mount", "umount2", "pivot_root"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
  ]
}
EOF
# Only pivot_root refused, mounts allowed: skiff must still fall back to chroot.
sed 's/"mount", "umount2", "pivot_root"/"pivot_root"/' "$tmp/seccomp.json" >"$tmp/no-pivot.json"

# A directory on the host, bind-mounted at the same path into the outer container
# (like the tester's /tmp/RANDOM beside the learner's program): skiff's host sees
# it, the container it starts must not.
hostdir=$tmp/host-only
mkdir "$hostdir"
touch "$hostdir/secret"

passed=0 failed=0
mode=plain out='' err='' status=0 took=''

# The outer container's options for this mode, in the array `opts`.
outer_options() {
  opts=(--label "$label" --cap-add=SYS_ADMIN --network=host
    -e "SKIFF_REGISTRY_MIRROR=http://$SKIFF_TEST_PLAIN")
  case $mode in
    degraded) opts+=(--security-opt "seccomp=$tmp/seccomp.json") ;;
    no-pivot) opts+=(--security-opt "seccomp=$tmp/no-pivot.json") ;;
  esac
}

# Runs `skiff run ARGS...` in a fresh container; sets out, err, status and took.
skiff_run() {
  local opts
  outer_options
  opts+=(--rm -v "$hostdir:$hostdir:ro")
  local start=$EPOCHREALTIME
  status=0
  timeout 120 "${engine[@]}" run "${opts[@]}" "$image" run "$@" \
    >"$tmp/out" 2>"$tmp/err" </dev/null || status=$?
  took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  out=$(cat "$tmp/out"; printf x) && out=${out%x}   # keep trailing newlines
  err=$(cat "$tmp/err"; printf x) && err=${err%x}
}

# check NAME STATUS STDOUT STDERR -- ARGS...: runs `skiff run ARGS...`. STATUS is a
# number or `nonzero`; STDOUT and STDERR are glob patterns (plain text matches itself
# exactly, `*` matches anything).
check() {
  local name="$mode: $1" want_status=$2 want_out=$3 want_err=$4
  shift 5
  skiff_run "$@"
  local problems=()
  if [ "$want_status" = nonzero ]; then
    [ "$status" -ne 0 ] || problems+=("exit status 0, want non-zero")
  else
    [ "$status" -eq "$want_status" ] || problems+=("exit status $status, want $want_status")
  fi
  # shellcheck disable=SC2053  # the right-hand sides are patterns on purpose
  [[ $out == $want_out ]] || problems+=("stdout differs")
  # shellcheck disable=SC2053
  [[ $err == $want_err ]] || problems+=("stderr differs")
  if [ ${#problems[@]} -eq 0 ]; then
    echo "ok - $name  # ${took}s"
    passed=$((passed + 1))
    return
  fi
  echo "not ok - $name  # ${took}s"
  failed=$((failed + 1))
  {
    printf '#   skiff run'; printf ' %q' "$@"; echo
    printf '#   %s\n' "${problems[@]}"
    printf '#   want stdout: %q\n#   got stdout:  %q\n' "$want_out" "$out"
    printf '#   want stderr: %q\n#   got stderr:  %q\n' "$want_err" "$err"
  }
}

# `skiff exec` from a second process of the outer container (the engine's exec) into
# the container a detached outer `skiff run` started, once it said "ready": the exec'd
# `ls /` must see the container's root, whichever way skiff entered it (setns(2) into
# the mount namespace alone leads to the outer root where skiff had to chroot).
exec_check() {
  local name="$mode: exec sees the container's root" outer=skiff-exec-$$-$mode line='' opts
  outer_options
  "${engine[@]}" run -d --name "$outer" "${opts[@]}" "$image" \
    run --name inner alpine /bin/sh -c 'echo ready; exec sleep 1000' >/dev/null
  read -r line < <(timeout 60 "${engine[@]}" logs -f "$outer" 2>&1) || true
  status=0
  timeout 60 "${engine[@]}" exec "$outer" /usr/local/bin/skiff exec inner /bin/ls / \
    >"$tmp/out" 2>"$tmp/err" || status=$?
  out=$(cat "$tmp/out")
  "${engine[@]}" rm -f -t 0 "$outer" >/dev/null 2>&1 || true
  if [ "$line" = ready ] && [ $status = 0 ] && [ "$out" = "$alpine_root" ]; then
    echo "ok - $name"
    passed=$((passed + 1))
    return
  fi
  echo "not ok - $name"
  failed=$((failed + 1))
  printf '#   first line %q, exit status %s\n#   stdout: %q\n#   stderr: %q\n' \
    "$line" "$status" "$out" "$(cat "$tmp/err")"
}

explorer=/usr/local/bin/docker-explorer
alpine_root=$(printf '%s\n' bin dev etc home lib media mnt opt proc root run sbin srv sys tmp usr var)
for mode in plain degraded no-pivot; do
  check "ls / is alpine's root, nothing more" 0 "$alpine_root"$'\n' '' \
    -- alpine /bin/sh -c '/bin/ls /'
  check "docker-explorer echo" 0 $'hey\n' '' -- alpine $explorer echo hey
  check "echo_stderr goes to stderr only" 0 '' $'hey\n' -- alpine $explorer echo_stderr hey
  check "exit status passes through" 3 '' '' -- alpine $explorer exit 3
  check "mypid is 1" 0 $'1\n' '' -- alpine $explorer mypid
  # Mounted over the image's file, or written into the private copy where mounts are refused.
  check "/etc/hostname is the container's" 0 $'boat\n' '' -- --hostname boat alpine cat /etc/hostname
  check "a host directory is out of reach" nonzero '' '*No such file or directory*' \
    -- alpine $explorer ls "$hostdir"
  check "skiff's own store is out of reach" nonzero '' '*No such file or directory*' \
    -- alpine $explorer ls /var/lib/skiff
  # The engine mounts the cgroup trees read-only: a limit cannot be kept, and says so.
  check "a limit where cgroupfs is read-only is one clear error" 125 '' \
    'skiff: run alpine: --memory cannot be enforced here: *Read-only file system*' \
    -- --memory 32m alpine true
  # Which way skiff entered the rootfs; in the refusing modes it can only be chroot.
  if [ $mode = plain ]; then
    check "--trace still runs the command" 0 $'hey\n' '*' -- --trace alpine $explorer echo hey
  else
    check "--trace shows the chroot fallback" 0 $'hey\n' '*chroot(*' \
      -- --trace alpine $explorer echo hey
  fi
  if grep -q 'pivot_root(' "$tmp/err" && ! grep -q 'chroot(' "$tmp/err"; then
    echo "# $mode: skiff entered the rootfs by pivot_root"
  elif grep -q 'chroot(' "$tmp/err"; then
    echo "# $mode: skiff fell back to chroot"
  fi
  exec_check
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
