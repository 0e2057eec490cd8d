"""pixi's ``pixi.lock`` (rattler-lock), versions 6 and 7, read.

Both versions hold a top-level ``packages`` list (``conda:`` or ``pypi:`` entries with
their metadata) and ``environments.<env>``: the env's ``channels`` (``[{url: ...}]``) and,
per platform, the list of packages it installs, each ``{conda: <location>}`` or
``{pypi: <location>}`` pointing into ``packages``. One environment is read (``default``
unless told otherwise).

* A conda entry's ``name``, ``version``, ``build`` and ``subdir`` are optional: absent
  (version 7 as py-rattler writes it, and most version 6 entries), they come from the
  archive name and the URL, as rattler derives them. ``channel`` likewise.
* Locations are URLs (``http``, ``https``, ``file``) or absolute paths, which rattler
  writes for ``file://`` URLs and which are read back as ``file://`` URLs.
* Version 7 names its platforms in a top-level ``platforms`` list (``{name, subdir}``);
  a platform named otherwise than its subdir is locked under the subdir.
* ``pypi`` entries that are wheels with a ``sha256`` become :class:`~..pypi.records.Wheel`
  in ``Lockfile.pypi``; the others (sdists, paths, VCS, no hash) :class:`ForeignPackage`
  (``manager="pypi"``): listed, not vendored.
* Source packages (a ``conda:`` location that is not an archive, or the ``source:`` and
  ``conda_source:`` entries of newer files) are refused when the environment uses one:
  only built archives can be vendored. Entries no selected package uses are not read.
* Packages keep the environment's order (pixi sorts them by name: not an install order).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import LockfileError, quoted
from ..pypi.records import Wheel
from ..records import PACKAGE_SUFFIXES, ForeignPackage, LockedPackage, Lockfile
from ._package import (
    check_platform,
    fail,
    load_document,
    locked_package,
    platform_problem,
    shown,
    string_list,
    stripped,
    unique,
)
from ._wheel import wheel_or_foreign

NAME_V6 = "pixi-lock-v6"
NAME_V7 = "pixi-lock-v7"
NAMES = {6: NAME_V6, 7: NAME_V7}
DEFAULT_ENVIRONMENT = "default"
SOURCE_KEYS = ("source", "conda_source")  # packages pixi builds from source (newer v7 files)


def read(
    text: str,
    source: str = "<pixi.lock>",
    path: Path | None = None,
    environment: str = DEFAULT_ENVIRONMENT,
) -> Lockfile:
    """Parse pixi.lock ``text`` (one environment); every failure is one :class:`LockfileError`."""
    data = load_document(text, source)
    return parse(data, source=source, path=path, environment=environment)


def parse(
    data: Any,
    source: str = "<pixi.lock>",
    path: Path | None = None,
    environment: str = DEFAULT_ENVIRONMENT,
) -> Lockfile:
    """Build a :class:`Lockfile` from a loaded pixi.lock document, for ``environment``."""
    if not isinstance(data, Mapping):
        raise LockfileError(f"{source}: not a pixi.lock file (top level is not a mapping)")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in NAMES:
        raise fail(
            source,
            "version",
            f"pixi.lock version {quoted(version)} is not supported; "
            f"this reader reads versions {' and '.join(map(str, NAMES))}",
        )
    env = _environment(data, environment, source)
    subdirs = _subdirs(data.get("platforms") if version == 7 else None, source)
    index = _Index(data.get("packages"), source)
    where = f"environments.{environment}"
    packages, foreign, wheels = _select(
        env.get("packages"), subdirs, index, source, f"{where}.packages"
    )
    return Lockfile(
        input_hash=None,
        channels=_channels(env.get("channels"), source, f"{where}.channels"),
        packages=packages,
        path=path,
        foreign=foreign,
        format=NAMES[version],
        pypi=wheels,
    )


def _select(
    selections: Any, subdirs: Mapping[str, str], index: _Index, source: str, where: str
) -> tuple[
    dict[str, tuple[LockedPackage, ...]], tuple[ForeignPackage, ...], dict[str, tuple[Wheel, ...]]
]:
    """An environment's packages per subdir, its pypi packages that are not wheels, and
    its wheels per subdir."""
    selections = {} if selections is None else selections
    if not isinstance(selections, Mapping):
        raise fail(source, where, "must map each platform to its packages")
    packages: dict[str, tuple[LockedPackage, ...]] = {}
    foreign: list[ForeignPackage] = []
    wheels: dict[str, tuple[Wheel, ...]] = {}
    seen: dict[str, str] = {}  # subdir -> the platform name that locked it
    for name, selectors in selections.items():
        at = f"{where}.{name}"
        subdir = subdirs.get(name, name)
        problem = platform_problem(subdir)
        if problem:
            raise fail(source, at, problem)
        if subdir in seen:
            raise fail(
                source,
                at,
                f"platforms {quoted(seen[subdir])} and {quoted(name)} both lock {subdir}; "
                "this tool keeps one lock per subdir",
            )
        seen[subdir] = name
        if not isinstance(selectors, list):
            raise fail(source, at, "must be a list of {conda: ...} or {pypi: ...} entries")
        pypi: list[ForeignPackage | Wheel] = []
        conda = [index.select(s, subdir, pypi, f"{at}[{i}]") for i, s in enumerate(selectors)]
        packages[subdir] = tuple(p for p in conda if p is not None)
        foreign += [f for f in pypi if isinstance(f, ForeignPackage)]
        found = tuple(w for w in pypi if isinstance(w, Wheel))
        if found:
            wheels[subdir] = found
    return packages, tuple(foreign), wheels


def _environment(data: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    envs = data.get("environments")
    if not isinstance(envs, Mapping):
        raise fail(source, "environments", "must map each environment name to its packages")
    env = envs.get(name)
    if name not in envs:
        names = ", ".join(map(str, envs)) or "none"
        raise LockfileError(
            f"{source}: no environment {quoted(name)}; the environments are: {names}"
        )
    if not isinstance(env, Mapping):
        raise fail(source, f"environments.{name}", "must be a mapping with channels and packages")
    return env


def _subdirs(platforms: Any, source: str) -> dict[str, str]:
    """Version 7's platform names and their subdirs: ``[{name, subdir?, ...}]``."""
    if platforms is None:
        return {}
    if not isinstance(platforms, list):
        raise fail(source, "platforms", "must be a list of {name: ..., subdir: ...}")
    out = {}
    for i, p in enumerate(platforms):
        name, subdir = (p.get("name"), p.get("subdir")) if isinstance(p, Mapping) else (p, None)
        if not isinstance(name, str) or not name:
            raise fail(source, f"platforms[{i}]", "must be a platform name or {name: ...}")
        out[name] = name if subdir is None else subdir
    return out


