"""CEP 16 sharded repodata without conda: the shard index and single shards, fetched,
checked and cached.

A channel that offers ``<subdir>/repodata_shards.msgpack.zst`` maps each package name
to the sha256 of a shard, ``<shards_base_url><sha256 hex>.msgpack.zst``: the records of
that one name as ``repodata.json`` would hold them, msgpack-encoded, zstd-compressed,
with ``sha256`` and ``md5`` as raw bytes. :mod:`.shard_subset` decides which shards a
solve needs and writes the subset ``repodata.json`` the solver and the entry copier read.

Everything here is untrusted input, handled as :mod:`.repodata` handles a repodata
document: bodies and decompressed sizes are bounded, an HTML page is named as one,
nothing partial is cached, and every request goes through the session and the one
retry policy. The index is cached with its ETag / Last-Modified and asked again with a
conditional request; shards are cached by their sha256 (content-addressed) and checked
against the index's hash before every use, from the network or the cache. Every cached
file a run uses is touched: :mod:`.cache_sweep` removes those no run used for two weeks.

Whatever makes shards unusable raises :class:`ShardError` (a :class:`ChannelError`
naming the URL); the caller falls back to ``repodata.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from ..errors import ChannelError
from ..fsutil import TooLarge, atomic_write_bytes, atomic_write_text, read_limited
from ..transport.failures import ChannelUnreachable, retryable_status
from ..transport.session import (
    Retryable,
    RetryPolicy,
    request_failed,
    retry_after_seconds,
    with_retries,
)
from ..transport.urls import redact_url
from .cache_sweep import touch
from .repodata import ZST_RECHECK, _zstd_module

_T = TypeVar("_T")

INDEX_NAME = "repodata_shards.msgpack.zst"
# conda's own name for the setting (``repodata_use_shards``, ``--no-repodata-use-shards``):
# the same variable switches shards off in both modes.
USE_SHARDS_ENV = "CONDA_REPODATA_USE_SHARDS"
_FALSE = ("0", "false", "no", "off")

# Bounds, decoded and on the wire (conda-forge linux-64, 2025: the index is ~0.6 MB and the
# largest shard, vim, ~2.6 MB decoded).
MAX_INDEX_BYTES = 64 << 20
MAX_SHARD_BYTES = 16 << 20
CHUNK = 1 << 16
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
DIGEST_BYTES = 32
# A package name as conda writes them; anything else in an index (``/``, ``..``, spaces,
# control characters) is never looked up.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+\-]{0,254}")


class ShardError(ChannelError):
    """Sharded repodata that cannot be used (the caller falls back to repodata.json)."""


def shards_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """False when ``$CONDA_REPODATA_USE_SHARDS`` says no (``0``, ``false``, ``no``, ``off``)."""
    env = os.environ if environ is None else environ
    return env.get(USE_SHARDS_ENV, "").strip().lower() not in _FALSE


def usable_name(name: object) -> bool:
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and ".." not in name


@dataclass(frozen=True)
class ShardIndex:
    """One subdir's shard index. ``url`` and ``shards_base`` may carry credentials (they
    are fetched from, never written); ``info`` is the index's ``info`` as written."""

    url: str
    info: Mapping[str, Any]
    shards: Mapping[str, bytes]  # package name -> sha256 of its shard
    shards_base: str

    def shard_url(self, name: str) -> str:
        return f"{self.shards_base}{self.shards[name].hex()}.msgpack.zst"


def index_url(channel_url: str, subdir: str) -> str:
    return f"{channel_url.rstrip('/')}/{subdir}/{INDEX_NAME}"


# -- decoding ---------------------------------------------------------------------------


def _decompress(body: bytes, limit: int, url: str) -> bytes:
    """``body`` zstd-decompressed, refusing more than ``limit`` bytes (a bomb) and a
    window larger than that needs."""
    zstd = _zstd_module()
    if zstd is None:
        raise ShardError(f"{redact_url(url)}: no zstd module to read it")
    if not body.startswith(ZSTD_MAGIC):
        what = (
            "looks like an HTML page (a proxy or login page?)"
            if body.lstrip()[:1] == b"<"
            else "is not zstd"
        )
        raise ShardError(f"{redact_url(url)}: not sharded repodata: the answer {what}")
    window = max(10, math.ceil(math.log2(limit)))
    options = {zstd.DecompressionParameter.window_log_max: window}
    try:
        with zstd.ZstdFile(io.BytesIO(body), options=options) as f:
            data = f.read(limit + 1)
    except (EOFError, zstd.ZstdError) as e:
        raise ShardError(f"{redact_url(url)}: not valid zstd ({type(e).__name__})") from None
    if len(data) > limit:
        raise ShardError(f"{redact_url(url)}: refused: it decompresses past {limit} bytes")
    return data


