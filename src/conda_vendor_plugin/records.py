"""The record type both solver backends produce and every later stage consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


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
