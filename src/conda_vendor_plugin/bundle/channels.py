"""Unindexed local channels: ``OUT/local_<name>/<subdir>/`` with upstream's own entries.

Each ``repodata.json`` holds upstream's ``info`` (without ``base_url``, which would
point back across the air gap), its ``repodata_version``, and under ``packages`` /
``packages.conda`` the ORIGINAL entries of the solved packages, copied as they are
(hotfixed fields survive). ``conda index`` is never run: it would rebuild entries
from the archives and undo upstream's hotfixes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..channel.entries import Entries
from ..errors import ChannelError
from ..fsutil import atomic_write_text, contained
from ..records import LockedPackage, Solution
from .plan import VendoredPackage

REPODATA = "repodata.json"


def repodata_documents(
    vendored: Sequence[VendoredPackage],
    solutions: Sequence[Solution],
    names: Mapping[str, str],
    platforms: Sequence[str],
    entries: Entries | None = None,
) -> dict[str, dict[str, Any]]:
    """``{"local_x/subdir/repodata.json": document}`` for every local channel and subdir.

    Every local channel gets ``noarch`` and each target platform's subdir, even when
    empty, so conda finds a complete channel offline.
    """
    sources: dict[tuple[str, str], Path] = {}
    for sol in solutions:
        sources.update({(c.rstrip("/"), sd): p for (c, sd), p in sol.repodata.items()})
    entries = entries or Entries()
    for vp in vendored:  # one read of each upstream file for all its entries
        path = sources.get((vp.package.channel.rstrip("/"), vp.package.subdir))
        if path is not None:
            entries.expect(path, [vp.package.fn])
    docs: dict[str, dict[str, Any]] = {}
    local_to_url = {v: k for k, v in names.items()}

    def doc_for(local: str, subdir: str) -> dict[str, Any]:
        key = f"{local}/{subdir}/{REPODATA}"
        if key not in docs:
            upstream_path = sources.get((local_to_url[local], subdir))
            upstream = entries.header(upstream_path) if upstream_path else {}
            info = dict(upstream.get("info") or {})
            info.pop("base_url", None)
            info["subdir"] = subdir
            docs[key] = {
                "info": info,
                "packages": {},
                "packages.conda": {},
                "repodata_version": upstream.get("repodata_version", 1),
            }
        return docs[key]

    for local in sorted(set(names.values())):
        for subdir in ("noarch", *platforms):
            doc_for(local, subdir)
    for vp in vendored:
        p = vp.package
        path = sources.get((p.channel.rstrip("/"), p.subdir))
        if path is None:
            raise ChannelError(f"{p.dist}: no repodata was recorded for {p.channel}/{p.subdir}")
        found = entries.find(path, p.fn)
        if found is None:
            raise _missing_entry(p, sources, entries)
        section, entry = found
        _check_agrees(p, entry)
        doc_for(vp.local_channel, p.subdir)[section][p.fn] = entry
    return docs


def _check_agrees(p: LockedPackage, entry: Mapping[str, Any]) -> None:
    """The entry copied names the archive that was solved for and fetched: the same
    hashes and size (a file rewritten between the solve and the copy, by another run or a
    channel, is caught here rather than by ``vendor verify`` on the offline side)."""
    for field_name, ours in (("sha256", p.sha256), ("md5", p.md5), ("size", p.size)):
        theirs = entry.get(field_name)
        if ours is None or theirs is None or str(theirs).lower() == str(ours).lower():
            continue
        raise ChannelError(
            f"{p.dist}: {p.channel}/{p.subdir}/repodata.json now lists {p.fn} with "
            f"{field_name} {theirs}, not the {ours} it was solved with; the channel's "
            f"repodata changed during this run: vendor again"
        )


def _missing_entry(
    p: LockedPackage, sources: Mapping[tuple[str, str], Path], entries: Entries
) -> ChannelError:
    """Why ``p``'s entry is not where its ``subdir`` says: listed in another directory
    (inconsistent repodata, which locking again cannot fix), or gone (it can)."""
    channel = p.channel.rstrip("/")
    for (c, subdir), path in sources.items():
        if c == channel and subdir != p.subdir and entries.find(path, p.fn) is not None:
            return ChannelError(
                f"{p.dist}: {channel}/{subdir}/repodata.json lists {p.fn} with subdir "
                f"{p.subdir!r}; the channel's repodata is inconsistent (an entry's subdir "
                f"must be its directory), so it cannot be vendored: report it to the channel"
            )
    return ChannelError(
        f"{p.dist}: {p.fn} is not in {channel}/{p.subdir}/repodata.json any more; lock again"
    )


def write_repodata(root: Path, docs: Mapping[str, Mapping[str, Any]]) -> None:
    for rel, doc in docs.items():
        atomic_write_text(contained(root, rel), json.dumps(doc, indent=1, sort_keys=True) + "\n")
