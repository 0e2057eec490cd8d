"""``vendor install``: one environment of a bundle into a new prefix, with no solve, no
network and no conda.

What is installed is exactly what the chosen version's lockfile locks for this
machine's platform. Every archive is found in the bundle's local channels (matched by
name, version, build and sha256, see :func:`.local.locate`), staged in a private
work folder beside PREFIX (:func:`stage`: hard-linked when only this user may change
the file, else copied) where its size and sha256 are checked against the lock, and
only when every archive passed is anything linked: a tampered bundle is one line
naming the archive, and PREFIX does not exist afterwards. py-rattler's installer then
links the checked files (it checks no hash of a ``file://`` archive itself, hence
the staging). A tar written by ``vendor pack`` is unpacked into the work folder
first. The records under ``PREFIX/conda-meta`` name each package's locked URL
and channel, as if conda had installed the lock.

The wheels of a lock's ``pip:`` part come from the bundle's ``pypi/simple/`` index: each
is copied out and checked like an archive (before anything is linked), and once the conda
packages are linked, the environment's own pip installs exactly them, with no index and
``--require-hashes`` (:mod:`..pypi.install`). A failure there leaves no PREFIX either.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError, VendorError, quoted
from ..fsutil import atomic_write_text, contained
from ..integrity import Expected, stage_verified
from ..pypi import install as pip_install
from ..pypi.records import Wheel
from ..pypi.simple_index import wheel_path
from ..records import LockedPackage
from . import history
from .local import LocalArchive, locate
from .outputs import LOCKFILE

STAGE_THREADS = 4  # archives staged (linked or copied, hashed), records rewritten at once


class InstallError(VendorError):
    """An environment could not be installed from a bundle; nothing was left behind."""


@dataclass(frozen=True)
class InstallRequest:
    bundle: Path  # a bundle directory, or a tar written by ``vendor pack``
    prefix: Path
    environment: str | None = None  # None: the bundle's only environment
    version: str | None = None  # None: the environment's current version
    force: bool = False  # replace an existing PREFIX
    pkgs_dir: Path | None = None  # keep extracted packages here (default: thrown away)


@dataclass(frozen=True)
class Chosen:
    name: str
    version: history.Version
    platform: str
    packages: tuple[LockedPackage, ...]
    wheels: tuple[Wheel, ...] = ()  # the lock's wheels for this platform (in pypi/simple)


def host_platform() -> str:
    """This machine's conda platform, as py-rattler names it."""
    import rattler

    subdir = getattr(rattler, "Subdir", None) or rattler.Platform  # Platform before 0.27
    return str(subdir.current())


def choose(bundle: Path, name: str | None, version: str | None, platform: str) -> Chosen:
    """The environment, version and locked packages to install, every name checked."""
    index = history.read_index(bundle)
    if index is None:
        raise InstallError(
            f"{bundle}: not a bundle (no {history.INDEX}); pass what conda vendor wrote"
        )
    names = sorted(index.environments)
    if name is None:
        if len(names) != 1:
            raise UsageError(
                f"{bundle}: name the environment to install, one of: {', '.join(names)}"
            )
        name = names[0]
    env = index.environments.get(name)
    if env is None:
        raise UsageError(f"{bundle}: no environment {quoted(name)}; it has {', '.join(names)}")
    vid = version or env.current
    chosen = next((v for v in env.versions if v.id == vid), None)
    if chosen is None:
        ids = ", ".join(v.id for v in env.versions)
        raise UsageError(f"{bundle}: {name} has no version {quoted(vid)}; it has {ids}")
    folder = history.plain_dir(bundle, history.version_dir(name, vid))
    if folder is None:
        raise InstallError(f"{bundle}: {history.version_dir(name, vid)} is missing or a link")
    from ..formats.registry import read_path

    lock = read_path(folder / LOCKFILE)
    if platform not in lock.packages:
        raise InstallError(
            f"{bundle}: {name} {vid} locks {', '.join(lock.platforms)}, not this machine's "
            f"platform {platform}"
        )
    wheels = tuple(lock.pypi.get(platform, ()))
    return Chosen(name, chosen, platform, tuple(lock.packages[platform]), wheels)


def _check_prefix(prefix: Path, force: bool) -> None:
    if os.path.lexists(prefix) and not force:
        raise UsageError(f"{prefix} exists; pass --force to replace it, or choose another --prefix")
    if os.path.lexists(prefix) and not prefix.is_dir():
        raise UsageError(f"{prefix} exists and is not a directory; it is not replaced")


