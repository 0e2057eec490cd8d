"""Installing from a bundle: where each locked archive sits in a vendored OUT.

The lockfile ``conda vendor`` writes into OUT (``OUT/environment.lock.yml``) records
upstream URLs. Installed from inside OUT, it must use OUT's local channels instead:
:func:`find_bundle` says whether a directory is such a bundle, and :func:`locate` maps
every locked package to its archive there, found by file name in the local
``repodata.json`` files (which hold upstream's original entries) and matched by sha256
(md5 for an entry locked without one), then checks the archive's size and hash.

A bundle is untrusted input: relative paths go through :func:`~..fsutil.contained`,
symbolic links are never followed (neither to a channel, a repodata file nor an
archive), and JSON files are read with a size cap. Nothing here imports conda.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import quoted
from ..fsutil import MAX_METADATA_BYTES, UnsafePath, contained, is_plain_dir, read_json_file
from ..integrity import Expected, file_problem, stat_problem
from ..records import LockedPackage, archive_name_problem
from ..spec import is_subdir
from .channels import REPODATA
from .history import ENVS, BundleError
from .outputs import MANIFEST, TOOL

LOCAL_PREFIX = "local_"
SECTIONS = ("packages.conda", "packages")


@dataclass(frozen=True)
class LocalArchive:
    """A locked package found in a local channel of a bundle."""

    package: LockedPackage
    local_channel: str  # directory name, e.g. local_conda-forge
    path: Path  # OUT/<local_channel>/<subdir>/<file name>, checked
    entry: Mapping[str, Any]  # the local repodata's entry: upstream's original

    @property
    def channel_path(self) -> Path:
        """The local channel directory (``OUT/local_conda-forge``)."""
        return self.path.parent.parent


def local_channels(bundle: Path) -> list[str]:
    """The names of the ``local_*`` directories of ``bundle`` (links excluded), sorted."""
    try:
        names = sorted(p.name for p in bundle.iterdir() if p.name.startswith(LOCAL_PREFIX))
    except OSError:
        return []
    return [n for n in names if is_plain_dir(bundle / n)]


def _is_bundle(directory: Path) -> bool:
    try:
        doc = read_json_file(directory / MANIFEST, MAX_METADATA_BYTES)
    except (OSError, ValueError):
        return False
    tool = doc.get("tool") if isinstance(doc, Mapping) else None
    if not isinstance(tool, Mapping) or tool.get("name") != TOOL:
        return False
    return bool(local_channels(directory))


def find_bundle(directory: Path) -> Path | None:
    """The bundle ``conda vendor`` wrote that holds ``directory`` (a lockfile's folder:
    ``envs/<name>/current``, ``envs/<ns>/<name>/versions/<id>``, or the bundle itself),
    else None.

    A bundle has a ``manifest.json`` (a regular file, not a link) whose ``tool.name`` is
    ``conda-vendor-plugin``, and at least one ``local_*`` channel directory. Only the
    folders an environment's files can be in are tried (up to five levels). Never
    raises for what is on disk."""
    candidates = [directory, *list(directory.parents)[:5]]
    for depth, candidate in enumerate(candidates):
        rel = directory.relative_to(candidate).parts if depth else ()
        if depth and (not rel or rel[0] != ENVS):
            continue
        if _is_bundle(candidate):
            return candidate
    return None


class _LocalRepodata:
    """Each local channel's ``<subdir>/repodata.json``, read once, when first asked for."""

    def __init__(self, bundle: Path) -> None:
        self.bundle = bundle
        self.channels = local_channels(bundle)
        self._docs: dict[tuple[str, str], Mapping[str, Any] | None] = {}
        self.unreadable: list[str] = []

    def entry(self, channel: str, subdir: str, fn: str) -> Mapping[str, Any] | None:
        key = (channel, subdir)
        if key not in self._docs:
            self._docs[key] = self._load(f"{channel}/{subdir}/{REPODATA}")
        doc = self._docs[key]
        if doc is None:
            return None
        for section in SECTIONS:
            entries = doc.get(section)
            entry = entries.get(fn) if isinstance(entries, Mapping) else None
            if isinstance(entry, Mapping):
                return entry
        return None

    def _load(self, rel: str) -> Mapping[str, Any] | None:
        try:
            doc = read_json_file(contained(self.bundle, rel), MAX_METADATA_BYTES)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, UnsafePath) as e:
            self.unreadable.append(f"{rel}: {e}")
            return None
        if not isinstance(doc, Mapping):
            self.unreadable.append(f"{rel}: not a JSON object")
            return None
        return doc


def _describes(entry: Mapping[str, Any], p: LockedPackage) -> bool:
    """True when a repodata entry is the locked archive: same name, version, build and
    sha256 (md5 when the lock has no sha256)."""
    if (entry.get("name"), entry.get("version"), entry.get("build")) != (
        p.name,
        p.version,
        p.build,
    ):
        return False
    if p.sha256 is not None:
        return entry.get("sha256") == p.sha256
    return p.md5 is not None and entry.get("md5") == p.md5


def _find(index: _LocalRepodata, p: LockedPackage, read: bool) -> LocalArchive | str:
    """The package's archive in the first local channel that has it intact (``read``:
    its bytes hashed; else only its size seen), else why not."""
    problem = archive_name_problem(p.fn, p.name, p.version, p.build)
    if problem is not None:
        return f"archive name {quoted(p.fn)} {problem}"
    if not is_subdir(p.subdir):
        return f"subdir {quoted(p.subdir)} is not noarch or a platform"
    why = "in none of the local channels' repodata.json"
    for channel in index.channels:
        entry = index.entry(channel, p.subdir, p.fn)
        if entry is None or not _describes(entry, p):
            continue
        rel = f"{channel}/{p.subdir}/{p.fn}"
        try:
            path = contained(index.bundle, rel)
        except UnsafePath as e:
            why = str(e)
            continue
        size = p.size if p.size is not None else entry.get("size")
        expected = Expected(size, p.sha256, p.md5)
        bad = file_problem(path, expected) if read else stat_problem(path, expected)
        if bad is not None:
            why = f"{rel}: {bad}"
            continue
        return LocalArchive(package=p, local_channel=channel, path=path, entry=dict(entry))
    return why


def locate(
    bundle: Path, packages: Iterable[LockedPackage], read: bool = True
) -> list[LocalArchive]:
    """Every package's archive in ``bundle``'s local channels, in the order given.

    Each archive's size and sha256 (md5 where the lock has no sha256) are checked
    against the lock before it is offered: conda copies a ``file://`` archive into its
    package cache without checking its hash. ``read=False`` checks only what the file
    system says (a regular file of the locked size) for a caller that hashes the bytes
    as it copies them (``vendor install``). Raises :class:`BundleError`, one line, when
    any package is missing, does not match or is unsafe."""
    index = _LocalRepodata(bundle)
    found: list[LocalArchive] = []
    failed: list[tuple[LockedPackage, str]] = []
    for p in packages:
        result = _find(index, p, read)
        if isinstance(result, LocalArchive):
            found.append(result)
        else:
            failed.append((p, result))
    if failed:
        p, why = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        unreadable = f"; unreadable: {index.unreadable[0]}" if index.unreadable else ""
        raise BundleError(
            f"{bundle}: cannot install {p.dist} ({p.subdir}) from this bundle{more}: "
            f"{why}{unreadable}. Check the bundle with 'conda vendor verify {bundle}'"
        )
    return found
