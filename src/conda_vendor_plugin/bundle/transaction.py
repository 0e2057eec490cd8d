"""One bundle transaction: the only way a command changes a bundle on disk.

``vendor``, ``vendor apply`` and ``vendor prune`` (and any later command that writes
into a bundle) do the same steps through this module::

    with transaction.begin(Path(out), force=False) as tx:   # lock, crash repair
        staging = tx.stage(keep)          # .OUT.staging, pruned to the files in ``keep``
        ...                               # the command writes its files into staging
        index, archives = tx.merge(fresh, tx.base)  # or the command's own
        tx.commit(index, archives)        # writers, SBOM, manifest, verify, swap

* :func:`begin` takes the lock on OUT (``.OUT.lock``) for the whole run and repairs
  what an interrupted run left (OUT gone, ``.OUT.old`` whole: the run died between the
  two renames of the swap, so the old copy goes back). A full disk (ENOSPC, EDQUOT)
  anywhere inside becomes one :class:`~.staging.DiskFull` line saying how to reclaim
  the room, whichever command it was.
* :meth:`Transaction.commit` runs the ``writers`` given to :func:`begin` (each
  ``writer(staging, index)`` may add files, e.g. a README, and sees the merged index),
  writes the SBOM and the manifest (which lists those files too), then verifies the
  staged bundle exactly as ``vendor verify`` would (every kept version's locked
  archives present with the locked size and sha256, local repodata agreeing, manifest
  and SBOM true) and refuses to swap a bundle that does not verify: no command leaves
  a bundle that fails ``vendor verify``. Only then ``OUT`` -> ``.OUT.old``, staging ->
  ``OUT``, and the old copy is removed.
* :func:`check_rewrites` refuses an archive or wheel file name the bundle already holds
  with other bytes (a channel or index that re-served a file), before anything is fetched.

A run killed at any point leaves either the previous OUT (possibly as ``.OUT.old``,
which the next run puts back) or the new one. Tests stop a real run at each named step
with the internal variable ``_CONDA_VENDOR_TEST_STOP_AT`` (see :data:`STEPS`).
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write_text, is_plain_dir
from ..pypi.records import Wheel
from ..records import LockedPackage
from . import assemble, history, locks, wheels
from . import staging as staging_mod
from .history import BundleError, Index
from .outputs import MANIFEST, manifest_text
from .verify import first_problem, verify_output

Archives = Mapping[str, tuple[LockedPackage, set[str]]]  # bundle path -> (lock, users)
Writer = Callable[[Path, Index], None]

# Internal and for tests only: a step name at which the process kills itself (SIGKILL),
# so a test can stop a real run between any two steps and check what the next run does.
STOP_AT = "_CONDA_VENDOR_TEST_STOP_AT"
STEPS = ("locked", "staged", "merged", "sealed", "verified", "moved-old", "swapped")


def _step(name: str) -> None:
    if os.environ.get(STOP_AT) == name:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


class StagedBundleInvalid(BundleError):
    """The bundle a command built does not verify; OUT was left as it was."""


@dataclass
class Transaction:
    """A run's hold on OUT: its staging directory and the bundle it replaces."""

    output: staging_mod.Output
    writers: Sequence[Writer] = ()
    staging: Path | None = None
    committed: bool = field(default=False, init=False)
    _merged: tuple[Index, wheels.Wheels] | None = field(default=None, init=False, repr=False)

    @property
    def base(self) -> Path | None:
        """OUT, when it is a bundle with an index (the one this run updates), else None."""
        out = self.output.real
        return out if is_plain_dir(out) and history.read_index(out) is not None else None

    def stage(self, keep: set[str] = frozenset()) -> Path:
        """The staging directory, holding only the files in ``keep`` (archives an
        earlier run fetched, and their partial downloads) of what it held before."""
        self.staging = staging_mod.make_staging(self.output)
        staging_mod.prune(self.staging, set(keep))
        _step("staged")
        return self.staging

    def merge(
        self,
        fresh: Index,
        base: Path | None,
        absent_ok: set[str] = frozenset(),
        known: assemble.Known | None = None,
    ) -> tuple[Index, dict[str, tuple[LockedPackage, set[str]]]]:
        """This run's environments (``fresh``, already in staging) merged with ``base``
        (:attr:`base`, or None for a new bundle): see :func:`.assemble.finish`. The
        wheels it found are kept for :meth:`commit` of the same index."""
        index, archives, locked_wheels = assemble.finish(
            self._staged(), fresh, base, absent_ok, known
        )
        self._merged = (index, locked_wheels)
        return index, archives

    def commit(
        self,
        index: Index,
        archives: Archives,
        extra: Mapping[str, Any] | None = None,
        sbom_at: datetime | None = None,
    ) -> None:
        """Wheels' index, writers, SBOM, manifest (``extra``: more top-level keys), verify,
        swap."""
        staging = self._staged()
        merged = self._merged
        locked_wheels = (
            merged[1] if merged and merged[0] is index else wheels.locked(staging, index)
        )
        wheels.settle(staging, locked_wheels)
        for write in self.writers:
            write(staging, index)
        _step("merged")
        assemble.write_sbom(
            staging, archives, previous=self.output.real, at=sbom_at, wheels=locked_wheels
        )
        text = manifest_text(staging, index, archives, extra, locked_wheels)
        atomic_write_text(staging / MANIFEST, text)
        _step("sealed")
        check_staged(staging, self.output)
        _step("verified")
        swap(staging, self.output)
        self.committed = True

    def _staged(self) -> Path:
        if self.staging is None:
            raise RuntimeError("Transaction.stage() first")
        return self.staging


