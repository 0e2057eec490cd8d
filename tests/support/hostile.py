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

from conda_vendor_plugin.formats import cep23, explicit_v1
from conda_vendor_plugin.records import LockedPackage, Lockfile

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


def write_lockfile(
    path: Path, fmt: str, channel: str, url: str, e: dict, other: dict | None = None
) -> Path:
    """A lockfile of format ``fmt`` (explicit-1.0, cep23, conda-lock-v1, pixi-lock-v6) for
    linux-64 locking noarch ``big`` 1.0 at ``url`` (the hashes of repodata entry ``e``)
    and, given its entry ``other``, ``other`` at ``channel``'s own URL (which puts the
    channel among the lockfile's channels in every format, CEP 23 too)."""
    rows = [("big", "big-1.0-0.tar.bz2", url, e)]
    if other is not None:
        rows.append(
            ("other", "other-1.0-0.tar.bz2", f"{channel}/noarch/other-1.0-0.tar.bz2", other)
        )
    pkgs = tuple(
        LockedPackage(
            name=n,
            version="1.0",
            build="0",
            subdir="noarch",
            channel=u.rsplit("/", 2)[0],
            fn=fn,
            url=u,
            sha256=x["sha256"],
            md5=x["md5"],
            size=x["size"],
        )
        for n, fn, u, x in rows
    )
    lock = Lockfile(input_hash="0" * 64, channels=(channel,), packages={"linux-64": pkgs},
                    name="locked")  # fmt: skip
    if fmt == "explicit-1.0":
        text = explicit_v1.write(lock)
    elif fmt == "cep23":
        text = cep23.write(lock, "linux-64")
    elif fmt == "conda-lock-v1":
        text = (
            f"version: 1\nmetadata:\n  content_hash: {{linux-64: abc}}\n  channels:\n"
            f"  - url: {channel}\n    used_env_vars: []\n  platforms: [linux-64]\n"
            f"  sources: [env.yml]\npackage:\n"
        )
        for n, _, u, x in rows:
            text += (
                f"- name: {n}\n  version: '1.0'\n  manager: conda\n  platform: linux-64\n"
                f"  dependencies: {{}}\n  url: {u}\n  hash:\n    md5: {x['md5']}\n"
                f"    sha256: {x['sha256']}\n  category: main\n  optional: false\n"
            )
    else:
        text = (
            f"version: 6\nenvironments:\n  default:\n    channels:\n    - url: {channel}/\n"
            f"    packages:\n      linux-64:\n"
            + "".join(f"      - conda: {u}\n" for _, _, u, _ in rows)
            + "packages:\n"
            + "".join(
                f"- conda: {u}\n  sha256: {x['sha256']}\n  md5: {x['md5']}\n"
                f"  size: {x['size']}\n  depends: []\n"
                for _, _, u, x in rows
            )
        )
    name = {"conda-lock-v1": "conda-lock.yml", "pixi-lock-v6": "pixi.lock"}.get(fmt, "x.lock.yml")
    if fmt == "cep23":
        name = "locked-linux-64.txt"
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_text(text)
    return path / name


__all__ = ["add_entry", "put", "snapshot", "tree", "write_lockfile"]
