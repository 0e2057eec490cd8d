"""Reading a tar written by ``vendor pack``, which is untrusted once it has travelled.

One pass, front to back, never seeking: ``manifest.json`` comes first, and every later
member is checked against it as it streams by (size and sha256; a link against its
listed target), the whole file against ``FILE.tar.sha256`` when that lies beside it.
``vendor verify FILE.tar`` does only that and writes nothing; ``vendor unpack FILE.tar
-o DIR`` writes the members into a fresh folder beside DIR, which becomes DIR only when
every member passed, and is removed otherwise.

Refused (reported, never extracted): names that are absolute, have ``..`` or reach
under a link member; links whose target is absolute or has ``..``; hard links; devices,
FIFOs and other special files; a name seen twice; files the manifest does not list.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import stat
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import quoted
from ..fsutil import CHUNK, contained, open_nofollow, read_limited, relpath_problem
from .outputs import MANIFEST
from .pack import SHA256_SUFFIX, HashingReader, PackError, manifest_items
from .pointers import DIRECTORIES, LINKS, POINTER_FILES, Pointers, copy_of, version_of

MAX_MANIFEST_BYTES = 1 << 30


@dataclass
class Scan:
    """What one pass over a packed bundle found."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    archives: int = 0
    versions: int = 0
    members: int = 0
    sha256: str = ""
    pointers: Pointers = field(default_factory=Pointers)  # the ``current`` forms found

    @property
    def problems(self) -> list[str]:
        return [*self.unsafe, *self.corrupt, *self.missing, *self.extra]


class Sink(Protocol):
    """Where checked members go (nothing, for ``verify``)."""

    def file(self, rel: str, chunks: Iterator[bytes]) -> None: ...
    def link(self, rel: str, target: str) -> None: ...
    def directory(self, rel: str) -> None: ...


class Discard:
    def file(self, rel: str, chunks: Iterator[bytes]) -> None:
        for _ in chunks:
            pass

    def link(self, rel: str, target: str) -> None:
        pass

    def directory(self, rel: str) -> None:
        pass


class FolderWriter:
    """Writes members below ``root``, never through a link (:func:`contained`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, rel: str) -> Path:
        parent = rel.rpartition("/")[0]
        if parent:
            contained(self.root, parent).mkdir(parents=True, exist_ok=True)
        return contained(self.root, rel)

    def file(self, rel: str, chunks: Iterator[bytes]) -> None:
        with open_nofollow(self._path(rel), "wb") as f:
            for chunk in chunks:
                f.write(chunk)

    def link(self, rel: str, target: str) -> None:
        os.symlink(target, self._path(rel))

    def directory(self, rel: str) -> None:
        self._path(rel).mkdir(exist_ok=True)


def link_target_problem(target: str) -> str | None:
    """Why a link member's target could lead out of the folder it is unpacked into."""
    if relpath_problem(target) is not None or ".." in target.split("/"):
        return f"points at {quoted(target)}, which may lead outside the bundle"
    return None


def _chunks(tf: tarfile.TarFile, m: tarfile.TarInfo, digest: Any) -> Iterator[bytes]:
    f = tf.extractfile(m)
    assert f is not None  # a regular member
    while chunk := f.read(CHUNK):
        digest.update(chunk)
        yield chunk