def _unpack(data: bytes, url: str) -> Any:
    try:
        import msgpack
    except ImportError:
        raise ShardError(f"{redact_url(url)}: msgpack is not installed") from None
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as e:  # msgpack raises ValueError and several types of its own
        raise ShardError(f"{redact_url(url)}: not valid msgpack ({type(e).__name__})") from None


def _digest(value: object) -> bytes | None:
    """A shard hash: 32 raw bytes (CEP 16), or 64 hex characters (written by some tools)."""
    if isinstance(value, (bytes, bytearray)) and len(value) == DIGEST_BYTES:
        return bytes(value)
    if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return bytes.fromhex(value)
    return None


def parse_index(body: bytes, url: str) -> ShardIndex:
    """A shard index from its compressed bytes; names that are not package names are
    dropped (never fetched), anything else unexpected is a :class:`ShardError`."""
    doc = _unpack(_decompress(body, MAX_INDEX_BYTES, url), url)
    where = redact_url(url)
    if not isinstance(doc, dict) or not isinstance(doc.get("shards"), dict):
        raise ShardError(f"{where}: not a shard index (no 'shards' map)")
    if doc.get("version", 1) != 1:
        raise ShardError(f"{where}: shard index version {doc.get('version')!r} is not 1")
    info = doc.get("info", {})
    if not isinstance(info, dict) or not _json_safe(info):
        raise ShardError(f"{where}: the index's 'info' is not a map of plain values")
    shards: dict[str, bytes] = {}
    for name, value in doc["shards"].items():
        digest = _digest(value)
        if digest is None:
            raise ShardError(f"{where}: the shard hash of {name!r:.80} is not a sha256")
        if usable_name(name):
            shards[name] = digest
    base = info.get("shards_base_url") or "./"
    if not isinstance(base, str):
        raise ShardError(f"{where}: 'shards_base_url' is not a string")
    shards_base = urljoin(url, base)
    if urlsplit(shards_base).scheme not in ("http", "https"):
        raise ShardError(f"{where}: 'shards_base_url' {base!r:.80} is not an http(s) URL")
    if not shards_base.endswith("/"):
        shards_base += "/"
    return ShardIndex(url=url, info=info, shards=shards, shards_base=shards_base)


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def hex_bytes(record: Mapping[str, Any]) -> dict[str, Any]:
    """A shard's record as ``repodata.json`` holds it: bytes values (CEP 16's ``sha256``
    and ``md5``) as lowercase hex."""
    return {k: v.hex() if isinstance(v, (bytes, bytearray)) else v for k, v in record.items()}


def parse_shard(body: bytes, index: ShardIndex, name: str) -> dict[str, dict[str, Any]]:
    """``{"packages": {fn: record}, "packages.conda": {fn: record}}`` of one shard, after
    its sha256 matched the index. Records stay as written, except that bytes values
    (CEP 16's ``sha256`` and ``md5``, rattler's ``legacy_bz2_md5``) become lowercase hex,
    as ``repodata.json`` holds them."""
    url = index.shard_url(name)
    where = redact_url(url)
    doc = _unpack(_decompress(body, MAX_SHARD_BYTES, url), url)
    if not isinstance(doc, dict):
        raise ShardError(f"{where}: not a shard (not a map)")
    out: dict[str, dict[str, Any]] = {}
    for section in ("packages", "packages.conda"):
        entries = doc.get(section, {})
        if not isinstance(entries, dict):
            raise ShardError(f"{where}: '{section}' is not a map")
        out[section] = {}
        for fn, record in entries.items():
            if not isinstance(record, dict):
                raise ShardError(f"{where}: the record of {fn!r:.80} is not a map")
            record = hex_bytes(record)
            if record.get("name") != name:
                raise ShardError(
                    f"{where}: the shard of {name!r} holds {fn!r:.80} named "
                    f"{record.get('name')!r:.80}"
                )
            if not _json_safe(record):
                raise ShardError(f"{where}: the record of {fn!r:.80} is not plain JSON data")
            out[section][fn] = record
    return out


# -- fetching ---------------------------------------------------------------------------


def get_bounded(
    session: Any,
    url: str,
    policy: RetryPolicy,
    limit: int,
    headers: Mapping[str, str] | None = None,
    channel: str | None = None,
) -> tuple[int, Mapping[str, str], bytes]:
    """``(status, headers, body)`` of one GET, the body read up to ``limit`` bytes (and
    only for 200); cuts, stalls, 408, 429 and 5xx are tried again as ``policy`` says. A
    server that never answered is :class:`ChannelUnreachable`, the channel's answer (no
    fall-back to its repodata.json, which would wait as long again)."""
    return with_retries(
        policy,
        lambda: _get_once(session, url, policy, limit, headers or {}),
        lambda e, tries: (
            ChannelUnreachable(channel or channel_of(url), str(e), tries)
            if e.unreachable
            else ShardError(f"{redact_url(url)}: {e} (gave up after {tries})")
        ),
    )


