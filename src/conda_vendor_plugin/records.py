"""The values every stage passes on: locked packages, a platform's solution, a whole lock.

A backend or a format reader produces them; the writers and the bundle steps consume
them. Their fields come from repodata and lockfiles, which are untrusted input:
:func:`archive_name_problem` is the one check of an archive's file name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .pypi.records import Wheel

PACKAGE_SUFFIXES = (".conda", ".tar.bz2")
CHANNEL_PRIORITIES = ("strict", "flexible", "disabled")
NAME_MAX = 255  # bytes in one file name


def archive_name_problem(fn: object, name: str, version: str, build: str) -> str | None:
    """Why ``fn`` is not the plain archive file name of ``name``/``version``/``build``.

    Names come from repodata and lockfiles, which are untrusted: an archive name must be
    exactly ``<name>-<version>-<build>.conda`` (or ``.tar.bz2``), one file name with no
    ``/``, ``\\``, ``..``, ``%`` (which a URL would decode), control characters or NUL,
    at most 255 bytes.
    """
    if not isinstance(fn, str) or not fn.endswith(PACKAGE_SUFFIXES):
        return "does not end in .conda or .tar.bz2"
    if any(c in fn for c in "/\\%") or ".." in fn or any(ord(c) < 0x20 for c in fn):
        return "is not one plain file name (it has '/', '\\', '%', '..' or a control character)"
    if len(fn.encode("utf-8", "surrogateescape")) > NAME_MAX:
        return f"is longer than {NAME_MAX} bytes"
    suffix = ".conda" if fn.endswith(".conda") else ".tar.bz2"
    if fn != f"{name}-{version}-{build}{suffix}":
        return f"does not match its entry (name {name!r}, version {version!r}, build {build!r})"
    return None


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
class ForeignPackage:
    """A locked package that is not a conda package and not a vendorable wheel (``pip``/
    ``pypi`` entries of conda-lock and pixi lockfiles that are sdists, VCS or local; a
    ``pip:`` requirement left out by ``--ignore-pip-non-wheel``): listed in reports and
    manifests as not vendored, never dropped silently."""

    manager: str  # "pip" (conda-lock, or a pip: requirement left out) or "pypi" (pixi)
    name: str  # a project name, or the pip: requirement as written (credentials stripped)
    version: str  # "" when not known (a requirement left out before it was resolved)
    platform: str
    url: str  # credentials stripped; "" when none
    reason: str = ""  # why it is not a vendored wheel, when known


@dataclass(frozen=True)
class Lockfile:
    """A whole lock: per target platform, the full resolution in install order.

    Every format reader builds one and every writer takes one. ``input_hash`` is None
    when the format records none of ours (conda-lock, pixi, CEP 23 from other tools);
    ``format`` names the reader that built it (None when solved here). ``pypi`` holds,
    per platform, the wheels of the environment file's ``pip:`` section (see
    :mod:`.pypi.records`); a platform without wheels may be absent.
    """

    input_hash: str | None
    channels: tuple[str, ...]
    packages: Mapping[str, tuple[LockedPackage, ...]]
    name: str | None = None
    tool_version: str = __version__
    path: Path | None = field(default=None, compare=False)
    foreign: tuple[ForeignPackage, ...] = ()
    format: str | None = field(default=None, compare=False)
    channel_priority: str | None = None  # strict, flexible or disabled, where known
    pypi: Mapping[str, tuple[Wheel, ...]] = field(default_factory=dict)  # platform -> wheels

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(self.packages)
