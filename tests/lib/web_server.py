#!/usr/bin/env python3
"""web_server.py — a small local web server for the std/http tests.

Serves the behaviours an outbound HTTP client must survive: redirects,
huge bodies, stalls, and a log of what each request carried (so a test can
tell whether a credential reached a host). Python 3 standard library only;
binds 127.0.0.1 and writes its port to --port-file once listening;
with --tls-cert it speaks https.

  GET  /files/NAME          the file NAME under --root (404 if absent)
  GET  /text?say=T          T as text/plain
  ANY  /echo                {"method", "path", "headers", "body"} as JSON
       [?status=N]          ... with status N
       [?as=header]         each request header back as X-Echo-NAME (and
                            X-Echo-Tail: the authorization's last 4 bytes)
  GET  /redirect?to=URL[&code=302]   a redirect to URL
  GET  /chain/N             redirects to /chain/N-1, /chain/0 answers 200
  GET  /big?bytes=N         N bytes of "a", streamed
  GET  /stall               headers, 5 body bytes, then nothing for 60 s
  GET  /_log                the requests seen: [{"path","host","authorization"}]
                            ("authorization" is true/false, never the value)
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOG = []
LOG_LOCK = threading.Lock()
ROOT = "."


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests read /_log
        pass

    def send(self, status, body, ctype="text/plain; charset=utf-8", extra=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if url.path != "/_log":
            with LOG_LOCK:
                LOG.append({"path": url.path, "host": self.headers.get("Host", ""),
                            "method": self.command,
                            "authorization": "Authorization" in self.headers})
        if url.path.startswith("/files/"):
            name = url.path[len("/files/"):]
            full = os.path.realpath(os.path.join(ROOT, name))
            if not full.startswith(os.path.realpath(ROOT) + os.sep) or not os.path.isfile(full):
                return self.send(404, "no such page\n")
            with open(full, "rb") as f:
                return self.send(200, f.read(), "text/html; charset=utf-8")
        if url.path == "/text":
            return self.send(200, q.get("say", ["hello"])[0], extra=[("X-Test", "one"), ("X-Test", "two")])
        if url.path == "/echo":
            doc = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            extra = []
            if q.get("as") == ["header"]:
                extra = [("X-Echo-" + k, v) for k, v in self.headers.items()]
                extra.append(("X-Echo-Tail", self.headers.get("Authorization", "")[-4:]))
                doc = {}
            return self.send(int(q.get("status", ["200"])[0]), json.dumps(doc), "application/json", extra)
        if url.path == "/redirect":
            code = int(q.get("code", ["302"])[0])
            return self.send(code, "moved\n", extra=[("Location", q["to"][0])])
        if url.path.startswith("/chain/"):
            n = int(url.path[len("/chain/"):])
            if n <= 0:
                return self.send(200, "end of chain\n")
            return self.send(302, "moved\n", extra=[("Location", "/chain/%d" % (n - 1))])
        if url.path == "/big":
            total = int(q.get("bytes", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            chunk = b"a" * 65536
            try:
                while total > 0:
                    k = min(total, len(chunk))
                    self.wfile.write(chunk[:k])
                    total -= k
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if url.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                self.wfile.write(b"start")
                self.wfile.flush()
                time.sleep(60)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if url.path == "/_log":
            with LOG_LOCK:
                return self.send(200, json.dumps(LOG), "application/json")
        return self.send(404, "not found\n")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client that hangs up mid-request (a capped body, a cancelled
        # call) is what the tests do on purpose; anything else is a bug
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def main():
    global ROOT
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--root", default=".")
    ap.add_argument("--tls-cert", help="serve https with this certificate (PEM, key included)")
    a = ap.parse_args()
    ROOT = a.root
    srv = Server(("127.0.0.1", a.port), Handler)
    if a.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main()
