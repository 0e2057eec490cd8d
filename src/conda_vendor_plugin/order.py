"""Install order: dependencies before dependents, deterministic tie-break by name."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import TypeVar

from .records import LockedPackage

P = TypeVar("P", bound=LockedPackage)


def dependency_name(spec: str) -> str:
    """The package name a match spec string depends on (``'numpy >=1.2'`` -> ``'numpy'``)."""
    name = spec.strip().split()[0] if spec.strip() else ""
    for sep in ("::",):
        if sep in name:
            name = name.split(sep, 1)[1]
    for i, ch in enumerate(name):
        if ch in "<>=!~[;":
            name = name[:i]
            break
    return name.lower()


def install_order(packages: Iterable[P]) -> list[P]:
    """Topologically sort ``packages`` so each comes after the packages it depends on.

    Among packages whose dependencies are all placed, the smallest name goes first,
    so the order depends only on the set of packages. A dependency cycle (rare, but
    real channels have them) is broken by placing the smallest-named package of the
    cycle first.
    """
    by_name: dict[str, P] = {}
    for p in packages:
        by_name[p.name.lower()] = p
    deps: dict[str, set[str]] = {
        n: {d for d in map(dependency_name, p.depends) if d in by_name and d != n}
        for n, p in by_name.items()
    }
    dependents: dict[str, list[str]] = {n: [] for n in by_name}
    for n, ds in deps.items():
        for d in ds:
            dependents[d].append(n)
    missing = {n: len(ds) for n, ds in deps.items()}
    ready = [n for n, c in missing.items() if c == 0]
    heapq.heapify(ready)
    placed: list[P] = []
    done: set[str] = set()
    while len(done) < len(by_name):
        if not ready:  # a cycle: break it deterministically
            n = min(n for n in by_name if n not in done)
            missing[n] = 0
            heapq.heappush(ready, n)
        n = heapq.heappop(ready)
        if n in done:
            continue
        done.add(n)
        placed.append(by_name[n])
        for m in dependents[n]:
            if m in done:
                continue
            missing[m] -= 1
            if missing[m] == 0:
                heapq.heappush(ready, m)
    return placed


def is_install_ordered(packages: Sequence[LockedPackage]) -> bool:
    """True when no package comes before a package it depends on (cycles excepted)."""
    position = {p.name.lower(): i for i, p in enumerate(packages)}
    for i, p in enumerate(packages):
        for d in map(dependency_name, p.depends):
            j = position.get(d)
            if j is not None and j > i and not _depends_on(packages, d, p.name.lower()):
                return False
    return True


def _depends_on(packages: Sequence[LockedPackage], start: str, target: str) -> bool:
    by_name = {p.name.lower(): p for p in packages}
    seen, stack = set(), [start]
    while stack:
        n = stack.pop()
        if n == target:
            return True
        if n in seen or n not in by_name:
            continue
        seen.add(n)
        stack.extend(map(dependency_name, by_name[n].depends))
    return False
