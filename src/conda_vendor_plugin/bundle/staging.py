"""The places beside OUT a bundle is built in, one run at a time (the steps that use
them, and the swap, are :mod:`.transaction`).

Everything is built in a staging directory beside OUT (``.OUT.staging``), which also
keeps verified archives and partial downloads between runs, so a second run resumes.
Only when the whole output is complete does it replace OUT (``OUT`` -> ``.OUT.old``,
staging -> ``OUT``, then the old copy is removed); a run that fails or is
interrupted leaves the previous OUT as it was.

A run holds an exclusive lock (``.OUT.lock``, holding its PID) from start to end, so
two runs never write one OUT; the lock file is removed when the run ends. Links are
never followed for the staging directory or the old copy; an OUT that is a symbolic link
to a directory is written through (the link stays, its target gets the new bundle).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import VendorError
from ..fsutil import UnsafePath, contained, is_plain_dir, walk_files
from .outputs import MANIFEST, TOOL
from .plan import VendoredPackage
from .pointers import check_pointers


class OutputBusy(VendorError):
    """Another run holds the lock on OUT."""


class DiskFull(VendorError):
    """Not enough room for the bundle on OUT's filesystem."""


METADATA_MARGIN = 1 << 20  # room for repodata, lockfile, env files and manifest


@dataclass(frozen=True)
class Output:
    """OUT as the user named it, and the directory it really is."""

    given: Path
    real: Path

    def _beside(self, suffix: str) -> Path:
        return self.real.parent / f".{self.real.name}.{suffix}"

    @property
    def staging(self) -> Path:
        return self._beside("staging")

    @property
    def old(self) -> Path:
        return self._beside("old")

    @property
    def lock_path(self) -> Path:
        return self._beside("lock")


def resolve_output(out: Path) -> Output:
    """Where OUT really is; refuse an OUT that cannot be replaced safely."""
    if out.is_symlink():
        real = Path(os.path.realpath(out))
        if not real.is_dir():
            raise VendorError(
                f"{out}: a symbolic link to {real}, which is not a directory; point it at "
                f"a directory or choose another -o/--output"
            )
    else:
        real = Path(os.path.abspath(out))
    if real.parent == real:
        raise VendorError(f"{out}: cannot vendor into a filesystem root; use -o <new directory>")
    cwd = Path(os.path.realpath(os.getcwd()))
    if cwd == Path(os.path.realpath(real)) or Path(os.path.realpath(real)) in cwd.parents:
        raise VendorError(
            f"{out}: is the current directory or holds it, and is replaced as a whole; "
            f"run from elsewhere or use -o <new directory>"
        )
    return Output(given=out, real=real)


def _check_own_dir(path: Path, what: str) -> None:
    """The staging directory and the old copy: absent, or a directory that is not a link."""
    if path.is_symlink():
        raise VendorError(
            f"{path}: is a symbolic link; conda vendor never follows a link for its {what}. "
            f"Remove the link (not what it points to) and run again"
        )
    if path.exists() and not path.is_dir():
        raise VendorError(f"{path}: is not a directory; remove it and run again")


@contextmanager
def exclusive(output: Output) -> Iterator[None]:
    """Hold the lock on OUT for the whole run; fail at once if another run holds it."""
    from filelock import FileLock, Timeout

    def record_pid(fd: int) -> None:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as e:  # a full disk: held without a PID (the run may free room)
            if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise

    lock = FileLock(str(output.lock_path), timeout=0, on_acquired=record_pid)
    try:
        lock.acquire()
    except Timeout:
        raise OutputBusy(
            f"{output.given}: another conda vendor run (PID {_holder(output.lock_path)}) is "
            f"writing it; wait for it to finish, or stop it, and run again"
        ) from None
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise  # a full disk: the caller's one line says so (the lock file is new each run)
        raise VendorError(
            f"{output.lock_path}: cannot create the lock beside OUT ({e.strerror or e}); "
            f"check that {output.real.parent} is a writable directory and not a link"
        ) from None
    try:
        yield
    finally:
        # Removed while still held (a run that opened it meanwhile finds it unlinked and
        # does not count it as held): nothing of ours stays beside OUT but OUT.
        with contextlib.suppress(OSError):
            output.lock_path.unlink()
        lock.release()


def _holder(lock_path: Path) -> str:
    try:
        with open(lock_path, encoding="ascii", errors="replace") as f:
            pid = f.read(32).strip()
    except OSError:
        pid = ""
    return pid if pid.isdigit() else "unknown"


def not_ours(directory: Path) -> list[str] | None:
    """The files in ``directory`` that this tool did not write, by its manifest (None when
    there is no manifest naming this tool: then nothing in it is ours). A ``current``
    link that a copy turned into a directory holding exactly its version's files is ours."""
    try:
        doc = json.loads((directory / MANIFEST).read_text())
        files = doc["files"] if doc["tool"]["name"] == TOOL else None
        listed = {f["path"]: f.get("sha256") for f in files} if files is not None else None
        links = {f["path"]: str(f["link"]) for f in files or () if "link" in f}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        listed = None
    if listed is None:
        return None
    copies = check_pointers(directory, links, listed)
    ours = set(listed) | (copies.copies if not copies.corrupt else set())
    return [rel for rel, _ in walk_files(directory) if rel != MANIFEST and rel not in ours]


