"""``vendor``: solve, download and write local channels, then swap them into place.

Everything is built in a staging directory beside OUT (``.OUT.staging``), which also
keeps verified archives and partial downloads between runs, so a second run resumes.
Only when the whole output is complete does it replace OUT (``OUT`` -> ``.OUT.old``,
staging -> ``OUT``, then the old copy is removed); a run that fails or is
interrupted leaves the previous OUT as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import __version__
from . import lockfile as lockfile_mod
from .channel import (
    VendoredPackage,
    local_names,
    plan,
    repodata_documents,
    write_repodata,
)
from .download import Downloader, DownloadJob
from .errors import VendorError
from .fsutil import atomic_write_text, sha256_file
from .lockfile import yaml_scalar
from .progress import Reporter, solving_step
from .records import Solution
from .solve import Backend, effective_spec, solve_all, to_lockfile
from .spec import EnvironmentSpec, load_spec
from .urls import redact_url, with_credentials_of

MANIFEST = "manifest.json"
LOCKFILE = "environment.lock.yml"
TOOL = "conda-vendor-plugin"


@dataclass(frozen=True)
class VendorOptions:
    env_file: str
    output: Path
    platforms: Sequence[str] = ()
    jobs: int = 8
    dry_run: bool = False


def staging_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.staging"


def old_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.old"


def _is_ours(out: Path) -> bool:
    try:
        return json.loads((out / MANIFEST).read_text()).get("tool", {}).get("name") == TOOL
    except (OSError, ValueError, AttributeError):
        return False


def check_output(out: Path) -> None:
    """Refuse to replace a directory this tool did not write; finish an interrupted swap."""
    if not out.exists() and old_dir(out).is_dir():
        os.rename(old_dir(out), out)  # a previous run died between its two renames
    if out.exists() and not out.is_dir():
        raise VendorError(f"{out}: exists and is not a directory; choose another -o/--output")
    if out.is_dir() and any(out.iterdir()) and not _is_ours(out):
        raise VendorError(
            f"{out}: exists, is not empty and was not written by conda vendor; "
            f"choose another -o/--output or empty it"
        )


def swap_into_place(staging: Path, out: Path) -> None:
    old = old_dir(out)
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def _seed_from_previous(out: Path, staging: Path, vendored: Sequence[VendoredPackage]) -> None:
    """Hard-link archives of the previous output into staging (verified before use)."""
    if not out.is_dir():
        return
    for vp in vendored:
        src, dst = out / vp.relpath, staging / vp.relpath
        if src.is_file() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)


def _prune(staging: Path, keep: set[str]) -> None:
    """Remove files of earlier plans from staging (partial files of kept archives stay)."""
    for path in sorted(staging.rglob("*"), reverse=True):
        rel = path.relative_to(staging).as_posix()
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        elif rel not in keep and rel.removesuffix(".partial") not in keep:
            path.unlink()


def purl(vp: VendoredPackage) -> str:
    p = vp.package
    kind = "conda" if p.fn.endswith(".conda") else "tar.bz2"
    channel = quote(redact_url(p.channel), safe="")
    return (
        f"pkg:conda/{p.name}@{quote(p.version)}?build={quote(p.build)}"
        f"&channel={channel}&subdir={p.subdir}&type={kind}"
    )


def env_file_text(spec: EnvironmentSpec, solution: Solution, locals_in_order: Sequence[str]) -> str:
    """An environment file pinning every locked package, channels = the local channels."""
    lines = [
        f"# Written by {TOOL} {__version__} for {solution.platform}. Install offline from the",
        "# directory holding this file (channel paths are relative to it):",
        f"#   conda env create -n <name> --offline -f {env_file_name(solution.platform)}",
    ]
    if spec.name:
        lines.append(f"name: {yaml_scalar(spec.name)}")
    lines.append("channels:")
    lines += [f"  - ./{name}" for name in locals_in_order]
    lines.append("  - nodefaults")
    lines.append("dependencies:")
    lines += [f"  - {yaml_scalar(f'{p.name}=={p.version}={p.build}')}" for p in solution.packages]
    if spec.variables:
        lines.append("variables:")
        lines += [f"  {yaml_scalar(k)}: {yaml_scalar(v)}" for k, v in spec.variables]
    return "\n".join(lines) + "\n"


def env_file_name(platform: str) -> str:
    return f"environment-{platform}.yml"


def run_vendor(opts: VendorOptions, backend: Backend, reporter: Reporter) -> dict[str, Any]:
    started = time.monotonic()
    spec = effective_spec(load_spec(opts.env_file), opts.platforms, backend)
    out = opts.output
    check_output(out)
    solutions = solve_all(spec, backend, step=solving_step(spec, reporter))

    sources: list[tuple[str, str]] = []
    for platform in spec.platforms:
        for src in backend.channel_sources(spec, platform):
            if src not in sources:
                sources.append(src)
    names = local_names(sources)
    with_credentials = {redact_url(url).rstrip("/"): url.rstrip("/") for _, url in sources}
    vendored = plan(solutions, names)
    docs = repodata_documents(vendored, solutions, names, spec.platforms)
    total_bytes = sum(vp.package.size or 0 for vp in vendored)
    per_channel: dict[str, dict[str, int]] = {}
    for vp in vendored:
        c = per_channel.setdefault(vp.local_channel, {"packages": 0, "bytes": 0})
        c["packages"] += 1
        c["bytes"] += vp.package.size or 0
    summary: dict[str, Any] = {
        "output": str(out),
        "platforms": {s.platform: len(s.packages) for s in solutions},
        "channels": per_channel,
        "packages": len(vendored),
        "bytes": total_bytes,
    }
    if opts.dry_run:
        summary["dry_run"] = True
        summary["files"] = [
            {"path": vp.relpath, "url": redact_url(vp.package.url), "size": vp.package.size}
            for vp in vendored
        ]
        return summary

    staging = staging_dir(out)
    staging.mkdir(parents=True, exist_ok=True)
    _seed_from_previous(out, staging, vendored)
    jobs = [
        DownloadJob(
            url=with_credentials_of(vp.package.url, with_credentials[vp.package.channel]),
            dest=staging / vp.relpath,
            size=vp.package.size,
            sha256=vp.package.sha256,
            md5=vp.package.md5,
            label=f"{vp.package.dist} ({vp.package.subdir})",
        )
        for vp in vendored
    ]
    bar = reporter.bar("Downloading packages", total_bytes)
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        bar.update(done)

    try:
        results = Downloader(
            backend.session_for,
            jobs=opts.jobs,
            cache_dirs=backend.package_cache_dirs(),
            on_bytes=on_bytes,
        ).run(jobs)
    finally:
        bar.close()

    write_repodata(staging, docs)
    lock = to_lockfile(spec, solutions)
    atomic_write_text(staging / LOCKFILE, lockfile_mod.dumps(lock))
    ordered_locals = list(dict.fromkeys(names.values()))
    for sol in solutions:
        in_solution = set(sol.packages)
        used = {vp.local_channel for vp in vendored if vp.package in in_solution}
        text = env_file_text(spec, sol, [n for n in ordered_locals if n in used])
        atomic_write_text(staging / env_file_name(sol.platform), text)
    keep = {vp.relpath for vp in vendored} | set(docs) | {LOCKFILE, MANIFEST}
    keep |= {env_file_name(s.platform) for s in solutions}
    _prune(staging, keep)
    atomic_write_text(staging / MANIFEST, manifest_text(staging, spec, lock.input_hash, vendored))
    swap_into_place(staging, out)

    how = dict(Counter(r.how for r in results))
    summary.update(
        {
            "fetched_bytes": sum(r.bytes_fetched for r in results),
            "archives": how,
            "lockfile": str(out / LOCKFILE),
            "environment_files": [str(out / env_file_name(s.platform)) for s in solutions],
            "manifest": str(out / MANIFEST),
            "seconds": round(time.monotonic() - started, 3),
        }
    )
    return summary


def manifest_text(
    root: Path, spec: EnvironmentSpec, input_hash: str, vendored: Sequence[VendoredPackage]
) -> str:
    """Every file in the output (but the manifest itself): path, size, sha256, origin."""
    by_path = {vp.relpath: vp for vp in vendored}
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == MANIFEST:
            continue
        vp = by_path.get(rel)
        item: dict[str, Any] = {"path": rel, "size": path.stat().st_size}
        known = vp.package.sha256 if vp is not None else None
        item["sha256"] = known or sha256_file(path)
        if vp is not None:
            item["url"] = redact_url(vp.package.url)
            item["purl"] = purl(vp)
        files.append(item)
    doc = {
        "tool": {"name": TOOL, "version": __version__},
        "name": spec.name,
        "input_hash": input_hash,
        "platforms": list(spec.platforms),
        "files": files,
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def verify_output(out: Path) -> dict[str, Any]:
    """Re-check a vendored output: every archive against its repodata entry, and the rest
    of the files against the manifest. Returns the findings; ``problems`` counts them."""
    from .channel import entry_problems

    if not out.is_dir():
        raise VendorError(f"{out}: no such directory; pass the output of conda vendor")
    missing, extra, corrupt = entry_problems(out)
    archives = 0
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        missing.append(MANIFEST)
        manifest = {"files": []}
    listed = {MANIFEST}
    for item in manifest.get("files", []):
        path = out / item["path"]
        listed.add(item["path"])
        if "purl" in item:
            archives += 1
        if not path.is_file():
            missing.append(item["path"])  # also archives whose whole subdir is gone
        elif "purl" not in item and sha256_file(path) != item.get("sha256"):
            corrupt.append((item["path"], "sha256 differs from the manifest"))
        # archives were checked against their repodata entries above
    if MANIFEST not in missing:
        # Files outside any local channel subdir are in no repodata: the manifest decides.
        known = listed | set(extra)
        extra += [
            rel
            for rel in sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
            if rel not in known
        ]
    return {
        "output": str(out),
        "archives": archives,
        "missing": sorted(set(missing)),
        "extra": extra,
        "corrupt": [f"{p}: {why}" for p, why in corrupt],
        "problems": len(set(missing)) + len(extra) + len(corrupt),
    }
