"""``vendor verify``: re-check a bundle someone handed over, which is untrusted.

Every archive is checked against its local repodata entry, every other file against
the manifest, the SBOM against the archives (one component each, same sha256), and
files none of them knows are reported. Nothing outside OUT is read: a path that is
absolute or has ``..`` (in the manifest, or as a repodata key) is reported as unsafe
and not opened (the SBOM's paths are only compared), and symbolic links inside OUT are
reported, never followed. Malformed files are findings, not crashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import VendorError, quoted
from ..fsutil import (
    UnsafePath,
    contained,
    is_plain_dir,
    read_json_file,
    sha256_file,
    walk_files,
)
from ..integrity import Expected, file_problem
from ..records import archive_name_problem
from .channels import REPODATA
from .outputs import MANIFEST
from .sbom import SBOM, Archive, sbom_problems

MAX_METADATA_BYTES = 2 << 30  # a repodata.json, manifest or SBOM larger is refused


@dataclass
class Findings:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    in_repodata: set[str] = field(default_factory=set)  # local channel files repodata lists
    in_manifest: set[str] = field(default_factory=set)  # files the manifest lists
    archives: dict[str, Archive] = field(default_factory=dict)  # in_repodata, for the SBOM


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
    expected = Expected.from_entry(entry)
    problem = file_problem(subdir / fn, expected)
    if problem == "missing":
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
            path = contained(out, rel)
        except UnsafePath as e:
            f.unsafe.append(f"{MANIFEST}: files[{i}]: {e}; not read")
            continue
        if "purl" in item:
            archives += 1
        f.in_manifest.add(rel)
        if not path.is_file():
            f.missing.append(rel)  # also archives whose whole subdir is gone
        elif "purl" not in item and sha256_file(path) != item.get("sha256"):
            f.corrupt.append(f"{rel}: sha256 differs from the manifest")
    return archives


def _check_sbom(out: Path, f: Findings) -> None:
    """The SBOM against the archives the local channels hold (after _check_channels)."""
    try:
        doc = _read_json(out / SBOM)
    except FileNotFoundError:
        f.missing.append(SBOM)
        return
    except ValueError as e:
        f.corrupt.append(f"{SBOM}: {e}")
        return
    f.corrupt += sbom_problems(doc, f.archives)


def verify_output(out: Path) -> dict[str, Any]:
    """Re-check a vendored output. Returns the findings; ``problems`` counts them."""
    if not out.is_dir():
        raise VendorError(f"{out}: no such directory; pass the output of conda vendor")
    f = Findings()
    _check_channels(out, f)
    archives = _check_manifest(out, f)
    _check_sbom(out, f)
    manifest_ok = MANIFEST not in f.missing and not any(
        c.startswith(f"{MANIFEST}:") for c in f.corrupt
    )
    for rel, is_link in walk_files(out):
        parts = rel.split("/")
        if len(parts) == 3 and parts[0].startswith("local_"):  # a local channel's file
            known = rel in f.in_repodata or parts[2] == REPODATA
        else:  # elsewhere the manifest decides (when it could be read)
            known = rel in f.in_manifest or rel == MANIFEST or not manifest_ok
        if is_link and not (known and rel in f.in_repodata):  # those are reported as corrupt
            f.unsafe.append(f"{rel}: a symbolic link inside the bundle; not followed")
        elif not known:
            f.extra.append(rel)
    missing = sorted(set(f.missing))
    return {
        "output": str(out),
        "archives": archives,
        "missing": missing,
        "extra": f.extra,
        "corrupt": f.corrupt,
        "unsafe": f.unsafe,
        "problems": len(missing) + len(f.extra) + len(f.corrupt) + len(f.unsafe),
    }
