"""The vendor pipeline: solve (or take lockfiles as they are), then the bundle steps
plan -> fetch -> write -> swap.

This module decides what goes where; :mod:`.bundle` knows how each step is done on
disk, and a run that fails at any step leaves the previous OUT as it was.
"""

from __future__ import annotations

import errno
import hashlib
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__, formats, locked
from .bundle import staging as staging_mod
from .bundle.channels import repodata_documents, write_repodata
from .bundle.outputs import (
    LOCKFILE,
    MANIFEST,
    TOOL,
    env_file_name,
    env_file_text,
    explicit_file_name,
    explicit_file_text,
    manifest_text,
)
from .bundle.plan import VendoredPackage, local_names, plan
from .bundle.sbom import (
    SBOM,
    build_time,
    earlier_time,
    licenses_from_repodata,
    sbom_text,
    source_date_epoch,
    with_sha256,
)
from .download import Downloader, DownloadJob, DownloadResult
from .entries import Entries
from .errors import ChannelError, VendorError
from .formats import explicit_v1
from .fsutil import UnsafePath, atomic_write_text, contained
from .progress import Reporter, solving_step
from .records import Lockfile, Solution
from .solve import Backend, effective_spec, solve_all, to_lockfile
from .spec import EnvironmentSpec, load_spec
from .urls import redact_url, with_credentials_of


@dataclass(frozen=True)
class VendorOptions:
    """What to vendor (an environment file to solve, or lockfiles to take as they are)
    and where."""

    output: Path
    env_file: str | None = None
    lockfiles: Sequence[str] = ()
    platforms: Sequence[str] = ()
    jobs: int = 8
    dry_run: bool = False
    allow_size_only: bool = False
    force: bool = False  # replace an OUT (or .OUT.old) holding files this tool did not write


@dataclass(frozen=True)
class Request:
    """What to vendor, settled: per platform the packages, and the channels they are from."""

    spec: EnvironmentSpec
    solutions: Sequence[Solution]
    lock: Lockfile
    sources: Sequence[tuple[str, str]]  # (as written, channel URL with credentials)
    entries: Entries


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


def solve_request(spec: EnvironmentSpec, backend: Backend, reporter: Reporter) -> Request:
    """Solve every platform of an environment file."""
    solutions = solve_all(spec, backend, step=solving_step(spec, reporter))
    sources: list[tuple[str, str]] = []
    for platform in spec.platforms:
        for src in backend.channel_sources(spec, platform):
            if src not in sources:
                sources.append(src)
    lock = to_lockfile(spec, solutions, backend.channel_priority())
    return Request(spec, solutions, lock, sources, Entries())


def lockfile_request(
    paths: Sequence[str], platforms: Sequence[str], backend: Backend, reporter: Reporter
) -> Request:
    """Take lockfiles as they are: no solve; every package checked against its channel."""
    with reporter.step(f"Reading {', '.join(paths)}"):
        lock = formats.read_files(paths)
    wanted = locked.lock_platforms(lock, platforms)
    sources = locked.channel_sources(lock, wanted, backend)
    entries = Entries()
    count = sum(len(lock.packages[p]) for p in wanted)
    with reporter.step(f"Checking {count} locked packages against their channels"):
        solutions = locked.resolve(lock, wanted, sources, backend, entries)
    spec = EnvironmentSpec(name=lock.name, channels=lock.channels, platforms=wanted)
    resolved = Lockfile(
        input_hash=lock.input_hash or _files_hash(paths),
        channels=lock.channels,
        packages={s.platform: s.packages for s in solutions},
        name=lock.name,
        foreign=tuple(f for f in lock.foreign if f.platform in wanted),
        channel_priority=lock.channel_priority,
    )
    return Request(spec, solutions, resolved, sources, entries)


def _files_hash(paths: Sequence[str]) -> str:
    """The input hash of a lockfile that records none: sha256 of its files' bytes, in
    the order given."""
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def make_plan(req: Request, allow_size_only: bool = False) -> VendorPlan:
    """Decide which archive goes to which local channel, and each local repodata."""
    names = local_names(req.sources)
    vendored = plan(req.solutions, names, allow_size_only)
    docs = repodata_documents(vendored, req.solutions, names, req.spec.platforms, req.entries)
    return VendorPlan(
        spec=req.spec,
        solutions=req.solutions,
        lock=req.lock,
        vendored=vendored,
        local_order=list(dict.fromkeys(names.values())),
        repodata=docs,
        credentials={redact_url(url).rstrip("/"): url.rstrip("/") for _, url in req.sources},
    )


def summarize(p: VendorPlan, out: Path) -> dict[str, Any]:
    """The report's counts; ``not_vendored`` lists locked packages that are not conda
    packages (pip/pypi entries of other tools' lockfiles)."""
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
        "not_vendored": [asdict(f) for f in p.lock.foreign],
        "pip_not_vendored": list(p.spec.pip),
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
            policy=backend.retry_policy(),
            cache_dirs=backend.package_cache_dirs(),
            on_bytes=on_bytes,
            on_note=reporter.info,
        ).run(download_jobs)
    finally:
        bar.close()


