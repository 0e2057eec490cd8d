"""Finishing a bundle in staging: this run's environments (or a delta's) merged with
those of the bundle it replaces, then the index, pointers and manifest.

``vendor`` into an existing bundle and ``vendor apply`` both end here, so a bundle
updated by a delta equals one vendored with the same inputs in place. The base bundle
is read, never written: what it keeps is hard-linked (or copied) into staging, which
then replaces it in one rename.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import quoted
from ..fsutil import (
    MAX_METADATA_BYTES,
    UnsafePath,
    atomic_write_text,
    contained,
    is_plain_dir,
    read_json_file,
)
from ..pypi.records import Wheel
from ..records import LockedPackage, Lockfile, archive_name_problem
from ..spec import is_subdir
from . import history, installer
from . import wheels as wheels_mod
from .channels import REPODATA
from .history import BundleError, Index
from .locks import read_version_lock, version_locks
from .outputs import TOOL
from .plan import VendoredPackage
from .sbom import (
    SBOM,
    build_time,
    earlier_time,
    licenses_from_repodata,
    sbom_text,
    source_date_epoch,
    with_sha256,
)

Known = Mapping[tuple[str, str], Sequence[LockedPackage]]  # (name, input hash) -> packages


def needed_archives(
    root: Path,
    index: Index,
    known: Known | None = None,
    locks: Mapping[str, Lockfile] | None = None,
) -> dict[str, tuple[LockedPackage, set[str]]]:
    """Every archive a kept version of an environment installs, as a path in the
    bundle, with its locked record and the environments that use it (the paths from
    the index, each checked; the records from each version's lockfile, from ``known``
    for the versions this run wrote, or from ``locks`` read already)."""
    used: dict[str, tuple[LockedPackage, set[str]]] = {}
    for name, version, rel in history.version_paths(index):
        packages = (known or {}).get((name, version.input_hash))
        if packages is None:
            lock = locks[rel] if locks is not None else read_version_lock(root, rel)
            packages = [p for pkgs in lock.packages.values() for p in pkgs]
        by_file = {(p.subdir, p.fn): p for p in packages}
        for archive in version.archives:
            parts = archive.split("/")
            p = by_file.get((parts[1], parts[2])) if len(parts) == 3 else None
            if (
                p is None
                or parts[0] not in index.channels
                or archive_name_problem(p.fn, p.name, p.version, p.build)
            ):
                raise BundleError(
                    f"{root / history.INDEX}: {name} {version.id} lists {quoted(archive)}, "
                    f"which is not a safe path to an archive its lockfile locks"
                )
            # The channel is the local channel's source (an archive behind a CEP 15
            # base_url has a URL that names another place), the same however it was read.
            p = replace(p, channel=index.channels[parts[0]])
            used.setdefault(archive, (p, set()))[1].add(name)
    return used


def link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copyfile(src, dst, follow_symlinks=False)


def _copy_version(base: Path, staging: Path, rel: str) -> None:
    """A kept version's files, from the base bundle into staging (plain files only)."""
    src = history.plain_dir(base, rel)
    if src is None:
        raise BundleError(
            f"{base / rel}: missing or not a plain directory; the bundle is incomplete"
        )
    dst = contained(staging, rel)
    for item in sorted(src.iterdir()):
        if item.is_file() and not item.is_symlink():
            link_or_copy(item, dst / item.name)


def documents(root: Path) -> dict[str, dict[str, Any]]:
    """Every ``local_*/<subdir>/repodata.json`` of ``root`` by relative path."""
    docs = {}
    for chan in sorted(root.iterdir()) if is_plain_dir(root) else ():
        if not chan.name.startswith("local_") or not is_plain_dir(chan):
            continue
        for subdir in sorted(chan.iterdir()):
            rel = f"{chan.name}/{subdir.name}/{REPODATA}"
            if is_subdir(subdir.name) and is_plain_dir(subdir) and (subdir / REPODATA).is_file():
                try:
                    doc = read_json_file(subdir / REPODATA, MAX_METADATA_BYTES)
                except (OSError, ValueError) as e:
                    raise BundleError(
                        f"{root / rel}: unreadable ({e}); run vendor verify {root}, or vendor "
                        f"into a new output"
                    ) from None
                if isinstance(doc, dict):
                    docs[rel] = doc
    return docs


def _entries(doc: Mapping[str, Any], section: str) -> Mapping[str, Any]:
    entries = doc.get(section)
    return entries if isinstance(entries, Mapping) else {}


def _merge_repodata(base: Path, staging: Path, needed: Mapping[str, Any], keep: set[str]) -> None:
    """Entries of the base bundle's archives still needed, into staging's local repodata
    (this run's entries win: they are upstream's latest). A local channel in ``keep``
    keeps every subdir it had, empty or not; the others go."""
    mine = documents(staging)
    for rel, doc in documents(base).items():
        prefix = rel.rsplit("/", 1)[0]
        carried = {
            section: {
                fn: e for fn, e in _entries(doc, section).items() if f"{prefix}/{fn}" in needed
            }
            for section in ("packages", "packages.conda")
        }
        if rel.split("/", 1)[0] not in keep:
            continue
        target = mine.get(rel)
        changed = target is None
        if target is None:
            target = mine[rel] = {**doc, "packages": {}, "packages.conda": {}}
        for section, entries in carried.items():
            for fn, e in entries.items():
                if fn not in _entries(target, "packages") and fn not in _entries(
                    target, "packages.conda"
                ):
                    target.setdefault(section, {})[fn] = e
                    changed = True
        if changed:
            path = contained(staging, rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(target, indent=1, sort_keys=True) + "\n")


