"""Helpers for the ``lock`` tests: environment files, upstream repodata, lockfile checks.

Nothing is faked: the checks compare a lockfile with the repodata files the channels
actually serve, entry by entry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conda_vendor_plugin.records import LockedPackage, Lockfile
from conda_vendor_plugin.solve.order import is_install_ordered

SECTIONS = ("packages", "packages.conda")


def write_env(
    path: Path,
    channels: Sequence[str],
    deps: Sequence[str],
    platforms: Sequence[str] = (),
    name: str | None = None,
) -> Path:
    """Write an environment.yml (block style, every value double-quoted)."""
    lines = [f'name: "{name}"'] if name else []
    lines += ["channels:", *(f'  - "{c}"' for c in channels), "dependencies:"]
    lines += [f'  - "{d}"' for d in deps]
    if platforms:
        lines += ["platforms:", *(f"  - {p}" for p in platforms)]
    path.write_text("\n".join(lines) + "\n")
    return path


def upstream_entries(channel_dir: Path) -> dict[str, Mapping[str, Any]]:
    """``"<subdir>/<file name>"`` -> repodata entry, for every subdir of a channel directory."""
    found: dict[str, Mapping[str, Any]] = {}
    for repodata in sorted(channel_dir.glob("*/repodata.json")):
        data = json.loads(repodata.read_text())
        for section in SECTIONS:
            for fn, entry in (data.get(section) or {}).items():
                found[f"{repodata.parent.name}/{fn}"] = entry
    return found


@dataclass
class Served:
    """A channel directory and the URL it is reached at."""

    url: str
    path: Path


def check_against_upstream(
    lock: Lockfile, channels: Sequence[Served]
) -> dict[str, list[LockedPackage]]:
    """Assert every locked package is a file of a served channel with upstream's hashes.

    Also asserts the install order against upstream's ``depends``. Returns, per platform,
    the packages with their upstream ``depends`` filled in.
    """
    entries = {c.url.rstrip("/"): (c, upstream_entries(c.path)) for c in channels}
    out: dict[str, list[LockedPackage]] = {}
    for platform, packages in lock.packages.items():
        with_depends = []
        for p in packages:
            assert p.channel in entries, f"{p.url} is not from a served channel"
            served, upstream = entries[p.channel]
            key = f"{p.subdir}/{p.fn}"
            assert key in upstream, f"{p.url}: no such entry upstream"
            entry = upstream[key]
            assert (served.path / p.subdir / p.fn).is_file(), f"{p.url}: archive not served"
            assert p.subdir in (platform, "noarch")
            assert p.url == f"{p.channel}/{p.subdir}/{p.fn}"
            assert (p.name, p.version, p.build) == (entry["name"], entry["version"], entry["build"])
            assert p.sha256 == entry.get("sha256"), p.url
            assert p.md5 == entry.get("md5"), p.url
            assert p.size == entry.get("size"), p.url
            with_depends.append(replace(p, depends=tuple(entry.get("depends", ()))))
        assert is_install_ordered(with_depends), f"{platform}: not in install order"
        out[platform] = with_depends
    return out


def run_module(
    module: str, *args: str | Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` in a real subprocess (the test process's environment)."""
    environ = dict(os.environ)
    environ.update(env or {})
    environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    environ["no_proxy"] = environ["NO_PROXY"]
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=300,
    )


def names_versions(packages: Sequence[LockedPackage]) -> dict[str, str]:
    return {p.name: p.version for p in packages}
