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

from ..errors import ChannelError
from ..fsutil import atomic_write_text
from ..records import Solution
from ..repodata import load_repodata, original_entry
from .plan import VendoredPackage

REPODATA = "repodata.json"


def repodata_documents(
    vendored: Sequence[VendoredPackage],
    solutions: Sequence[Solution],
    names: Mapping[str, str],
    platforms: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """``{"local_x/subdir/repodata.json": document}`` for every local channel and subdir.

    Every local channel gets ``noarch`` and each target platform's subdir, even when
    empty, so conda finds a complete channel offline.
    """
    sources: dict[tuple[str, str], Path] = {}
    for sol in solutions:
        sources.update({(c.rstrip("/"), sd): p for (c, sd), p in sol.repodata.items()})
    loaded: dict[Path, Mapping[str, Any]] = {}
    docs: dict[str, dict[str, Any]] = {}
    local_to_url = {v: k for k, v in names.items()}

    def doc_for(local: str, subdir: str) -> dict[str, Any]:
        key = f"{local}/{subdir}/{REPODATA}"
        if key not in docs:
            upstream_path = sources.get((local_to_url[local], subdir))
            upstream = _load(upstream_path, loaded) if upstream_path else {}
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
        found = original_entry(_load(path, loaded), p.fn)
        if found is None:
            raise ChannelError(
                f"{p.dist}: {p.fn} is not in {p.channel}/{p.subdir}/repodata.json any more; "
                f"lock again"
            )
        section, entry = found
        doc_for(vp.local_channel, p.subdir)[section][p.fn] = entry
    return docs


def _load(path: Path, loaded: dict[Path, Mapping[str, Any]]) -> Mapping[str, Any]:
    if path not in loaded:
        loaded[path] = load_repodata(path)
    return loaded[path]


def write_repodata(root: Path, docs: Mapping[str, Mapping[str, Any]]) -> None:
    for rel, doc in docs.items():
        atomic_write_text(root / rel, json.dumps(doc, indent=1, sort_keys=True) + "\n")


def entry_problems(root: Path) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Check every local channel under ``root`` against its own repodata.

    Returns ``(missing, extra, corrupt)``: archives listed but absent, files present
    but not listed, and ``(path, problem)`` for archives whose size or hash differs.
    """
    from ..download import Expected, file_problem

    missing: list[str] = []
    extra: list[str] = []
    corrupt: list[tuple[str, str]] = []
    for chan in sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("local_")):
        for subdir in sorted(p for p in chan.iterdir() if p.is_dir()):
            rd_path = subdir / REPODATA
            if not rd_path.is_file():
                missing.append(str(rd_path.relative_to(root)))
                continue
            rd = load_repodata(rd_path)
            listed: set[str] = set()
            for section in ("packages", "packages.conda"):
                for fn, entry in (rd.get(section) or {}).items():
                    listed.add(fn)
                    rel = f"{chan.name}/{subdir.name}/{fn}"
                    problem = file_problem(subdir / fn, Expected.from_entry(entry))
                    if problem == "missing":
                        missing.append(rel)
                    elif problem:
                        corrupt.append((rel, problem))
            for f in sorted(subdir.iterdir()):
                if f.name != REPODATA and f.name not in listed:
                    extra.append(f"{chan.name}/{subdir.name}/{f.name}")
    return missing, extra, corrupt
