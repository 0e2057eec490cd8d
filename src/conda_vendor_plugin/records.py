"""The values every stage passes on: locked packages, a platform's solution, a whole lock.

They import nothing of ours but :mod:`.spec`-free helpers: a backend produces them, the
format readers build them, the writers and the bundle steps consume them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__

PACKAGE_SUFFIXES = (".conda", ".tar.bz2")


@dataclass(frozen=True)
class LockedPackage:
    """One solved package: enough to fetch it, verify it and find its repodata entry.

    ``channel`` and ``url`` never carry credentials (see :mod:`.urls`).
    """

    name: str
    version: str
    build: str
    subdir: str
    channel: str
    fn: str
    url: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    depends: tuple[str, ...] = ()

    @property
    def dist(self) -> str:
        return f"{self.name}-{self.version}-{self.build}"


@dataclass(frozen=True)
class Solution:
    """A backend's answer for one target platform.

    ``packages`` are in install order. ``repodata`` maps ``(channel, subdir)`` to the
    repodata.json file the solver read, so original entries can be copied later.
    """

    platform: str
    packages: tuple[LockedPackage, ...]
    repodata: Mapping[tuple[str, str], Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Lockfile:
    """A whole lock: per target platform, the full resolution in install order.

    Every format reader builds one and every writer takes one.
    """

    input_hash: str
    channels: tuple[str, ...]
    packages: Mapping[str, tuple[LockedPackage, ...]]
    name: str | None = None
    tool_version: str = __version__
    path: Path | None = field(default=None, compare=False)

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(self.packages)
