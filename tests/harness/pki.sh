#!/usr/bin/env bash
# pki.sh DIR: the certificates that make the local "Docker Hub" look real.
#
# Docker Hub serves registry-1.docker.io and auth.docker.io over TLS, and its
# registry accepts only bearer tokens (JWTs) signed by the auth service. So:
#   ca.pem, ca-key.pem          a test CA, the one root skiff is told to trust
#   server.pem, server-key.pem  the TLS cert both hosts present, signed by the CA
#   token.pem, token-key.pem    the token-signing key, self-signed; the registry
#                               trusts token.pem (auth.token.rootcertbundle) and
#                               the token server sends it in each JWT's x5c header
# TLS uses ECDSA P-256 keys (fast to make); the token key is RSA because the
# token is RS256. The extensions are what strict verifiers (rustls/webpki, Go's
# crypto/x509) demand: a CA marked as one, SANs on the server certificate (the
# CN is ignored).
set -euo pipefail

dir=${1:?usage: pki.sh DIR}
mkdir -p "$dir"
cd "$dir"

# -config /dev/null: only the extensions below, none from the system openssl.cnf.
cert() {
  openssl req -x509 -config /dev/null -nodes -days 30 -sha256 "$@" 2>/dev/null
}
p256=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)

cert "${p256[@]}" -subj "/CN=skiff test CA" -keyout ca-key.pem -out ca.pem \
  -addext "basicConstraints=critical,CA:true" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"

cert "${p256[@]}" -subj "/CN=registry-1.docker.io" -keyout server-key.pem -out server.pem \
  -CA ca.pem -CAkey ca-key.pem \
  -addext "basicConstraints=critical,CA:false" \
  -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
  -addext "extendedKeyUsage=serverAuth" \
  -addext "subjectAltName=DNS:registry-1.docker.io,DNS:auth.docker.io,DNS:localhost,IP:127.0.0.1"

cert -newkey rsa:2048 -subj "/CN=skiff test token signer" -keyout token-key.pem -out token.pem \
  -addext "basicConstraints=critical,CA:false" \
  -addext "keyUsage=critical,digitalSignature"
