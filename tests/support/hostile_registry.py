"""A hostile registry on 127.0.0.1: answers scripted per (method, path), every request
recorded with its headers. For what a real registry never does (a manifest too large,
a blob that is not its digest, redirects and upload locations on other hosts); the real
protocol is tested against the real registry (:mod:`.registry`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


class HostileRegistry:
    def __init__(self, require_basic: str | None = None) -> None:
        # an answer, or answers given in turn (the last one then for every later request)
        self.routes: dict[tuple[str, str], Answer | list[Answer]] = {}
        self.seen: list[dict[str, Any]] = []
        self.require_basic = require_basic  # an Authorization value, else no auth
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.netloc = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept, as a registry keeps them

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                owner.seen.append(
                    {
                        "method": self.command,
                        "path": path,
                        "headers": dict(self.headers),
                        "port": self.client_address[1],  # one per connection
                    }
                )
                given = self.headers.get("Authorization")
                if owner.require_basic and given != owner.require_basic:
                    a = Answer(401, headers={"WWW-Authenticate": 'Basic realm="hostile"'})
                else:
                    a = owner.answer(self.command, path)
                self.send_response(a.status)
                for k, v in a.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(a.body)))
                self.end_headers()
                if self.command != "HEAD":
                    try:
                        self.wfile.write(a.body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client stopped reading, as it should

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = _answer

        return Handler

    def answer(self, method: str, path: str) -> Answer:
        found = self.routes.get((method, path), Answer(404))
        if isinstance(found, list):
            return found.pop(0) if len(found) > 1 else found[0]
        return found

    def __enter__(self) -> HostileRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
