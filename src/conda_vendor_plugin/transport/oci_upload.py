"""One blob into a registry: ``POST`` an upload (asking the registry to mount the blob
from a repository that holds it instead: nothing then moves), then one ``PUT`` with the
bytes, or, for a blob larger than the registry's ``chunk_size``, ``PATCH`` chunks then an
empty ``PUT``.

After a chunk fails (a cut, a 5xx, a 416) the upload's status is asked (``GET`` the upload:
``Range: 0-N``) and the next try sends from byte ``N+1``: the registry's word, not ours,
decides where a retried upload goes on. The same across runs: a chunked upload's location
is remembered (:mod:`.oci_sessions`) until the blob is complete, and the next run that
finds the blob missing asks the registry where that upload stands and sends only the rest
(a registry that no longer knows the upload answers 404: a new one starts). Every request
is the registry's (:meth:`~.oci.Registry.request`: credentials, TLS, retries); an upload
``Location`` on another host is refused there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..errors import RegistryError
from .oci import Registry
from .oci_names import pull_scope, push_scope
from .session import Retryable

OCTETS = {"Content-Type": "application/octet-stream"}


def upload_blob(
    registry: Registry,
    repo: str,
    digest: str,
    size: int,
    source: Path | bytes,
    mount_from: str | None = None,
) -> bool:
    """Upload one blob from ``source`` (a file, or bytes up to one chunk), unless the
    registry has it: False when nothing was sent.

    The upload's ``POST`` asks the registry to mount the blob from ``mount_from`` (another
    repository known to hold it; by default ``repo`` itself): a registry that has it there
    answers 201 and no byte moves, one that has not (or does not mount) opens the upload.
    A blob larger than one chunk is asked for with ``HEAD`` first."""
    what = f"upload {repo}@{digest}"
    if size > registry.chunk_size:
        return _upload_chunked(registry, repo, digest, size, source, mount_from, what)
    start = _start(registry, repo, digest, mount_from or repo, what)
    if start is None:
        return False
    registry.call(what, lambda: _finish(registry, start, digest, source, what))
    return True


def _upload_chunked(
    registry: Registry,
    repo: str,
    digest: str,
    size: int,
    source: Path | bytes,
    mount_from: str | None,
    what: str,
) -> bool:
    """``HEAD`` first; then the upload a previous run left (where the registry says it
    stands), else a new one; its location remembered after every chunk until done."""
    if not isinstance(source, Path):
        raise TypeError("a blob larger than one chunk is uploaded from a file")
    sessions = registry.sessions
    if registry.has_blob(repo, digest):
        if sessions is not None:
            sessions.forget(repo, digest)
        return False
    resumed = _resumed(registry, repo, digest, what)
    location, offset = resumed or (_start(registry, repo, digest, mount_from or repo, what), 0)
    if location is None:
        return False  # mounted

    def remember(where: str) -> None:
        if sessions is not None:
            sessions.save(repo, digest, where)

    remember(location)
    location = _chunks(registry, location, source, size, offset, remember, what)
    registry.call(what, lambda: _finish(registry, location, digest, None, what))
    if sessions is not None:
        sessions.forget(repo, digest)
    return True


def _resumed(registry: Registry, repo: str, digest: str, what: str) -> tuple[str, int] | None:
    """(location, bytes the registry has) of the upload a previous run left, or None when
    there is none or the registry no longer knows it (then it is forgotten)."""
    sessions = registry.sessions
    saved = sessions.load(repo, digest) if sessions is not None else None
    if saved is None or sessions is None:
        return None
    try:
        return registry.call(what, lambda: _status(registry, saved, what))
    except RegistryError:
        sessions.forget(repo, digest)
        return None


def _start(registry: Registry, repo: str, digest: str, source: str, what: str) -> str | None:
    """The new upload's location, or None when the registry mounted the blob."""
    try:
        return registry.call(what, lambda: _post(registry, repo, digest, source, what))
    except RegistryError:
        if source == repo:
            raise
    # The credentials may not read ``source`` (a token scoped to ``repo`` alone).
    return registry.call(what, lambda: _post(registry, repo, digest, repo, what))


def _post(registry: Registry, repo: str, digest: str, source: str, what: str) -> str | None:
    query = urlencode({"mount": digest, "from": source})
    scope = push_scope(repo) if source == repo else f"{push_scope(repo)} {pull_scope(source)}"
    r = registry.request("POST", f"/v2/{repo}/blobs/uploads/?{query}", scope)
    if r.status_code == 201:
        r.close()
        return None
    registry.expect(r, what, 202).close()
    return registry.same_origin(r.headers.get("Location") or "")


def _finish(
    registry: Registry, location: str, digest: str, source: Path | bytes | None, what: str
) -> None:
    sep = "&" if "?" in location else "?"
    url = f"{location}{sep}digest={digest}"
    r = registry.request("PUT", url, _scope_of(location), body=_body(source), headers=OCTETS)
    registry.expect(r, what, 201).close()


def _chunks(
    registry: Registry,
    location: str,
    path: Path,
    size: int,
    offset: int,
    remember: Callable[[str], None],
    what: str,
) -> str:
    """PATCH ``path`` from ``offset`` in chunks; the location of the upload after the last
    one (each new location passed to ``remember``)."""
    state: dict[str, Any] = {"location": location, "offset": offset, "sure": True}

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
        remember(state["location"])

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
