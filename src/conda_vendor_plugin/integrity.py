"""What an archive must be, and checking a file or a stream of bytes against it.

Hashes are compared case-insensitively (repodata written by some indexers has upper-case
hex): what ``vendor`` accepts, ``vendor verify`` accepts too. An archive is checked
against every hash its entry gives that this module computes: sha256, and md5 where no
sha256 is known.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fsutil import iter_chunks, open_nofollow


def _hex(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Expected:
    """What an archive must be, from its repodata entry: size and hashes (any may be unknown)."""

    size: int | None
    sha256: str | None
    md5: str | None

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Expected:
        size = entry.get("size")
        size = size if isinstance(size, int) and not isinstance(size, bool) else None
        return cls(size, _hex(entry.get("sha256")), _hex(entry.get("md5")))

    @property
    def verified_by(self) -> str:
        """What a matching archive was verified by: ``sha256``, ``md5`` or ``size``."""
        return "sha256" if self.sha256 else "md5" if self.md5 else "size"


class Verifier:
    """Size and hashes of bytes as they pass, checked against :class:`Expected`."""

    def __init__(self, expected: Expected) -> None:
        self.expected = expected
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5() if not expected.sha256 and expected.md5 else None
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        if self.md5 is not None:
            self.md5.update(chunk)
        self.size += len(chunk)

    def update_from(self, path: Path) -> None:
        for chunk in iter_chunks(path):
            self.update(chunk)

    def problem(self) -> str | None:
        want = self.expected
        if want.size is not None and self.size != want.size:
            return f"size {self.size} bytes, expected {want.size}"
        if want.sha256 and self.sha256.hexdigest() != want.sha256.lower():
            return f"sha256 {self.sha256.hexdigest()}, expected {want.sha256}"
        if self.md5 is not None and self.md5.hexdigest() != (want.md5 or "").lower():
            return f"md5 {self.md5.hexdigest()}, expected {want.md5}"
        if not want.sha256 and not want.md5 and want.size is None:
            return "no size or hash to verify against"
        return None


def stat_problem(path: Path, expected: Expected) -> str | None:
    """What :func:`file_problem` can tell without reading the file: missing, a link
    (never followed), not a regular file, or another size than expected."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link (not followed)"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if expected.size is not None and st.st_size != expected.size:
        return f"size {st.st_size} bytes, expected {expected.size}"
    return None


def file_problem(path: Path, expected: Expected) -> str | None:
    """None when the file at ``path`` is the archive ``expected`` describes, else what is
    wrong with it (``"missing"`` when there is no such file). A symbolic link is a
    problem, never followed."""
    problem = stat_problem(path, expected)
    if problem is not None:
        return problem
    v = Verifier(expected)
    try:
        v.update_from(path)
    except FileNotFoundError:
        return "missing"
    return v.problem()


def copy_verified(
    src: Path, tmp: Path, expected: Expected, on_bytes: Callable[[int], None]
) -> Verifier:
    """Copy ``src`` to ``tmp``, hashing on the way (one read); the verifier tells the verdict.

    Stops one byte past the expected size: a source that never ends (``/dev/zero``) costs
    no more than the archive would."""
    v = Verifier(expected)
    limit = None if expected.size is None else expected.size + 1
    with open(src, "rb") as fin, open_nofollow(tmp, "wb") as fout:
        for chunk in iter_chunks(fin):
            if limit is not None and v.size + len(chunk) > limit:
                chunk = chunk[: limit - v.size]
            v.update(chunk)
            fout.write(chunk)
            on_bytes(len(chunk))
            if limit is not None and v.size >= limit:
                break
    return v


def stage_verified(src: Path, dest: Path, expected: Expected) -> str | None:
    """Put the file ``src`` at ``dest`` (in a private folder) and check it there: what is
    wrong with it (as :func:`file_problem` says), or None. A hard link when only this
    user can change the file (:func:`_linked_privately`): its bytes are then hashed where
    they lie, and what was hashed is what a later reader of ``dest`` reads. Else a copy,
    hashed as it is written (another file system, a read-only medium, a file others may
    write, no file owners)."""
    if _linked_privately(src, dest):
        return file_problem(dest, expected)
    return copy_verified(src, dest, expected, lambda n: None).problem()


def _linked_privately(src: Path, dest: Path) -> bool:
    """Hard-link ``src`` at ``dest`` and keep the link only when the inode it names is a
    regular file owned by this user that neither its group nor others may write: then
    no one else can change the checked bytes before they are read (a hard link shares
    the inode, so a change of the source would be a change of ``dest``). The check is of
    the linked inode, after the link: a file swapped at ``src`` meanwhile is judged by
    what was linked. False (and no ``dest``) otherwise, and always where files have no
    owner to compare (Windows)."""
    if not hasattr(os, "geteuid"):
        return False
    try:
        os.link(src, dest, follow_symlinks=False)
    except (OSError, NotImplementedError):  # another file system (EXDEV), EPERM, EROFS...
        return False
    st = os.lstat(dest)
    private = (
        stat.S_ISREG(st.st_mode)
        and st.st_uid == os.geteuid()
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )
    if not private:
        dest.unlink()
    return private
