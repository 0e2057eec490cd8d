"""``vendor pack``: a bundle as one reproducible tar, to carry it on any medium.

The tar holds ``manifest.json`` first (so a reader can check every later member as it
streams by, without unpacking), then every other file and ``current`` link of the
bundle in sorted order; no directories. A ``current`` link that became a directory or
was dropped on the way (:mod:`.pointers`) is packed as found: the copy's files, or
nothing. Owners are ``0:0`` with no names, files are mode 0644, links 0777, and every
member's time is ``SOURCE_DATE_EPOCH`` when set, else the bundle's own (its SBOM's
timestamp): two packs of one bundle are byte-identical.
GNU tar format (long names as ``././@LongLink``), no compression (the archives are
compressed already). Beside it, ``FILE.tar.sha256`` in ``sha256sum`` form.

Packing checks every file against the manifest as it is read (size and sha256; links
against their listed target): a bundle that does not match its manifest is refused
in one line and no tar is left. Reading a tar back is :mod:`.unpack`.
"""

from __future__ import annotations

import hashlib
import os
import queue
import tarfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import VendorError, quoted
from ..fsutil import (
    CHUNK,
    MAX_METADATA_BYTES,
    atomic_write_text,
    is_plain_dir,
    open_nofollow,
    read_json_file,
    walk_files,
)
from .outputs import MANIFEST
from .pointers import copy_of
from .sbom import SBOM, source_date_epoch, timestamp_of

FILE_MODE = 0o644
LINK_MODE = 0o777
SHA256_SUFFIX = ".sha256"


class PackError(VendorError):
    """A bundle could not be packed, or a packed bundle could not be read back."""


