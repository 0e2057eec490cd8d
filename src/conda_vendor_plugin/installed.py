"""An installed environment as an input: what its ``conda-meta`` records say is installed
(exact URLs and hashes, no solve), read from the JSON files themselves in both modes.

pip-installed packages (a ``*.dist-info`` whose ``INSTALLER`` is not conda) are not conda
packages: they are listed as not locked, never guessed at.

The input hash of such a lock (there is no environment file): the input hash of the
environment file that would pin every installed package exactly, as
:func:`export_input_hash` computes it (``docs/conda.md``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError, VendorError, quoted
from .fsutil import read_limited
from .records import ForeignPackage, LockedPackage, Lockfile
from .solve.order import install_order
from .spec import EnvironmentSpec, input_hash
from .transport.urls import redact_url

MAX_RECORD_BYTES = 64 * 1024 * 1024  # a conda-meta record lists every file of its package


class InstalledError(VendorError):
    """An installed environment is missing or its records cannot be locked."""


@dataclass(frozen=True)
class Installed:
    """What is installed in ``prefix``: its conda packages as a one-platform lockfile,
    and the pip-installed packages that are not locked."""

    prefix: Path
    lock: Lockfile
    not_locked: tuple[ForeignPackage, ...]

    @property
    def platform(self) -> str:
        return self.lock.platforms[0]


def export_input_hash(
    channels: Sequence[str], packages: Iterable[LockedPackage], platform: str
) -> str:
    """The input hash of a lock of installed packages (see the module docstring)."""
    pins = tuple(f"{p.name}=={p.version}={p.build}" for p in packages)
    spec = EnvironmentSpec(channels=tuple(channels), dependencies=pins, platforms=(platform,))
    return input_hash(spec)


def locate_by_name(name: str) -> Path:
    """``-n NAME`` without conda: ``NAME`` under conda's environment directories
    (``$CONDA_ENVS_DIRS``/``$CONDA_ENVS_PATH``, else ``~/.conda/envs``)."""
    dirs = [
        d
        for var in ("CONDA_ENVS_DIRS", "CONDA_ENVS_PATH")
        for d in os.environ.get(var, "").split(os.pathsep)
        if d
    ] or [str(Path.home() / ".conda" / "envs")]
    if name in ("", ".", "..") or "/" in name or os.sep in name:
        raise UsageError(f"-n {quoted(name)}: an environment name, not a path (use -p PATH)")
    for d in dirs:
        if (Path(d) / name / "conda-meta").is_dir():
            return Path(d) / name
    raise UsageError(f"-n {name}: no environment of that name in {', '.join(dirs)}")


def _record(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(read_limited(path, MAX_RECORD_BYTES))
    except (OSError, ValueError) as e:
        raise InstalledError(f"{path}: not a readable conda-meta record ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise InstalledError(f"{path}: not a conda-meta record (no package name)")
    return doc


def _locked(doc: dict[str, Any], path: Path) -> LockedPackage:
    url = doc.get("url")
    missing = [k for k in ("url", "sha256", "md5", "size") if not doc.get(k)]
    if missing:
        raise InstalledError(
            f"{path}: {doc['name']}-{doc.get('version')}-{doc.get('build')} records no "
            f"{' or '.join(missing)}; reinstall it ('conda install --force-reinstall "
            f"{doc['name']}') and lock again"
        )
    base = str(url).rsplit("/", 2)[0]
    return LockedPackage(
        name=doc["name"],
        version=str(doc.get("version", "")),
        build=str(doc.get("build", "")),
        subdir=str(doc.get("subdir") or str(url).rsplit("/", 2)[1]),
        channel=redact_url(base),
        fn=str(doc.get("fn") or str(url).rsplit("/", 1)[1]),
        url=redact_url(str(url)),
        sha256=doc["sha256"],
        md5=doc["md5"],
        size=int(doc["size"]),
        depends=tuple(str(d) for d in doc.get("depends") or ()),
    )


def _pip_installed(prefix: Path, platform: str) -> tuple[ForeignPackage, ...]:
    """``*.dist-info`` in the prefix's site-packages whose installer is not conda."""
    found = []
    for dist in sorted(
        [
            *prefix.glob("lib/python*/site-packages/*.dist-info"),
            *prefix.glob("Lib/site-packages/*.dist-info"),
        ]
    ):
        installer = dist / "INSTALLER"
        try:
            who = installer.read_text(errors="replace").strip() if installer.is_file() else ""
        except OSError:
            who = ""
        if who and who != "conda":
            name, _, version = dist.name[: -len(".dist-info")].partition("-")
            found.append(ForeignPackage("pip", name, version, platform, ""))
    return tuple(found)


def read_installed(prefix: str | Path, default_platform: Callable[[], str]) -> Installed:
    """The packages installed in ``prefix`` (its ``conda-meta``), in install order; an
    environment of noarch packages only is of ``default_platform()``."""
    root = Path(prefix)
    meta = root / "conda-meta"
    if not meta.is_dir():
        raise InstalledError(f"{root}: not a conda environment (no conda-meta directory)")
    packages = [_locked(_record(p), p) for p in sorted(meta.glob("*.json"))]
    if not packages:
        raise InstalledError(f"{root}: no packages are installed (conda-meta is empty)")
    subdirs = sorted({p.subdir for p in packages} - {"noarch"})
    if len(subdirs) > 1:
        raise InstalledError(f"{root} holds packages of {', '.join(subdirs)}; not one platform")
    platform = subdirs[0] if subdirs else default_platform()
    ordered = tuple(install_order(packages))
    channels = tuple(dict.fromkeys(p.channel for p in ordered))
    lock = Lockfile(
        input_hash=export_input_hash(channels, ordered, platform),
        channels=channels,
        packages={platform: ordered},
        name=root.name or None,
    )
    return Installed(root, lock, _pip_installed(root, platform))


def check_platforms(installed: Installed, wanted: Sequence[str]) -> None:
    """An installed environment is of one platform: asking for another is refused."""
    other = [p for p in wanted if p != installed.platform]
    if other:
        raise UsageError(
            f"{installed.prefix} is a {installed.platform} environment; it cannot be locked "
            f"for {', '.join(other)} (lock its environment file for other platforms)"
        )
