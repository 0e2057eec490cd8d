"""Solving: one protocol, two backends (conda's configured solver, or py-rattler).

A backend turns an :class:`~.spec.EnvironmentSpec` and a target platform into a
:class:`~.records.Solution`. This module only defines the protocol and the steps
common to both; it never imports conda or rattler itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Protocol

from ..errors import SpecError, UsageError
from ..pypi.records import Wheel
from ..records import CHANNEL_PRIORITIES, LockedPackage, Lockfile, Solution
from ..spec import EnvironmentSpec, input_hash
from ..transport.session import RetryPolicy
from .order import install_order


class Backend(Protocol):
    """What a solver backend offers."""

    name: str

    def default_platform(self) -> str:
        """The platform to lock when neither the file nor ``-p`` names one."""

    def solve(self, spec: EnvironmentSpec, platform: str) -> Solution:
        """Solve ``spec`` for ``platform``; raise :class:`~.errors.SolveError` if unsatisfiable."""

    def channel_sources(self, spec: EnvironmentSpec, platform: str) -> list[tuple[str, str]]:
        """``(channel as written in the file, channel URL with credentials)`` pairs."""

    def session_for(self, url: str) -> Any:
        """The ``requests``-like session to fetch ``url`` with (it retries nothing itself)."""

    def retry_policy(self) -> RetryPolicy:
        """When to retry a request (the one retry layer)."""

    def channel_priority(self) -> str:
        """The channel priority solves use: ``strict``, ``flexible`` or ``disabled``."""

    def package_cache_dirs(self) -> list[Path]:
        """Directories that may already hold verified copies of archives."""

    def repodata_file(self, channel_url: str, subdir: str) -> tuple[Path, bool]:
        """``(path, found)`` of ``<channel_url>/<subdir>/repodata.json`` as fetched (or
        cached) through the backend's machinery; ``found`` is False when the channel has
        no such subdir. ``channel_url`` may carry credentials."""


def effective_spec(
    spec: EnvironmentSpec, platforms: Sequence[str], backend: Backend
) -> EnvironmentSpec:
    """The spec with its target platforms settled: ``-p`` first, then the file, then the host."""
    if platforms:
        return spec.with_platforms(platforms)
    if spec.platforms:
        return spec
    return spec.with_platforms([backend.default_platform()])


def ordered(packages: Iterable[LockedPackage]) -> tuple[LockedPackage, ...]:
    return tuple(install_order(packages))


def solve_all(
    spec: EnvironmentSpec,
    backend: Backend,
    step: Callable[[str], AbstractContextManager[Any]] = lambda platform: nullcontext(),
) -> list[Solution]:
    """Solve every platform of ``spec`` (already settled by :func:`effective_spec`).

    ``step(platform)`` wraps each solve, e.g. a reporter's spinner or progress line.
    """
    if not spec.dependencies:
        raise SpecError(f"{spec.source}: 'dependencies' is empty; nothing to lock")
    solutions = []
    for platform in spec.platforms:
        with step(platform):
            solutions.append(backend.solve(spec, platform))
    return solutions


def to_lockfile(
    spec: EnvironmentSpec,
    solutions: Sequence[Solution],
    channel_priority: str | None = None,
    pypi: Mapping[str, tuple[Wheel, ...]] | None = None,
) -> Lockfile:
    return Lockfile(
        input_hash=input_hash(spec),
        channels=spec.channels,
        packages={s.platform: s.packages for s in solutions},
        name=spec.name,
        channel_priority=channel_priority,
        pypi={p: w for p, w in (pypi or {}).items() if w},
    )


def channel_priority_setting(value: str | None, source: str) -> str | None:
    """A channel priority as conda spells it (``strict``, ``flexible``, ``disabled``;
    conda also takes true/false), or None for "not set"; anything else is one line."""
    if value is None or not value.strip():
        return None
    v = value.strip().lower()
    v = {"true": "strict", "false": "disabled"}.get(v, v)
    if v not in CHANNEL_PRIORITIES:
        raise UsageError(f"{source}: channel priority {value!r}: use strict, flexible or disabled")
    return v
