"""Delta bundles: what a bundle lacks, carried across instead of the whole bundle.

``vendor ... --since PREVIOUS`` writes a bundle of this run's environments that leaves
out every archive PREVIOUS (a bundle, or just its ``manifest.json``) already holds,
and lists them in ``delta.json``. ``vendor apply DELTA --to BUNDLE`` verifies the
delta, checks that BUNDLE holds every archive it left out (else the delta was made
against another bundle), and merges it into BUNDLE as ``vendor`` would have merged
the same inputs: afterwards BUNDLE is what vendoring those inputs into it gives.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import VendorError, quoted
from ..fsutil import (
    MAX_METADATA_BYTES,
    UnsafePath,
    contained,
    is_plain_dir,
    read_limited,
    relpath_problem,
    walk_files,
)
from . import assemble, history, readme, transaction
from . import staging as staging_mod
from . import wheels as wheels_mod
from .outputs import DELTA, MANIFEST, TOOL
from .sbom import SBOM, timestamp_of
from .verify import first_problem, verify_output
from .wheels import TOP


class DeltaError(VendorError):
    """A delta that cannot be applied (or a previous bundle that cannot be read)."""


def _manifest_of(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The bytes and document of a bundle's manifest (``path`` is the bundle or the
    manifest file)."""
    file = path / MANIFEST if path.is_dir() else path
    try:
        data = read_limited(file, MAX_METADATA_BYTES)
        doc = json.loads(data)
    except (OSError, ValueError) as e:
        raise DeltaError(
            f"{file}: not a readable manifest.json ({e}); pass a bundle or its manifest"
        ) from None
    if not isinstance(doc, dict) or (doc.get("tool") or {}).get("name") != TOOL:
        raise DeltaError(f"{file}: not a manifest written by {TOOL}; pass a bundle or its manifest")
    return data, doc


