"""Files: written so that a reader never sees half of one, read in bounded chunks, and
reached only inside the directory they belong to.

Relative paths from untrusted places (repodata keys, a received manifest) go through
:func:`contained`, which refuses absolute paths, ``..``, and symbolic links on the way,
so nothing is read or written outside the root by surprise.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1 << 20
NAME_MAX = 255  # bytes in one file name on the usual filesystems
MAX_METADATA_BYTES = 2 << 30  # a repodata.json, manifest or index larger than this is refused
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class UnsafePath(ValueError):
    """A relative path that would leave its root, or reach through a symbolic link."""


def relpath_problem(rel: object) -> str | None:
    """Why ``rel`` is not a plain relative POSIX path below a root, or None."""
    if not isinstance(rel, str) or not rel:
        return "not a non-empty string"
    if "\\" in rel or "\0" in rel:
        return "contains a backslash or NUL"
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        return "is absolute"
    for part in rel.split("/"):
        if part in ("", ".", ".."):
            return "has an empty, '.' or '..' component"
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX:
            return f"has a component longer than {NAME_MAX} bytes"
    return None


def contained(root: Path, rel: str) -> Path:
    """``root / rel``, after checking that it stays inside ``root``.

    Raises :class:`UnsafePath` if ``rel`` is absolute, has ``..`` (or empty, ``.``)
    components, or if any existing component below ``root`` is a symbolic link.
    """
    problem = relpath_problem(rel)
    if problem is not None:
        raise UnsafePath(f"{rel!r} {problem}")
    path = root
    for part in rel.split("/"):
        path = path / part
        if path.is_symlink():
            raise UnsafePath(f"{rel!r}: {path} is a symbolic link")
    return path


def is_plain_dir(path: Path) -> bool:
    """True for a directory that is not a symbolic link."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def open_nofollow(path: str | Path, mode: str = "rb") -> BinaryIO:
    """Open ``path`` for binary reading or writing without following a final symlink."""
    flags = {
        "rb": os.O_RDONLY,
        "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
        "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    }[mode]
    fd = os.open(path, flags | _NOFOLLOW | getattr(os, "O_BINARY", 0), 0o666)
    return os.fdopen(fd, mode)


def read_json_file(path: Path, max_bytes: int) -> Any:
    """The JSON document in a regular file reached without a link, at most ``max_bytes``.

    Raises :class:`FileNotFoundError` when there is no such file, and :class:`ValueError`
    saying why otherwise (a link, not a regular file, too large, not JSON)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise ValueError("is a symbolic link (not followed)")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("is not a regular file")
    if st.st_size > max_bytes:
        raise ValueError(f"is larger than {max_bytes} bytes")
    with open_nofollow(path) as f:
        try:
            return json.load(f)
        except (ValueError, RecursionError) as e:
            raise ValueError(f"is not valid JSON ({type(e).__name__})") from None


def walk_files(root: Path) -> Iterator[tuple[str, bool]]:
    """Every non-directory below ``root`` as ``(relative POSIX path, is a symlink)``,
    sorted; symbolic links to directories are listed, never descended into."""
    found: list[tuple[str, bool]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in list(dirnames):
            if (base / name).is_symlink():
                dirnames.remove(name)
                filenames.append(name)
        for name in filenames:
            path = base / name
            found.append((path.relative_to(root).as_posix(), path.is_symlink()))
    yield from sorted(found)


@functools.cache
def _umask() -> int:
    """The process umask (read once: setting it back at once is the only way to read it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename it over ``path``.

    The file gets the mode a plain ``open`` would give it (0666 less the umask), not
    ``mkstemp``'s 0600: a bundle one account writes is readable where the umask says so.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".partial", dir=p.parent)
    try:
        if hasattr(os, "fchmod"):  # not on Windows, where modes do not apply
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class TooLarge(ValueError):
    """A file past the size the caller accepts."""


def read_limited(path: str | Path, limit: int) -> bytes:
    """The bytes of ``path``, refusing more than ``limit`` (``/dev/zero`` never ends)."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"larger than {limit} bytes")
    return data


def iter_chunks(source: str | Path | BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """The bytes of a file (a path, or a file open for reading) in pieces of ``size``."""
    if isinstance(source, (str, Path)):
        with open_nofollow(source) as f:
            yield from iter_chunks(f, size)
        return
    while chunk := source.read(size):
        yield chunk


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    for chunk in iter_chunks(path):
        h.update(chunk)
    return h.hexdigest()
