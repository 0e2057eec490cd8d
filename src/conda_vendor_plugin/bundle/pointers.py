"""The forms an environment's ``current`` pointer takes once a bundle has crossed a medium.

``vendor`` writes ``envs/<name>/current`` as a symbolic link to ``versions/<id>`` (listed
in the manifest with its target) beside ``current.txt`` saying the same. Copied by a
tool or onto a filesystem without links, the link becomes a directory holding a copy of
the version's files (``cp -rL``, ``shutil.copytree``, zip, Windows Explorer) or is
dropped (a FAT or NTFS stick), leaving ``current.txt``. Each form verifies: a copy must
hold exactly the version's files with the bytes the manifest lists for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ..fsutil import is_plain_dir, sha256_file, walk_files

LINKS = "links"
DIRECTORIES = "directories"
POINTER_FILES = "pointer files"
T = TypeVar("T")


@dataclass
class Pointers:
    """What the ``current`` pointers of a bundle were found as."""

    forms: dict[str, str] = field(default_factory=dict)  # envs/<name>/current -> form
    copies: set[str] = field(default_factory=set)  # files of the copies, checked here
    corrupt: list[str] = field(default_factory=list)

    @property
    def form(self) -> str:
        """One word for the bundle: ``links``, ``directories``, ``pointer files``,
        ``mixed`` (some of each), or ``none`` (no environment has a pointer)."""
        found = set(self.forms.values())
        return found.pop() if len(found) == 1 else "mixed" if found else "none"


def check_pointers(out: Path, links: Mapping[str, str], listed: Mapping[str, object]) -> Pointers:
    """Each ``current`` link the manifest lists (``links``: path -> target) as found in
    ``out``; ``listed`` maps the manifest's file paths to their sha256."""
    found = Pointers()
    for rel, target in sorted(links.items()):
        path = out / rel
        if path.is_symlink():
            found.forms[rel] = LINKS  # its target is checked against the manifest
        elif is_plain_dir(path):
            found.forms[rel] = DIRECTORIES
            _check_copy(out, rel, target, listed, found)
        elif path.exists():
            found.corrupt.append(f"{rel}: neither a link nor a copy of {target}")
        else:
            found.forms[rel] = POINTER_FILES  # current.txt says the same
    return found


def version_of(rel: str, target: str) -> str:
    """The bundle path of the version a ``current`` link at ``rel`` points to (``target``,
    ``versions/<id>``, as the manifest lists it)."""
    return f"{rel.rpartition('/')[0]}/{target}"


def copy_of(rel: str, target: str, listed: Mapping[str, T]) -> dict[str, T]:
    """What a copy of the version the ``current`` link at ``rel`` points to holds: each
    file ``listed`` (the manifest's paths) has under that version, by its path in the
    copy, with its value in ``listed``. Paths are compared, never opened."""
    version = version_of(rel, target)
    return {
        f"{rel}/{p[len(version) + 1 :]}": v
        for p, v in listed.items()
        if p.startswith(f"{version}/")
    }


def _check_copy(
    out: Path, rel: str, target: str, listed: Mapping[str, object], found: Pointers
) -> None:
    """``rel`` (a directory) must hold the files the manifest lists under the version it
    copies, byte for byte, and nothing else."""
    version = version_of(rel, target)
    want = copy_of(rel, target, listed)
    have = {f"{rel}/{name}": is_link for name, is_link in walk_files(out / rel)}
    for copy, is_link in sorted(have.items()):
        found.copies.add(copy)
        name = copy[len(rel) + 1 :]
        if is_link or copy not in want:
            found.corrupt.append(f"{copy}: not in {version}, which {rel} copies")
        elif sha256_file(out / copy) != want[copy]:
            found.corrupt.append(f"{copy}: differs from {version}/{name}, which {rel} copies")
    for copy in sorted(set(want) - set(have)):
        found.corrupt.append(f"{copy}: missing from the copy of {version}")
