"""The vendor pipeline: solve, then the bundle steps plan -> fetch -> write -> swap.

This module decides what goes where; :mod:`.bundle` knows how each step is done on
disk, and a run that fails at any step leaves the previous OUT as it was.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bundle import staging as staging_mod
from .bundle.channels import repodata_documents, write_repodata
from .bundle.outputs import LOCKFILE, MANIFEST, env_file_name, env_file_text, manifest_text
from .bundle.plan import VendoredPackage, local_names, plan
from .download import Downloader, DownloadJob, DownloadResult
from .errors import ChannelError
from .formats import explicit_v1
from .fsutil import UnsafePath, atomic_write_text, contained
from .progress import Reporter, solving_step
from .records import Lockfile, Solution
from .solve import Backend, effective_spec, solve_all, to_lockfile
from .spec import EnvironmentSpec, load_spec
from .urls import redact_url, with_credentials_of


@dataclass(frozen=True)
class VendorOptions:
    env_file: str
    output: Path
    platforms: Sequence[str] = ()
    jobs: int = 8
    dry_run: bool = False


@dataclass(frozen=True)
class VendorPlan:
    """Everything decided before the first byte is downloaded."""

    spec: EnvironmentSpec
    solutions: Sequence[Solution]
    lock: Lockfile
    vendored: Sequence[VendoredPackage]
    local_order: Sequence[str]  # local channel names in channel priority order
    repodata: Mapping[str, Mapping[str, Any]]  # relpath -> local repodata.json document
    credentials: Mapping[str, str]  # channel URL without credentials -> with them

    @property
    def total_bytes(self) -> int:
        return sum(vp.package.size or 0 for vp in self.vendored)


def make_plan(spec: EnvironmentSpec, backend: Backend, reporter: Reporter) -> VendorPlan:
    """Solve every platform and decide which archive goes to which local channel."""
    solutions = solve_all(spec, backend, step=solving_step(spec, reporter))
    sources: list[tuple[str, str]] = []
    for platform in spec.platforms:
        for src in backend.channel_sources(spec, platform):
            if src not in sources:
                sources.append(src)
    names = local_names(sources)
    vendored = plan(solutions, names)
    return VendorPlan(
        spec=spec,
        solutions=solutions,
        lock=to_lockfile(spec, solutions),
        vendored=vendored,
        local_order=list(dict.fromkeys(names.values())),
        repodata=repodata_documents(vendored, solutions, names, spec.platforms),
        credentials={redact_url(url).rstrip("/"): url.rstrip("/") for _, url in sources},
    )


def summarize(p: VendorPlan, out: Path) -> dict[str, Any]:
    per_channel: dict[str, dict[str, int]] = {}
    for vp in p.vendored:
        c = per_channel.setdefault(vp.local_channel, {"packages": 0, "bytes": 0})
        c["packages"] += 1
        c["bytes"] += vp.package.size or 0
    return {
        "output": str(out),
        "platforms": {s.platform: len(s.packages) for s in p.solutions},
        "channels": per_channel,
        "packages": len(p.vendored),
        "bytes": p.total_bytes,
    }


def fetch(
    p: VendorPlan, staging: Path, backend: Backend, jobs: int, reporter: Reporter
) -> list[DownloadResult]:
    """Download (or resume, or copy from a package cache) every archive into staging."""
    download_jobs = [
        DownloadJob(
            url=with_credentials_of(vp.package.url, p.credentials[vp.package.channel]),
            dest=inside(staging, vp.relpath),
            size=vp.package.size,
            sha256=vp.package.sha256,
            md5=vp.package.md5,
            label=f"{vp.package.dist} ({vp.package.subdir})",
            local_ok=vp.package.channel.startswith("file:"),
        )
        for vp in p.vendored
    ]
    bar = reporter.bar("Downloading packages", p.total_bytes)
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        bar.update(done)

    try:
        return Downloader(
            backend.session_for,
            jobs=jobs,
            cache_dirs=backend.package_cache_dirs(),
            on_bytes=on_bytes,
        ).run(download_jobs)
    finally:
        bar.close()


def write_outputs(p: VendorPlan, staging: Path) -> dict[str, str]:
    """Local repodata, lockfile and environment files into staging, stale files pruned,
    then the manifest of it all. Returns what was written (relative paths)."""
    write_repodata(staging, p.repodata)
    atomic_write_text(staging / LOCKFILE, explicit_v1.write(p.lock))
    env_files = {}
    for sol in p.solutions:
        in_solution = set(sol.packages)
        used = {vp.local_channel for vp in p.vendored if vp.package in in_solution}
        text = env_file_text(p.spec, sol, [n for n in p.local_order if n in used])
        env_files[sol.platform] = env_file_name(sol.platform)
        atomic_write_text(staging / env_files[sol.platform], text)
    keep = {vp.relpath for vp in p.vendored} | set(p.repodata) | {LOCKFILE, MANIFEST}
    staging_mod.prune(staging, keep | set(env_files.values()))
    text = manifest_text(staging, p.spec, p.lock.input_hash, p.vendored)
    atomic_write_text(staging / MANIFEST, text)
    return env_files


def run_vendor(opts: VendorOptions, backend: Backend, reporter: Reporter) -> dict[str, Any]:
    started = time.monotonic()
    spec = effective_spec(load_spec(opts.env_file), opts.platforms, backend)
    output = staging_mod.resolve_output(opts.output)
    staging_mod.check_output(output, repair=False)  # refuse before creating anything
    if opts.dry_run:
        p = make_plan(spec, backend, reporter)
        summary = summarize(p, opts.output)
        summary["dry_run"] = True
        summary["files"] = [
            {"path": vp.relpath, "url": redact_url(vp.package.url), "size": vp.package.size}
            for vp in p.vendored
        ]
        return summary

    with staging_mod.exclusive(output):
        staging_mod.check_output(output)
        p = make_plan(spec, backend, reporter)
        staging = staging_mod.make_staging(output)
        staging_mod.seed_from_previous(output, staging, p.vendored)
        results = fetch(p, staging, backend, opts.jobs, reporter)
        env_files = write_outputs(p, staging)
        staging_mod.swap_into_place(staging, output)

    out = opts.output
    summary = summarize(p, out)
    summary.update(
        {
            "fetched_bytes": sum(r.bytes_fetched for r in results),
            "archives": dict(Counter(r.how for r in results)),
            "lockfile": str(out / LOCKFILE),
            "environment_files": [str(out / f) for f in env_files.values()],
            "manifest": str(out / MANIFEST),
            "seconds": round(time.monotonic() - started, 3),
        }
    )
    return summary


def inside(root: Path, rel: str) -> Path:
    """``root / rel`` for a path the plan built from untrusted names (checked again here:
    nothing is written outside staging whatever the plan holds)."""
    try:
        return contained(root, rel)
    except UnsafePath as e:
        raise ChannelError(f"refusing to write {e} under {root}") from None