class BackgroundSha256:
    """A sha256 computed in a thread of its own from the blocks given to :meth:`update`,
    so that two hashes of the same bytes (each file's, checked against the manifest, and
    the tar's own) run on two cores: hashlib lets go of the interpreter on large blocks.
    At most :data:`QUEUED` blocks wait; :meth:`hexdigest` ends the thread."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._blocks: queue.Queue[bytes | None] = queue.Queue(QUEUED)
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()
        self._digest: str | None = None

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            self._hash.update(block)

    def update(self, block: bytes) -> None:
        if block:
            self._blocks.put(bytes(block))

    def hexdigest(self) -> str:
        if self._digest is None:
            self._blocks.put(None)
            self._thread.join()
            self._digest = self._hash.hexdigest()
        return self._digest


QUEUED = 8  # blocks of up to CHUNK bytes waiting for the hashing thread


class HashingWriter:
    """A binary file that hashes what is written to it (the tar's own sha256), in a
    thread of its own (:class:`BackgroundSha256`)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = BackgroundSha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.raw.write(data)


class HashingReader:
    """A binary file read once, front to back, hashing and counting what passes."""

    def __init__(self, raw: BinaryIO, background: bool = False) -> None:
        self.raw = raw
        self.sha256: Any = BackgroundSha256() if background else hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        """Read (and hash) what is left after the last member: the tar's end blocks."""
        while self.read(1 << 20):
            pass


def manifest_items(doc: Any, source: str) -> dict[str, Mapping[str, Any]]:
    """The manifest's files by path (each a mapping with ``sha256`` or ``link``)."""
    items = doc.get("files") if isinstance(doc, Mapping) else None
    if not isinstance(items, list) or not all(
        isinstance(i, Mapping) and isinstance(i.get("path"), str) for i in items
    ):
        raise PackError(f"{source}: not a manifest this tool wrote (no 'files' list of paths)")
    return {str(i["path"]): i for i in items}


def pack_time(bundle: Path) -> int:
    """The members' time: ``SOURCE_DATE_EPOCH``, else the bundle's SBOM timestamp, else 0."""
    when = source_date_epoch() or timestamp_of(bundle / SBOM)
    return int(when.timestamp()) if when is not None else 0


def _info(rel: str, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(rel)
    info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
    info.mode = FILE_MODE
    return info


def _add_file(tf: tarfile.TarFile, bundle: Path, rel: str, item: Mapping[str, Any], t: int) -> int:
    path = bundle / rel
    info = _info(rel, t)
    info.size = path.lstat().st_size
    if item.get("size") not in (None, info.size):
        raise PackError(f"{path}: {info.size} bytes, the manifest says {item.get('size')}")
    with open_nofollow(path) as f:
        reader = HashingReader(f)
        tf.addfile(info, reader)
    if reader.sha256.hexdigest() != str(item.get("sha256", "")).lower():
        raise PackError(
            f"{path}: sha256 {reader.sha256.hexdigest()}, the manifest says "
            f"{item.get('sha256')}; check the bundle with 'vendor verify {bundle}'"
        )
    return info.size


def _add_link(tf: tarfile.TarFile, bundle: Path, rel: str, item: Mapping[str, Any], t: int) -> None:
    target = os.readlink(bundle / rel)
    if target != item.get("link"):
        raise PackError(
            f"{bundle / rel}: a link to {quoted(target)}, the manifest says "
            f"{quoted(item.get('link'))}"
        )
    info = _info(rel, t)
    info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, LINK_MODE
    tf.addfile(info)


def expected_members(
    bundle: Path, items: Mapping[str, Mapping[str, Any]]
) -> dict[str, Mapping[str, Any]]:
    """What the tar holds besides the manifest, each with the manifest's item it must
    match: every file and link the manifest lists, but a ``current`` link that became a
    directory on some medium as the files of that copy (each checked against its
    version's file) and one that was dropped as nothing (``current.txt`` says the same):
    the forms :mod:`.pointers` accepts, packed as found."""
    expected = dict(items)
    for rel, item in items.items():
        path = bundle / rel
        if "link" not in item or path.is_symlink():
            continue
        if is_plain_dir(path):
            expected.update(copy_of(rel, str(item["link"]), items))
        elif os.path.lexists(path):
            raise PackError(f"{path}: neither a link nor a copy of {item['link']}")
        del expected[rel]
    return expected


def _members(bundle: Path, items: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, bool]]:
    """The bundle's files and links, the manifest first, each checked to be listed."""
    found = [(rel, link) for rel, link in walk_files(bundle) if rel != MANIFEST]
    on_disk = {rel for rel, _ in found}
    extra = sorted(on_disk - set(items))
    missing = sorted(set(items) - on_disk)
    if extra or missing:
        what = f"{extra[0]} is not in its manifest" if extra else f"{missing[0]} is missing"
        raise PackError(
            f"{bundle}: {what}; check it with 'vendor verify {bundle}' before packing it"
        )
    for rel, link in found:
        if link != ("link" in items[rel]):
            raise PackError(f"{bundle / rel}: a link or a file where the manifest says otherwise")
    return [(MANIFEST, False), *found]


def write_tar(bundle: Path, out: BinaryIO) -> tuple[int, int, str]:
    """Write the tar of ``bundle`` to ``out``: (members, content bytes, tar sha256)."""
    try:
        manifest = read_json_file(bundle / MANIFEST, MAX_METADATA_BYTES)
    except FileNotFoundError:
        raise PackError(f"{bundle}: not a bundle (no {MANIFEST})") from None
    except ValueError as e:
        raise PackError(f"{bundle / MANIFEST}: {e}") from None
    items = expected_members(bundle, manifest_items(manifest, str(bundle / MANIFEST)))
    mtime = pack_time(bundle)
    members = _members(bundle, items)
    sink = HashingWriter(out)
    size = 0
    try:
        with tarfile.open(
            fileobj=sink, mode="w|", format=tarfile.GNU_FORMAT, bufsize=CHUNK, copybufsize=CHUNK
        ) as tf:
            for rel, link in members:
                if rel == MANIFEST:
                    info = _info(rel, mtime)
                    info.size = (bundle / rel).lstat().st_size
                    with open_nofollow(bundle / rel) as f:
                        tf.addfile(info, f)
                    size += info.size
                elif link:
                    _add_link(tf, bundle, rel, items[rel], mtime)
                else:
                    size += _add_file(tf, bundle, rel, items[rel], mtime)
    finally:
        digest = sink.sha256.hexdigest()  # ends the hashing thread, whatever happened
    return len(members), size, digest


def pack(bundle: Path, output: Path) -> dict[str, Any]:
    """Write ``output`` (the tar) and ``output.sha256``; nothing is left on failure."""
    if not bundle.is_dir():
        raise PackError(f"{bundle}: no such bundle directory; pass what conda vendor wrote")
    out = Path(os.path.abspath(output))
    if out.is_relative_to(Path(os.path.abspath(bundle))):
        raise PackError(f"{output}: inside the bundle it would pack; write it elsewhere")
    if out.is_dir():
        raise PackError(f"{output}: a directory; name the tar file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with open_nofollow(partial, "wb") as f:
            members, size, digest = write_tar(bundle, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    checksum = Path(f"{out}{SHA256_SUFFIX}")
    atomic_write_text(checksum, f"{digest}  {out.name}\n")
    return {
        "bundle": str(bundle),
        "tar": str(output),
        "sha256": digest,
        "sha256_file": f"{output}{SHA256_SUFFIX}",
        "members": members,
        "bytes": size,
        "packed": True,
    }
