"""conda-lock's ``conda-lock.yml``, version 1 (conda-lock and conda-lockfiles' exporter), read.

The document has ``version: 1``, ``metadata`` (``content_hash`` per platform,
``channels``, ``platforms``, ``sources``) and a flat ``package`` list; each entry names
its ``platform`` and ``manager`` (``conda`` or ``pip``).

* ``conda`` entries become :class:`LockedPackage`: the build comes from the archive name
  (the format has no build field) and the subdir from the URL's directory, never from
  ``platform:``, which names the *target* platform even for noarch packages;
  ``dependencies`` (``{name: spec}``) become ``"name spec"`` strings.
* ``pip`` entries that are wheels with a sha256 become :class:`~..pypi.records.Wheel` in
  ``Lockfile.pypi``; the others (sdists, VCS URLs) :class:`ForeignPackage`
  (``manager="pip"``): listed, not vendored.
* Every category is read (``main``, ``dev``, extras) and ``optional`` is ignored: the
  whole lock is vendored, so any category can be installed from the bundle later.
* Packages keep the file's order (conda-lock sorts them by name: not an install order).
* conda-lock's ``content_hash`` is its own, not our input hash: ``input_hash`` is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import LockfileError, quoted
from ..pypi.records import Wheel
from ..records import ForeignPackage, LockedPackage, Lockfile
from ._package import (
    check_platform,
    fail,
    load_document,
    locked_package,
    platform_problem,
    stripped,
    unique,
)
from ._wheel import wheel_or_foreign

NAME = "conda-lock-v1"
VERSION = 1
MANAGERS = ("conda", "pip")


def read(text: str, source: str = "<conda-lock>", path: Path | None = None) -> Lockfile:
    """Parse conda-lock v1 YAML ``text``; every failure is one :class:`LockfileError` line."""
    return parse(load_document(text, source), source=source, path=path)


def parse(data: Any, source: str = "<conda-lock>", path: Path | None = None) -> Lockfile:
    """Build a :class:`Lockfile` from a loaded conda-lock v1 document."""
    if not isinstance(data, Mapping):
        raise LockfileError(f"{source}: not a conda-lock lockfile (top level is not a mapping)")
    version = data.get("version")
    if version != VERSION or isinstance(version, bool):
        raise fail(
            source,
            "version",
            f"conda-lock version {quoted(version)} is not supported; "
            f"this reader reads version {VERSION}",
        )
    meta = data.get("metadata")
    if not isinstance(meta, Mapping):
        raise fail(source, "metadata", "must be a mapping with channels and platforms")
    entries = data.get("package")
    if not isinstance(entries, list):
        raise fail(source, "package", "must be the list of locked packages")
    packages: dict[str, list[LockedPackage]] = {p: [] for p in _platforms(meta, source)}
    foreign: list[ForeignPackage] = []
    wheels: dict[str, list[Wheel]] = {}
    for i, entry in enumerate(entries):
        item = _entry(entry, source, f"package[{i}]")
        if isinstance(item, ForeignPackage):
            foreign.append(item)
        elif isinstance(item[1], Wheel):
            wheels.setdefault(item[0], []).append(item[1])
        else:
            packages.setdefault(item[0], []).append(item[1])
    return Lockfile(
        input_hash=None,
        channels=_channels(meta.get("channels"), source),
        packages={platform: tuple(pkgs) for platform, pkgs in packages.items()},
        path=path,
        foreign=tuple(foreign),
        format=NAME,
        pypi={platform: tuple(found) for platform, found in wheels.items()},
    )


def _platforms(meta: Mapping[str, Any], source: str) -> tuple[str, ...]:
    platforms = meta.get("platforms", [])
    if not isinstance(platforms, list):
        raise fail(source, "metadata.platforms", "must be a list of platforms")
    for i, p in enumerate(platforms):
        problem = platform_problem(p)
        if problem:
            raise fail(source, f"metadata.platforms[{i}]", problem)
    return unique(platforms)


def _channels(channels: Any, source: str) -> tuple[str, ...]:
    """Channel URLs or names, in order: ``[{url: ...}]`` or (older files) ``[name, ...]``."""
    if channels is None:
        return ()
    if not isinstance(channels, list):
        raise fail(source, "metadata.channels", "must be a list of channels")
    out = []
    for i, c in enumerate(channels):
        url = c.get("url") if isinstance(c, Mapping) else c
        if not isinstance(url, str) or not url:
            raise fail(source, f"metadata.channels[{i}]", "must be a channel name or {url: ...}")
        out.append(stripped(url, source, f"metadata.channels[{i}]").rstrip("/"))
    return unique(out)


def _req_str(entry: Mapping[str, Any], key: str, source: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise fail(source, f"{where}.{key}", f"must be a non-empty string, got {quoted(value)}")
    return value


def _entry(
    entry: Any, source: str, where: str
) -> ForeignPackage | tuple[str, LockedPackage | Wheel]:
    """One ``package`` entry: a conda package or a wheel with its target platform, or a
    pip package that is not a wheel."""
    if not isinstance(entry, Mapping):
        raise fail(source, where, "must be a mapping with name, version, manager, platform, url")
    name = _req_str(entry, "name", source, where)
    version = _req_str(entry, "version", source, where)
    platform = _req_str(entry, "platform", source, where)
    problem = platform_problem(platform)
    if problem:
        raise fail(source, f"{where}.platform", problem)
    manager = entry.get("manager")
    if manager not in MANAGERS:
        raise fail(source, f"{where}.manager", f"{quoted(manager)} is not one of conda, pip")
    hashes = entry.get("hash") or {}
    if not isinstance(hashes, Mapping):
        raise fail(source, f"{where}.hash", "must be a mapping with md5 and/or sha256")
    if manager == "pip":
        url = _req_str(entry, "url", source, where)
        found = wheel_or_foreign(
            "pip",
            source,
            where,
            name=name,
            version=version,
            platform=platform,
            url=url,
            sha256=hashes.get("sha256"),
        )
        return found if isinstance(found, ForeignPackage) else (platform, found)
    package = locked_package(
        source,
        where,
        entry.get("url"),
        name=name,
        version=version,
        sha256=hashes.get("sha256"),
        md5=hashes.get("md5"),
        depends=_depends(entry.get("dependencies"), source, f"{where}.dependencies"),
    )
    check_platform(package, platform, source, where)
    return platform, package


def _depends(deps: Any, source: str, where: str) -> tuple[str, ...]:
    """``{name: spec}`` as match spec strings: ``{'libgcc': '>=13'}`` -> ``('libgcc >=13',)``."""
    if deps is None:
        return ()
    if not isinstance(deps, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in deps.items()
    ):
        raise fail(source, where, "must map each dependency's name to its version spec")
    return tuple(f"{name} {spec}".strip() for name, spec in deps.items())
