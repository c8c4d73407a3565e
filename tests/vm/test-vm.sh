#!/usr/bin/env bash
# test-vm.sh: skiff dropped onto a bare cgroup v2 machine (`make test-vm`).
#
# This machine is cgroup v1 (hybrid); v2 must be proven on a real kernel. So this
# boots Debian's linux-image-amd64 kernel under qemu-system-x86_64 with an initramfs
# that holds only the static skiff, busybox-static (its `ip`, `route` and `ifconfig`
# removed: skiff must need no network tool), the kernel modules skiff's overlayfs and
# networks need (with their dependencies, from the kernel's modules.dep, loaded in
# order), and a `skiff save` archive of the harness's busybox image, and runs
# tests/vm/init.sh as /init: `skiff load`, then the enforcement checks of
# tests/cgroups.rs on v2, a plain `skiff run`, `run -d`/`exec`/`stop`/`rm`, and a
# container network on a bridge. The guest
# reports `ok - NAME` / `not ok - NAME` over the serial console; this script fails on
# any `not ok`, or when the final `skiff-vm: N passed, M failed` line never comes
# (a crash, a hang: the VM gets $SKIFF_VM_TIMEOUT seconds, default 170).
#
# TCG (software emulation) by default: on this project's machines /dev/kvm exists but
# a KVM guest hangs (nested virtualisation). SKIFF_VM_ACCEL=kvm asks for KVM.
# Run it under tests/harness/with-registry.sh, after `make build`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=target/x86_64-unknown-linux-musl/release/skiff
[ -x "$bin" ] || { echo "test-vm.sh: no $bin: run make build first" >&2; exit 2; }
: "${SKIFF_TEST_PLAIN:?run me under tests/harness/with-registry.sh}"
accel=${SKIFF_VM_ACCEL:-tcg} timeout=${SKIFF_VM_TIMEOUT:-170}

kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)
[ -n "$kernel" ] || { echo "test-vm.sh: no /boot/vmlinuz-*: install linux-image-amd64" >&2; exit 2; }
modules=/lib/modules/${kernel#/boot/vmlinuz-}

started=$EPOCHREALTIME
work=$(mktemp -d /tmp/skiff-vm.XXXXXX)
trap '[ -n "${SKIFF_VM_KEEP:-}" ] || rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The initramfs: nothing but what the guest needs.
tree=$work/initramfs
mkdir -p "$tree/bin" "$tree/root"
cp /bin/busybox "$tree/bin/busybox"
cp "$bin" "$tree/bin/skiff"
cp tests/vm/init.sh "$tree/init"
mkdir "$tree/modules"
# add_module NAME: NAME's module file and, first, those it needs (modules.dep lists
# them with the one loaded first last), each once, in the order init.sh insmods them.
add_module() {
  local deps line i
  line=$(grep -E "/$1\.ko(\.xz|\.zst)?:" "$modules/modules.dep") ||
    { echo "test-vm.sh: the kernel has no module $1" >&2; exit 2; }
  read -ra deps <<<"${line#*:}"
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add_file "${deps[i]}"; done
  add_file "${line%%:*}"
}
add_file() {
  local name=${1##*/}
  grep -qx "$name" "$tree/modules/order" 2>/dev/null && return
  cp "$modules/$1" "$tree/modules/$name"
  echo "$name" >>"$tree/modules/order"
}
# crc32c_generic: libcrc32c's soft dependency (modules.softdep), which modules.dep omits
for module in overlay veth bridge crc32c_generic nft_chain_nat nft_masq nft_nat nft_fib_ipv4 nft_ct; do
  add_module $module
done
image=$SKIFF_TEST_PLAIN/library/busybox
SKIFF_ROOT=$work/store "$bin" pull -q "$image" >/dev/null
SKIFF_ROOT=$work/store "$bin" save -o "$tree/images.tar" "$image"
(cd "$tree" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$work/initramfs.cpio.gz"

echo "# booting $kernel under qemu ($accel), initramfs $(stat -c %s "$work/initramfs.cpio.gz") bytes"
status=0
timeout "$timeout" qemu-system-x86_64 -accel "$accel" -m 512 -smp 2 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 loglevel=1" </dev/null >"$work/console.log" 2>&1 || status=$?
tr -d '\r' <"$work/console.log" | grep -E '^(ok|not ok|#|skiff-vm:) ' || true
took=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

summary=$(tr -d '\r' <"$work/console.log" | grep '^skiff-vm: ' || true)
if [ -z "$summary" ]; then
  echo "test-vm.sh: the VM gave no summary (qemu exit $status, $took s); its console ends:" >&2
  tr -d '\r' <"$work/console.log" | tail -n 30 >&2
  exit 1
fi
echo "# VM test took $took s (qemu exit $status)"
case $summary in
  *" 0 failed") ;;
  *) exit 1 ;;
esac
