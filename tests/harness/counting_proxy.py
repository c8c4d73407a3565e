#!/usr/bin/env python3
"""counting_proxy.py UPSTREAM LOG [MODE]: a registry's eyes (and a bad network) for one test.

Forwards GET and HEAD requests to UPSTREAM (host:port, plain HTTP), Range included,
and appends one line per request to LOG: `GET /v2/.../blobs/sha256:... 200`, plus
` range=bytes=N-` when the request asked for a range. Tests point skiff at
it (as a registry, or as SKIFF_REGISTRY_MIRROR) to count what skiff asks for:
a warm re-pull must fetch no blob.

With --stall-blobs it sends the headers and the first half of every blob larger
than 64 KiB (a layer, not a config), prints
`stalled PATH` on stdout and then hangs, so a test can kill skiff at a known point
in the middle of a download without sleeping.

With --cut-blobs it answers the first request for each blob with its headers and the
first half of its body, then closes the connection: a download that breaks off.
Later requests for that blob are forwarded as usual (a Range gets the registry's 206).
--cut-blobs-ignore-range does the same but drops the Range header of later requests,
like a registry without range support (which answers 200 and the whole blob).
--cut-blobs-always also cuts every later answer for a blob larger than 64 KiB.

With --delay-first-blob SECONDS it holds the first blob request that much before
forwarding it: the time a slow link takes, long enough for a short-lived token to
expire between two requests of one pull.

With --fail-first N [STATUS] it answers the first N requests for each path with
STATUS (503 unless given), without asking UPSTREAM (logged as `GET PATH 503`), and
forwards the later ones.

It listens on an ephemeral port of 127.0.0.1 and prints `port N` as its first
line once it is ready. It runs until killed.
"""

import http.client
import http.server
import sys
import threading
import time

FORWARDED = ("Accept", "Authorization", "Range")


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.forward("GET")

    def do_HEAD(self):
        self.forward("HEAD")

    def forward(self, method):
        mode, earlier = self.server.mode, self.count_request()
        if mode == "--fail-first" and earlier < self.server.failures:
            self.log_request_line(method, self.server.failure)
            self.send_error(self.server.failure, "the first requests of this path fail")
            return
        first = earlier == 0
        if mode == "--delay-first-blob" and "/blobs/" in self.path and self.server.delay_once():
            time.sleep(self.server.failures)
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=60)
        headers = {k: self.headers[k] for k in FORWARDED if self.headers[k]}
        if mode == "--cut-blobs-ignore-range":
            headers.pop("Range", None)
        upstream.request(method, self.path, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        self.log_request_line(method, response.status)
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method == "HEAD":
            return
        whole = response.getheader("Content-Range", "/").rsplit("/", 1)[1]
        big = int(whole or len(body)) > 64 << 10  # the blob, not just this part of it
        again = mode == "--cut-blobs-always" and big
        if mode.startswith("--cut-blobs") and (first or again) and "/blobs/" in self.path:
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        if mode == "--stall-blobs" and "/blobs/" in self.path and big:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            print(f"stalled {self.path}", flush=True)
            threading.Event().wait()
        self.wfile.write(body)

    def count_request(self):
        """How many requests for this path came before this one."""
        with self.server.log_lock:
            earlier = self.server.seen.get(self.path, 0)
            self.server.seen[self.path] = earlier + 1
        return earlier

    def log_request_line(self, method, status):
        line = f"{method} {self.path} {status}"
        if self.headers["Range"]:
            line += f" range={self.headers['Range']}"
        with self.server.log_lock, open(self.server.log, "a") as log:
            log.write(line + "\n")

    def log_message(self, *args):
        pass


def main():
    upstream, log = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    server.upstream, server.log = upstream, log
    server.mode = sys.argv[3] if len(sys.argv) > 3 else ""
    server.failures = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    server.failure = int(sys.argv[5]) if len(sys.argv) > 5 else 503
    server.log_lock, server.seen = threading.Lock(), {}
    delayed = threading.Event()
    server.delay_once = lambda: not delayed.is_set() and (delayed.set() or True)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
