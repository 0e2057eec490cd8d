"""The lock pipeline: environment file -> solve -> :class:`~.records.Lockfile` -> a format.

``--check`` compares input hashes and never solves. Lockfiles are written only once
every platform solved, each atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import StaleLockfile, UsageError
from .formats import cep23, explicit_v1
from .formats.registry import WRITTEN, lookup
from .fsutil import atomic_write_text
from .installed import check_platforms, read_installed
from .progress import Reporter, solving_step
from .pypi.records import Wheel
from .pypi.requirements import PipSection, parse_pip_section
from .records import ForeignPackage, Lockfile, Solution
from .solve.backend import Backend, effective_spec, solve_all, to_lockfile
from .spec import NO_CHANNEL_OVERRIDE, ChannelOverride, EnvironmentSpec, input_hash, load_spec

FORMATS = WRITTEN


@dataclass(frozen=True)
class LockRequest:
    """What ``lock`` was asked to do (the same from conda and from ``python -m``)."""

    env_file: str
    platforms: tuple[str, ...] = ()
    format: str = explicit_v1.NAME
    output: str | None = None
    check: bool = False
    channels: ChannelOverride = NO_CHANNEL_OVERRIDE  # -c / --override-channels
    dry_run: bool = False  # the lockfile's text in the result; nothing written
    prefix: str | None = None  # lock this installed environment (no environment file)
    skip_non_wheel: bool = False  # --ignore-pip-non-wheel


def default_output(env_path: Path, fmt: str) -> str:
    return lookup(fmt).default_output(env_path)


def writer(fmt: str) -> Callable[[Lockfile, Mapping[str, Path]], dict[Path, str]]:
    """The registry's writer of ``fmt``; a format only read here is one usage line."""
    write = lookup(fmt).write
    if write is None:
        raise UsageError(f"--format {fmt}: lock writes {', '.join(WRITTEN)}")
    return write


def output_paths(output: str, fmt: str, platforms: Sequence[str]) -> dict[str, Path]:
    """Map each platform to the file it is written to (explicit-1.0: one shared file)."""
    return lookup(fmt).output_paths(output, platforms)


def check_lock(
    req: LockRequest, spec: EnvironmentSpec, backend_factory: Callable[[], Backend]
) -> dict[str, Any]:
    """``--check``: would locking the same platforms again, from this environment file,
    ask the same thing? Compares input hashes, never solves; raises :class:`StaleLockfile`.

    The platforms hashed are ``-p``'s, else those the lockfile locks (explicit-1.0), else
    the file's (CEP 23: one file each); platforms the file lists but the lockfile lacks
    are reported (``missing_platforms``), not counted as a change."""
    fmt = req.format
    output = req.output or default_output(Path(req.env_file), fmt)
    if fmt == explicit_v1.NAME:
        lock = explicit_v1.load(output)
        platforms = req.platforms or lock.platforms
        recorded = {output: lock.input_hash}
    else:
        platforms = req.platforms or spec.platforms or (backend_factory().default_platform(),)
        paths = output_paths(output, fmt, platforms)
        recorded = {str(p): cep23.read_input_hash(p) for p in paths.values()}
    expected = input_hash(spec.with_platforms(platforms))
    stale = sorted(path for path, h in recorded.items() if h != expected)
    if stale:
        raise StaleLockfile(
            f"{', '.join(stale)}: out of date with {req.env_file} (input hash differs); "
            f"re-run the lock command to update it"
        )
    missing = [p for p in spec.platforms if p not in platforms]
    return {
        "up_to_date": True,
        "input_hash": expected,
        "lockfiles": sorted(recorded),
        "missing_platforms": missing,
    }


