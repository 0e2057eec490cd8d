"""The lockfiles of a bundle's kept versions, read once.

Several checks need each version's ``environment.lock.yml`` (the archives it locks, the
wheels it locks); :func:`version_locks` reads every one of them once, untrusted (each
path checked to stay in the bundle, each file read with the explicit-1.0 reader's
limits), so that a caller hands the same reading to all of them.

One command that changes a bundle still meets each lockfile more than once: ``vendor``
into a bundle checks the bundle's versions before it fetches anything, merges their copies
in staging, and verifies the staged bundle before the swap. Inside :func:`parsed_once`
(the bundle transaction, :func:`.transaction.begin`) each time the file's bytes are read
and hashed again, but bytes parsed already are not parsed again: the YAML parse is most of
a lockfile's cost (0.14 s for 300 packages), and a bundle's history holds many versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from ..errors import LockfileError
from ..formats import explicit_v1
from ..fsutil import contained
from ..records import Lockfile
from ..yamlfile import read_document
from . import history
from .history import Index
from .outputs import LOCKFILE

_parsed: ContextVar[dict[bytes, Lockfile] | None] = ContextVar("parsed_lockfiles", default=None)


@contextmanager
def parsed_once() -> Iterator[None]:
    """Within: a version's lockfile whose very bytes were parsed already (the same
    version, or its copy in staging) is not parsed again; forgotten on the way out of
    the outermost scope (an inner one shares it)."""
    if _parsed.get() is not None:
        yield
        return
    token = _parsed.set({})
    try:
        yield
    finally:
        _parsed.reset(token)


def read_version_lock(root: Path, rel: str) -> Lockfile:
    """The lockfile of the version folder ``rel`` of the bundle at ``root``."""
    path = contained(root, f"{rel}/{LOCKFILE}")
    text = read_document(path, LockfileError, "lockfile", "the bundle is incomplete")
    seen = _parsed.get()
    key = hashlib.sha256(text.encode()).digest()
    if seen is not None and key in seen:
        return replace(seen[key], path=path)
    lock = explicit_v1.read(text, source=str(path), path=path, size_only=True)
    if seen is not None:  # shared from now on: its mappings read-only (the rest is frozen)
        packages, pypi = MappingProxyType(dict(lock.packages)), MappingProxyType(dict(lock.pypi))
        seen[key] = lock = replace(lock, packages=packages, pypi=pypi)
    return lock


def version_locks(root: Path, index: Index) -> dict[str, Lockfile]:
    """Version folder -> its lockfile, for every kept version of ``index``."""
    return {rel: read_version_lock(root, rel) for _, _, rel in history.version_paths(index)}
