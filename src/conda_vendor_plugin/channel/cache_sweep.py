"""Old files of the shard cache removed, so that it does not grow without bound.

Shards are cached by their sha256 and subset ``repodata.json`` files by a hash of their
content: each change upstream adds files and nothing ever replaces them (a daily lock
against conda-forge would add a subset file a day). So a run touches every such file it
uses, and, at most once a day per directory, removes those no run has used for
:data:`MAX_AGE`. A file a run is using was touched by it, so is not removed under it; a
shard removed that is needed again is fetched again. Only regular files whose names the
plugin writes are removed: never a link, a directory or another tool's file (inside
conda, subset files live in conda's own repodata cache).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path

MAX_AGE = 14 * 24 * 3600
SWEEP_EVERY = 24 * 3600
MARKER = ".conda-vendor-plugin-swept"
SHARD_FILES = ("*.msgpack.zst", "subset-*.json", "index-*.state.json")
SUBSET_FILES = ("subset-*.json",)


def touch(path: Path) -> None:
    """Mark ``path`` as used now (a read-only cache is left as it is)."""
    try:
        os.utime(path)
    except OSError:
        pass


def sweep(directory: Path, patterns: Iterable[str], now: float | None = None) -> int:
    """Remove the files of ``directory`` matching ``patterns`` unused for
    :data:`MAX_AGE`, unless a sweep ran there less than :data:`SWEEP_EVERY` ago; how many
    were removed. Never an error: a cache that cannot be cleaned still works."""
    now = time.time() if now is None else now
    marker = directory / MARKER
    try:
        if now - marker.stat().st_mtime < SWEEP_EVERY:
            return 0
    except FileNotFoundError:
        pass
    except OSError:
        return 0
    try:
        marker.touch()
        os.utime(marker, (now, now))
    except OSError:
        return 0  # not ours to clean (read-only, gone)
    removed = 0
    for pattern in patterns:
        for path in directory.glob(pattern):
            try:
                st = path.lstat()
                if stat.S_ISREG(st.st_mode) and now - st.st_mtime > MAX_AGE:
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # removed by another run meanwhile, or not ours
    return removed