def run_lock(
    req: LockRequest, backend_factory: Callable[[], Backend], reporter: Reporter
) -> dict[str, Any]:
    """Solve, then write the lockfile(s) only once every platform solved.

    ``--check`` never solves, so the backend is only built when it is needed.
    """
    if req.prefix:
        return lock_installed(req, backend_factory)
    spec = req.channels.apply(load_spec(req.env_file))
    if req.check:
        return check_lock(req, spec, backend_factory)
    backend = backend_factory()
    spec = effective_spec(spec, req.platforms, backend)
    output = req.output or default_output(Path(req.env_file), req.format)
    paths = output_paths(output, req.format, spec.platforms)  # refuse bad -o before solving
    _, lock = solve_spec(spec, backend, reporter, req.skip_non_wheel)
    result = _write(req, lock, writer(req.format)(lock, paths))
    if lock.foreign:
        result["pip_left_out"] = [
            {"requirement": f.name, "platform": f.platform, "reason": f.reason}
            for f in lock.foreign
        ]
    if lock.pypi:
        result["pypi"] = {p: len(w) for p, w in lock.pypi.items()}
    if lock.pypi and req.format == cep23.NAME:
        result["warnings"] = [cep23.NO_WHEELS]
    return result


def _write(req: LockRequest, lock: Lockfile, texts: dict[Path, str]) -> dict[str, Any]:
    """Write (unless ``--dry-run``) and say what was written."""
    if not req.dry_run:
        for path, text in texts.items():
            atomic_write_text(path, text)
    result: dict[str, Any] = {
        "input_hash": lock.input_hash,
        "format": req.format,
        "lockfiles": sorted({str(p) for p in texts}),
        "platforms": {p: len(lock.packages[p]) for p in lock.platforms},
    }
    if req.dry_run:
        result.update(dry_run=True, text="".join(texts.values()))
    return result


def lock_installed(req: LockRequest, backend_factory: Callable[[], Backend]) -> dict[str, Any]:
    """``lock -n NAME`` / ``-p PREFIX``: what is installed, exactly (no solve)."""
    if req.check or req.channels.channels or req.channels.override:
        raise UsageError(
            "-n/-p lock what is installed: --check, -c and --override-channels "
            "apply to environment files"
        )
    installed = read_installed(req.prefix, lambda: backend_factory().default_platform())
    check_platforms(installed, req.platforms)
    name = installed.lock.name or "environment"
    output = req.output or default_output(Path(f"{name}.yml"), req.format)
    paths = output_paths(output, req.format, installed.lock.platforms)
    result = _write(req, installed.lock, writer(req.format)(installed.lock, paths))
    result["prefix"] = str(installed.prefix)
    result["not_locked"] = [
        {"manager": f.manager, "name": f.name, "version": f.version} for f in installed.not_locked
    ]
    return result


def solve_spec(
    spec: EnvironmentSpec, backend: Backend, reporter: Reporter, skip_non_wheel: bool = False
) -> tuple[list[Solution], Lockfile]:
    """Solve every platform of ``spec`` and resolve its ``pip:`` section against each
    solution's Python: the solutions and their lock. A ``pip:`` entry that cannot be
    vendored (editable, VCS, a local path, a project with no wheel) is refused before
    anything is solved or written, or with ``skip_non_wheel`` (``--ignore-pip-non-wheel``)
    left out and kept in the lock's ``foreign`` entries, per platform, with the reason.
    ``lock`` and ``vendor ENV_FILE`` both lock an environment file through here."""
    section = parse_pip_section(spec.pip, spec.source, skip=skip_non_wheel)
    solutions = solve_all(spec, backend, step=solving_step(spec, reporter))
    wheels, skipped = resolve_pip(spec, section, solutions, reporter, skip_non_wheel)
    lock = to_lockfile(spec, solutions, backend.channel_priority(), wheels)
    left_out = tuple(
        ForeignPackage("pip", requirement, "", platform, "", why)
        for platform, entries in skipped.items()
        for requirement, why in entries
    )
    return solutions, replace(lock, foreign=left_out) if left_out else lock


def resolve_pip(
    spec: EnvironmentSpec,
    section: PipSection,
    solutions: Sequence[Solution],
    reporter: Reporter,
    skip: bool = False,
) -> tuple[dict[str, tuple[Wheel, ...]], dict[str, tuple[tuple[str, str], ...]]]:
    """The ``pip:`` section's wheels per platform (none when it has no requirements), and
    with ``skip`` the requirements left out per platform."""
    if not section.requirements:
        return {}, {s.platform: section.skipped for s in solutions if section.skipped}
    from .pypi.resolve import resolve_solutions

    def step(platform: str) -> Any:
        return reporter.step(f"Resolving the pip: section of {spec.source} for {platform}")

    return resolve_solutions(section, solutions, spec.source, step, skip)
