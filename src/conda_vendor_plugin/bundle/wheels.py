"""The wheels a bundle carries: every wheel a kept version of an environment locks (its
lockfile's ``pypi-packages``), in the one simple index of :mod:`..pypi.simple_index`.

Like the conda archives, each wheel is once in the bundle whichever environments use it;
a run that merges with a base bundle hard-links the wheels it did not fetch from there
(:func:`.assemble.finish`, as it does archives), and :func:`settle` (every commit)
removes the wheels no kept version locks and writes the index pages for those that stay.
:func:`problems` is what ``vendor verify`` checks: each locked wheel present with the
locked size and sha256, the pages as the wheels make them, nothing else under the index.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import ChannelError
from ..fsutil import atomic_write_text, contained, is_plain_dir, walk_files
from ..integrity import Expected, file_problem
from ..pypi.records import Wheel, wheel_problem
from ..pypi.simple_index import ROOT, pages, wheel_path
from ..records import Lockfile
from . import history
from .history import BundleError, Index
from .locks import read_version_lock
from .outputs import LOCKFILE

TOP = ROOT.split("/", 1)[0]  # pypi
Wheels = dict[str, tuple[Wheel, set[str]]]  # bundle path -> (locked wheel, environments)


def locked(root: Path, index: Index, locks: Mapping[str, Lockfile] | None = None) -> Wheels:
    """Every wheel a kept version of ``index`` locks, by its path in the bundle, read from
    each version's lockfile under ``root`` (or taken from ``locks``, read already by
    :func:`.locks.version_locks`; untrusted: each is checked before it names a path; one
    file name with two different sha256 is refused)."""
    found: Wheels = {}
    for name, version, rel in history.version_paths(index):
        path = root / rel / LOCKFILE
        lock = locks[rel] if locks is not None else read_version_lock(root, rel)
        for wheels in lock.pypi.values():
            for w in wheels:
                _add(found, w, name, f"{name} {version.id}", path)
    return found


def _add(found: Wheels, w: Wheel, user: str, who: str, path: Path) -> None:
    problem = wheel_problem(w)
    if problem is not None:
        raise BundleError(f"{path}: {who} locks wheel {w.name} {w.version}: {problem}")
    rel = wheel_path(w)
    had = found.get(rel)
    if had is not None and had[0].sha256 != w.sha256:
        raise BundleError(
            f"{rel}: {who} locks sha256 {w.sha256}, another version {had[0].sha256}; one "
            f"file name cannot hold both: vendor into a new output, or drop the older "
            f"versions first (vendor prune)"
        )
    found.setdefault(rel, (w, set()))[1].add(user)


def plan(locks: Iterable[tuple[str, Lockfile]]) -> dict[str, Wheel]:
    """Every wheel the ``(environment, lock)`` pairs of a run lock, by its path in the
    bundle's simple index, once. Each passes :func:`~..pypi.records.wheel_problem` (its
    file name becomes a path); one file name locked with two sha256 is refused."""
    found: dict[str, Wheel] = {}
    for name, lock in locks:
        for platform, wheels in sorted(lock.pypi.items()):
            for w in wheels:
                problem = wheel_problem(w)
                if problem is not None:
                    raise ChannelError(
                        f"{name}: wheel {w.name} {w.version} ({platform}): {problem}; "
                        f"refusing to vendor it (the lock is corrupt or hostile)"
                    )
                had = found.setdefault(wheel_path(w), w)
                if had.sha256 != w.sha256:
                    raise ChannelError(
                        f"{w.filename}: locked with sha256 {had.sha256} and {w.sha256}; "
                        f"one file cannot be both: lock the environments again"
                    )
    return dict(sorted(found.items()))


def check_rewrites(
    bundle: Path | None, incoming: Mapping[str, Wheel], what: str = "the index"
) -> None:
    """Refuse, before anything is fetched, wheels this run would write under a file name
    the bundle already locks with other bytes (``incoming``: bundle path -> wheel), as
    :func:`.transaction.check_rewrites` does for archives: one line names the wheel,
    both sha256 and the environments locking the old bytes."""
    index = history.read_index(bundle) if bundle is not None else None
    if bundle is None or index is None or not incoming:
        return
    have = locked(bundle, index)
    for rel, w in sorted(incoming.items()):
        old = have.get(rel)
        if old is not None and old[0].sha256 != w.sha256:
            raise BundleError(
                f"{rel}: {what} now has sha256 {w.sha256} under this name, but the bundle's "
                f"{', '.join(sorted(old[1]))} lock sha256 {old[0].sha256}; refusing to "
                f"replace those bytes ({bundle} is unchanged). Drop those versions first "
                f"(vendor prune --drop / --keep), or vendor into a new output"
            )


def settle(staging: Path, wheels: Mapping[str, tuple[Wheel, set[str]]]) -> None:
    """The index under staging holds exactly ``wheels`` and their pages."""
    if not wheels:
        if is_plain_dir(staging / TOP):
            shutil.rmtree(staging / TOP)
        return
    written = pages(w for w, _ in wheels.values())
    for rel in _files(staging):
        if rel not in wheels and rel not in written:
            contained(staging, rel).unlink()
    for folder in (
        sorted(contained(staging, ROOT).iterdir()) if is_plain_dir(staging / ROOT) else ()
    ):
        if is_plain_dir(folder) and not any(folder.iterdir()):
            folder.rmdir()  # a project no kept version locks any more
    for rel, text in written.items():
        path = contained(staging, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)


def problems(root: Path, wheels: Mapping[str, tuple[Wheel, set[str]]]) -> dict[str, list[str]]:
    """What ``vendor verify`` finds wrong with the index under ``root``: ``missing`` and
    ``corrupt`` wheels (size, sha256), pages that are not what the wheels make, files
    under the index nobody locks (``extra``)."""
    found: dict[str, list[str]] = {"missing": [], "corrupt": [], "extra": []}
    for rel, (w, users) in sorted(wheels.items()):
        problem = file_problem(contained(root, rel), Expected(w.size, w.sha256, None))
        if problem == "missing":
            found["missing"].append(f"{rel} (locked by {', '.join(sorted(users))})")
        elif problem:
            found["corrupt"].append(f"{rel}: {problem}")
    written = pages(w for w, _ in wheels.values())
    for rel, text in written.items():
        path = contained(root, rel)
        if not path.is_file() or path.is_symlink():
            found["missing"].append(rel)
        elif path.read_text("utf-8", errors="replace") != text:
            found["corrupt"].append(f"{rel}: does not list exactly the locked wheels")
    found["extra"] = [rel for rel in _files(root) if rel not in wheels and rel not in written]
    return found


def _files(root: Path) -> list[str]:
    """Every file under the bundle's ``pypi/`` folder, as a bundle path."""
    top = root / TOP
    if not is_plain_dir(top):
        return []
    return [f"{TOP}/{rel}" for rel, _ in walk_files(top)]
