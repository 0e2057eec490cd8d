"""``vendor prune OUT [--keep N] [--drop NAME ...]``: drop older versions of every
environment, or whole environments, and the archives only they need, atomically (staging,
then one rename)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import VendorError
from ..fsutil import (
    atomic_write_text,
    contained,
    is_plain_dir,
    walk_files,
)
from . import assemble, history, readme, transaction
from . import staging as staging_mod
from .channels import REPODATA, write_repodata
from .outputs import MANIFEST
from .sbom import SBOM


def _is_version_file(rel: str, dropped: set[str]) -> bool:
    return any(rel.startswith(f"{d}/") for d in dropped)


def prune_bundle(out: Path, keep: int | None, drop: Sequence[str] = ()) -> dict[str, Any]:
    output = staging_mod.resolve_output(out)
    if not is_plain_dir(output.real) and not is_plain_dir(output.old):
        raise VendorError(f"{out}: not a bundle with environments; nothing to prune")
    with transaction.begin(out, writers=(readme.write,)) as tx:
        base = tx.base  # after the repair of an interrupted run
        index = history.read_index(base) if base is not None else None
        if base is None or index is None:
            raise VendorError(f"{out}: not a bundle with environments; nothing to prune")
        pruned, dropped = history.keep_latest(index, keep, drop)
        gone = {history.version_dir(n, v) for n, v in dropped}
        needed = assemble.needed_archives(base, pruned)
        pointers = {f"{history.env_dir(n)}/{history.CURRENT}" for n in index.environments}
        freed = _stage_kept(base, tx.stage(), gone | pointers, needed)
        assert tx.staging is not None
        _drop_entries(tx.staging, needed)
        history.write_pointers(tx.staging, pruned)
        atomic_write_text(tx.staging / history.INDEX, history.index_text(pruned))
        tx.commit(pruned, needed)
    return {
        "output": str(out),
        "dropped_versions": [f"{n}@{v}" for n, v in dropped],
        "dropped_environments": sorted(drop),
        "freed_bytes": freed,
    }


def _stage_kept(base: Path, staging: Path, gone: set[str], needed: Mapping[str, Any]) -> int:
    """Every file of ``base`` but those under ``gone`` (dropped versions, and ``current``
    pointers a copy made directories) and the archives no kept version needs, into
    staging (the index, pointers, SBOM and manifest are written anew); returns the bytes
    left behind."""
    freed = 0
    for rel, is_link in walk_files(base):
        src = base / rel
        if is_link or rel in (MANIFEST, history.INDEX, SBOM) or rel.endswith(history.POINTER):
            continue
        parts = rel.split("/")
        archive = parts[0].startswith("local_") and len(parts) == 3 and parts[2] != REPODATA
        if _is_version_file(rel, gone) or (archive and rel not in needed):
            freed += src.stat().st_size
            continue
        assemble.link_or_copy(src, contained(staging, rel))
    return freed


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
