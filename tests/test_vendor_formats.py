"""``vendor --lockfile`` takes every lockfile format, written by an independent producer,
and vendors the same archives and the same repodata entries as vendoring the
environment file the lockfile came from.

Producers: py-rattler's ``LockFile`` (pixi.lock v7), our CEP 23 writer (one file per
platform, read back as one input), and, where conda is importable, conda itself
(``conda list --explicit --sha256``) and conda-lockfiles' exporters (``conda-lock-v1``,
``rattler-lock-v6``) on an environment installed from the loopback channel.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .support.build import Pkg, build_channel
from .support.bundles import env_report
from .support.condarun import conda_environ
from .support.locking import run_module
from .support.server import ChannelServer
from .support.vendoring import check_manifest, snapshot, write_env

rattler = pytest.importorskip("rattler")

PKGS = [
    Pkg("app", depends=["libfoo >=1", "data"]),
    Pkg("libfoo", "1.2", subdir="linux-64", fmt=".conda"),
    Pkg("libfoo", "1.2", subdir="osx-arm64", fmt=".conda"),
    Pkg("data", "2024.1"),
]


@pytest.fixture
def served(http_server: ChannelServer, tmp_path: Path) -> str:
    build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("osx-arm64",))
    return f"{http_server.url}/chan"


@pytest.fixture
def from_env(served: str, tmp_path: Path, run) -> Path:
    """The reference: the environment file vendored (a solve) for both platforms."""
    env = write_env(tmp_path / "env.yml", [served], ["app"])
    out = tmp_path / "FROM_ENV"
    rc, _, err = run("vendor", env, "-o", out, "--platform", "linux-64", "--platform", "osx-arm64")
    assert rc == 0, err
    return out


def _channels(out: Path, platforms: tuple[str, ...] = ("linux-64", "osx-arm64")) -> dict:
    """The local channels' files, for the given platforms (and noarch)."""
    keep = ("noarch", *platforms)
    return {
        k: v for k, v in snapshot(out).items() if k.startswith("local_") and k.split("/")[1] in keep
    }


def _vendor_lockfiles(run, tmp_path: Path, *locks: Path, platforms=()) -> dict:
    out = tmp_path / "OUT"
    args = [a for lock in locks for a in ("--lockfile", lock)]
    args += [a for p in platforms for a in ("--platform", p)]
    rc, stdout, err = run("vendor", *args, "-o", out, "--json")
    assert rc == 0, err
    check_manifest(out)
    assert run("vendor", "verify", out)[0] == 0
    return json.loads(stdout)


def test_pixi_lock_v7_written_by_py_rattler(
    served: str, from_env: Path, tmp_path: Path, run
) -> None:
    if not hasattr(rattler, "LockPlatform"):
        pytest.skip("py-rattler before 0.28 writes pixi.lock through another API")
    lock = rattler.LockFile([rattler.LockPlatform(p) for p in ("linux-64", "osx-arm64")])
    lock.set_channels("default", [rattler.LockChannel(served + "/")])
    for platform in ("linux-64", "osx-arm64"):
        for record in _solve(served, platform, ["app"]):
            lock.add_conda_package("default", rattler.LockPlatform(platform), record)
    pypi = ("requests", "2.32.3", "https://files.pythonhosted.org/packages/requests-2.32.3.whl")
    lock.add_pypi_package("default", rattler.LockPlatform("linux-64"), *pypi)
    path = tmp_path / "pixi.lock"
    lock.to_path(path)
    assert path.read_text().startswith("version: 7\n")

    doc = _vendor_lockfiles(run, tmp_path, path)
    assert _channels(tmp_path / "OUT") == _channels(from_env)
    assert env_report(doc)["not_vendored"] == [
        {
            "manager": "pypi",
            "name": "requests",
            "version": "2.32.3",
            "platform": "linux-64",
            "url": pypi[2],
        }
    ]
    manifest = json.loads((tmp_path / "OUT" / "manifest.json").read_text())
    assert env_report(manifest)["not_vendored"] == env_report(doc)["not_vendored"]


