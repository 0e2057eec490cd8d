"""Which shards a solve needs, fetched concurrently, and the subset ``repodata.json``
built from them (CEP 16's fetch process).

From the requested names, each name's shard is fetched from every sharded
``(channel, subdir)`` whose index lists it, and the names its records depend on are
followed until none is new. Subdirs without shards take part through their full
``repodata.json`` (a record there may depend on a name only a sharded subdir has).
``constrains`` is not followed: it only narrows what is installed anyway. Virtual
packages (``__glibc``) have no shards.

For each sharded source the result is a subset ``repodata.json`` in the cache: the
index's ``info`` (without ``shards_base_url``; ``base_url`` kept when it says
something, with ``repodata_version`` 2 as CEP 15 wants), and under ``packages`` /
``packages.conda`` the shards' records as upstream wrote them, hashes in hex. The
solver reads it and ``vendor`` copies original entries from it. Within a run a
source's subset only grows (noarch is shared by every platform's solve), so the
last file written holds every entry an earlier solve used.

A source whose index or any shard cannot be used (unreadable, hash mismatch, HTTP
error) is reported in one line and read from its ``repodata.json`` instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write_text
from ..solve.order import dependency_name
from ..transport.session import RetryPolicy
from ..transport.urls import redact_url
from .cache_sweep import SHARD_FILES, sweep, touch
from .shards import ShardCache, ShardError, ShardIndex, index_url

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (channel URL, with credentials; subdir)
Shard = Mapping[str, Mapping[str, Mapping[str, Any]]]
FullDepends = Callable[[Key, str], Iterable[str]]
WORKERS = 16


def dep_name(spec: str) -> str | None:
    """The package name a match spec asks for (:func:`.order.dependency_name`); None for
    virtual packages (``__glibc``), which have no shards, and for an empty spec."""
    name = dependency_name(spec) if isinstance(spec, str) else ""
    return name if name and not name.startswith("__") else None


def _shard_depends(shard: Shard) -> set[str]:
    names = set()
    for section in shard.values():
        for record in section.values():
            depends = record.get("depends")
            if isinstance(depends, list):
                names.update(n for n in map(dep_name, depends) if n)
    return names


class _Pool:
    """At most ``size`` daemon threads running submitted calls; results come back in the
    order they finish. Daemon threads, as the downloader's: on Ctrl-C the main thread
    leaves at once, and a read still blocked cannot hold the exit."""

    def __init__(self, size: int) -> None:
        self.size, self.busy = size, 0
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[Any, Any, BaseException | None]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, tag: Any, fn: Callable[..., Any], *args: Any) -> None:
        if len(self._threads) < self.size:
            t = threading.Thread(target=self._work, name="shards", daemon=True)
            self._threads.append(t)
            t.start()
        self.busy += 1
        self._jobs.put((tag, fn, args))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            tag, fn, args = job
            try:
                self._done.put((tag, fn(*args), None))
            except BaseException as e:  # handed to the main thread
                self._done.put((tag, None, e))

    def next_done(self) -> tuple[Any, Any, BaseException | None]:
        """``(tag, result, exception)`` of the next call to finish."""
        while True:
            try:
                item = self._done.get(timeout=0.1)  # short waits: Ctrl-C is seen at once
            except queue.Empty:
                continue
            self.busy -= 1
            return item

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)


@dataclass(frozen=True)
class _Walk:
    """What one walk over the names works with."""

    pool: _Pool
    sharded: Mapping[Key, ShardIndex]
    full: Sequence[Key]  # sources read from their repodata.json
    full_depends: FullDepends | None
    extra: Mapping[str, Sequence[str]]
    follow: bool


class ShardedRepodata:
    """Sharded repodata for one run: each source's index (asked once), the shards
    fetched so far, and the sources that fell back to ``repodata.json``."""

    def __init__(
        self,
        session: Any,
        cache_dir: Path,
        policy: RetryPolicy | None = None,
        offline: bool = False,
        workers: int = WORKERS,
    ) -> None:
        self.session, self.offline, self.workers = session, offline, workers
        self.policy = policy or RetryPolicy()
        self.cache = ShardCache(cache_dir)
        self._indexes: dict[Key, ShardIndex | None] = {}
        self._shards: dict[Key, dict[str, Shard]] = {}

    def subsets(
        self,
        keys: Sequence[Key],
        roots: Iterable[str],
        full_depends: FullDepends | None = None,
        follow: bool = True,
        extra: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[Key, Path]:
        """``{source: subset repodata.json}`` for each of ``keys`` that offers usable
        shards, holding the shards of ``roots`` and (``follow``) of every name they
        reach through ``depends`` (and ``extra``: edges the solver adds, such as
        python -> pip). ``full_depends(key, name)`` gives the depends of ``name``'s
        records in a source without shards."""
        keys = list(dict.fromkeys(keys))
        remote = [k for k in keys if k[0].startswith(("http://", "https://"))]
        wanted = {n for n in map(dep_name, roots) if n}
        pool = _Pool(self.workers)
        try:
            self._load_indexes(pool, remote)
            while True:
                sharded = {k: i for k in remote if (i := self._indexes.get(k)) is not None}
                if not sharded:
                    return {}
                full = [k for k in keys if k not in sharded] if full_depends and follow else []
                walk = _Walk(pool, sharded, full, full_depends, extra or {}, follow)
                failed = self._walk(walk, wanted)
                if not failed:
                    break
                for key, error in failed.items():  # read from repodata.json from now on
                    log.warning("%s; reading repodata.json instead", error)
                    self._indexes[key] = None
                    self._shards.pop(key, None)
        finally:
            pool.close()
        written = {k: self._write(k, i) for k, i in sharded.items()}
        sweep(self.cache.root, SHARD_FILES)
        return written

    def _load_indexes(self, pool: _Pool, keys: Sequence[Key]) -> None:
        """Each new source's index, all at the same time (None: no usable index)."""
        for key in keys:
            if key not in self._indexes:
                args = (self.session, index_url(*key), self.policy, self.offline)
                pool.submit(key, self.cache.fetch_index, *args)
        while pool.busy:
            key, index, error = pool.next_done()
            if isinstance(error, ShardError):
                log.warning("%s; reading repodata.json instead", error)
            elif error is not None:
                raise error
            self._indexes[key] = index

    def _walk(self, w: _Walk, roots: set[str]) -> dict[Key, ShardError]:
        """Fetch the shards reachable from ``roots`` (each name once, shards of all
        sources at the same time); the sources that failed, with why."""
        failed: dict[Key, ShardError] = {}
        seen: set[str] = set()
        todo = list(roots)

        def reached(names: Iterable[str]) -> None:
            if w.follow:
                todo.extend(n for n in names if n not in seen)

        while todo or w.pool.busy:
            while todo:
                name = todo.pop()
                if name in seen:
                    continue
                seen.add(name)
                reached(w.extra.get(name, ()))
                for key, index in w.sharded.items():
                    have = self._shards.setdefault(key, {})
                    if name in have:
                        reached(_shard_depends(have[name]))
                    elif name in index.shards:
                        args = (self.session, index, name, self.policy, self.offline)
                        w.pool.submit((key, name), self.cache.fetch_shard, *args)
                for key in w.full:
                    assert w.full_depends is not None
                    reached(n for n in map(dep_name, w.full_depends(key, name)) if n)
            if w.pool.busy:
                (key, name), shard, error = w.pool.next_done()
                if isinstance(error, ShardError):
                    failed.setdefault(key, error)
                elif error is not None:
                    raise error
                else:
                    self._shards[key][name] = shard
                    reached(_shard_depends(shard))
        return failed

    def _write(self, key: Key, index: ShardIndex) -> Path:
        """The subset repodata.json of every shard of ``key`` fetched in this run."""
        shards = self._shards.get(key, {})
        sections = [shards[name] for name in sorted(shards)]
        return write_subset(self.cache.root, key, index.info, sections)


def write_subset(
    directory: Path, key: Key, info: Mapping[str, Any], shards: Iterable[Shard]
) -> Path:
    """Write the subset repodata.json of ``shards`` (each ``{"packages": ...,
    "packages.conda": ...}``, records in hex) of source ``key`` with the index's ``info``
    into ``directory``, named by its content; its path. Both modes write it this way."""
    info = {k: v for k, v in info.items() if k != "shards_base_url"}
    if not info.get("base_url"):
        info.pop("base_url", None)
    info.setdefault("subdir", key[1])
    doc: dict[str, Any] = {"info": info, "packages": {}, "packages.conda": {}}
    for shard in shards:
        for section in ("packages", "packages.conda"):
            doc[section].update(shard.get(section) or {})
    doc["repodata_version"] = 2 if "base_url" in info else 1
    text = json.dumps(doc, ensure_ascii=False)
    tag = hashlib.sha256(f"{redact_url(key[0])}\n{key[1]}\n{text}".encode()).hexdigest()
    path = directory / f"subset-{tag[:32]}.json"
    if path.exists():
        touch(path)  # in use: no sweep removes it
    else:
        atomic_write_text(path, text)
    return path
