#!/usr/bin/env bash
# fresh-root.sh DIR [REF]: the README's two set-up commands, run exactly as written, on a
# Debian 12 that has nothing but git, make and rustup: the check that `make test` needs
# nothing this machine merely happens to have.
#
# DIR/base.tar holds `debootstrap --variant=minbase --include=git,make,ca-certificates
# bookworm` (made once, from the Debian mirror apt uses here); each run unpacks it afresh
# into DIR/root, adds rustup's install as rustup-init leaves it (a copy of this machine's
# ~/.cargo/bin and ~/.cargo/env, with ~/.rustup bound read-only: static.rust-lang.org is
# out of reach here, so the toolchain and its musl target cannot be downloaded the way a
# new user's rustup would), clones REF (default HEAD) of this repository to /root/skiff,
# and, in a login shell there, runs `make demo` and then `make test`. The rest (apt's
# packages, crates from crates.io) comes from the network as on a new machine.
#
# The chroot shares this machine's kernel: /proc, /sys (cgroups included) and /dev are
# bound in, and /run/lock, so its registry harness takes turns with the others here
# (their ports are fixed). Everything mounted under DIR/root is unmounted when the
# script ends, however it ends; DIR/root stays for a look (the next run replaces it).
# Logs: DIR/demo.log and DIR/test.log. Put DIR on a path without "skiff" in it
# (check-leaks.sh counts every mount whose path mentions skiff).
set -euo pipefail

dir=$(realpath -m "${1:?usage: fresh-root.sh DIR [REF]}") ref=${2:-HEAD}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
root=$dir/root
case $dir in
  *skiff*) echo "fresh-root.sh: $dir mentions skiff; choose another DIR" >&2; exit 2 ;;
esac
mkdir -p "$dir"

unmount_all() {
  awk -v root="$root" 'index($2 "/", root "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r mnt; do umount -l "$mnt"; done
}
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ! -s "$dir/base.tar" ]; then
  command -v debootstrap >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
  sources=(/etc/apt/sources.list /etc/apt/sources.list.d/*.{list,sources})
  mirror=$({ cat "${sources[@]}" 2>/dev/null || true; } |
    awk '($1 == "URIs:" || $1 == "deb") { for (i = 2; i <= NF; i++)
      if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }')
  rm -rf "$dir/base"
  debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$dir/base" \
    "${mirror:-http://deb.debian.org/debian}" >"$dir/debootstrap.log" 2>&1 ||
    { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
  tar -C "$dir/base" -cf "$dir/base.tar.part" . && mv "$dir/base.tar.part" "$dir/base.tar"
  rm -rf "$dir/base"
fi

unmount_all
rm -rf "$root"
mkdir "$root"
tar -C "$root" -xf "$dir/base.tar"
# This machine's network, which a new machine would have its own of: name servers,
# and the certificate authorities it adds for its proxies (crates.io goes through one).
cp /etc/resolv.conf /etc/hosts "$root/etc/"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi

# rustup as its installer leaves it: proxies in ~/.cargo/bin, ~/.cargo/env sourced by
# ~/.profile; the toolchains themselves are this machine's, read-only.
mkdir -p "$root/root/.cargo" "$root/root/.rustup"
cp -a "$HOME/.cargo/bin" "$HOME/.cargo/env" "$root/root/.cargo/"
echo '. "$HOME/.cargo/env"' >>"$root/root/.profile"

# A machine's / is a mount point; a plain directory under a chroot is not one, unless
# bound onto itself. skiff copes without (it binds / onto itself in its own mount
# namespace: tests/hardening.rs), but the suite should see / as a new machine has it.
mount --bind "$root" "$root"
mount --make-private "$root"
mount --rbind /proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/proc"
mount --make-rslave "$root/sys"
mount --make-rslave "$root/dev"
mount --bind /run/lock "$root/run/lock"
mount --bind -o ro "$HOME/.rustup" "$root/root/.rustup"

git clone -q "$repo" "$root/root/skiff"
git -C "$root/root/skiff" checkout -q "$(git -C "$repo" rev-parse "$ref")"

# A login shell, as a person who just installed rustup would have; nothing of this
# shell's environment goes in. The root is entered as a machine's own: the root mount
# of a mount namespace of its own (pivot_root(2)), not a chroot(2) into this machine's
# tree. setns(2) into a mount namespace puts a process at that namespace's root mount,
# so under a chroot `runc exec` (docker-test.sh's exec checks) would land on this
# machine's / instead of its container's.
in_root() {
  unshare --mount --propagation private /bin/sh -c '
    cd "$1" && mkdir -p .old-root && pivot_root . .old-root && cd / &&
    umount -l /.old-root && rmdir /.old-root &&
    exec /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 /bin/bash -lc "cd /root/skiff && $2"
  ' sh "$root" "$1"
}
status=0
echo "fresh-root.sh: make demo (log: $dir/demo.log)"
in_root 'make demo' >"$dir/demo.log" 2>&1 || status=$?
tail -n 3 "$dir/demo.log"
if [ "$status" -eq 0 ]; then
  echo "fresh-root.sh: make test (log: $dir/test.log)"
  in_root 'make test' >"$dir/test.log" 2>&1 || status=$?
  tail -n 5 "$dir/test.log"
fi
echo "fresh-root.sh: $([ "$status" -eq 0 ] && echo passed || echo "failed ($status)")"
exit "$status"