def channel_of(url: str) -> str:
    """The channel of a ``<channel>/<subdir>/<file>`` URL."""
    return url.rsplit("/", 2)[0]


def _get_once(
    session: Any, url: str, policy: RetryPolicy, limit: int, headers: Mapping[str, str]
) -> tuple[int, Mapping[str, str], bytes]:
    import requests
    import urllib3

    try:
        with session.get(url, headers=dict(headers), stream=True, timeout=policy.timeout) as r:
            status = r.status_code
            if retryable_status(status):
                raise Retryable(f"HTTP {status}", retry_after_seconds(r.headers))
            if status != 200:
                return status, r.headers, b""
            body = bytearray()
            while chunk := r.raw.read(CHUNK, decode_content=True):
                body += chunk
                if len(body) > limit:
                    raise ShardError(f"{redact_url(url)}: refused: larger than {limit} bytes")
            return status, r.headers, bytes(body)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as e:
        # refused, reset, cut short, timed out; or a redirect no client may follow
        raise request_failed(e, lambda what: ShardError(f"{redact_url(url)}: {what}")) from None


class ShardCache:
    """Shard indexes (with their HTTP validators) and shards (by sha256) under
    ``<cache_dir>/shards``."""

    def __init__(self, cache_dir: Path) -> None:
        self.root = cache_dir / "shards"

    def _index_paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(redact_url(url).encode()).hexdigest()[:32]
        return self.root / f"index-{key}.msgpack.zst", self.root / f"index-{key}.state.json"

    def fetch_index(
        self, session: Any, url: str, policy: RetryPolicy, offline: bool = False
    ) -> ShardIndex | None:
        """The index at ``url``, revalidated (ETag / Last-Modified) or fetched; None when
        the channel offers none (404, then not asked again for a week)."""
        body_path, state_path = self._index_paths(url)
        state = _read_state(state_path)
        cached = _read_cached(body_path, MAX_INDEX_BYTES) if state.get("found") else None
        if offline:
            if cached is None:
                return None
            return _used(parse_index(cached, url), body_path, state_path)
        since = state.get("missing_since")
        if isinstance(since, (int, float)) and time.time() - since < ZST_RECHECK:
            return _used(None, state_path)
        headers = {}
        if cached is not None and state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if cached is not None and state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        status, answer, body = get_bounded(session, url, policy, MAX_INDEX_BYTES, headers)
        if status == 304 and cached is not None:
            return _used(parse_index(cached, url), body_path, state_path)
        if status == 404:
            atomic_write_text(
                state_path, json.dumps({"found": False, "missing_since": time.time()})
            )
            return None
        if status != 200:
            raise ShardError(f"{redact_url(url)}: HTTP {status}")
        index = parse_index(body, url)  # only a usable index replaces the cache
        atomic_write_bytes(body_path, body)
        new_state = {
            "url": redact_url(url),
            "found": True,
            "etag": answer.get("ETag"),
            "last_modified": answer.get("Last-Modified"),
        }
        atomic_write_text(state_path, json.dumps(new_state))
        return index

    def fetch_shard(
        self,
        session: Any,
        index: ShardIndex,
        name: str,
        policy: RetryPolicy,
        offline: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """The shard of ``name``: from the cache when a file there has the index's hash,
        else fetched, checked against that hash and cached."""
        digest = index.shards[name]
        path = self.root / f"{digest.hex()}.msgpack.zst"
        cached = _read_cached(path, MAX_SHARD_BYTES)
        if cached is not None and hashlib.sha256(cached).digest() == digest:
            return _used(parse_shard(cached, index, name), path)
        url = index.shard_url(name)
        if offline:
            raise ShardError(f"{redact_url(url)}: not in the cache and --offline was given")
        status, _, body = get_bounded(
            session, url, policy, MAX_SHARD_BYTES, channel=channel_of(index.url)
        )
        if status != 200:
            raise ShardError(f"{redact_url(url)}: HTTP {status} fetching the shard of {name!r}")
        got = hashlib.sha256(body).hexdigest()
        if got != digest.hex():
            raise ShardError(
                f"{redact_url(url)}: the shard of {name!r} has sha256 {got}, not the "
                f"{digest.hex()} the index gives"
            )
        shard = parse_shard(body, index, name)
        atomic_write_bytes(path, body)
        return shard


def _used(value: _T, *paths: Path) -> _T:
    """``value``, read from the cached ``paths``: touched so no sweep removes them."""
    for path in paths:
        touch(path)
    return value


def _read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _read_cached(path: Path, limit: int) -> bytes | None:
    try:
        return read_limited(path, limit)
    except (OSError, TooLarge):
        return None
