"""The vendor pipeline: solve (or take lockfiles as they are), then the bundle steps
plan -> fetch -> write -> swap.

This module decides what goes where; :mod:`.bundle` knows how each step is done on
disk, and a run that fails at any step leaves the previous OUT as it was.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import inputs
from .bundle import delta as delta_mod
from .bundle import history, installer, readme, transaction
from .bundle import staging as staging_mod
from .bundle import wheels as wheels_mod
from .bundle.channels import repodata_documents, write_repodata
from .bundle.outputs import (
    LOCKFILE,
    env_file_name,
    env_file_text,
    explicit_file_name,
    explicit_file_text,
)
from .bundle.plan import VendoredPackage, local_names, plan
from .bundle.sbom import source_date_epoch
from .channel.entries import Entries
from .errors import ChannelError, UsageError
from .formats import explicit_v1
from .fsutil import UnsafePath, atomic_write_text, contained, is_plain_dir
from .progress import Reporter
from .pypi.records import Wheel
from .pypi.requirements import credentialed_indexes
from .solve.backend import Backend
from .spec import NO_CHANNEL_OVERRIDE, ChannelOverride, load_spec
from .transport.download import Downloader, DownloadJob, DownloadResult
from .transport.urls import (
    merged_credentials,
    redact_url,
    with_credentials_of,
    with_userinfo_of,
)
from .vendor_summary import not_vendored, settled, summarize


@dataclass(frozen=True)
class VendorOptions:
    """What to vendor (environment files to solve and lockfiles to take as they are,
    each an environment of the bundle) and where."""

    output: Path
    env_files: Sequence[str] = ()  # each an environment (a lockfile among them is read)
    lockfiles: Sequence[str] = ()  # together one environment (CEP 23: a file per platform)
    namespace: str | None = None  # environments go to envs/<namespace>/<name>
    since: Sequence[str] = ()  # write a delta against these bundles (or their manifests)
    platforms: Sequence[str] = ()
    jobs: int = 8
    dry_run: bool = False
    allow_size_only: bool = False
    force: bool = False  # replace an OUT (or .OUT.old) holding files this tool did not write
    channels: ChannelOverride = NO_CHANNEL_OVERRIDE  # -c / --override-channels (env files)
    prefixes: Sequence[str] = ()  # installed environments, each as it is (-n / -p)
    installer_pythons: Sequence[str] = ()  # --with-installer: wheels for these Pythons
    skip_non_wheel: bool = False  # --ignore-pip-non-wheel


@dataclass(frozen=True)
class VendorPlan:
    """Everything decided before the first byte is downloaded."""

    requests: Sequence[inputs.Request]
    vendored: Sequence[VendoredPackage]  # every archive of every environment, once
    names: Mapping[str, str]  # channel URL without credentials -> local channel
    local_order: Sequence[str]  # local channel names in channel priority order
    repodata: Mapping[str, Mapping[str, Any]]  # relpath -> local repodata.json document
    credentials: Mapping[str, str]  # channel URL without credentials -> with them
    omitted: Mapping[str, Mapping[str, Any]]  # delta: archives the previous bundle has
    wheels: Mapping[str, Wheel]  # bundle path -> every locked wheel, once (all fetched)
    indexes: Sequence[str] = ()  # package index URLs of the run that carry credentials

    @property
    def fetched(self) -> list[VendoredPackage]:
        return [vp for vp in self.vendored if vp.relpath not in self.omitted]

    @property
    def total_bytes(self) -> int:
        wheels = sum(w.size or 0 for w in self.wheels.values())
        return sum(vp.package.size or 0 for vp in self.fetched) + wheels


def make_plan(
    reqs: Sequence[inputs.Request],
    entries: Entries,
    taken: Mapping[str, str],
    allow_size_only: bool = False,
    previous: Mapping[str, Mapping[str, Any]] | None = None,
) -> VendorPlan:
    """Decide which archive goes to which local channel, and each local repodata.

    ``taken``: local channel -> channel URL of the bundle this run updates (its names
    stay); ``previous``: for a delta, the archives the previous bundle holds."""
    sources = [src for r in reqs for src in r.sources]
    names = local_names(sources, taken)
    solutions = [s for r in reqs for s in r.solutions]
    platforms = list(dict.fromkeys(p for r in reqs for p in r.spec.platforms))
    vendored = plan(solutions, names, allow_size_only)
    docs = repodata_documents(vendored, solutions, names, platforms, entries)
    omitted = {}
    for vp in vendored:
        had = (previous or {}).get(vp.relpath)
        if had is not None and had.get("sha256") == vp.package.sha256 and vp.package.sha256:
            omitted[vp.relpath] = {"path": vp.relpath, "sha256": vp.package.sha256}
    return VendorPlan(
        requests=reqs,
        vendored=vendored,
        names=names,
        local_order=list(dict.fromkeys(names.values())),
        repodata=docs,
        credentials=merged_credentials(url for _, url in sources),
        omitted=omitted,
        wheels=wheels_mod.plan((r.name, r.lock) for r in reqs),
        indexes=credentialed_indexes(r.spec.pip for r in reqs),
    )


def fetch(
    p: VendorPlan, staging: Path, backend: Backend, jobs: int, reporter: Reporter
) -> list[DownloadResult]:
    """Download (or resume, or copy from a package cache) every archive and every wheel
    into staging."""
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
        for vp in p.fetched
    ] + [
        DownloadJob(
            url=with_userinfo_of(w.url, p.indexes),
            dest=inside(staging, rel),
            size=w.size,
            sha256=w.sha256,
            md5=None,
            label=w.filename,
            local_ok=w.url.startswith("file:"),
        )
        for rel, w in p.wheels.items()
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


def _of_request(p: VendorPlan, r: inputs.Request) -> list[VendoredPackage]:
    packages = {q for s in r.solutions for q in s.packages}
    return [vp for vp in p.vendored if vp.package in packages]


def _write_environment(p: VendorPlan, r: inputs.Request, staging: Path) -> history.Environment:
    """One environment's lockfile, environment and explicit files, as version 1 of it
    (merging with the bundle renumbers it)."""
    mine = _of_request(p, r)
    env = history.fresh_environment(
        r.name,
        r.lock.input_hash,
        [s.platform for s in r.solutions],
        not_vendored(r.lock),
        (),  # pip: requirements are carried as wheels or refused
        [vp.relpath for vp in mine],
    )
    folder = inside(staging, history.version_dir(r.name, env.current))
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / LOCKFILE, explicit_v1.write(r.lock))
    where = history.version_dir(r.name, env.current)  # renumbered headers: assemble.retarget
    for sol in r.solutions:
        in_solution = set(sol.packages)
        used = {vp.local_channel for vp in mine if vp.package in in_solution}
        local_order = [n for n in p.local_order if n in used]
        wheels = r.lock.pypi.get(sol.platform, ())
        text = env_file_text(r.spec, sol, local_order, where, wheels)
        atomic_write_text(folder / env_file_name(sol.platform), text)
        explicit = explicit_file_text(r.lock, sol.platform, mine, where)
        atomic_write_text(folder / explicit_file_name(sol.platform), explicit)
    return env


def write_outputs(
    p: VendorPlan, tx: transaction.Transaction, base: Path | None, since: Sequence[str] = ()
) -> history.Index:
    """Local repodata and every environment's files into staging (pruned of earlier
    plans' files before the downloads), merged with the bundle ``base`` (None for a new
    bundle or a delta), then committed: index, pointers, SBOM, manifest, verify, swap."""
    staging = tx.staging
    assert staging is not None
    write_repodata(staging, p.repodata)
    envs = {r.name: _write_environment(p, r, staging) for r in p.requests}
    fresh = history.Index({local: url for url, local in p.names.items()}, envs)
    known = {
        (r.name, r.lock.input_hash): [q for s in r.solutions for q in s.packages]
        for r in p.requests
    }
    index, archives = tx.merge(fresh, base, set(p.omitted), known)
    extra: dict[str, Any] = {}
    if since:
        extra["delta"] = delta_mod.record(since, p.omitted)
        atomic_write_text(staging / delta_mod.DELTA, delta_mod.text(extra["delta"]))
    tx.commit(index, archives, extra)
    return index


def _base_bundle(output: staging_mod.Output) -> Path | None:
    """The bundle a run would update (OUT, when it is one with an index)."""
    out = output.real
    return out if is_plain_dir(out) and history.read_index(out) is not None else None


def _check_since(since: Sequence[str], out: Path) -> None:
    """A delta is a new directory: writing it over the bundle it is made against would
    replace that bundle with a part of itself."""
    for given in since:
        path = Path(given).resolve()
        if path == out.resolve() or path.parent == out.resolve():
            raise UsageError(
                f"--since {given} is OUT's own bundle: write the delta to another -o/--output"
            )


def _settle(
    opts: VendorOptions, base: Path | None, backend: Backend, reporter: Reporter
) -> VendorPlan:
    """The plan: every input settled, each archive given its place, keeping the names
    the bundle ``base`` (or, for a delta, the previous bundle) already gave its channels."""
    previous, taken = delta_mod.previous(opts.since) if opts.since else (None, {})
    base_index = history.read_index(base) if base is not None else None
    base_taken = base_index.channels if base_index is not None else {}
    entries = Entries()
    reqs = inputs.requests(
        opts.env_files,
        opts.lockfiles,
        opts.platforms,
        opts.namespace,
        backend,
        reporter,
        entries,
        channels=opts.channels,
        prefixes=opts.prefixes,
        skip_non_wheel=opts.skip_non_wheel,
    )
    return make_plan(reqs, entries, {**base_taken, **taken}, opts.allow_size_only, previous)


def run_vendor(opts: VendorOptions, backend: Backend, reporter: Reporter) -> dict[str, Any]:
    started = time.monotonic()
    for path in opts.env_files:
        if not inputs.is_lockfile(path):
            load_spec(path)  # a bad environment file is reported before anything else
    output = staging_mod.resolve_output(opts.output)
    _check_since(opts.since, output.real)
    staging_mod.check_output(output, force=opts.force)  # before creating anything
    if opts.dry_run:
        base = None if opts.since else _base_bundle(output)
        p = _settle(opts, base, backend, reporter)
        transaction.check_rewrites(base, {vp.relpath: vp.package for vp in p.vendored}, p.wheels)
        summary = summarize(p, opts.output)
        summary["dry_run"] = True
        summary["files"] = [
            {"path": vp.relpath, "url": redact_url(vp.package.url), "size": vp.package.size}
            for vp in p.fetched
        ]
        return summary

    source_date_epoch()  # a bad SOURCE_DATE_EPOCH is reported before any download
    writers = (readme.write,)
    if opts.installer_pythons:
        writers = (installer.writer(opts.installer_pythons), readme.write)
    with transaction.begin(opts.output, force=opts.force, writers=writers) as tx:
        base = tx.base if not opts.since else None
        p = _settle(opts, base, backend, reporter)
        transaction.check_rewrites(base, {vp.relpath: vp.package for vp in p.vendored}, p.wheels)
        # What an earlier plan left (partial downloads of other archives) goes first:
        # it must not hold the room this run needs.
        staging = tx.stage({vp.relpath for vp in p.fetched} | set(p.wheels))
        staging_mod.seed_from_previous(tx.output, staging, p.fetched)
        planned = [(vp.relpath, vp.package.size) for vp in p.fetched]
        planned += [(rel, w.size) for rel, w in p.wheels.items()]
        staging_mod.check_free_space(tx.output, staging, planned)
        results = fetch(p, staging, backend, opts.jobs, reporter)
        index = write_outputs(p, tx, base, opts.since)

    return settled(summarize(p, opts.output), opts.output, index, results, started)


def inside(root: Path, rel: str) -> Path:
    """``root / rel`` for a path the plan built from untrusted names (checked again here:
    nothing is written outside staging whatever the plan holds)."""
    try:
        return contained(root, rel)
    except UnsafePath as e:
        raise ChannelError(f"refusing to write {e} under {root}") from None