def write_outputs(p: VendorPlan, staging: Path, previous: Path | None = None) -> dict[str, str]:
    """Local repodata, lockfile, environment and explicit files and the SBOM into staging
    (pruned of earlier plans' files before the downloads), then the manifest of it all.
    ``previous`` is the output this one replaces. Returns the environment files by
    platform."""
    write_repodata(staging, p.repodata)
    atomic_write_text(staging / LOCKFILE, explicit_v1.write(p.lock))
    env_files = {}
    for sol in p.solutions:
        in_solution = set(sol.packages)
        used = {vp.local_channel for vp in p.vendored if vp.package in in_solution}
        text = env_file_text(p.spec, sol, [n for n in p.local_order if n in used])
        env_files[sol.platform] = env_file_name(sol.platform)
        atomic_write_text(staging / env_files[sol.platform], text)
        explicit = explicit_file_name(sol.platform)
        atomic_write_text(staging / explicit, explicit_file_text(p.lock, sol.platform, p.vendored))
    write_sbom(p, staging, previous)
    text = manifest_text(staging, p.spec, p.lock.input_hash, p.vendored, p.lock.foreign)
    atomic_write_text(staging / MANIFEST, text)
    return env_files


def write_sbom(p: VendorPlan, staging: Path, previous: Path | None) -> None:
    """The SBOM of the staged archives: one environment uses them all (named by the
    environment file or lockfile, else ``default``). Made now, or at SOURCE_DATE_EPOCH;
    when ``previous`` (the output replaced) has an SBOM saying the same, at its time."""
    archives = with_sha256(p.vendored, staging)
    used_by = {vp.relpath: [p.spec.name or "default"] for vp in archives}
    licenses = licenses_from_repodata(p.repodata)

    def text_at(when: datetime) -> str:
        return sbom_text(archives, used_by, licenses, TOOL, __version__, when)

    pinned = source_date_epoch()
    text = text_at(pinned or build_time())
    if pinned is None and previous is not None:
        earlier = earlier_time(previous / SBOM, text)
        if earlier is not None:
            text = text_at(earlier)
    atomic_write_text(staging / SBOM, text)


def request(opts: VendorOptions, backend: Backend, reporter: Reporter) -> Request:
    if opts.lockfiles:
        return lockfile_request(opts.lockfiles, opts.platforms, backend, reporter)
    if opts.env_file is None:
        raise VendorError("vendor: name an environment file or pass --lockfile")
    spec = effective_spec(load_spec(opts.env_file), opts.platforms, backend)
    return solve_request(spec, backend, reporter)


def run_vendor(opts: VendorOptions, backend: Backend, reporter: Reporter) -> dict[str, Any]:
    started = time.monotonic()
    if opts.env_file is not None and not opts.lockfiles:
        load_spec(opts.env_file)  # a bad environment file is reported before anything else
    output = staging_mod.resolve_output(opts.output)
    staging_mod.check_output(output, repair=False, force=opts.force)  # before creating anything
    if opts.dry_run:
        p = make_plan(request(opts, backend, reporter), opts.allow_size_only)
        summary = summarize(p, opts.output)
        summary["dry_run"] = True
        summary["files"] = [
            {"path": vp.relpath, "url": redact_url(vp.package.url), "size": vp.package.size}
            for vp in p.vendored
        ]
        return summary

    source_date_epoch()  # a bad SOURCE_DATE_EPOCH is reported before any download
    with staging_mod.exclusive(output):
        staging_mod.check_output(output, force=opts.force)
        p = make_plan(request(opts, backend, reporter), opts.allow_size_only)
        try:
            staging = staging_mod.make_staging(output)
            # What an earlier plan left (partial downloads of other archives) goes first:
            # it must not hold the room this run needs.
            staging_mod.prune(staging, {vp.relpath for vp in p.vendored})
            staging_mod.seed_from_previous(output, staging, p.vendored)
            staging_mod.check_free_space(output, staging, p.vendored)
            results = fetch(p, staging, backend, opts.jobs, reporter)
            env_files = write_outputs(p, staging, output.real)
            staging_mod.swap_into_place(staging, output)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise staging_mod.disk_full(output, e) from None
            raise

    out = opts.output
    summary = summarize(p, out)
    summary.update(
        {
            "fetched_bytes": sum(r.bytes_fetched for r in results),
            "archives": dict(Counter(r.how for r in results)),
            "lockfile": str(out / LOCKFILE),
            "environment_files": [str(out / f) for f in env_files.values()],
            "manifest": str(out / MANIFEST),
            "sbom": str(out / SBOM),
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
