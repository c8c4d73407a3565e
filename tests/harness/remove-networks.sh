#!/usr/bin/env bash
# After the suite, before check-leaks.sh: take down what skiff keeps up between
# containers, as a reboot would (/run is a tmpfs): the default bridge skiff0, its
# subnet record and the nf_tables table `skiff`. skiff itself never removes them,
# as Docker never removes docker0. Under skiff's own network lock, so no skiff is
# half-way through connecting a container meanwhile. Leases are left alone: one left
# means a container's address was never given back, and check-leaks.sh says so.
set -euo pipefail

[ -d /run/skiff ] || exit 0
exec 8>/run/skiff/network.lock
flock 8
if [ -e /sys/class/net/skiff0 ]; then ip link del skiff0; fi
if nft list table ip skiff >/dev/null 2>&1; then nft delete table ip skiff; fi
rm -f /run/skiff/networks/skiff0/subnet
if [ -d /run/skiff/networks/skiff0 ]; then rmdir --ignore-fail-on-non-empty /run/skiff/networks/skiff0; fi
if [ -d /run/skiff/networks ]; then rmdir --ignore-fail-on-non-empty /run/skiff/networks; fi
