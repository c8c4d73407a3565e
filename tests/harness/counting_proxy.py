#!/usr/bin/env python3
"""counting_proxy.py UPSTREAM LOG [--stall-blobs]: a registry's eyes for one test.

Forwards GET and HEAD requests to UPSTREAM (host:port, plain HTTP) and appends one
line per request to LOG: `GET /v2/.../blobs/sha256:... 200`. Tests point skiff at
it (as a registry, or as SKIFF_REGISTRY_MIRROR) to count what skiff asks for:
a warm re-pull must fetch no blob.

With --stall-blobs it sends the headers and the first half of every blob larger
than 64 KiB (a layer, not a config), prints
`stalled PATH` on stdout and then hangs, so a test can kill skiff at a known point
in the middle of a download without sleeping.

It listens on an ephemeral port of 127.0.0.1 and prints `port N` as its first
line once it is ready. It runs until killed.
"""

import http.client
import http.server
import sys
import threading

FORWARDED = ("Accept", "Authorization", "Range")


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.forward("GET")

    def do_HEAD(self):
        self.forward("HEAD")

    def forward(self, method):
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=60)
        headers = {k: self.headers[k] for k in FORWARDED if self.headers[k]}
        upstream.request(method, self.path, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        with self.server.log_lock, open(self.server.log, "a") as log:
            log.write(f"{method} {self.path} {response.status}\n")
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method == "HEAD":
            return
        if self.server.stall and "/blobs/" in self.path and len(body) > 64 << 10:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            print(f"stalled {self.path}", flush=True)
            threading.Event().wait()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    upstream, log = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    server.upstream, server.log = upstream, log
    server.stall = "--stall-blobs" in sys.argv[3:]
    server.log_lock = threading.Lock()
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
