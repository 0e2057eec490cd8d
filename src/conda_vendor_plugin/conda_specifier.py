"""explicit-1.0 read by conda: ``conda env create -f x.lock.yml``, ``conda create --file``.

The ``conda_environment_specifiers`` plugin. conda picks a reader by default file name
first, then asks every reader whether it can handle the file; :func:`claims_explicit_v1`
answers by content (``metadata.spec: explicit-1.0``), reading a bounded prefix.

:meth:`ExplicitV1Spec.env_for` gives conda the locked records of one platform as
explicit packages, so conda installs exactly them, with no solve:

* a lockfile sitting in a bundle ``conda vendor`` wrote (``OUT/environment.lock.yml``)
  installs from the bundle's local channels (:mod:`.bundle.local`): records are the
  local repodata's entries (upstream's originals), URLs ``file://`` into OUT;
* any other lockfile is fetched from the URLs it records, as conda's own ``@EXPLICIT``
  reader does: through conda's package cache, which checks each archive's sha256, and
  the records are read back from the cache (the archives' own metadata: depends...).

Parsing and validation are :mod:`.formats.explicit_v1`'s; this module only converts.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

from conda.plugins.types import EnvironmentSpecBase

from .errors import VendorError
from .formats import explicit_v1
from .pypi.install import pip_lines, projects
from .pypi.records import Wheel
from .pypi.simple_index import ROOT as PYPI_ROOT
from .records import LockedPackage, Lockfile
from .transport.urls import redact_text

if TYPE_CHECKING:
    from conda.models.environment import Environment
    from conda.models.records import PackageRecord

FORMAT = explicit_v1.NAME
ALIASES = ("explicit-yaml",)
# Exact names only: conda gives a file whose name matches a reader's pattern to that
# reader whatever it holds, so a glob such as *.lock.yml would take conda-lock files
# named that way away from conda-lockfiles. Other names are recognised by content.
DEFAULT_FILENAMES = ("environment.lock.yml", "environment.lock.yaml")
DESCRIPTION = "explicit-1.0 YAML lockfile (conda-vendor-plugin): exact packages, no solve"

PROBE_BYTES = 1 << 20  # content detection reads at most this much of a file

# The conda command running (told by the pre-command hook): `conda env update` installs
# only the specs a file requests, and a lockfile requests none (only exact packages).
_RUNNING: list[str] = []
ENV_UPDATE = "env_update"


@dataclass(frozen=True)
class PendingWheels:
    """A lockfile's wheels, installed once conda has installed its conda packages."""

    lockfile: str
    count: int
    lines: list[str]


# conda 26.7 installs a file's exact packages and returns before its pip step (the
# Environment's ``external_packages`` are not run for explicit packages), so the wheels
# of the lockfiles read are installed by the post-command hook, with conda's own pip
# installer, once the command has succeeded.
_PENDING: list[PendingWheels] = []


def install_pending_wheels(command: str) -> None:
    """conda's post-command hook: the wheels of every lockfile this command installed
    from, into the prefix it made; pip's refusal is one conda error."""
    from conda.base.context import context

    pending, _PENDING[:] = list(_PENDING), []
    if not pending or context.dry_run or context.download_only:
        return
    from conda.env.installers import pip
    from conda.exceptions import CondaEnvException

    prefix = context.target_prefix
    for p in pending:
        # conda's installer picks the lockfile's folder to work in, or none where that is
        # not writable (a bundle on read-only media): the lines name absolute folders.
        try:
            pip.install(prefix, p.lines, SimpleNamespace(file=p.lockfile))
        except CondaEnvException:
            wheels = f"{p.count} locked wheel{'s' * (p.count != 1)}"
            raise _conda_error(
                f"{p.lockfile}: the conda packages are installed in {prefix}, but pip "
                f"refused its {wheels} (pip's reason is above); get an intact bundle "
                f"('conda vendor verify') and create the environment again"
            ) from None


def note_command(command: str) -> None:
    """conda's pre-command hook: which command is about to read lockfiles."""
    _RUNNING[:] = [command]