@contextmanager
def _work_dir(prefix: Path) -> Iterator[Path]:
    """A private folder beside PREFIX (same file system: the installer hard-links from
    it), removed afterwards, with any parent folders of PREFIX it had to create."""
    created = [p for p in reversed(prefix.parents) if not os.path.lexists(p)]
    prefix.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{prefix.name}.install-", dir=prefix.parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for p in reversed(created):
            if not os.path.lexists(prefix):
                try:
                    p.rmdir()
                except OSError:
                    break


def stage(archives: Sequence[LocalArchive], into: Path) -> list[Path]:
    """Every archive into ``into`` (the private work folder), its size and hashes checked
    against the lock there, where nothing but this process can swap it; the first that
    differs, in the lock's order, is one :class:`InstallError` naming it. Archives are
    staged in threads (hashlib releases the GIL), each by :func:`.integrity.stage_verified`
    (a hard link where only this user may change the bundle's file, else a copy)."""
    jobs = [(a, into / a.local_channel / a.package.subdir / a.package.fn) for a in archives]
    for folder in sorted({dest.parent for _, dest in jobs}):
        folder.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(STAGE_THREADS, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(
            pool.map(lambda job: stage_verified(job[0].path, job[1], _expected(job[0])), jobs)
        )
    for (a, _), verdict in zip(jobs, verdicts):
        if verdict is not None:
            p = a.package
            raise InstallError(
                f"{a.local_channel}/{p.subdir}/{p.fn}: {verdict} (the lock's); nothing was "
                f"installed. The bundle was altered: check it with 'vendor verify' and get "
                f"an intact copy"
            )
    return [dest for _, dest in jobs]


def _expected(a: LocalArchive) -> Expected:
    p = a.package
    size = p.size if p.size is not None else a.entry.get("size")
    return Expected(size if isinstance(size, int) else None, p.sha256, p.md5)


def rattler_records(archives: Sequence[LocalArchive], staged: Sequence[Path]) -> list[Any]:
    """py-rattler's records of the staged archives, built from the bundle's own
    repodata entries (upstream's originals), each pointing at its checked copy: one
    repodata document per staged channel and subdir, read once."""
    from rattler import Channel, RepoData

    docs: dict[Path, dict[str, Any]] = {}
    for a, path in zip(archives, staged):
        section = "packages.conda" if a.package.fn.endswith(".conda") else "packages"
        doc = docs.setdefault(
            path.parent,
            {"info": {"subdir": a.package.subdir}, "packages": {}, "packages.conda": {}},
        )
        doc[section][a.package.fn] = dict(a.entry)
    by_path: dict[Path, Any] = {}
    for folder, doc in docs.items():
        source = folder.parent / f".{folder.name}.repodata.json"
        source.write_text(json.dumps(doc))
        channel = Channel(folder.parent.as_uri())
        for record in RepoData.from_path(source).into_repo_data(channel):
            by_path[folder / record.file_name] = record
    return [by_path[path] for path in staged]


def link(records: Sequence[Any], prefix: Path, cache: Path) -> None:
    """py-rattler's installer: extract into ``cache``, link into ``prefix`` (for this
    machine's platform; no link scripts run). Its failure is one line."""
    import asyncio

    from rattler import install

    try:
        asyncio.run(
            install(
                list(records),
                target_prefix=prefix,
                cache_dir=cache,
                installed_packages=[],
                execute_link_scripts=False,
                show_progress=False,
            )
        )
    except Exception as e:  # py-rattler's exceptions share no base class of their own
        why = "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
        raise InstallError(
            f"{prefix}: the installer failed: {why}; nothing was installed"
        ) from None


def record_origins(prefix: Path, packages: Sequence[LockedPackage]) -> None:
    """Each ``conda-meta`` record's ``url`` and ``channel`` become the lock's (the
    installer wrote the private copy's), so the prefix says where its packages came from.
    Written in threads: each is a small file replaced atomically, which costs a few
    milliseconds of waiting on a busy disk."""
    with ThreadPoolExecutor(max_workers=STAGE_THREADS) as pool:
        list(pool.map(lambda p: _record_origin(prefix, p), packages))


def _record_origin(prefix: Path, p: LockedPackage) -> None:
    path = prefix / "conda-meta" / f"{p.dist}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(url=p.url, channel=p.channel)
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def not_installed(chosen: Chosen) -> list[str]:
    """What the version locks for this platform that is not installed: other tools' pip
    entries the bundle does not carry, and an older bundle's ``pip:`` entries: reported,
    never dropped silently."""
    foreign = [
        " ".join(x for x in (f.get("name"), f.get("version")) if x) + f" ({f.get('manager')})"
        for f in chosen.version.not_vendored
        if f.get("platform") == chosen.platform
    ]
    return foreign + [f"{entry} (pip:)" for entry in chosen.version.pip_not_vendored]


def pip_command(chosen: Chosen, prefix: Path) -> list[str]:
    """How the new environment's own pip is run (its ``python -m pip``); one line before
    anything is linked when the lock has wheels but no ``python`` or ``pip`` to install
    them with."""
    names = {p.name for p in chosen.packages}
    missing = [n for n in ("python", "pip") if n not in names]
    if chosen.wheels and missing:
        n = len(chosen.wheels)
        wheels, them = (f"{n} wheels", "them") if n > 1 else ("1 wheel", "it")
        raise InstallError(
            f"{chosen.name} {chosen.version.id} locks {wheels} for {chosen.platform} but no "
            f"{' or '.join(missing)} conda package to install {them} with; add "
            f"{' and '.join(missing)} to the environment file and vendor it again"
        )
    windows = chosen.platform.startswith("win-")
    python = prefix / "python.exe" if windows else prefix / "bin" / "python"
    return [str(python), "-m", "pip"]


def stage_wheels(bundle: Path, wheels: Sequence[Wheel], into: Path) -> None:
    """Put every locked wheel of the bundle's index into ``into`` and check its size and
    sha256 against the lock there (:func:`~..integrity.stage_verified`, as for archives)."""
    into.mkdir(parents=True, exist_ok=True)
    for w in wheels:
        rel = wheel_path(w)
        dest = into / w.filename
        verdict = stage_verified(contained(bundle, rel), dest, Expected(w.size, w.sha256, None))
        if verdict is not None:
            raise InstallError(
                f"{rel}: {verdict} (the lock's); nothing was installed. The bundle was "
                f"altered: check it with 'vendor verify' and get an intact copy"
            )


def _install_wheels(pip: Sequence[str], chosen: Chosen, staged: Path, work: Path) -> None:
    """The lock's wheels, already staged and checked, installed by the environment's pip."""
    if not chosen.wheels:
        return
    try:
        pip_install.install(pip, chosen.wheels, staged, work)
    except pip_install.WheelInstallError as e:
        raise InstallError(f"{e}; nothing was installed") from None


@contextmanager
def _replacing(prefix: Path, work: Path) -> Iterator[None]:
    """An existing PREFIX moves into ``work`` while the new one is built, and comes
    back if that fails; a PREFIX made by a failed run is removed."""
    old = work / "previous-prefix"
    if os.path.lexists(prefix):
        os.rename(prefix, old)
    try:
        yield
    except BaseException:
        shutil.rmtree(prefix, ignore_errors=True)
        if os.path.lexists(old):
            os.rename(old, prefix)
        raise


def install_environment(req: InstallRequest) -> dict[str, Any]:
    """Install one environment of a bundle (a directory or a packed tar) into PREFIX."""
    try:
        import rattler  # noqa: F401
    except ImportError:
        raise InstallError(
            "vendor install needs py-rattler: pip install 'conda-vendor-plugin[rattler]'"
        ) from None
    prefix = Path(os.path.abspath(req.prefix))
    _check_prefix(prefix, req.force)
    with _work_dir(prefix) as work:
        bundle = _bundle_dir(req.bundle, work)
        chosen = choose(bundle, req.environment, req.version, host_platform())
        found = locate(bundle, chosen.packages, read=False)
        pip = pip_command(chosen, prefix)
        staged = stage(found, work / "archives")
        stage_wheels(bundle, chosen.wheels, work / "wheels")
        records = rattler_records(found, staged)
        with _replacing(prefix, work):
            link(records, prefix, req.pkgs_dir or work / "pkgs")
            record_origins(prefix, chosen.packages)
            _install_wheels(pip, chosen, work / "wheels", work)
    return {
        "bundle": str(req.bundle),
        "prefix": str(prefix),
        "environment": chosen.name,
        "version": chosen.version.id,
        "platform": chosen.platform,
        "installed": [p.dist for p in chosen.packages],
        "wheels": [w.filename for w in chosen.wheels],
        "not_installed": not_installed(chosen),
        "bytes": sum(p.size or 0 for p in chosen.packages),
    }


def _bundle_dir(source: Path, work: Path) -> Path:
    """``source`` when it is a directory; a tar written by ``vendor pack`` is unpacked
    into ``work`` (every member checked against its manifest) and that copy returned."""
    if source.is_dir():
        return source
    if not source.is_file():
        raise InstallError(f"{source}: no such bundle (a directory or a tar from vendor pack)")
    from .unpack import unpack

    unpack(source, work / "bundle")
    return work / "bundle"
