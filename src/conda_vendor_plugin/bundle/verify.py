"""``vendor verify``: re-check a bundle someone handed over, which is untrusted.

Every archive is checked against its local repodata entry, every wheel against the
lockfiles locking it (size, sha256; the simple index's pages as the wheels make them),
every other file against the manifest, the SBOM against the archives and wheels (one
component each, same sha256), and files none of them knows are reported. Nothing outside
OUT is read: a path that is absolute or has ``..`` (in the manifest, or as a repodata
key) is reported as unsafe and not opened (the SBOM's paths are only compared), and
symbolic links inside OUT are reported, never followed (but the ``current`` links the
manifest lists, which may also have become copies of their version or been dropped on
the way: :mod:`.pointers`). Malformed files are findings, not crashes. A directory with
nothing of a bundle in it is one error, not a list of findings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import VendorError, quoted
from ..fsutil import (
    MAX_METADATA_BYTES,
    UnsafePath,
    contained,
    is_plain_dir,
    read_json_file,
    read_limited,
    relpath_problem,
    sha256_file,
    walk_files,
)
from ..integrity import Expected, file_problem
from ..pypi.records import Wheel
from ..records import archive_name_problem
from . import assemble, history, installer
from . import wheels as wheels_mod
from .channels import REPODATA
from .locks import version_locks
from .outputs import DELTA, MANIFEST, TOOL
from .pointers import check_pointers
from .sbom import SBOM
from .sbom_check import Archive, sbom_problems


class NotABundle(VendorError):
    """``vendor verify`` was given a directory that holds no bundle at all."""


@dataclass
class Findings:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    in_repodata: set[str] = field(default_factory=set)  # local channel files repodata lists
    in_manifest: set[str] = field(default_factory=set)  # files the manifest lists
    listed: dict[str, object] = field(default_factory=dict)  # those files: their sha256
    links: dict[str, str] = field(default_factory=dict)  # links the manifest lists: target
    omitted: set[str] = field(default_factory=set)  # a delta: archives it leaves out
    entry_sha256: dict[str, object] = field(default_factory=dict)  # archive -> its entry's
    entry_size: dict[str, int | None] = field(default_factory=dict)  # archive -> its entry's
    archives: dict[str, Archive] = field(default_factory=dict)  # in_repodata, for the SBOM
    wheels: dict[str, Wheel] = field(default_factory=dict)  # the wheels lockfiles lock


def _read_json(path: Path) -> Any:
    return read_json_file(path, MAX_METADATA_BYTES)


def _check_channels(out: Path, f: Findings) -> None:
    """Every archive of every local channel against its own repodata entry."""
    for chan in sorted(p for p in out.iterdir() if p.name.startswith("local_")):
        if not is_plain_dir(chan):
            continue  # reported by the walk (a link, or a stray file)
        for subdir in sorted(p for p in chan.iterdir() if is_plain_dir(p)):
            rel_dir = f"{chan.name}/{subdir.name}"
            try:
                rd = _read_json(subdir / REPODATA)
            except FileNotFoundError:
                f.missing.append(f"{rel_dir}/{REPODATA}")
                continue
            except ValueError as e:
                f.corrupt.append(f"{rel_dir}/{REPODATA}: {e}")
                continue
            if not isinstance(rd, Mapping):
                f.corrupt.append(f"{rel_dir}/{REPODATA}: not a JSON object")
                continue
            for section in ("packages", "packages.conda"):
                entries = rd.get(section) or {}
                if not isinstance(entries, Mapping):
                    f.corrupt.append(f"{rel_dir}/{REPODATA}: {section!r} is not an object")
                    continue
                for fn, entry in entries.items():
                    _check_archive(subdir, rel_dir, fn, entry, f)


def _check_archive(subdir: Path, rel_dir: str, fn: str, entry: Any, f: Findings) -> None:
    if not isinstance(entry, Mapping):
        f.corrupt.append(f"{rel_dir}/{REPODATA}: the entry for {quoted(fn)} is not an object")
        return
    fields = [entry.get(k) for k in ("name", "version", "build")]
    problem = archive_name_problem(fn, *(str(v) for v in fields))
    if problem is not None:
        f.unsafe.append(f"{rel_dir}/{REPODATA}: archive name {quoted(fn)} {problem}; not read")
        return
    rel = f"{rel_dir}/{fn}"
    f.in_repodata.add(rel)
    f.entry_sha256[rel] = entry.get("sha256")
    expected = Expected.from_entry(entry)
    f.entry_size[rel] = expected.size
    problem = file_problem(subdir / fn, expected)
    if problem == "missing" and rel in f.omitted and not (subdir / fn).is_symlink():
        pass  # a delta leaves it out: the bundle it is applied to has it
    elif problem == "missing":
        f.missing.append(rel)
    elif problem:
        f.corrupt.append(f"{rel}: {problem}")
    # The sha256 the archive has (it verified), or must have (the SBOM is checked
    # against the entry, not against a file already reported as corrupt).
    sha256 = expected.sha256 or (sha256_file(subdir / fn) if problem is None else None)
    name, version, build = (str(v) for v in fields)
    f.archives[rel] = Archive(name, version, build, subdir.name, fn, sha256 and sha256.lower())


def _check_manifest(out: Path, f: Findings) -> int:
    """Every file the manifest lists (archives were checked against repodata already);
    returns the number of archives it lists."""
    try:
        doc = _read_json(out / MANIFEST)
    except FileNotFoundError:
        f.missing.append(MANIFEST)
        return 0
    except ValueError as e:
        f.corrupt.append(f"{MANIFEST}: {e}")
        return 0
    items = doc.get("files") if isinstance(doc, Mapping) else None
    if not isinstance(items, list):
        f.corrupt.append(f"{MANIFEST}: not a JSON object with a 'files' list")
        return 0
    archives = 0
    for i, item in enumerate(items):
        rel = item.get("path") if isinstance(item, Mapping) else None
        if not isinstance(rel, str):
            f.corrupt.append(f"{MANIFEST}: files[{i}] has no 'path' string")
            continue
        try:
            if "link" in item:  # the link itself is not followed: its folder must be plain
                contained(out, rel.rpartition("/")[0] or ".")
                f.links[rel] = str(item["link"])
                _check_link(out, rel, str(item["link"]), f)
                continue
            path = contained(out, rel)
        except UnsafePath as e:
            f.unsafe.append(f"{MANIFEST}: files[{i}]: {e}; not read")
            continue
        if "purl" in item:
            archives += 1
        f.in_manifest.add(rel)
        f.listed[rel] = item.get("sha256")
        if not path.is_file():
            f.missing.append(rel)  # also archives whose whole subdir is gone
        elif "purl" not in item and sha256_file(path) != item.get("sha256"):
            f.corrupt.append(f"{rel}: sha256 differs from the manifest")
    return archives


def _check_link(out: Path, rel: str, target: str, f: Findings) -> None:
    """A ``current`` link the manifest lists: it must point at a version of its own
    environment. On media without links it is a copy of that version or absent (the
    pointer file says the same): :mod:`.pointers` checks those forms."""
    parts = rel.split("/")
    ok = (
        parts[0] == history.ENVS
        and parts[-1] == history.CURRENT
        and target.startswith(f"{history.VERSIONS}/")
        and relpath_problem(target) is None
        and target.count("/") == 1
    )
    if not ok:
        f.unsafe.append(
            f"{MANIFEST}: link {quoted(rel)} -> {quoted(target)} is not a version pointer"
        )
        return
    path = out / rel
    if path.is_symlink() and os.readlink(path) != target:
        f.corrupt.append(
            f"{rel}: points at {quoted(os.readlink(path))}, the manifest says {target}"
        )


def _read_omitted(out: Path, f: Findings) -> None:
    """A delta's ``delta.json``: the archives it leaves out are not missing."""
    try:
        doc = _read_json(out / DELTA)
        f.omitted = {str(i["path"]) for i in doc["omitted"]}
    except FileNotFoundError:
        return
    except (ValueError, KeyError, TypeError) as e:
        f.corrupt.append(f"{DELTA}: unreadable ({e})")


