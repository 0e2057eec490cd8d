"""Files: written so that a reader never sees half of one, and read in bounded chunks."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename it over ``path``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".partial", dir=p.parent)
    try:
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


def iter_chunks(source: str | Path | BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """The bytes of a file (a path, or a file open for reading) in pieces of ``size``."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as f:
            yield from iter_chunks(f, size)
        return
    while chunk := source.read(size):
        yield chunk


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    for chunk in iter_chunks(path):
        h.update(chunk)
    return h.hexdigest()
