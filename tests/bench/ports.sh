#!/usr/bin/env bash
# tests/bench/ports.sh: what a published port (`-p`, DNAT in nf_tables) costs a TCP
# stream from the host into a container, against the same stream sent straight to the
# container's address on the bridge.
#
# Run it beside the harness's registries, with the static release binary built:
#   make build && tests/harness/with-registry.sh tests/bench/ports.sh
#
# One container on the bridge runs busybox `nc -l` into /dev/null, again and again; a
# Python client on the host sends it BENCH_PORT_MIB MiB (default 1024) of zeros and
# waits for it to close, 3 times each way; the table has the median throughput.
# Everything it creates lives under one mktemp directory and goes when it ends.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
bench_setup ports
mib=${BENCH_PORT_MIB:-1024}
id=
cleanup() { [ -z "$id" ] || "$skiff" rm -f "$id" >/dev/null 2>&1; }

id=$("$skiff" run -d --network bridge -p 127.0.0.1::5001 "$image" \
  sh -c 'while true; do nc -l -p 5001 >/dev/null; done')
port=$("$skiff" port "$id" 5001 | awk -F: '{ print $NF }')
address=$("$skiff" inspect "$id" | sed 's/.*"IPAddress":"\([0-9.]*\)".*/\1/')

# send HOST PORT: seconds to send $mib MiB and see the server close (connection
# refused until it listens: retried).
send() {
  python3 - "$1" "$2" "$mib" <<'EOF'
import socket, sys, time
host, port, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = bytes(1 << 20)
for _ in range(200):
    try:
        s = socket.create_connection((host, port))
        break
    except ConnectionRefusedError:
        time.sleep(0.05)
start = time.monotonic()
for _ in range(mib):
    s.sendall(block)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(time.monotonic() - start)
EOF
}

# throughput HOST PORT: the median of 3 sends, in MiB/s.
throughput() {
  for _ in 1 2 3; do send "$1" "$2"; done |
    sort -g | awk -v mib="$mib" 'NR == 2 { printf "%.0f\n", mib / $1 }'
}

published=$(throughput 127.0.0.1 "$port")
direct=$(throughput "$address" 5001)
record "TCP through -p / direct" "$(ratio "$published" "$direct")"

cat <<EOF
| TCP stream host → container, $mib MiB (median of 3) | throughput | × direct |
|---|---|---|
| through \`-p 127.0.0.1::5001\` (DNAT, masquerade) | $published MiB/s | $(ratio "$published" "$direct")× |
| straight to the container's address | $direct MiB/s | 1.00× |
EOF