def _channels(channels: Any, source: str, where: str) -> tuple[str, ...]:
    if channels is None:
        return ()
    if not isinstance(channels, list):
        raise fail(source, where, "must be a list of {url: ...}")
    out = []
    for i, c in enumerate(channels):
        url = c.get("url") if isinstance(c, Mapping) else c
        if not isinstance(url, str) or not url:
            raise fail(source, f"{where}[{i}]", "must be {url: <channel URL or name>}")
        out.append(stripped(url, source, f"{where}[{i}]").rstrip("/"))
    return unique(out)


def _as_url(location: str) -> str:
    """rattler writes ``file://`` URLs as absolute paths; read them back as URLs."""
    return f"file://{location}" if location.startswith("/") else location


def _source_package(location: object) -> str:
    return (
        f"{shown(location)} is a source package (built by pixi), not a .conda or .tar.bz2 "
        "archive; only built archives can be vendored"
    )


class _Index:
    """The top-level ``packages`` list, by location; each entry checked once, when used."""

    def __init__(self, entries: Any, source: str) -> None:
        if not isinstance(entries, list):
            raise fail(source, "packages", "must be the list of locked packages")
        self.source = source
        self.entries = entries
        self.by_location: dict[tuple[str, str], int] = {}
        self.checked: dict[int, LockedPackage] = {}
        for i, e in enumerate(entries):
            if not isinstance(e, Mapping):
                raise fail(source, f"packages[{i}]", "must be a mapping with conda: or pypi:")
            kind = "conda" if "conda" in e else "pypi" if "pypi" in e else None
            if kind is None:
                continue  # a source package (source:, conda_source:): refused if selected
            if not isinstance(e[kind], str) or not e[kind]:
                raise fail(source, f"packages[{i}].{kind}", "must be a URL or a path")
            self.by_location.setdefault((kind, e[kind]), i)

    def select(
        self, selector: Any, subdir: str, pypi: list[ForeignPackage | Wheel], where: str
    ) -> LockedPackage | None:
        """The conda package ``selector`` names, or None after adding a pypi one to ``pypi``."""
        built = next(
            (k for k in SOURCE_KEYS if isinstance(selector, Mapping) and k in selector), None
        )
        if built:
            raise fail(self.source, where, _source_package(selector[built]))
        kind = "conda" if isinstance(selector, Mapping) and "conda" in selector else "pypi"
        location = selector.get(kind) if isinstance(selector, Mapping) else None
        if not isinstance(location, str) or not location:
            raise fail(self.source, where, "must be {conda: <location>} or {pypi: <location>}")
        found = self.by_location.get((kind, location))
        if found is None:
            raise fail(self.source, where, f"{shown(location)} is not listed under packages")
        if kind == "pypi":
            pypi.append(self._pypi(found, subdir))
            return None
        package = self._conda(found)  # a built archive is one package wherever it is listed
        check_platform(package, subdir, self.source, where)
        return package

    def _pypi(self, i: int, platform: str) -> ForeignPackage | Wheel:
        e, where = self.entries[i], f"packages[{i}]"
        name, version = e.get("name"), e.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            raise fail(self.source, where, "a pypi package needs a name and a version")
        return wheel_or_foreign(
            "pypi",
            self.source,
            where,
            name=name,
            version=version,
            platform=platform,
            url=e["pypi"],
            sha256=e.get("sha256"),
            requires_python=e.get("requires_python"),
        )

    def _conda(self, i: int) -> LockedPackage:
        if i not in self.checked:
            e, where = self.entries[i], f"packages[{i}]"
            location = e["conda"]
            if not location.endswith(PACKAGE_SUFFIXES):
                raise fail(self.source, where, _source_package(location))
            self.checked[i] = locked_package(
                self.source,
                where,
                _as_url(location),
                name=e.get("name"),
                version=e.get("version"),
                build=e.get("build"),
                subdir=e.get("subdir"),
                channel=e.get("channel"),
                sha256=e.get("sha256"),
                md5=e.get("md5"),
                size=e.get("size"),
                depends=string_list(e.get("depends"), self.source, f"{where}.depends"),
            )
        return self.checked[i]
