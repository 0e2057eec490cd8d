"""One blob into a registry: ``POST`` an upload, then one ``PUT`` with the bytes, or, for
a blob larger than the registry's ``chunk_size``, ``PATCH`` chunks then an empty ``PUT``.

After a chunk fails (a cut, a 5xx, a 416) the upload's status is asked (``GET`` the upload:
``Range: 0-N``) and the next try sends from byte ``N+1``: the registry's word, not ours,
decides where a retried upload goes on. Every request is the registry's
(:meth:`~.oci.Registry.request`: credentials, TLS, retries); an upload ``Location`` on
another host is refused there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .oci import Registry, push_scope
from .session import Retryable

OCTETS = {"Content-Type": "application/octet-stream"}


def upload_blob(
    registry: Registry, repo: str, digest: str, size: int, source: Path | bytes
) -> None:
    """Upload one blob from ``source`` (a file, or bytes up to one chunk)."""
    what = f"upload {repo}@{digest}"
    start = registry.call(what, lambda: _start(registry, repo, what))
    if size <= registry.chunk_size:
        registry.call(what, lambda: _finish(registry, start, digest, source, what))
        return
    if not isinstance(source, Path):
        raise TypeError("a blob larger than one chunk is uploaded from a file")
    location = _chunks(registry, start, source, size, what)
    registry.call(what, lambda: _finish(registry, location, digest, None, what))


def _start(registry: Registry, repo: str, what: str) -> str:
    r = registry.request("POST", f"/v2/{repo}/blobs/uploads/", push_scope(repo))
    registry.expect(r, what, 202).close()
    return registry.same_origin(r.headers.get("Location") or "")


def _finish(
    registry: Registry, location: str, digest: str, source: Path | bytes | None, what: str
) -> None:
    sep = "&" if "?" in location else "?"
    url = f"{location}{sep}digest={digest}"
    r = registry.request("PUT", url, _scope_of(location), body=_body(source), headers=OCTETS)
    registry.expect(r, what, 201).close()


def _chunks(registry: Registry, location: str, path: Path, size: int, what: str) -> str:
    """PATCH ``path`` in chunks; the location of the upload after the last one."""
    state: dict[str, Any] = {"location": location, "offset": 0, "sure": True}

    def attempt() -> None:
        if not state["sure"]:
            state["location"], state["offset"] = _status(registry, state["location"], what)
        state["sure"] = False
        start = state["offset"]
        stop = min(size, start + registry.chunk_size)
        state["location"], state["offset"] = _patch(
            registry, state["location"], path, start, stop, what
        )
        state["sure"] = True

    while state["offset"] < size:
        registry.call(what, attempt)
    return str(state["location"])


def _patch(
    registry: Registry, location: str, path: Path, start: int, stop: int, what: str
) -> tuple[str, int]:
    def body() -> bytes:
        with open(path, "rb") as f:
            f.seek(start)
            return f.read(stop - start)

    headers = {**OCTETS, "Content-Range": f"{start}-{stop - 1}"}
    r = registry.request("PATCH", location, _scope_of(location), body=body, headers=headers)
    if r.status_code == 416:  # the registry has another amount: ask it how much
        r.close()
        raise Retryable("HTTP 416, the upload is elsewhere than this chunk")
    registry.expect(r, what, 202).close()
    return registry.same_origin(r.headers.get("Location") or location), stop


def _status(registry: Registry, location: str, what: str) -> tuple[str, int]:
    """Where an upload stands: (its location, bytes the registry has)."""
    r = registry.expect(registry.request("GET", location, _scope_of(location)), what, 204)
    r.close()
    m = re.fullmatch(r"(?:bytes=)?0-(-?\d+)", r.headers.get("Range", "").strip())
    have = int(m.group(1)) + 1 if m else 0
    return registry.same_origin(r.headers.get("Location") or location), max(0, have)


def _body(source: Path | bytes | None) -> Callable[[], Any]:
    if isinstance(source, Path):
        return lambda: open(source, "rb")
    return lambda: source or b""


def _scope_of(location: str) -> str:
    path = urlsplit(location).path
    return push_scope(path.removeprefix("/v2/").split("/blobs/uploads", 1)[0])
