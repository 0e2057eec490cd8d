"""``vendor prune OUT [--keep N] [--drop NAME ...]``: drop older versions of every
environment, or whole environments, and the archives only they need, atomically (staging,
then one rename)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import VendorError
from ..fsutil import (
    atomic_write_text,
    contained,
    is_plain_dir,
    walk_files,
)
from . import assemble, history
from . import staging as staging_mod
from .channels import REPODATA, write_repodata
from .outputs import MANIFEST, manifest_text
from .sbom import SBOM


def _is_version_file(rel: str, dropped: set[str]) -> bool:
    return any(rel.startswith(f"{d}/") for d in dropped)


def prune_bundle(out: Path, keep: int | None, drop: Sequence[str] = ()) -> dict[str, Any]:
    output = staging_mod.resolve_output(out)
    index = history.read_index(output.real) if is_plain_dir(output.real) else None
    if index is None:
        raise VendorError(f"{out}: not a bundle with environments; nothing to prune")
    with staging_mod.exclusive(output):
        staging_mod.check_output(output)
        index = history.read_index(output.real)
        assert index is not None
        pruned, dropped = history.keep_latest(index, keep, drop)
        gone = {history.version_dir(n, v) for n, v in dropped}
        needed = assemble.needed_archives(output.real, pruned)
        staging = staging_mod.make_staging(output)
        staging_mod.prune(staging, set())
        freed = 0
        for rel, is_link in walk_files(output.real):
            src = output.real / rel
            if is_link or rel in (MANIFEST, history.INDEX, SBOM) or rel.endswith(history.POINTER):
                continue
            parts = rel.split("/")
            archive = parts[0].startswith("local_") and len(parts) == 3 and parts[2] != REPODATA
            if _is_version_file(rel, gone) or (archive and rel not in needed):
                freed += src.stat().st_size
                continue
            assemble.link_or_copy(src, contained(staging, rel))
        _drop_entries(staging, needed)
        history.write_pointers(staging, pruned)
        atomic_write_text(staging / history.INDEX, history.index_text(pruned))
        assemble.write_sbom(staging, needed, previous=output.real)
        atomic_write_text(staging / MANIFEST, manifest_text(staging, pruned, needed))
        staging_mod.swap_into_place(staging, output)
    return {
        "output": str(out),
        "dropped_versions": [f"{n}@{v}" for n, v in dropped],
        "dropped_environments": sorted(drop),
        "freed_bytes": freed,
    }


def _drop_entries(staging: Path, needed: dict[str, Any]) -> None:
    """Local repodata entries of archives no kept version needs (written anew: a
    hard link to the old file is replaced, never changed in place)."""
    docs = assemble.documents(staging)
    for rel, doc in docs.items():
        prefix = rel.rsplit("/", 1)[0]
        for section in ("packages", "packages.conda"):
            entries = doc.get(section) or {}
            doc[section] = {fn: e for fn, e in entries.items() if f"{prefix}/{fn}" in needed}
    write_repodata(staging, docs)
