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

from ..fsutil import is_plain_dir, sha256_file, walk_files

LINKS = "links"
DIRECTORIES = "directories"
POINTER_FILES = "pointer files"


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
            _check_copy(out, rel, f"{rel.rpartition('/')[0]}/{target}", listed, found)
        elif path.exists():
            found.corrupt.append(f"{rel}: neither a link nor a copy of {target}")
        else:
            found.forms[rel] = POINTER_FILES  # current.txt says the same
    return found


def _check_copy(
    out: Path, rel: str, version: str, listed: Mapping[str, object], found: Pointers
) -> None:
    """``rel`` (a directory) must hold the files the manifest lists under ``version``,
    byte for byte, and nothing else."""
    want = {p[len(version) + 1 :]: sha for p, sha in listed.items() if p.startswith(f"{version}/")}
    have = dict(walk_files(out / rel))
    for name, is_link in sorted(have.items()):
        copy = f"{rel}/{name}"
        found.copies.add(copy)
        if is_link or name not in want:
            found.corrupt.append(f"{copy}: not in {version}, which {rel} copies")
        elif sha256_file(out / copy) != want[name]:
            found.corrupt.append(f"{copy}: differs from {version}/{name}, which {rel} copies")
    for name in sorted(set(want) - set(have)):
        found.corrupt.append(f"{rel}/{name}: missing from the copy of {version}")
