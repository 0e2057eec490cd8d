"""A real HTTP server on 127.0.0.1 serving a directory, for tests and benchmarks.

Supports what conda clients rely on (Range requests, ETag / If-None-Match, HEAD) and
scripted faults so that failure handling is tested against real sockets:

* ``server.fail(path, "500")``      answer 500 once (any 4xx/5xx code likewise)
* ``server.fail(path, "cut:N")``    announce the full length, send N bytes, drop the connection
* ``server.fail(path, "cutnolen:N")`` no Content-Length: send N bytes, then close
* ``server.fail(path, "corrupt")``  serve the file with its last byte changed
* ``server.fail(path, "extra:N")``  serve the file followed by N more bytes (length says so)
* ``server.fail(path, "endless")``  200 without a length, zeros until the client hangs up
* ``server.fail(path, "gzipbomb:N")`` ``Content-Encoding: gzip`` of ``{`` and N spaces
* ``server.fail(path, "gzip")``     ``Content-Encoding: gzip`` of the file (asked or not)
* ``server.fail(path, "stall:S")``  accept, then hold (below) for at most S seconds and
  close the connection without an answer
* ``server.fail(path, "hold")``     hold before answering, then serve the file
* ``server.fail(path, "hold:N")``   send the headers and N bytes of the file, hold, then
  send the rest
* ``server.fail(path, "drip:S")``   send the file one byte every S seconds
* ``server.fail(path, "slow:BPS")`` send the file at about BPS bytes a second
* ``server.fail(path, "retry-after:S")`` 503 with ``Retry-After: S``
* ``server.fail(path, "html")``     200 with an HTML login page instead of the file
* ``server.fail(path, "redirect:URL")`` 302 to URL (e.g. ``file:///etc/hostname``)

Each call queues one fault for the next request of ``path``. ``latency`` adds a delay
to every request; ``token`` requires a ``/t/<token>/`` prefix on every path. ``seen``
keeps every request's raw path and ``Authorization`` header (where credentials went).
``basic=(prefix, user, password)`` requires those basic credentials for paths under prefix.
``max_in_flight`` is the most requests the server was answering at one time (how far
a client's requests overlapped).

A hold is how tests observe timing without a clock: it ends when the test calls
``release()``, when ``release_when_holding(n)`` holds are under way at once, when the
client hangs up, or after ``hold_limit`` seconds (then every other hold ends too, so a
broken client costs one limit, not one per hold). ``holds`` lists ``(path, how)`` for
each hold that ended, ``how`` being "released", "hung up" or "ran out"; "hung up" means
the client gave up (a timeout, Ctrl-C) while the server was still holding.
``wait_holds(n)`` waits (boundedly) until n holds have ended. A ``retry-after:S`` fault
also makes the server answer 503 "too early" to any request of that path in the next S
seconds, as a rate limiter would, so a client that comes back early is seen in
``requests``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
import select
import socket
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the stock 5 stalls parallel clients
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-answer (cancelled downloads, curl at exit) is normal.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class ChannelServer:
    def __init__(
        self,
        root: str | Path,
        latency: float = 0.0,
        token: str | None = None,
        basic: tuple[str, str, str] | None = None,
    ):
        self.root = Path(root)
        self.latency = latency
        self.token = token
        self.basic = basic  # (path prefix, user, password): basic auth required under it
        self.requests: list[tuple[str, str, str | None, int]] = []  # method, path, range, status
        self.seen: list[tuple[str, str | None]] = []  # raw request path, Authorization header
        self.in_flight = 0
        self.max_in_flight = 0
        self.holding = 0  # holds under way now
        self.holds: list[tuple[str, str]] = []  # (path, "released" | "hung up" | "ran out")
        self.hold_limit = 60.0
        self._release = threading.Event()
        self._release_at: int | None = None
        self._not_before: dict[str, float] = {}
        self._faults: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        handler = _make_handler(self)
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return f"{base}/t/{self.token}" if self.token else base

    def fail(self, path: str, action: str) -> None:
        with self._lock:
            self._faults["/" + path.lstrip("/")].append(action)

    def _next_fault(self, path: str) -> str | None:
        with self._lock:
            queue = self._faults.get(path)
            return queue.pop(0) if queue else None

    def release(self) -> None:
        """End every hold under way, and let later ones pass at once."""
        self._release.set()

    def release_when_holding(self, n: int) -> None:
        """Release the holds as soon as ``n`` of them are under way at the same time."""
        self._release_at = n

    def wait_holds(self, n: int) -> list[str]:
        """How the first ``n`` holds ended, once they have (a hold ends by
        ``hold_limit`` at the latest, so this wait is bounded)."""
        end = time.monotonic() + self.hold_limit + 30
        while len(self.holds) < n and time.monotonic() < end:
            time.sleep(0.02)
        with self._lock:
            return [how for _, how in self.holds[:n]]

    def _hold(self, path: str, conn: socket.socket, seconds: float) -> str:
        with self._lock:
            self.holding += 1
            if self._release_at is not None and self.holding >= self._release_at:
                self._release.set()
        end = time.monotonic() + min(seconds, self.hold_limit)
        how = "ran out"
        while time.monotonic() < end:
            if self._release.is_set():
                how = "released"
                break
            if _hung_up(conn, min(0.05, end - time.monotonic())):
                how = "hung up"
                break
        with self._lock:
            self.holding -= 1
            self.holds.append((path, how))
        if how == "ran out" and seconds >= self.hold_limit:
            self._release.set()
        return how

    def count(self, path: str, method: str = "GET") -> int:
        path = "/" + path.lstrip("/")
        return sum(1 for m, p, _, _ in self.requests if m == method and p == path)

    def __enter__(self) -> ChannelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _hung_up(conn: socket.socket, wait: float) -> bool:
    """Has the client closed (or reset) the connection? Waits up to ``wait`` seconds."""
    try:
        readable, _, _ = select.select([conn], [], [], max(0.0, wait))
        if not readable:
            return False
        if conn.recv(1, socket.MSG_PEEK) == b"":
            return True
    except OSError:
        return True
    time.sleep(wait)  # the client sent something: not a hang-up
    return False


def _make_handler(server: ChannelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _log(self, path: str, status: int) -> None:
            with server._lock:
                server.requests.append((self.command, path, self.headers.get("Range"), status))

        def _plain(self, path: str, status: int, body: bytes = b"") -> None:
            self._log(path, status)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def _special(self, path: str, fault: str) -> bool:
            """Faults that do not serve the file as it is; True when one was answered."""
            kind, _, arg = fault.partition(":")
            if kind == "stall":
                self._log(path, 0)
                server._hold(path, self.connection, float(arg))
                self.close_connection = True
                return True
            if kind == "retry-after":
                with server._lock:
                    server._not_before[path] = time.monotonic() + float(arg)
                self._log(path, 503)
                self.send_response(503)
                self.send_header("Retry-After", arg)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            if kind == "redirect":
                self._log(path, 302)
                self.send_response(302)
                self.send_header("Location", arg)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            if kind == "html":
                body = b"<!DOCTYPE html><html><body>Please log in</body></html>\n"
                self._log(path, 200)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return True
            if kind == "endless":
                self._log(path, 200)
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                zeros = bytes(1 << 16)
                try:
                    for _ in range(1 << 16):  # 4 GiB at most, should a client never hang up
                        self.wfile.write(zeros)
                except OSError:
                    pass
                return True
            if kind in ("gzipbomb", "gzip"):
                import gzip

                target = (server.root / path.lstrip("/")).resolve()
                data = b"{" + b" " * int(arg) if kind == "gzipbomb" else target.read_bytes()
                body = gzip.compress(data, compresslevel=9)
                self._log(path, 200)
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return True
            return False

        def do_GET(self) -> None:
            with server._lock:
                server.seen.append((self.path, self.headers.get("Authorization")))
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                self._get()
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _get(self) -> None:
            if server.latency:
                time.sleep(server.latency)
            path = unquote(urlsplit(self.path).path)
            if server.token:
                prefix = f"/t/{server.token}/"
                if not path.startswith(prefix):
                    return self._plain(path, 401, b"token required")
                path = "/" + path[len(prefix) :]
            if server.basic and path.startswith(server.basic[0]):
                user_pass = f"{server.basic[1]}:{server.basic[2]}".encode()
                wanted = "Basic " + base64.b64encode(user_pass).decode()
                if self.headers.get("Authorization") != wanted:
                    return self._plain(path, 401, b"credentials required")
            if time.monotonic() < server._not_before.get(path, 0.0):
                return self._plain(path, 503, b"too early")
            fault = server._next_fault(path)
            if fault == "hold":
                if server._hold(path, self.connection, server.hold_limit) == "hung up":
                    self._log(path, 0)
                    self.close_connection = True
                    return None
                fault = None
            if fault and fault.isdigit():
                return self._plain(path, int(fault), b"injected")
            if fault and self._special(path, fault):
                return None
            target = (server.root / path.lstrip("/")).resolve()
            if path.endswith("/") and (target / "index.html").is_file():
                target = target / "index.html"  # a PEP 503 simple index page
            if server.root.resolve() not in target.parents or not target.is_file():
                return self._plain(path, 404, b"not found")
            st = target.stat()
            etag = '"' + hashlib.md5(f"{st.st_mtime_ns}-{st.st_size}".encode()).hexdigest() + '"'
            if self.headers.get("If-None-Match") == etag:
                return self._plain(path, 304)
            size = st.st_size
            start, end, status = 0, size - 1, 200
            m = _RANGE.match(self.headers.get("Range", "") or "")
            if m and not fault:
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else size - 1
                if start >= size:
                    self._log(path, 416)
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                end = min(end, size - 1)
                status = 206
            length = end - start + 1
            self._log(path, status)
            self.send_response(status)
            if fault and fault.startswith("cutnolen:"):
                self.send_header("Connection", "close")
                self.close_connection = True
            elif fault and fault.startswith("extra:"):
                self.send_header("Content-Length", str(length + int(fault.split(":", 1)[1])))
            else:
                self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            if target.suffix == ".html":
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if self.command == "HEAD":
                return
            limit = length
            if fault and fault.startswith(("cut:", "cutnolen:")):
                limit = min(length, int(fault.split(":", 1)[1]))
            extra = int(fault.split(":", 1)[1]) if fault and fault.startswith("extra:") else 0
            drip = float(fault.split(":", 1)[1]) if fault and fault.startswith("drip:") else 0.0
            hold = int(fault.split(":", 1)[1]) if fault and fault.startswith("hold:") else None
            rate = int(fault.split(":", 1)[1]) if fault and fault.startswith("slow:") else 0
            with open(target, "rb") as f:
                f.seek(start)
                sent = 0
                while sent < limit:
                    if hold is not None and sent == min(hold, limit):
                        self.wfile.flush()
                        if server._hold(path, self.connection, server.hold_limit) == "hung up":
                            self.close_connection = True
                            return
                        hold = None
                    want = min(1 << 16, limit - sent)
                    chunk = f.read(want if hold is None else min(want, hold - sent))
                    if not chunk:
                        break
                    if fault == "corrupt" and sent + len(chunk) == length:
                        chunk = chunk[:-1] + bytes([chunk[-1] ^ 0xFF])
                    if drip:
                        for i in range(len(chunk)):
                            self.wfile.write(chunk[i : i + 1])
                            self.wfile.flush()
                            time.sleep(drip)
                    elif rate:
                        for i in range(0, len(chunk), 1 << 14):
                            self.wfile.write(chunk[i : i + (1 << 14)])
                            time.sleep((1 << 14) / rate)
                    else:
                        self.wfile.write(chunk)
                    sent += len(chunk)
                if extra:
                    self.wfile.write(bytes(extra))
            if limit < length:
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass

    return Handler


def serve(root: str | Path, **kwargs: object) -> ChannelServer:
    """Start a server (use as a context manager)."""
    return ChannelServer(root, **kwargs)  # type: ignore[arg-type]


__all__ = ["ChannelServer", "serve"]