def _read_manifest(tf: tarfile.TarFile, source: Path, sink: Sink) -> tuple[dict[str, Any], int]:
    """The manifest's files by path, and how many environment versions it names."""
    first = tf.next()
    if first is None or first.name != MANIFEST or not first.isreg():
        raise PackError(
            f"{source}: not a tar written by vendor pack (it does not start with {MANIFEST})"
        )
    if first.size > MAX_MANIFEST_BYTES:
        raise PackError(f"{source}: its {MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    data = b"".join(_chunks(tf, first, _NoDigest()))
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise PackError(f"{source}: its {MANIFEST} is not valid JSON") from None
    items = manifest_items(doc, f"{source}: {MANIFEST}")
    sink.file(MANIFEST, iter([data]))
    return items, _versions(doc)


class _NoDigest:
    def update(self, data: bytes) -> None:
        pass


@dataclass(frozen=True)
class ExpectedMembers:
    """What the members may be: the manifest's files and links by path, and the files
    of a copy a ``current`` link may have become (:mod:`.pointers`), each with the
    pointer it stands for and its version's item."""

    items: Mapping[str, Any]
    copies: Mapping[str, tuple[str, Any]]

    @classmethod
    def of(cls, items: Mapping[str, Any]) -> ExpectedMembers:
        copies = {
            copy: (rel, version_item)
            for rel, item in items.items()
            if "link" in item
            for copy, version_item in copy_of(rel, str(item["link"]), items).items()
        }
        return cls(items, copies)

    def item(self, rel: str) -> Any:
        return self.items[rel] if rel in self.items else self.copies.get(rel, (None, None))[1]


def _member(
    tf: tarfile.TarFile,
    m: tarfile.TarInfo,
    want: ExpectedMembers,
    s: Scan,
    links: set[str],
    sink: Sink,
) -> None:
    rel = m.name
    item = want.item(rel)
    forms = s.pointers.forms
    if m.isdir():
        if "link" in (item or {}):
            forms[rel] = DIRECTORIES  # its copy's files must follow
        sink.directory(rel)
    elif m.issym():
        problem = link_target_problem(m.linkname)
        if problem is not None:
            s.unsafe.append(f"{rel}: a link that {problem}; not extracted")
        elif item is None or item.get("link") != m.linkname:
            s.corrupt.append(
                f"{rel}: a link to {quoted(m.linkname)}, which the manifest does not list"
            )
        elif rel in forms:
            s.unsafe.append(f"{rel}: a link where a copy of its version came before; not extracted")
        else:
            sink.link(rel, m.linkname)
            links.add(rel)
            forms[rel] = LINKS
    elif m.islnk():
        s.unsafe.append(f"{rel}: a hard link to {quoted(m.linkname)}; not extracted")
    elif not m.isreg():
        s.unsafe.append(f"{rel}: a device, FIFO or other special file; not extracted")
    elif item is None or "link" in item:
        s.extra.append(f"{rel} (not in the manifest; not extracted)")
    else:
        if rel in want.copies:
            forms[want.copies[rel][0]] = DIRECTORIES
            s.pointers.copies.add(rel)
        digest = hashlib.sha256()
        sink.file(rel, _chunks(tf, m, digest))
        if (
            m.size != item.get("size", m.size)
            or digest.hexdigest() != str(item.get("sha256")).lower()
        ):
            s.corrupt.append(
                f"{rel}: sha256 {digest.hexdigest()}, the manifest says {item.get('sha256')}"
            )


def _members(tf: tarfile.TarFile, items: Mapping[str, Any], s: Scan, sink: Sink) -> None:
    seen: set[str] = {MANIFEST}
    links: set[str] = set()
    want = ExpectedMembers.of(items)
    while (m := tf.next()) is not None:
        s.members += 1
        rel = m.name
        problem = relpath_problem(rel)
        parents = rel.split("/")
        under = next(
            (p for i in range(1, len(parents)) if (p := "/".join(parents[:i])) in links), None
        )
        if problem is not None:
            s.unsafe.append(f"member {quoted(rel)} {problem}; not extracted")
        elif rel in seen:
            s.unsafe.append(f"{rel}: appears twice in the tar; not extracted again")
        elif under is not None:
            s.unsafe.append(f"{rel}: under the link {under}; not extracted")
        else:
            seen.add(rel)
            try:
                _member(tf, m, want, s, links, sink)
            except (OSError, ValueError) as e:  # ValueError: fsutil.UnsafePath
                s.unsafe.append(f"{rel}: cannot be written ({e}); not extracted")
    pointers = _pointer_forms(want, seen, s)
    s.missing += sorted(set(items) - seen - pointers)
    s.archives = sum(1 for i in items.values() if "purl" in i)


def _pointer_forms(want: ExpectedMembers, seen: set[str], s: Scan) -> set[str]:
    """Each ``current`` link the manifest lists as the tar holds it: the link, a copy of
    its version (every file of which must be there), or nothing (``current.txt`` says
    the same). Returns those links' paths (never missing: each form is whole)."""
    pointers = {rel for rel, item in want.items.items() if "link" in item}
    for rel in sorted(pointers):
        form = s.pointers.forms.setdefault(rel, POINTER_FILES)
        if form == DIRECTORIES:
            target = str(want.items[rel]["link"])
            s.corrupt += [
                f"{copy}: missing from the copy of {version_of(rel, target)}"
                for copy, (of, _) in sorted(want.copies.items())
                if of == rel and copy not in seen
            ]
    return pointers


def _check_sidecar(path: Path, digest: str, s: Scan) -> None:
    sidecar = Path(f"{path}{SHA256_SUFFIX}")
    try:
        said = read_limited(sidecar, 4096).decode("ascii", "replace").split()
    except FileNotFoundError:
        return
    except OSError as e:
        s.corrupt.append(f"{sidecar.name}: unreadable ({e})")
        return
    if not said or said[0].lower() != digest:
        s.corrupt.append(
            f"{path.name}: sha256 {digest}, {sidecar.name} says {quoted(said[0] if said else '')}"
        )


def scan(path: Path, sink: Sink) -> Scan:
    """One pass over the packed bundle at ``path``, members that pass going to ``sink``."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise PackError(f"{path}: not a regular file; pass a tar written by vendor pack")
        raw = open(path, "rb")
    except OSError as e:
        raise PackError(f"{path}: {e.strerror or e}") from None
    s = Scan()
    with raw:
        reader = HashingReader(raw, background=True)
        try:
            with tarfile.open(fileobj=reader, mode="r|", bufsize=CHUNK) as tf:
                items, s.versions = _read_manifest(tf, path, sink)
                _members(tf, items, s, sink)
            reader.drain()
        except tarfile.TarError as e:
            raise PackError(f"{path}: not a readable tar ({e}); nothing was unpacked") from None
        finally:
            s.sha256 = reader.sha256.hexdigest()  # ends the hashing thread, whatever happened
    _check_sidecar(path, s.sha256, s)
    return s


def _versions(doc: Any) -> int:
    """How many environment versions the manifest names (0 when it cannot say)."""
    envs = doc.get("environments") if isinstance(doc, Mapping) else None
    if not isinstance(envs, Mapping):
        return 0
    return sum(len(e.get("versions") or ()) for e in envs.values() if isinstance(e, Mapping))


def verify_tar(path: Path) -> dict[str, Any]:
    """``vendor verify FILE.tar``: the findings, as ``vendor verify`` reports a folder's."""
    s = scan(path, Discard())
    return {
        "output": str(path),
        "archives": s.archives,
        "environment_versions": s.versions,
        "current_pointers": s.pointers.form,
        "missing": s.missing,
        "extra": s.extra,
        "corrupt": s.corrupt,
        "unsafe": s.unsafe,
        "problems": len(s.problems),
        "sha256": s.sha256,
    }


def unpack(path: Path, dest: Path) -> dict[str, Any]:
    """``vendor unpack FILE.tar -o DIR``: DIR holds the bundle, every member checked, or
    DIR does not exist and the first problem is one :class:`PackError` line."""
    dest = Path(os.path.abspath(dest))
    if os.path.lexists(dest):
        raise PackError(f"{dest} exists; unpack into a new folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = dest.with_name(f".{dest.name}.unpack-{secrets.token_hex(4)}")
    os.mkdir(work)
    try:
        s = scan(path, FolderWriter(work))
        if s.problems:
            more = f" (and {len(s.problems) - 1} more)" if len(s.problems) > 1 else ""
            raise PackError(f"{path}: {s.problems[0]}{more}; nothing was unpacked")
        os.rename(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return {
        "tar": str(path),
        "output": str(dest),
        "members": s.members + 1,
        "sha256": s.sha256,
        "unpacked": True,
    }
