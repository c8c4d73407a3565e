#!/usr/bin/env python3
"""token_server.py HOST:PORT PKI_DIR LOG: a stand-in for https://auth.docker.io/token.

Docker Hub's registry answers an unauthenticated request with 401 and
`WWW-Authenticate: Bearer realm=...,service=...,scope=...`. The client then asks
this endpoint for a token:

    GET /token?service=registry.docker.io&scope=repository:library/alpine:pull

optionally with HTTP Basic credentials, and receives a JWT (RS256) that the
registry verifies against the certificate in the JWT's x5c header (it must chain
to the registry's auth.token.rootcertbundle). Policy, as on Hub:

    library/*  pull for everyone
    expiring/* pull for everyone, with tokens that live only 2 s
    private/*  pull for alice:wonderland only; anyone else gets a valid token
               with empty access, so the registry answers 401 again
    USER/*     pull and push for USER once logged in (alice/…), as a Hub account
    others     empty access
    wrong Basic credentials: 401 from this endpoint

Tokens live TOKEN_TTL seconds (env, default 300). Every request appends one line
to LOG: `METHOD PATH?QUERY basic=yes|no user=NAME|-`, percent-decoded so
tests can look for `scope=repository:library/alpine:pull` however a client
encodes it. Standard library only; the
signature comes from `openssl dgst -sha256 -sign`.
"""

import base64
import datetime
import http.server
import json
import os
import secrets
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

ISSUER = "skiff-test-issuer"
USERS = {"alice": "wonderland"}

# Tokens for these repositories live SHORT_TTL seconds, like a Hub token near its end,
# so a test can see a token expire in the middle of a pull.
SHORT_LIVED = "repository:expiring/"
SHORT_TTL = 2
REGISTRY_LEEWAY = 60


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """RS256 JWTs whose x5c header carries the signing certificate."""

    def __init__(self, cert_pem, key_path):
        self.key_path = key_path
        der = ssl.PEM_cert_to_DER_cert(open(cert_pem).read())
        self.header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}

    def sign(self, claims):
        parts = [b64url(json.dumps(part, separators=(",", ":")).encode())
                 for part in (self.header, claims)]
        signing_input = ".".join(parts).encode()
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.key_path],
            input=signing_input, capture_output=True, check=True).stdout
        return ".".join(parts + [b64url(signature)])


def allowed_actions(repository, user):
    """What `user` (None: anonymous) may do to `repository`."""
    if repository.startswith(("library/", "expiring/")):
        return {"pull"}
    if repository.startswith("private/") and user == "alice":
        return {"pull"}
    if user and repository.startswith(user + "/"):
        return {"pull", "push"}
    return set()


def grant(scopes, user):
    """The JWT `access` claim: each requested scope cut down to what policy allows."""
    access = []
    for scope in scopes:
        # repository:NAME:ACTIONS; NAME may itself hold a ':' (host:port/...).
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            continue
        granted = sorted(set(actions.split(",")) & allowed_actions(name, user))
        if granted:
            access.append({"type": kind, "name": name, "actions": granted})
    return access


class TokenHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "skiff-test-auth"

    def do_GET(self):
        user, password = self.basic_credentials()
        sent = "yes" if user is not None else "no"
        self.server.log(f"GET {urllib.parse.unquote(self.path)} basic={sent} user={user or '-'}")
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"details": "not found"})
        if user is not None and USERS.get(user) != password:
            return self.reply(401, {"details": "incorrect username or password"})

        query = urllib.parse.parse_qs(url.query)
        now = int(time.time())
        short = any(s.startswith(SHORT_LIVED) for s in query.get("scope", []))
        ttl = SHORT_TTL if short else self.server.ttl
        # The registry honours a token for 60 s past its exp (clock skew): a short-lived
        # one is dated back by as much, so that it really dies after SHORT_TTL seconds.
        exp = now + ttl - (REGISTRY_LEEWAY if short else 0)
        token = self.server.signer.sign({
            "iss": ISSUER,
            "sub": user or "",
            "aud": query.get("service", [""])[0],
            "exp": exp,
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": grant(query.get("scope", []), user),
        })
        issued_at = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        self.reply(200, {"token": token, "access_token": token, "expires_in": ttl,
                         "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")})

    def basic_credentials(self):
        """(user, password) from an `Authorization: Basic` header, else (None, None)."""
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None, None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return "", None
        return user, password

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="skiff test auth"')
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass  # the request log above is the one that matters


class TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, pki_dir, log_path):
        super().__init__(address, TokenHandler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(os.path.join(pki_dir, "server.pem"),
                            os.path.join(pki_dir, "server-key.pem"))
        # The handshake happens on first read, in the request's own thread, so a
        # client that stalls or rejects the certificate holds up no one else.
        self.socket = tls.wrap_socket(self.socket, server_side=True,
                                      do_handshake_on_connect=False)
        self.signer = Signer(os.path.join(pki_dir, "token.pem"),
                             os.path.join(pki_dir, "token-key.pem"))
        self.ttl = int(os.environ.get("TOKEN_TTL", "300"))
        self.log_file = open(log_path, "a", buffering=1)
        self.log_lock = threading.Lock()

    def log(self, line):
        # Written before the reply, so a client that has its answer sees the line.
        with self.log_lock:
            self.log_file.write(line + "\n")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: token_server.py HOST:PORT PKI_DIR LOG")
    host, _, port = sys.argv[1].rpartition(":")
    TokenServer((host, int(port)), sys.argv[2], sys.argv[3]).serve_forever()


if __name__ == "__main__":
    main()
