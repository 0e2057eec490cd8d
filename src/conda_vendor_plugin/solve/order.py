"""Install order: dependencies before dependents, deterministic tie-break by name."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

from ..records import LockedPackage

P = TypeVar("P", bound=LockedPackage)


_VERSION_START = re.compile(r"[<>=!~\[;]")


def dependency_name(spec: str) -> str:
    """The package name a match spec string depends on (``'numpy >=1.2'`` -> ``'numpy'``)."""
    words = spec.split(None, 1)
    if not words:
        return ""
    name = words[0]
    if "::" in name:  # channel::name
        name = name.split("::", 1)[1]
    m = _VERSION_START.search(name)
    return (name[: m.start()] if m else name).lower()


def install_order(packages: Iterable[P]) -> list[P]:
    """Topologically sort ``packages`` so each comes after the packages it depends on.

    Among packages whose dependencies are all placed, the smallest name goes first,
    so the order depends only on the set of packages. A dependency cycle (rare, but
    real channels have them) is broken by placing the smallest-named package of the
    cycle first. python's dependency on pip (which conda adds itself) is ignored.
    """
    by_name: dict[str, P] = {}
    for p in packages:
        by_name[p.name.lower()] = p
    # Most depends strings recur across packages ('python >=3.6,<3.7.0a0'): parse each once.
    names: dict[str, str] = {}
    deps: dict[str, set[str]] = {}
    for n, p in by_name.items():
        ds = deps[n] = set()
        for spec in p.depends:
            d = names.get(spec)
            if d is None:
                d = names[spec] = dependency_name(spec)
            if d != n and d in by_name:
                ds.add(d)
    # conda adds pip to python's depends (add_pip_as_python_dependency) and pip depends on
    # python: like conda's own install order (PrefixGraph), python goes first.
    deps.get("python", set()).discard("pip")
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
            n = _cycle_breaker(deps, done)
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


def _cycle_breaker(deps: dict[str, set[str]], done: set[str]) -> str:
    """The package to place next when every unplaced package waits for another.

    Only a cycle that waits for nothing outside itself may be broken (a strongly
    connected component of the unplaced packages with no dependency leading out of it):
    breaking any other would place a package before dependencies that can still be
    placed first. Its smallest-named package goes first.
    """
    pending = sorted(n for n in deps if n not in done)
    edges = {n: sorted(d for d in deps[n] if d not in done) for n in pending}
    comp = _components(pending, edges)
    leaves = set(comp.values()) - {comp[n] for n in pending for d in edges[n] if comp[d] != comp[n]}
    return min(n for n in pending if comp[n] in leaves)


def _components(nodes: list[str], edges: dict[str, list[str]]) -> dict[str, int]:
    """Strongly connected components (Tarjan, iterative): node -> component number."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    comp: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            n, i = work.pop()
            if i == 0:
                index[n] = low[n] = len(index)
                stack.append(n)
                on_stack.add(n)
            if i < len(edges[n]):
                work.append((n, i + 1))
                m = edges[n][i]
                if m not in index:
                    work.append((m, 0))
                elif m in on_stack:
                    low[n] = min(low[n], index[m])
                continue
            if low[n] == index[n]:
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp[m] = index[n]
                    if m == n:
                        break
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[n])
    return comp


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
