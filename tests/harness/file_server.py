#!/usr/bin/env python3
"""file_server.py DIR HOST:PORT LOG: the "vendor's server" of a foreign layer.

A foreign (non-distributable) layer is not in the registry: its descriptor's `urls`
point to its owner's server, which this plays for one test. It serves the files of DIR
(flat: a name with a `/` is 404) on HOST:PORT, a fixed address because build_images.py
wrote it into the manifests it pushed, and appends one line per request to LOG:
`GET /NAME STATUS authorization=yes|no`, so a test can check that the registry's
credentials never reach it.

It prints `port N` on stdout once it listens, and runs until killed.
"""

import http.server
import os
import sys


class Files(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        name = self.path.lstrip("/")
        path = os.path.join(self.server.dir, name)
        body = None
        if "/" not in name and name not in ("", ".", "..") and os.path.isfile(path):
            with open(path, "rb") as f:
                body = f.read()
        authorization = "yes" if self.headers["Authorization"] else "no"
        with open(self.server.log, "a") as log:
            log.write(f"GET {self.path} {404 if body is None else 200} authorization={authorization}\n")
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    directory, address, log = sys.argv[1:4]
    host, port = address.rsplit(":", 1)
    server = http.server.ThreadingHTTPServer((host, int(port)), Files)
    server.daemon_threads = True
    server.dir, server.log = directory, log
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