def _solve(channel: str, platform: str, specs: list[str]) -> list:
    """py-rattler's own solve, on its own repodata gateway: records with real URLs."""
    import asyncio

    async def solve() -> list:
        return await rattler.solve(sources=[channel], specs=specs, platforms=[platform, "noarch"])

    from conda_vendor_plugin.solve.rattler_glue import _wait_for_handoff

    try:
        return asyncio.run(solve())
    finally:
        _wait_for_handoff()


def test_cep23_files_one_per_platform_are_one_input(
    served: str, from_env: Path, tmp_path: Path, run
) -> None:
    env = tmp_path / "env.yml"
    args = (
        "lock",
        "-f",
        env,
        "--format",
        "explicit",
        "--platform",
        "linux-64",
        "--platform",
        "osx-arm64",
    )
    assert run(*args)[0] == 0
    files = sorted(tmp_path.glob("env.*.explicit.txt"))
    assert [f.name for f in files] == ["env.linux-64.explicit.txt", "env.osx-arm64.explicit.txt"]
    doc = _vendor_lockfiles(run, tmp_path, *files)
    assert env_report(doc)["platforms"] == {"linux-64": 3, "osx-arm64": 3}
    assert _channels(tmp_path / "OUT") == _channels(from_env)


# ------------------------------------------------------------------ conda's producers


@pytest.fixture
def conda_prefix(served: str, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An environment installed by conda (classic solver) from the loopback channel."""
    pytest.importorskip("conda")
    if sys.platform != "linux":
        pytest.skip("installs linux-64 packages on this machine")
    environ = conda_environ(tmp_path, "classic")
    prefix = tmp_path / "prefix"
    proc = run_module("conda", "create", "-y", "-p", prefix, "-c", served, "--override-channels",
                      "app", env=environ)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return prefix, environ


@pytest.mark.parametrize("fmt", ["conda-lock-v1", "rattler-lock-v6"])
def test_lockfiles_exported_by_conda_lockfiles(
    conda_prefix, from_env: Path, tmp_path: Path, run, fmt: str
) -> None:
    prefix, environ = conda_prefix
    path = tmp_path / f"exported.{fmt}.yml"
    proc = run_module("conda", "export", "-p", prefix, "--format", fmt, "--file", path,
                      "--platform", "linux-64", env=environ)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _vendor_lockfiles(run, tmp_path, path)
    assert _channels(tmp_path / "OUT", ("linux-64",)) == _channels(from_env, ("linux-64",))


def test_conda_list_explicit_sha256(conda_prefix, from_env: Path, tmp_path: Path, run) -> None:
    prefix, environ = conda_prefix
    proc = run_module("conda", "list", "--explicit", "--sha256", "-p", prefix, env=environ)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "explicit.txt"
    path.write_text(proc.stdout)
    assert "#sha256:" not in proc.stdout  # conda's own form: URL#<64 hex>
    _vendor_lockfiles(run, tmp_path, path)
    assert _channels(tmp_path / "OUT", ("linux-64",)) == _channels(from_env, ("linux-64",))


def test_conda_vendor_takes_a_lockfile_too(conda_prefix, from_env: Path, tmp_path: Path) -> None:
    prefix, environ = conda_prefix
    path = tmp_path / "conda-lock.yml"
    proc = run_module("conda", "export", "-p", prefix, "--format", "conda-lock-v1", "--file",
                      path, "--platform", "linux-64", env=environ)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "OUT"
    proc = subprocess.run(
        [sys.executable, "-m", "conda", "vendor", "--lockfile", str(path), "-o", str(out)],
        capture_output=True,
        text=True,
        env={**environ, "NO_PROXY": "127.0.0.1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _channels(out, ("linux-64",)) == _channels(from_env, ("linux-64",))
