"""Fetching ``repodata.json`` without conda, and reading original entries back.

Each ``<channel>/<subdir>/repodata.json`` is streamed to a cache file (conditional
requests with ETag / Last-Modified on the next run); ``file://`` channels are read
in place. The file the solver reads is the file later stages copy entries from.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import ChannelError
from ..fsutil import atomic_write_text
from ..transport.failures import ChannelUnreachable, retryable_status, status_cause
from ..transport.session import (
    Retryable,
    RetryPolicy,
    request_failed,
    retry_after_seconds,
    with_retries,
)
from ..transport.urls import redact_url

EMPTY_REPODATA = {"packages": {}, "packages.conda": {}, "repodata_version": 1}


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "conda-vendor-plugin"


def file_url_to_path(url: str) -> Path:
    parts = urlsplit(url)
    return Path(unquote(parts.path))


def _write_empty(path: Path, subdir: str) -> Path:
    """An empty repodata document for a subdir a channel does not have."""
    atomic_write_text(path, json.dumps({**EMPTY_REPODATA, "info": {"subdir": subdir}}))
    return path


ZST_RECHECK = 7 * 24 * 3600  # seconds before a channel without repodata.json.zst is asked again
CHUNK = 1 << 20

# Bounds on one repodata document (the largest real ones, conda-forge linux-64, are a few
# hundred MB): past MAX_BYTES, or past RATIO_FLOOR bytes at more than MAX_RATIO times the
# bytes received (a decompression bomb), the fetch is refused and nothing is cached.
MAX_BYTES_ENV = "CONDA_VENDOR_MAX_REPODATA_BYTES"
DEFAULT_MAX_BYTES = 2 << 30
MAX_RATIO = 1000
RATIO_FLOOR = 64 << 20


def max_repodata_bytes() -> int:
    """The size cap on one decoded repodata document (``$CONDA_VENDOR_MAX_REPODATA_BYTES``)."""
    value = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_BYTES
    try:
        return max(1, int(value))
    except ValueError:
        raise ChannelError(f"${MAX_BYTES_ENV}={value!r}: must be a number of bytes") from None


def _zstd_module() -> Any | None:
    """``compression.zstd`` (Python 3.14+) or its backport, or None."""
    for name in ("compression.zstd", "backports.zstd"):
        try:
            return importlib.import_module(name)
        except ImportError:
            pass
    return None


class _RawBody(io.RawIOBase):
    """A response body (``Content-Encoding`` decoded) as a file the zstd reader pulls
    from; ``received`` counts the bytes that came over the wire."""

    def __init__(self, response: Any) -> None:
        self._raw = response.raw
        self._decoded = 0

    @property
    def received(self) -> int:
        tell = getattr(self._raw, "tell", None)  # urllib3: bytes pulled over the wire
        return tell() if tell is not None else self._decoded

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer), decode_content=True)
        buffer[: len(data)] = data
        self._decoded += len(data)
        return len(data)


Validator = Callable[[Path], None]


def fetch_repodata(
    session: Any,
    channel_url: str,
    subdir: str,
    cache_dir: Path,
    offline: bool = False,
    policy: RetryPolicy | None = None,
    validate: Validator | None = None,
) -> tuple[Path, bool]:
    """Return ``(path, found)`` for ``<channel_url>/<subdir>/repodata.json``.

    Over HTTP, ``repodata.json.zst`` is asked for first (when a zstd module is
    importable) and decompressed into the cache; a channel without it is remembered
    for a week. ``found`` is False when the channel has no such subdir (404, or no file
    for a ``file://`` channel); the path then points at an empty repodata document.

    Only a whole document that ``validate`` accepts (it raises :class:`ChannelError`
    otherwise) replaces the cache; cuts, stalls and 5xx are retried as ``policy`` says.
    """
    url = f"{channel_url.rstrip('/')}/{subdir}/repodata.json"
    if url.startswith("file://"):
        local = file_url_to_path(url)
        if local.is_file():
            return local, True
        empty = cache_dir / f"empty-{subdir}.json"
        return (empty if empty.exists() else _write_empty(empty, subdir)), False

    key = hashlib.sha256(url.encode()).hexdigest()[:32]
    cached = cache_dir / "repodata" / f"{key}.json"
    state_file = cached.with_suffix(".state.json")
    state: dict[str, Any] = {}
    if cached.exists() and state_file.exists():
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            state = {}
    if offline:
        if cached.exists():
            return cached, bool(state.get("found", True))
        raise ChannelError(f"{redact_url(url)}: not in the cache and --offline was given")

    now = time.time()
    no_zst_since = state.get("no_zst_since")
    zstd = None
    if not (isinstance(no_zst_since, (int, float)) and now - no_zst_since < ZST_RECHECK):
        zstd = _zstd_module()
    for suffix in (".zst", "") if zstd is not None else ("",):
        same = state.get("variant", "") == suffix  # the cached copy came from this URL
        conditional = state if same else {}
        fetch = _Fetch(
            session, channel_url, policy or RetryPolicy(), validate, zstd if suffix else None
        )
        status, headers = fetch.get(url + suffix, cached, conditional)
        if status == 304:
            return cached, True
        if status == 200:
            new_state = {
                "url": redact_url(url + suffix),
                "variant": suffix,
                "etag": headers.get("ETag"),
                "last_modified": headers.get("Last-Modified"),
                "found": True,
                "no_zst_since": None if suffix else no_zst_since,
            }
            atomic_write_text(state_file, json.dumps(new_state))
            return cached, True
        if suffix:  # no usable repodata.json.zst: repodata.json decides
            no_zst_since = now
    # 404: remember the absence too, so that --offline can tell "no such subdir" from
    # "never fetched".
    _write_empty(cached, subdir)
    state = {"url": redact_url(url), "found": False, "no_zst_since": no_zst_since}
    atomic_write_text(state_file, json.dumps(state))
    return cached, False


class _Cut(Exception):
    """A body that ended without a Content-Length and does not validate: cut short."""


class _Fetch:
    """GET one repodata URL into the cache, with the retry policy and the checks."""

    def __init__(
        self,
        session: Any,
        channel: str,
        policy: RetryPolicy,
        validate: Validator | None,
        zstd: Any,
    ) -> None:
        self.session, self.channel, self.policy = session, channel, policy
        self.validate, self.zstd = validate, zstd

    def get(
        self, url: str, cached: Path, state: Mapping[str, Any]
    ) -> tuple[int, Mapping[str, str]]:
        """``(status, headers)``: 200 (stored), 304 (cache still good), or another status
        for the caller to decide on (404; anything but 200 for the ``.zst``)."""
        return with_retries(
            self.policy,
            lambda: self._once(url, cached, state),
            lambda e, tries: (
                ChannelUnreachable(self.channel, str(e), tries)
                if e.unreachable
                else ChannelError(
                    f"{redact_url(url)}: {e} fetching repodata (gave up after {tries})"
                )
            ),
        )

    def _once(
        self, url: str, cached: Path, state: Mapping[str, Any]
    ) -> tuple[int, Mapping[str, str]]:
        import requests
        import urllib3

        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        timeout = self.policy.timeout
        try:
            with self.session.get(url, headers=headers, stream=True, timeout=timeout) as r:
                status = r.status_code
                if status == 304 and cached.exists():
                    return 304, r.headers
                if status == 200:
                    _store(r, url, cached, self.zstd, self.validate)
                    return 200, r.headers
                if self.zstd is not None or status == 404:  # .zst: repodata.json decides
                    return status, r.headers
                if retryable_status(status):
                    raise Retryable(status_cause(status), retry_after_seconds(r.headers))
                raise ChannelError(f"{redact_url(url)}: {status_cause(status)}")
        except (requests.RequestException, urllib3.exceptions.HTTPError) as e:
            raise request_failed(  # refused, reset, cut, timed out; or a hostile redirect
                e, lambda what: ChannelError(f"{redact_url(url)}: {what}")
            ) from None
        except _Cut as e:
            raise Retryable(str(e)) from None


def _store(response: Any, url: str, cached: Path, zstd: Any, validate: Validator | None) -> None:
    """Stream the body (decompressed through ``zstd`` when given) into ``cached``, with
    bounded memory, refusing it past the size and ratio caps, and keeping it only when
    it is a whole document ``validate`` accepts."""
    body = _RawBody(response)
    if zstd is not None:
        reader: Any = zstd.ZstdFile(body)
        chunks = iter(lambda: reader.read(CHUNK), b"")
    else:
        chunks = iter(lambda: body.read(CHUNK), b"")
    limit = max_repodata_bytes()
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.partial")
    written = 0
    bad_stream = (EOFError, zstd.ZstdError) if zstd is not None else ()
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                if not written:
                    _sniff(chunk, url)
                written += len(chunk)
                if written > limit or (
                    written > RATIO_FLOOR and written > MAX_RATIO * max(body.received, 1)
                ):
                    raise ChannelError(
                        f"{redact_url(url)}: refused: the repodata grows past "
                        f"{min(written, limit + 1)} bytes from {body.received} received "
                        f"(cap {limit} bytes, set ${MAX_BYTES_ENV} to change it; "
                        f"a decompression bomb?)"
                    )
                f.write(chunk)
        if not written:
            raise ChannelError(f"{redact_url(url)}: not repodata: the answer is empty")
        _check_whole(tmp, url, response, validate)
        os.replace(tmp, cached)
    except bad_stream as e:  # truncated, or not zstd at all
        raise ChannelError(
            f"{redact_url(url)}: not valid zstd-compressed repodata ({type(e).__name__})"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _sniff(first: bytes, url: str) -> None:
    """Refuse at once an answer that is not a JSON object (a proxy's or portal's page)."""
    head = first.lstrip()[:1]
    if head == b"<":
        raise ChannelError(
            f"{redact_url(url)}: not repodata: the answer looks like an HTML page (a proxy "
            f"or login page?); check the channel URL and your network's proxy settings"
        )
    if head and head != b"{":
        raise ChannelError(f"{redact_url(url)}: not repodata: the answer is not a JSON object")


def _check_whole(tmp: Path, url: str, response: Any, validate: Validator | None) -> None:
    """Run ``validate``; a body that had no Content-Length and fails is taken for a cut
    (retried), any other failure is the channel's (one line, nothing cached)."""
    if validate is None:
        return
    try:
        validate(tmp)
    except ChannelError as e:
        if "Content-Length" not in response.headers:
            raise _Cut(f"the answer ended early (no Content-Length; {e})") from None
        raise