def _refuse_to_replace(path: Path, what: str, force: bool) -> None:
    """Refuse to delete ``path`` (``what`` it is to the user) unless it is a previous
    output holding only what its manifest lists, or the user said ``--force``."""
    if force or not path.is_dir() or not any(path.iterdir()):
        return
    foreign = not_ours(path)
    if foreign == []:
        return
    files = foreign if foreign is not None else [rel for rel, _ in walk_files(path)]
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    why = "was not written by conda vendor" if foreign is None else "holds files it did not write"
    raise VendorError(
        f"{path}: {what} {why} ({shown}), which replacing it would delete; move them away, "
        f"choose another -o/--output, or pass --force"
    )


def check_own_dirs(output: Output) -> None:
    """The staging directory and the old copy: absent, or directories that are not links."""
    _check_own_dir(output.staging, "staging directory")
    _check_own_dir(output.old, "old copy of the output")


def check_output(output: Output, force: bool = False) -> None:
    """Refuse to replace a directory holding anything this tool did not write, or to
    follow a link on the way."""
    out, old = output.real, output.old
    check_own_dirs(output)
    if out.exists() and not out.is_dir():
        raise VendorError(
            f"{output.given}: exists and is not a directory; choose another -o/--output"
        )
    _refuse_to_replace(out, "the output directory", force)
    _refuse_to_replace(old, "a directory in the place of the old copy", force)


def make_staging(output: Output) -> Path:
    """The staging directory (kept from an earlier run, or new); never a link, and with
    any link found inside it removed (this tool makes none: nothing there is followed)."""
    staging = output.staging
    _check_own_dir(staging, "staging directory")
    staging.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(staging, followlinks=False):
        base = Path(dirpath)
        for name in filenames + dirnames:
            if (base / name).is_symlink():
                (base / name).unlink()
    return staging


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding ``path`` (for messages)."""
    p = Path(os.path.realpath(path))
    while not os.path.ismount(p) and p.parent != p:
        p = p.parent
    return p


def still_to_fetch(staging: Path, planned: Iterable[tuple[str, int | None]]) -> int:
    """Bytes the planned files (bundle path, size) still need in staging (complete files
    and the bytes of partial downloads already there count as had)."""
    needed = 0
    for rel, size in planned:
        size = size or 0
        path = staging / rel
        partial = path.with_name(path.name + ".partial")
        have = 0
        for candidate in (path, partial):
            if candidate.is_file() and not candidate.is_symlink():
                have = max(have, min(candidate.stat().st_size, size))
        needed += size - have
    return needed


def check_free_space(
    output: Output, staging: Path, planned: Iterable[tuple[str, int | None]]
) -> None:
    """Refuse to start downloads that cannot fit (one line: needed vs free, where);
    ``planned``: every archive and wheel to fetch, as (bundle path, size)."""
    needed = still_to_fetch(staging, planned) + METADATA_MARGIN
    free = shutil.disk_usage(staging).free
    if needed > free:
        raise DiskFull(
            f"{output.given}: the bundle needs {_mib(needed)} more, and the filesystem at "
            f"{mount_point(staging)} has {_mib(free)} free; free some space or vendor to "
            f"another filesystem (-o)"
        )


def disk_full(output: Output, e: OSError) -> DiskFull:
    """ENOSPC / EDQUOT during the run, as one line saying how to reclaim the room."""
    staging = output.staging
    held = sum(os.lstat(staging / rel).st_size for rel, _ in walk_files(staging))
    return DiskFull(
        f"{output.given}: no space left on the filesystem at {mount_point(output.real.parent)} "
        f"({e.strerror}); {staging} holds {_mib(held)} kept for resuming. Free some space and "
        f"run again to resume, or remove {staging} to give that back"
    )


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def remove(path: Path) -> None:
    """Remove ``path``: a link or file itself, a directory with what is in it (links in
    it are removed, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def seed_from_previous(output: Output, staging: Path, vendored: Sequence[VendoredPackage]) -> None:
    """Hard-link archives of the previous output into staging (verified before use).

    Only regular files reached without a link are taken."""
    if not is_plain_dir(output.real):
        return
    for vp in vendored:
        try:
            src = contained(output.real, vp.relpath)
            dst = contained(staging, vp.relpath)
        except UnsafePath:
            continue
        if src.is_file() and not src.is_symlink() and not dst.exists() and not dst.is_symlink():
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst, follow_symlinks=False)
            except OSError:
                shutil.copyfile(src, dst, follow_symlinks=False)


def prune(staging: Path, keep: set[str]) -> None:
    """Remove files of earlier plans from staging (partial files of kept archives stay);
    links are removed, never followed."""
    for dirpath, dirnames, filenames in os.walk(staging, topdown=False, followlinks=False):
        base = Path(dirpath)
        for name in filenames + [d for d in dirnames if (base / d).is_symlink()]:
            path = base / name
            rel = path.relative_to(staging).as_posix()
            if path.is_symlink() or (rel not in keep and rel.removesuffix(".partial") not in keep):
                path.unlink()
        if base != staging and not any(base.iterdir()):
            base.rmdir()