def _same_hash(locked: str | None, entry: object) -> bool:
    """A lockfile's sha256 against a repodata entry's (hex, either case; none to compare
    is not a difference: the archive was checked against the entry already)."""
    return locked is None or not isinstance(entry, str) or locked.lower() == entry.lower()


def _check_environments(out: Path, f: Findings) -> int:
    """Every kept version of every environment: its lockfile reads, each package it
    locks is in the local channels with the same sha256, and the pointers agree.
    Returns the number of versions checked."""
    try:
        index = history.read_index(out)
        if index is None:
            return 0  # a bundle of an earlier release: one environment at the top
        locks = version_locks(out, index)  # each lockfile read once for both
        needed = assemble.needed_archives(out, index, locks=locks)
        locked_wheels = wheels_mod.locked(out, index, locks)
    except VendorError as e:
        f.corrupt.append(str(e))
        return 0
    _check_wheels(out, locked_wheels, f)
    for rel, (package, users) in sorted(needed.items()):
        who = ", ".join(sorted(users))
        if rel not in f.in_repodata and rel not in f.omitted:
            f.missing.append(f"{rel} (locked by {who}; not in its local repodata)")
        elif rel in f.entry_sha256 and not _same_hash(package.sha256, f.entry_sha256[rel]):
            f.corrupt.append(
                f"{rel}: {who} locks sha256 {package.sha256}, its local repodata another"
            )
        elif package.size is not None and f.entry_size.get(rel) not in (None, package.size):
            f.corrupt.append(
                f"{rel}: {who} locks {package.size} bytes, its local repodata {f.entry_size[rel]}"
            )
    for name, env in index.environments.items():
        pointer = out / history.env_dir(name) / history.POINTER
        try:
            said = read_limited(pointer, 4096).decode("utf-8", "replace").strip()
        except OSError:
            f.missing.append(f"{history.env_dir(name)}/{history.POINTER}")
            continue
        if said != f"{history.VERSIONS}/{env.current}":
            f.corrupt.append(
                f"{history.env_dir(name)}/{history.POINTER}: says {quoted(said)}, "
                f"{history.INDEX} says {history.VERSIONS}/{env.current}"
            )
    return len(history.version_paths(index))