def _carry_archives(
    base: Path | None, staging: Path, needed: Mapping[str, Any], absent_ok: set[str]
) -> None:
    """Every needed archive (or wheel: each has a ``size``) this run did not fetch,
    hard-linked from the base bundle (checked by size; not hashed again: ``vendor
    verify`` does that)."""
    for rel, (package, users) in needed.items():
        dst = contained(staging, rel)
        if dst.is_file() or rel in absent_ok:
            continue
        try:
            src = contained(base, rel) if base is not None else None
        except UnsafePath:
            src = None
        if src is None or not src.is_file() or src.is_symlink():
            where = f"{base}" if base is not None else "this run"
            raise BundleError(
                f"{rel}: needed by {', '.join(sorted(users))} but missing from {where}; "
                f"vendor {', '.join(sorted(users))} again"
            )
        if package.size is not None and src.stat().st_size != package.size:
            raise BundleError(
                f"{base / rel}: {src.stat().st_size} bytes, its lockfile says {package.size}; "
                f"the bundle was altered: run vendor verify {base}"
            )
        link_or_copy(src, dst)


def _rename_fresh(staging: Path, renames: Mapping[str, tuple[str, str]]) -> None:
    for name, (fresh_id, final_id) in renames.items():
        if fresh_id == final_id:
            continue
        src = contained(staging, history.version_dir(name, fresh_id))
        dst = contained(staging, history.version_dir(name, final_id))
        if dst.exists():
            shutil.rmtree(dst)
        os.rename(src, dst)
        retarget(dst, history.version_dir(name, fresh_id), history.version_dir(name, final_id))


HEADED = ("environment-*.yml", "*.explicit.txt")  # the files whose header names their folder


def retarget(folder: Path, old: str, new: str) -> None:
    """The header lines (``#``) of a renumbered version's environment and explicit files
    name the folder they now are in (they were written before the merge settled its id)."""
    for pattern in HEADED:
        for path in sorted(folder.glob(pattern)):
            if path.is_symlink() or not path.is_file():
                continue
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            fixed = [
                line.replace(f"{old}/", f"{new}/") if line.startswith("#") else line
                for line in lines
            ]
            if fixed != lines:
                atomic_write_text(path, "".join(fixed))


def finish(
    staging: Path,
    fresh: Index,
    base: Path | None,
    absent_ok: set[str] = frozenset(),
    known: Known | None = None,
) -> tuple[Index, dict[str, tuple[LockedPackage, set[str]]], wheels_mod.Wheels]:
    """Merge the base bundle's environments into staging beside ``fresh`` (the ones this
    run wrote, one version each), carry over the archives and repodata entries still
    needed (and wheels: :mod:`.wheels`), and write the index and ``current`` pointers.
    Returns the merged index, every archive the bundle holds with the environments using
    it, and every wheel likewise (each kept version's lockfile read once for both)."""
    base_index = history.read_index(base) if base is not None else None
    if base_index is None:
        merged, renames = fresh, {}
    else:
        merged, renames = history.merge_index(base_index, fresh)
    _rename_fresh(staging, renames)
    if base_index is not None:
        assert base is not None
        for name, env in base_index.environments.items():
            replaced = renames.get(name, ("", ""))[1]
            for v in env.versions:
                if v.id != replaced:
                    _copy_version(base, staging, history.version_dir(name, v.id))
    locks = version_locks(staging, merged)
    needed = needed_archives(staging, merged, known, locks)
    keep = {rel.split("/", 1)[0] for rel in needed} | set(fresh.channels)
    merged = Index({k: v for k, v in merged.channels.items() if k in keep}, merged.environments)
    if base_index is not None:
        assert base is not None
        _merge_repodata(base, staging, needed, keep)
    source = base if base_index is not None else None
    wheels = wheels_mod.locked(staging, merged, locks)
    _carry_archives(source, staging, {**needed, **wheels}, set(absent_ok))
    history.write_pointers(staging, merged)
    atomic_write_text(staging / history.INDEX, history.index_text(merged))
    return merged, needed, wheels


def write_sbom(
    root: Path,
    archives: Mapping[str, tuple[LockedPackage, set[str]]],
    previous: Path | None = None,
    at: datetime | None = None,
    wheels: Mapping[str, tuple[Wheel, set[str]]] | None = None,
) -> None:
    """The SBOM of every archive and wheel (locked, and the installer's) of the bundle in
    ``root``, with the environments using each. Made at SOURCE_DATE_EPOCH when set, else at ``at``
    (``vendor apply``: when the delta was made), else now; an earlier SBOM of
    ``previous`` saying the same keeps its time, so vendoring the same inputs again
    leaves the bundle byte-identical."""
    present = [
        VendoredPackage(package, rel.split("/", 1)[0])
        for rel, (package, _) in sorted(archives.items())
    ]
    listed = with_sha256(present, root)
    both = {**archives, **(wheels or {})}
    used_by = {rel: sorted(users) for rel, (_, users) in both.items()}
    licenses = licenses_from_repodata(documents(root))
    pypi = {rel: w for rel, (w, _) in (wheels or {}).items()} | installer.carried(root)

    def text_at(when: datetime) -> str:
        return sbom_text(listed, used_by, licenses, TOOL, __version__, when, pypi)

    pinned = source_date_epoch() or at
    text = text_at(pinned or build_time())
    if pinned is None and previous is not None:
        earlier = earlier_time(previous / SBOM, text)
        if earlier is not None:
            text = text_at(earlier)
    atomic_write_text(root / SBOM, text)
