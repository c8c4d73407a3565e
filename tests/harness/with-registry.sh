#!/usr/bin/env bash
# with-registry.sh CMD [ARGS...]: run CMD beside a local copy of Docker Hub.
#
# Docker Hub is unreachable from the test machines, so this rebuilds its
# protocol from real parts and tears it all down when CMD ends:
#   https://registry-1.docker.io  (127.0.0.1:443)   the CNCF registry with TLS and
#                                 token auth: 401 + WWW-Authenticate: Bearer ...
#   https://auth.docker.io:5556/token                token_server.py, Hub's policy
#   http://127.0.0.1:5555                            the same registry, plain HTTP,
#                                 no auth: for pushing fixtures and for tests of
#                                 `localhost:5555/...`-style references
# Both registries serve one storage directory, so the fixture images that
# build_images.py pushes to the plain one are what "Docker Hub" serves.
#
# CMD sees these variables:
#   SKIFF_TEST_HARNESS    the scratch directory holding all of the above
#   SKIFF_TEST_PLAIN      127.0.0.1:5555
#   SKIFF_TEST_CA         the CA that signed registry-1.docker.io's certificate
#   SKIFF_TEST_HOSTS      an /etc/hosts that sends both Hub names to 127.0.0.1
#   SKIFF_TEST_TOKEN_LOG  one line per token request: METHOD PATH basic=yes|no user=U
#   SKIFF_TEST_FOREIGN    127.0.0.1:5557, where the foreign layers' URLs point; tests
#                         serve SKIFF_TEST_HARNESS/foreign/ there with file_server.py
# and its exit status is this script's. Needs root (port 443).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
plain=127.0.0.1:5555 hub=127.0.0.1:443 auth=127.0.0.1:5556 foreign=127.0.0.1:5557
tokenplain=127.0.0.1:5558  # plain HTTP, but Hub's token auth: a proxy can sit in front

[ $# -gt 0 ] || { echo "usage: with-registry.sh CMD [ARGS...]" >&2; exit 2; }
# The ports are fixed, so two harnesses on one machine take turns. The lock is on a
# descriptor, so it goes away with this script however it ends.
exec 9>/run/lock/skiff-harness.lock
flock 9
for address in $plain $hub $auth $foreign $tokenplain; do
  # A connection succeeds only if something already listens there.
  if (exec 3<>"/dev/tcp/${address%:*}/${address#*:}") 2>/dev/null; then
    echo "with-registry.sh: $address is already in use; stop whatever listens there" >&2
    exit 1
  fi
done

"$here/deps.sh"

work=$(mktemp -d /tmp/skiff-harness.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT   # exit, so the EXIT trap runs
trap 'exit 143' TERM

# A server runs until we kill it; --pdeathsig also takes it down if this shell
# is killed outright (SIGKILL runs no trap).
serve() {
  local name=$1; shift
  setpriv --pdeathsig TERM "$@" >"$work/$name.log" 2>&1 9>&- &
  pids+=($!)
}

# Polls until `curl ARGS` gets HTTP status `want` (at most 10 s), or the
# server dies; then shows the logs and fails.
await() {
  local want=$1 pid=$2; shift 2
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@")" = "$want" ] && return
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "with-registry.sh: no $want from ${*: -1}; logs follow" >&2
  tail -n 20 "$work"/*.log >&2
  exit 1
}

musl-gcc -static -Os -s -o "$work/docker-explorer" "$here/explorer.c"
"$here/pki.sh" "$work/pki"

# Two registry processes, one storage directory: the filesystem is the only
# shared truth, so neither keeps a blob descriptor cache (an in-memory one
# works too, until something is deleted behind its back). The shared
# http.secret signs upload state, so an upload begun on one could end on the
# other, as behind Hub's load balancer; it also silences a startup warning.
# Fixtures are pushed to the plain one, which accepts manifests whose foreign layers
# point to 127.0.0.1 (with no allow list, distribution 2.7+ refuses every such URL).
cat >"$work/plain.yml" <<EOF
version: 0.1
log: {level: info}
storage:
  filesystem: {rootdirectory: $work/storage}
http:
  addr: $plain
  secret: skiff-test-harness
validation:
  manifests:
    urls:
      allow: ['^http://127\.0\.0\.1:']
EOF
cat >"$work/hub.yml" <<EOF
version: 0.1
log: {level: info}
storage:
  filesystem: {rootdirectory: $work/storage}
http:
  addr: $hub
  secret: skiff-test-harness
  tls:
    certificate: $work/pki/server.pem
    key: $work/pki/server-key.pem
auth:
  token:
    realm: https://auth.docker.io:5556/token
    service: registry.docker.io
    issuer: skiff-test-issuer
    rootcertbundle: $work/pki/token.pem
EOF

sed -e "s|addr: $hub|addr: $tokenplain|" -e '/tls:/,/key:/d' "$work/hub.yml" >"$work/tokenplain.yml"

serve plain docker-registry serve "$work/plain.yml"
serve hub docker-registry serve "$work/hub.yml"
serve tokenplain docker-registry serve "$work/tokenplain.yml"
serve token-server python3 "$here/token_server.py" "$auth" "$work/pki" "$work/token.log"

tls=(--cacert "$work/pki/ca.pem" --resolve "registry-1.docker.io:443:127.0.0.1"
     --resolve "auth.docker.io:5556:127.0.0.1")
await 200 "${pids[0]}" "http://$plain/v2/"
await 401 "${pids[1]}" "${tls[@]}" https://registry-1.docker.io/v2/
await 401 "${pids[2]}" "http://$tokenplain/v2/"
await 200 "${pids[3]}" "${tls[@]}" "https://auth.docker.io:5556/token?service=registry.docker.io"

python3 "$here/build_images.py" "$plain" "$work" "$foreign" >"$work/images.log" ||
  { cat "$work/images.log" >&2; exit 1; }
python3 "$here/hostile_images.py" "$plain" >>"$work/images.log" || { cat "$work/images.log" >&2; exit 1; }

: >"$work/token.log"  # forget the readiness probe: CMD sees only its own requests
printf '%s\n' "127.0.0.1 localhost" "127.0.0.1 registry-1.docker.io" \
  "127.0.0.1 auth.docker.io" >"$work/hosts"

export SKIFF_TEST_HARNESS=$work SKIFF_TEST_PLAIN=$plain SKIFF_TEST_CA=$work/pki/ca.pem \
  SKIFF_TEST_HOSTS=$work/hosts SKIFF_TEST_TOKEN_LOG=$work/token.log SKIFF_TEST_FOREIGN=$foreign \
  SKIFF_TEST_TOKEN_PLAIN=$tokenplain
status=0
# Only this shell holds the lock: a process CMD leaves behind must not keep it.
"$@" 9>&- || status=$?
exit "$status"
