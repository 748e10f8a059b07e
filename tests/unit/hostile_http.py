#!/usr/bin/env python3
"""A deliberately misbehaving HTTP server for the revocation tests.

    hostile_http.py PORT DIR

Bound to 127.0.0.1 only. The request path picks the misbehaviour (any method;
a POST body is read and ignored unless said otherwise):

    /file/NAME       200, DIR/NAME as the body (application/ocsp-response)
    /stall           accepts, reads the request, never answers
    /status/N        status N, a short body
    /redirect        302 to http://127.0.0.1:PORT/file/elsewhere
    /big/N           200 with Content-Length N and N bytes
    /chunked/N       200, N bytes in chunks, no Content-Length
    /garbage         bytes that are not HTTP at all, then close
    /cut/NAME        Content-Length of DIR/NAME, half of it, then close
    /echo            200, body "<Content-Type>|<Expect>|" + the request body

Standard library only.
"""
import os
import socketserver
import sys
import time


def read_request(rfile):
    """Request line, headers (lower-case names) and body (Content-Length)."""
    line = rfile.readline(65536).decode("latin-1").strip()
    headers = {}
    while True:
        h = rfile.readline(65536)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rfile.read(int(headers.get("content-length", "0") or 0))
    parts = line.split()
    return (parts[1] if len(parts) > 1 else "/"), headers, body


class Handler(socketserver.StreamRequestHandler):
    def send(self, status, body, extra=(), length=None):
        head = [f"HTTP/1.1 {status} X", "Connection: close",
                "Content-Type: application/ocsp-response",
                f"Content-Length: {len(body) if length is None else length}"]
        head.extend(extra)
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        self.wfile.flush()

    def handle(self):
        path, headers, body = read_request(self.rfile)
        directory, port = self.server.directory, self.server.server_address[1]
        if path.startswith("/file/"):
            with open(os.path.join(directory, os.path.basename(path[6:])), "rb") as f:
                self.send(200, f.read())
        elif path == "/stall":
            # Hold the connection until the client gives up.
            while self.connection.recv(4096):
                pass
        elif path.startswith("/status/"):
            self.send(int(path[8:]), b"no")
        elif path == "/redirect":
            self.send(302, b"", [f"Location: http://127.0.0.1:{port}/file/elsewhere"])
        elif path.startswith("/big/"):
            n = int(path[5:])
            self.send(200, b"x" * n)
        elif path.startswith("/chunked/"):
            n = int(path[9:])
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while n > 0:
                k = min(n, 4096)
                self.wfile.write(b"%x\r\n%s\r\n" % (k, b"y" * k))
                n -= k
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/garbage":
            self.wfile.write(b"\x00\xff\x13garbage, not HTTP\r\n\r\n" * 4)
        elif path.startswith("/cut/"):
            with open(os.path.join(directory, os.path.basename(path[5:])), "rb") as f:
                data = f.read()
            self.send(200, data[: len(data) // 2], length=len(data))
        elif path == "/echo":
            out = (headers.get("content-type", "") + "|" + headers.get("expect", "") + "|").encode() + body
            self.send(200, out)
        else:
            self.send(404, b"unknown path")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    with Server(("127.0.0.1", port), Handler) as srv:
        srv.directory = directory
        srv.serve_forever()


if __name__ == "__main__":
    main()