@contextmanager
def begin(out: Path, force: bool = False, writers: Sequence[Writer] = ()) -> Iterator[Transaction]:
    """Hold the lock on OUT, repair an interrupted swap, and refuse an OUT holding files
    this tool did not write (unless ``force``); a full disk inside is one clear line.
    Inside, each lockfile's bytes are parsed once (:func:`.locks.parsed_once`)."""
    output = staging_mod.resolve_output(out)
    try:
        with staging_mod.exclusive(output), locks.parsed_once():
            _step("locked")
            repair(output)
            staging_mod.check_output(output, force=force)
            yield Transaction(output, tuple(writers))
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise staging_mod.disk_full(output, e) from None
        raise


def repair(output: staging_mod.Output) -> None:
    """Finish a swap an earlier run was interrupted in (the lock held): OUT gone and the
    old copy whole means the run died between its two renames, so the old copy goes back
    (the staging directory it was replaced by is rebuilt by this run)."""
    out, old = output.real, output.old
    staging_mod.check_own_dirs(output)
    if not out.exists() and not out.is_symlink() and is_plain_dir(old):
        os.rename(old, out)


def swap(staging: Path, output: staging_mod.Output) -> None:
    """``OUT`` -> ``.OUT.old``, staging -> ``OUT``, then the old copy is removed. Killed
    between the renames, OUT is gone and ``.OUT.old`` whole: :func:`repair` puts it back."""
    out, old = output.real, output.old
    staging_mod.remove(old)  # a finished run could not remove it
    if out.exists():
        os.rename(out, old)
        _step("moved-old")
    os.rename(staging, out)
    _step("swapped")
    try:
        staging_mod.remove(old)
    except OSError:
        pass  # the next run removes it


def check_staged(staging: Path, output: staging_mod.Output) -> None:
    """The staged bundle verifies as ``vendor verify`` checks it, or nothing is swapped."""
    found = verify_output(staging)
    if found["problems"]:
        raise StagedBundleInvalid(
            f"{output.given}: the bundle this run built does not verify ({found['problems']} "
            f"problem(s), first {first_problem(found)}); {output.given} was left as it was: "
            f"run vendor verify {output.given} to check the bundle this run started from"
        )


def check_rewrites(
    bundle: Path | None,
    incoming: Mapping[str, LockedPackage],
    incoming_wheels: Mapping[str, Wheel] | None = None,
    what: str | None = None,
) -> None:
    """Refuse archives this run would write under a file name the bundle already locks
    with other bytes (``incoming``: bundle path -> the locked record this run brings),
    and wheels likewise (``incoming_wheels``: :func:`.wheels.check_rewrites`); ``what``
    names where the new bytes come from (default: the channel, the index). The bundle's
    lockfiles are parsed once for both (:func:`.locks.parsed_once`).

    conda checks no hash when it installs from a local channel, so a file name that
    silently changed bytes would install other code than the bundle's lockfiles name;
    ``vendor verify`` would reject such a bundle. One line names the archive, both
    sha256 and every environment version locking the old bytes."""
    with locks.parsed_once():
        _check_archive_rewrites(bundle, incoming, what or "the channel")
        wheels.check_rewrites(bundle, incoming_wheels or {}, what or "the index")


def _check_archive_rewrites(
    bundle: Path | None, incoming: Mapping[str, LockedPackage], what: str
) -> None:
    index = history.read_index(bundle) if bundle is not None else None
    if bundle is None or index is None:
        return
    locked = _locked_by_version(bundle, index)
    for rel, new in sorted(incoming.items()):
        clashing = [(old, vid) for old, vid in locked.get(rel, ()) if not _same_archive(old, new)]
        if clashing:
            old = clashing[0][0]
            raise BundleError(
                f"{rel}: {what} now has sha256 {_digest(new)} under this name, but the "
                f"bundle's {', '.join(vid for _, vid in clashing)} lock sha256 {_digest(old)}; "
                f"refusing to replace those bytes ({bundle} is unchanged). Drop those versions "
                f"first (vendor prune --drop / --keep), or vendor into a new output"
            )


def _locked_by_version(bundle: Path, index: Index) -> dict[str, list[tuple[LockedPackage, str]]]:
    """Bundle path -> every ``(locked record, name@version)`` of a version locking it."""
    found: dict[str, list[tuple[LockedPackage, str]]] = {}
    for name, version, _ in history.version_paths(index):
        one = Index(index.channels, {name: history.Environment(name, (version,), version.id)})
        for rel, (package, _) in assemble.needed_archives(bundle, one).items():
            found.setdefault(rel, []).append((package, f"{name}@{version.id}"))
    return found


def _same_archive(old: LockedPackage, new: LockedPackage) -> bool:
    if old.sha256 and new.sha256:
        return old.sha256.lower() == new.sha256.lower()
    if old.md5 and new.md5:
        return old.md5.lower() == new.md5.lower()
    return old.size is None or new.size is None or old.size == new.size


def _digest(p: LockedPackage) -> str:
    return (p.sha256 or "").lower() or f"unknown (md5 {p.md5})"