def _head(path: str | os.PathLike[str], size: int) -> bytes | None:
    """The first ``size`` bytes of a regular file; None for anything else (a FIFO or a
    device would block or never end). Opened without blocking, checked, then read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return f.read(size)


def claims_explicit_v1(path: str | os.PathLike[str]) -> bool:
    """Whether the file says it is explicit-1.0 (``metadata.spec: explicit-1.0``).

    Reads at most :data:`PROBE_BYTES`. A file holding no ``explicit-1.0`` there is not
    one; else a block ``metadata:`` mapping decides, and a file that fits in the probe
    (flow or JSON style, keys in any order) is parsed. Never raises: conda asks every
    reader, and a reader's error must not mask another's answer."""
    try:
        if "://" in os.fspath(path):
            return False  # conda may pass a URL; this reader reads local files only
        head = _head(path, PROBE_BYTES + 1)
    except (OSError, TypeError, ValueError):
        return False
    if head is None:
        return False
    return explicit_v1.claims(head[:PROBE_BYTES], whole=len(head) <= PROBE_BYTES)


def _conda_error(message: str) -> Exception:
    """A one-line conda error (conda prints it without a traceback); secrets redacted."""
    from conda.exceptions import CondaValueError

    return CondaValueError(redact_text(message))


class ExplicitV1Spec(EnvironmentSpecBase):
    """An explicit-1.0 lockfile as conda's environment model."""

    detection_supported: ClassVar[bool] = True

    def __init__(self, filename: str | None = None, **kwargs: Any) -> None:
        self.filename = filename
        self._lock: Lockfile | None = None

    def can_handle(self) -> bool:
        return self.filename is not None and claims_explicit_v1(self.filename)

    @property
    def lock(self) -> Lockfile:
        """The lockfile, read and validated once; a broken one is a one-line conda error."""
        if self._lock is None:
            if self.filename is None:
                raise _conda_error("no lockfile given")
            try:
                self._lock = explicit_v1.load(self.filename)
            except VendorError as e:
                raise _conda_error(str(e)) from None
        return self._lock

    @property
    def available_platforms(self) -> tuple[str, ...]:
        return self.lock.platforms

    def packages_for(self, platform: str) -> tuple[LockedPackage, ...]:
        """The locked packages of ``platform``; one line naming the locked platforms if none."""
        lock = self.lock
        if platform not in lock.packages:
            raise _conda_error(
                f"{self.filename}: no packages for {platform}; it locks "
                f"{', '.join(lock.platforms)}. Lock it for {platform} with "
                f"'conda env lock -f <environment file> --platform {platform}'"
            )
        return lock.packages[platform]  # each is its platform's or noarch: the reader checks

    @property
    def env(self) -> Environment:
        """This platform's environment as the lockfile records it, nothing fetched (conda
        reads only its name here). :meth:`env_for` is what conda installs from."""
        from conda.base.context import context

        platform = context.subdir
        records = [_lock_record(p) for p in self.packages_for(platform)]
        return self._environment(platform, records)

    def env_for(self, platform: str) -> Environment:
        """``platform``'s locked packages as conda records, ready to install (no solve)."""
        from conda.base.context import context

        if _RUNNING == [ENV_UPDATE]:
            raise _conda_error(
                f"{self.filename}: 'conda env update' installs only the specs a file requests "
                f"and a lockfile requests none, so it would install nothing; to make an "
                f"environment exactly this lock, run 'conda env create --yes -f "
                f"{self.filename} -n NAME' (or -p PREFIX), which replaces it"
            )
        pkgs = self.packages_for(platform)
        bundle = self._bundle()
        if context.dry_run:
            _dry_run(self.filename, platform, pkgs, bundle)
        if bundle is not None:
            records = _bundle_records(bundle, pkgs)
            if context.download_only:
                _fetch(records)
        else:
            records = _fetched_records(pkgs)
        wheels = self.lock.pypi.get(platform, ())
        if wheels:
            lines = _pip_lines(wheels, bundle)
            _PENDING.append(PendingWheels(self.filename, len(wheels), lines))
        return self._environment(platform, records)

    def _bundle(self) -> Path | None:
        from .bundle.local import find_bundle

        assert self.filename is not None
        return find_bundle(Path(os.path.abspath(self.filename)).parent)

    def _environment(self, platform: str, records: Sequence[PackageRecord]) -> Environment:
        from conda.models.environment import Environment

        return Environment(
            name=self.lock.name,
            platform=platform,
            explicit_packages=list(records),
        )