def previous(paths: Sequence[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The archives the previous bundles hold (path -> ``{"sha256", ...}``) and their local
    channel names (local name -> channel URL), from their manifests."""
    archives: dict[str, dict[str, Any]] = {}
    channels: dict[str, str] = {}
    for given in paths:
        _, doc = _manifest_of(Path(given))
        for item in doc.get("files") or ():
            if isinstance(item, dict) and "purl" in item and isinstance(item.get("sha256"), str):
                archives[str(item["path"])] = {"sha256": item["sha256"]}
        for local, url in (doc.get("channels") or {}).items():
            if channels.setdefault(str(local), str(url)) != str(url):
                raise DeltaError(
                    f"{given}: local channel {local} holds another channel than before"
                )
    return archives, channels


def record(since: Sequence[str], omitted: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What ``delta.json`` says: the manifests it was made against, and every archive it
    leaves out (the bundle it is applied to must hold them)."""
    bases = [hashlib.sha256(_manifest_of(Path(p))[0]).hexdigest() for p in since]
    return {
        "base_manifests_sha256": bases,
        "omitted": [dict(omitted[rel]) for rel in sorted(omitted)],
    }


def text(rec: Mapping[str, Any]) -> str:
    return json.dumps(rec, indent=1, sort_keys=True) + "\n"


def _read_record(delta: Path) -> dict[str, str]:
    """The archives a received delta leaves out, path -> sha256 (checked: plain paths)."""
    try:
        doc = json.loads(read_limited(contained(delta, DELTA), MAX_METADATA_BYTES))
        items = doc["omitted"]
        omitted = {str(i["path"]): str(i["sha256"]) for i in items}
    except FileNotFoundError:
        raise DeltaError(
            f"{delta}: no {DELTA}; this is not a delta (vendor ... --since writes one)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, UnsafePath) as e:
        raise DeltaError(f"{delta / DELTA}: unreadable ({e})") from None
    for rel in omitted:
        if relpath_problem(rel) is not None:
            raise DeltaError(f"{delta / DELTA}: omitted path {quoted(rel)} is unsafe")
    return omitted


def _check_fits(bundle: Path, omitted: Mapping[str, str]) -> None:
    """BUNDLE must hold every archive the delta left out, with the same sha256."""
    _, doc = _manifest_of(bundle)
    have = {
        str(i.get("path")): i.get("sha256") for i in doc.get("files") or () if isinstance(i, dict)
    }
    lacking = [
        rel
        for rel, sha in sorted(omitted.items())
        if have.get(rel) != sha or not _plain_file(bundle, rel)
    ]
    if lacking:
        raise DeltaError(
            f"the delta does not fit {bundle}: it leaves out {len(lacking)} archive(s) "
            f"{bundle} lacks (e.g. {lacking[0]}); it was made against another bundle: make "
            f"it again with --since {bundle / MANIFEST}"
        )


def _is_bundle(path: Path) -> bool:
    return is_plain_dir(path) and history.read_index(path) is not None


def _plain_file(root: Path, rel: str) -> bool:
    try:
        path = contained(root, rel)
    except UnsafePath:
        return False
    return path.is_file() and not path.is_symlink()


def _stage_delta(delta: Path, staging: Path) -> None:
    """The delta's channels, wheels (``pypi/``) and environment versions into staging
    (links skipped; the index, pointers, simple index pages and manifest are written
    again for the merged bundle)."""
    for rel, is_link in walk_files(delta):
        top = rel.split("/", 1)[0]
        if (
            is_link
            or rel.endswith(f"/{history.POINTER}")
            or top in (MANIFEST, DELTA, history.INDEX)
        ):
            continue
        if not (top.startswith("local_") or top == TOP or f"/{history.VERSIONS}/" in rel):
            continue
        assemble.link_or_copy(contained(delta, rel), contained(staging, rel))


def apply(delta: Path, bundle: Path) -> dict[str, Any]:
    """Verify ``delta`` and merge it into ``bundle`` atomically."""
    started = time.monotonic()
    if not is_plain_dir(delta):
        raise DeltaError(f"{delta}: no such directory; pass the delta vendor --since wrote")
    omitted = _read_record(delta)
    fresh = history.read_index(delta)
    if fresh is None or any(len(e.versions) != 1 for e in fresh.environments.values()):
        raise DeltaError(
            f"{delta}: not a delta written by {TOOL} (no {history.INDEX} of new versions)"
        )
    found = verify_output(delta)
    if found["problems"]:
        raise DeltaError(
            f"{delta}: does not verify ({found['problems']} problem(s), first "
            f"{first_problem(found)}); "
            f"nothing was applied (run vendor verify {delta} for the list)"
        )
    output = staging_mod.resolve_output(bundle)
    if not _is_bundle(output.real) and not is_plain_dir(output.old):
        raise DeltaError(f"{bundle}: not a bundle with environments; vendor apply updates one")
    with transaction.begin(bundle, writers=(readme.write,)) as tx:
        base = tx.base  # after the repair of an interrupted run
        if base is None:
            raise DeltaError(f"{bundle}: not a bundle with environments; vendor apply updates one")
        _check_fits(base, omitted)
        incoming = assemble.needed_archives(delta, fresh)
        transaction.check_rewrites(
            base,
            {rel: p for rel, (p, _) in incoming.items()},
            {rel: w for rel, (w, _) in wheels_mod.locked(delta, fresh).items()},
            "the delta",
        )
        _stage_delta(delta, tx.stage())
        index, archives = tx.merge(fresh, base)
        tx.commit(index, archives, sbom_at=timestamp_of(delta / SBOM))
    return {
        "output": str(bundle),
        "delta": str(delta),
        "environments": {n: index.environments[n].current for n in sorted(fresh.environments)},
        "archives_added": found["archives"],
        "archives_kept": len(omitted),
        "seconds": round(time.monotonic() - started, 3),
    }
