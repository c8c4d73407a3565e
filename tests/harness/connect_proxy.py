#!/usr/bin/env python3
"""connect_proxy.py LOG: an HTTP proxy of the kind HTTPS_PROXY names, for one test.

It answers `CONNECT host:port` by opening a tunnel and appends one line per tunnel
to LOG: `CONNECT registry-1.docker.io:443`. Every tunnel leads to 127.0.0.1 at the
asked port, whatever the host: the test machines have no other network, and this
way the proxy resolves the Docker Hub names to the harness, as the hosts file does
for skiff. Anything but CONNECT gets 405.

It listens on an ephemeral port of 127.0.0.1 and prints `port N` as its first
line once it is ready. It runs until killed.
"""

import socket
import socketserver
import sys
import threading


class Tunnel(socketserver.StreamRequestHandler):
    rbufsize = 0  # unbuffered: no byte after the request's headers may stick in a buffer

    def handle(self):
        request = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # the headers: nothing in them matters here
        if len(request) != 3 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        target = request[1]
        with self.server.log_lock, open(self.server.log, "a") as log:
            log.write(f"CONNECT {target}\n")
        port = int(target.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            relay = threading.Thread(target=pump, args=(upstream, self.connection), daemon=True)
            relay.start()
            pump(self.connection, upstream)
            relay.join()


def pump(source, sink):
    """Copies bytes one way until the source closes, then half-closes the sink."""
    try:
        while data := source.recv(1 << 16):
            sink.sendall(data)
    except OSError:
        pass
    try:
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tunnel)
    server.daemon_threads = True
    server.log, server.log_lock = sys.argv[1], threading.Lock()
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