def _pip_lines(wheels: Sequence[Wheel], bundle: Path | None) -> list[str]:
    """What is installed after the conda packages: exactly the locked wheels,
    hash-checked; from the bundle's index with no index contacted when the lockfile is in
    a bundle, else from the index pip's configuration names."""
    if bundle is None:
        return ["--require-hashes", *(w.requirement_line for w in wheels)]
    return pip_lines(wheels, (str(bundle / PYPI_ROOT / p) for p in projects(wheels)))


def _lock_record(p: LockedPackage) -> PackageRecord:
    """A conda record of what the lockfile says about ``p``: no depends, and build number 0
    (conda requires one; the lockfile records none)."""
    from conda.models.channel import Channel
    from conda.models.records import PackageRecord

    hashes = {k: v for k, v in (("sha256", p.sha256), ("md5", p.md5), ("size", p.size)) if v}
    return PackageRecord(
        name=p.name,
        version=p.version,
        build=p.build,
        build_number=0,
        subdir=p.subdir,
        fn=p.fn,
        url=p.url,
        channel=Channel(p.channel),
        **hashes,
    )


def _bundle_records(bundle: Path, pkgs: Sequence[LockedPackage]) -> list[PackageRecord]:
    """Records of the bundle's local repodata entries, archives at ``file://`` URLs in OUT."""
    from conda.base.context import context
    from conda.models.channel import Channel
    from conda.models.records import PackageRecord

    from .bundle.local import locate

    try:
        archives = locate(bundle, pkgs)
    except VendorError as e:
        raise _conda_error(str(e)) from None
    records = []
    for a in archives:
        info = dict(a.entry)
        depends = list(info.get("depends") or ())
        if context.add_pip_as_python_dependency and a.package.name == "python":
            if str(a.package.version).startswith(("2.", "3.")) and "pip" not in depends:
                depends.append("pip")  # as conda does for every python record it reads
        info.update(
            depends=depends,
            fn=a.package.fn,
            url=a.path.as_uri(),
            channel=Channel(a.channel_path.as_uri()),
            subdir=a.package.subdir,
        )
        try:
            records.append(PackageRecord(**info))
        except Exception as e:  # a hostile entry: wrong types and such
            raise _conda_error(
                f"{bundle}: the local repodata entry of {a.package.dist} is malformed: {e}"
            ) from None
    return records


def _fetch(specs: Sequence[Any]) -> None:
    """Download and extract into conda's package cache (checking hashes); then stop there
    under ``--download-only``."""
    from conda.base.context import context
    from conda.core.package_cache_data import ProgressiveFetchExtract
    from conda.exceptions import CondaExitZero

    ProgressiveFetchExtract(specs).execute()
    if context.download_only:
        raise CondaExitZero(
            "Package caches prepared. Installation cancelled with --download-only option."
        )


def _fetched_records(pkgs: Sequence[LockedPackage]) -> list[PackageRecord]:
    """Fetch every archive from its locked URL, then read its record from the cache."""
    from conda.core.package_cache_data import PackageCacheData
    from conda.models.match_spec import MatchSpec
    from conda.models.records import PackageRecord

    specs = [
        MatchSpec(p.url, **{k: v for k, v in (("sha256", p.sha256), ("md5", p.md5)) if v})
        for p in pkgs
    ]
    _fetch(specs)
    records = []
    for p, spec in zip(pkgs, specs):
        cached = next(PackageCacheData.query_all(spec), None)
        if cached is None:
            raise _conda_error(f"{p.dist}: not in the package cache after fetching {p.url}")
        if (cached.name, cached.version, cached.build) != (p.name, p.version, p.build):
            raise _conda_error(
                f"{p.url} holds {cached.name}-{cached.version}-{cached.build}, "
                f"not {p.dist} as the lockfile says"
            )
        sizes = {"size": p.size} if p.size else {}
        records.append(PackageRecord.from_objects(cached, **sizes))
    return records


def _dry_run(
    filename: str | None, platform: str, pkgs: Sequence[LockedPackage], bundle: Path | None
) -> None:
    """List what would be installed (from where), then stop as conda's --dry-run does."""
    from conda.base.context import context
    from conda.exceptions import DryRunExit

    if not (context.json or context.quiet):
        source = f"the bundle {bundle}" if bundle else "the locked URLs"
        print(f"\n{filename}: {len(pkgs)} locked packages for {platform}, from {source}:")
        for p in pkgs:
            print(f"  - {p.dist} ({p.subdir})")
    raise DryRunExit()