def _check_wheels(out: Path, locked: wheels_mod.Wheels, f: Findings) -> None:
    """The wheels the lockfiles lock, and the simple index's pages (:mod:`.wheels`)."""
    f.wheels = {rel: w for rel, (w, _) in locked.items()}
    found = wheels_mod.problems(out, locked)
    f.missing += found["missing"]
    f.corrupt += found["corrupt"]
    f.extra += [rel for rel in found["extra"] if rel in f.in_manifest]  # else the walk's


def _check_sbom(out: Path, f: Findings) -> None:
    """The SBOM against the archives the local channels hold (after _check_channels), the
    wheels the lockfiles lock and the installer's wheels the manifest lists."""
    try:
        doc = _read_json(out / SBOM)
    except FileNotFoundError:
        f.missing.append(SBOM)
        return
    except ValueError as e:
        f.corrupt.append(f"{SBOM}: {e}")
        return
    f.corrupt += sbom_problems(doc, f.archives, f.wheels | installer.listed(f.listed))


def first_problem(found: Mapping[str, Any]) -> str:
    """The first finding of a :func:`verify_output` result, as ``kind: what``."""
    return next(
        (f"{k}: {found[k][0]}" for k in ("missing", "extra", "corrupt", "unsafe") if found[k]),
        "none",
    )


def _is_bundle(out: Path) -> bool:
    """True when ``out`` has anything of a bundle: an index, a delta record, a
    ``local_*`` channel, or a manifest of this tool (or one that is not even JSON:
    verify reports it)."""
    names = {p.name for p in out.iterdir()}
    if history.INDEX in names or DELTA in names or any(n.startswith("local_") for n in names):
        return True
    try:
        doc = _read_json(out / MANIFEST)
    except FileNotFoundError:
        return False
    except ValueError:
        return True
    tool = doc.get("tool") if isinstance(doc, Mapping) else None
    return isinstance(tool, Mapping) and tool.get("name") == TOOL


def verify_output(out: Path) -> dict[str, Any]:
    """Re-check a vendored output. Returns the findings; ``problems`` counts them."""
    if not out.is_dir():
        raise VendorError(f"{out}: no such directory; pass the output of conda vendor")
    if not _is_bundle(out):
        raise NotABundle(
            f"{out}: not a bundle (no {history.INDEX}, {MANIFEST} of {TOOL} or local_* "
            f"channel in it); pass the directory conda vendor -o wrote"
        )
    f = Findings()
    _read_omitted(out, f)
    _check_channels(out, f)
    archives = _check_manifest(out, f)
    pointers = check_pointers(out, f.links, f.listed)
    f.corrupt += pointers.corrupt
    versions = _check_environments(out, f)
    _check_sbom(out, f)
    manifest_ok = MANIFEST not in f.missing and not any(
        c.startswith(f"{MANIFEST}:") for c in f.corrupt
    )
    for rel, is_link in walk_files(out):
        parts = rel.split("/")
        if len(parts) == 3 and parts[0].startswith("local_"):  # a local channel's file
            known = rel in f.in_repodata or parts[2] == REPODATA
        else:  # elsewhere the manifest decides (when it could be read)
            known = rel in f.in_manifest or rel in pointers.copies or rel == MANIFEST
            known = known or not manifest_ok
        if is_link and rel in f.links:
            continue  # checked against the manifest
        if is_link and not (known and rel in f.in_repodata):  # those are reported as corrupt
            f.unsafe.append(f"{rel}: a symbolic link inside the bundle; not followed")
        elif not known:
            f.extra.append(rel)
    missing = sorted(set(f.missing))
    return {
        "output": str(out),
        "archives": archives,
        "environment_versions": versions,
        "current_pointers": pointers.form,
        "missing": missing,
        "extra": f.extra,
        "corrupt": f.corrupt,
        "unsafe": f.unsafe,
        "problems": len(missing) + len(f.extra) + len(f.corrupt) + len(f.unsafe),
    }
