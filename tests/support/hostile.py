"""Crafting hostile channels and bundles for the fault suite, and checking what a run left.

Everything here writes real files that a real loopback server then serves: a hostile
entry is a real repodata entry with the real hashes of bytes the server really sends.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .vendoring import snapshot


def add_entry(channel: Path, where: str, fn: str, data: bytes, **fields: Any) -> dict[str, Any]:
    """Add an entry for ``fn`` to a channel's ``<where>/repodata.json``, with the real
    size and hashes of ``data`` (which is not written anywhere: see :func:`put`);
    ``fields`` override any of its fields, ``subdir`` included."""
    path = channel / where / "repodata.json"
    doc = json.loads(path.read_text())
    entry = {
        "build_number": 0,
        "depends": [],
        "subdir": where,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        **fields,
    }
    section = "packages.conda" if fn.endswith(".conda") else "packages"
    doc.setdefault(section, {})[fn] = entry
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return entry


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def tree(root: Path, skip: Iterable[str] = ()) -> dict[str, bytes]:
    """Every file under ``root`` but those under the top-level names in ``skip`` and the
    lock files runs leave beside their output (``.OUT.lock``); links are recorded as
    ``b"-> target"``, never followed."""
    skipped = set(skip)
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in filenames + [d for d in dirnames if (base / d).is_symlink()]:
            path = base / name
            rel = path.relative_to(root).as_posix()
            if rel.split("/")[0] in skipped or (name.startswith(".") and name.endswith(".lock")):
                continue
            found[rel] = (
                b"-> " + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            )
    return found


__all__ = ["add_entry", "put", "snapshot", "tree"]
