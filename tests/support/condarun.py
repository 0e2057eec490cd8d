"""Running a real conda in subprocesses, isolated in a test's tmp_path.

Every run sees its own HOME, CONDARC (no channels), package cache and envs
directory, no CUDA, and the classic solver (``$CONDA_VENDOR_TEST_SOLVER`` names
another, e.g. ``rattler``; a test may override it). conda
itself must be importable by the test's Python (tests ``importorskip`` it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from .build import Pkg, build_channel
from .locking import run_module
from .server import ChannelServer
from .vendoring import write_env

WITHOUT_PLUGIN = Path(__file__).with_name("conda_without_plugin.py")
NO_SOLVER = {"CONDA_SOLVER": "no-such-solver"}  # any solve fails: "not recognized"


class Served(NamedTuple):
    """A channel served over loopback HTTP."""

    server: ChannelServer
    url: str  # the channel's URL
    path: Path  # the channel's directory


def conda_environ(
    root: Path, solver: str | None = None, condarc: str = "channels: []\n"
) -> dict[str, str]:
    """Environment variables for a conda that sees nothing outside ``root`` (its home, with
    ``condarc`` as its configuration), with ``solver`` (default: classic, or
    ``$CONDA_VENDOR_TEST_SOLVER``). The standalone command reads the same variables."""
    home = root / "conda-home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".condarc").write_text(condarc)
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "CONDARC": str(home / ".condarc"),
        "CONDA_PKGS_DIRS": str(home / "pkgs"),
        "CONDA_ENVS_DIRS": str(home / "envs"),
        "CONDA_OVERRIDE_CUDA": "",
        "CONDA_SOLVER": solver or os.environ.get("CONDA_VENDOR_TEST_SOLVER", "classic"),
        "CONDA_NUMBER_CHANNEL_NOTICES": "0",
        "CONDA_REPORT_ERRORS": "false",
        "CONDA_NOTIFY_OUTDATED_CONDA": "false",
    }


def conda(
    env: Mapping[str, str], *args: str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m conda ARGS``."""
    return run_module("conda", *args, env=env, cwd=cwd)


def conda_without_plugin(
    env: Mapping[str, str], *args: str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The same conda with this plugin blocked (conda-lockfiles and the rest stay)."""
    environ = {**os.environ, **env, "NO_PROXY": "127.0.0.1,localhost"}
    return subprocess.run(
        [sys.executable, str(WITHOUT_PLUGIN), *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=300,
    )


def installed(env: Mapping[str, str], prefix: Path) -> set[tuple[str, str, str]]:
    """``(name, version, build)`` of every package ``conda list --json`` shows in ``prefix``."""
    proc = conda(env, "list", "--json", "-p", prefix)
    assert proc.returncode == 0, proc.stderr
    return {(p["name"], p["version"], p["build_string"]) for p in json.loads(proc.stdout)}


def conda_meta(prefix: Path) -> dict[str, dict]:
    """The prefix's ``conda-meta/*.json`` records by package name."""
    records = (json.loads(p.read_text()) for p in (prefix / "conda-meta").glob("*.json"))
    return {r["name"]: r for r in records}


def app_channel(root: Path, host: str, other: str) -> Path:
    """A channel for install tests: app (noarch .conda) needs lib <2; lib 1.0 and 2.0 for
    ``host``; data (noarch) needs nothing, so it solves for ``other`` too. app's repodata
    license is a hotfix (its archive says BSD-3-Clause)."""
    return build_channel(
        root,
        [
            Pkg("app", depends=["lib <2"], fmt=".conda", extra={"license": "hotfixed"}),
            Pkg("lib", version="1.0", subdir=host),
            Pkg("lib", version="2.0", subdir=host),
            Pkg("data"),
        ],
        subdirs=(host, other),
    )


def lock_env(
    env: Mapping[str, str], root: Path, channel: str, deps: Sequence[str], platform: str
) -> Path:
    """``conda env lock`` ``root/myenv.yml`` (name ``myenv``); returns ``root/myenv.lock.yml``."""
    env_file = write_env(root / "myenv.yml", [channel], deps, name="myenv")
    proc = conda(env, "env", "lock", "-f", env_file, "--platform", platform)
    assert proc.returncode == 0, proc.stderr
    return root / "myenv.lock.yml"


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
