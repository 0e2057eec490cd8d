"""The lockfiles of a bundle's kept versions, read once.

Several checks need each version's ``environment.lock.yml`` (the archives it locks, the
wheels it locks); :func:`version_locks` reads every one of them once, untrusted (each
path checked to stay in the bundle, each file read with the explicit-1.0 reader's
limits), so that a caller hands the same reading to all of them.
"""

from __future__ import annotations

from pathlib import Path

from ..formats import explicit_v1
from ..fsutil import contained
from ..records import Lockfile
from . import history
from .history import BundleError, Index
from .outputs import LOCKFILE


def read_version_lock(root: Path, rel: str) -> Lockfile:
    """The lockfile of the version folder ``rel`` of the bundle at ``root``."""
    path = contained(root, f"{rel}/{LOCKFILE}")
    try:
        return explicit_v1.load(path, size_only=True)
    except OSError as e:
        raise BundleError(f"{path}: {e.strerror or e}; the bundle is incomplete") from None


def version_locks(root: Path, index: Index) -> dict[str, Lockfile]:
    """Version folder -> its lockfile, for every kept version of ``index``."""
    return {rel: read_version_lock(root, rel) for _, _, rel in history.version_paths(index)}
