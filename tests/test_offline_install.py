"""A bundle installs offline, with the server gone, three ways, with conda's classic and
rattler solvers: from its environment files, from its CEP 23 explicit files and from its
explicit-1.0 lockfile (which the plugin installs from the bundle's local channels).

One bundle is vendored (by ``conda vendor``) from a channel built at test time and
served over loopback HTTP; the server is stopped before any install. Every install
runs a real conda in a subprocess with its own empty package cache and configuration.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
from pathlib import Path

import pytest
import requests

from conda_vendor_plugin.formats import explicit_v1

from .support.build import Pkg, archive_bytes, build_channel
from .support.bundles import current, typed
from .support.condarun import conda_environ
from .support.locking import run_module
from .support.server import ChannelServer
from .support.vendoring import snapshot, write_env

pytest.importorskip("conda")
if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
    pytest.skip("installs a linux-64 bundle on this machine", allow_module_level=True)

SOLVERS = ["classic"] + (["rattler"] if importlib.util.find_spec("conda_rattler_solver") else [])
PKGS = [
    Pkg("app", depends=["libfoo >=1", "data"]),
    Pkg("libfoo", "1.2", subdir="linux-64", fmt=".conda"),
    Pkg("data", "2024.1"),
    Pkg("other", "1.0", subdir="linux-64"),  # offered, not needed: must not be installed
]


def _conda_env(home: Path, solver: str, condarc: str = "channels: []\n") -> dict[str, str]:
    return conda_environ(home, solver, condarc)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``conda vendor`` output for linux-64; the channel is unreachable afterwards."""
    root = tmp_path_factory.mktemp("bundle")
    build_channel(root / "served" / "chan", PKGS)
    env = _conda_env(root / "home", "classic")
    with ChannelServer(root / "served") as server:
        env_yml = write_env(root / "env.yml", [f"{server.url}/chan"], ["app"], name="offline")
        proc = run_module("conda", "vendor", env_yml, "-o", root / "OUT", "--platform", "linux-64",
                          env=env)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (root / "vendor-report.txt").write_text(proc.stdout)  # what the user was told
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/chan/noarch/repodata.json", timeout=2)
    return root / "OUT"


def _locked(out: Path) -> set[tuple[str, str, str]]:
    lock = explicit_v1.load(current(out) / "environment.lock.yml")
    return {(p.name, p.version, p.build) for p in lock.packages["linux-64"]}


def _installed(prefix: Path, out: Path) -> set[tuple[str, str, str]]:
    records = [json.loads(p.read_text()) for p in (prefix / "conda-meta").glob("*.json")]
    for r in records:  # every package came from the bundle
        assert r["url"].startswith(out.as_uri() + "/local_"), r["url"]
    return {(r["name"], r["version"], r["build"]) for r in records}


@pytest.mark.parametrize("solver", SOLVERS)
def test_env_create_from_the_environment_file(bundle: Path, tmp_path: Path, solver: str) -> None:
    before = snapshot(bundle)
    env = _conda_env(tmp_path / "home", solver)
    prefix = tmp_path / "env"
    args = (
        "env",
        "create",
        "-p",
        prefix,
        "--offline",
        "-f",
        typed(bundle, "environment-linux-64.yml"),
    )
    proc = run_module("conda", *args, env=env, cwd=bundle)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        _installed(prefix, bundle)
        == _locked(bundle)
        == {
            ("app", "1.0", "0"),
            ("libfoo", "1.2", "0"),
            ("data", "2024.1", "0"),
        }
    )
    assert snapshot(bundle) == before  # installing writes nothing into the bundle


@pytest.mark.parametrize("solver", SOLVERS)
def test_create_with_configured_channels_overridden(
    bundle: Path, tmp_path: Path, solver: str
) -> None:
    """The command the environment file's header gives, for a .condarc that lists
    channels this machine cannot reach (with the rattler solver, `env create` fails
    there: see docs/install-offline.md)."""
    condarc = "channels:\n  - conda-forge\n  - https://mirror.example.invalid/internal\n"
    env = _conda_env(tmp_path / "home", solver, condarc)
    header = (current(bundle) / "environment-linux-64.yml").read_text().split("\nname:")[0]
    assert "--override-channels -c ./local_chan" in header
    prefix = tmp_path / "env"
    args = ("create", "-p", prefix, "--offline", "--override-channels", "-c", "./local_chan")
    proc = run_module(
        "conda", *args, "--file", typed(bundle, "environment-linux-64.yml"), env=env, cwd=bundle
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _installed(prefix, bundle) == _locked(bundle)


def test_create_from_the_explicit_file(bundle: Path, tmp_path: Path) -> None:
    env = _conda_env(tmp_path / "home", "classic")
    prefix = tmp_path / "env"
    text = (current(bundle) / "linux-64.explicit.txt").read_text()
    assert "\n./local_chan/noarch/app-1.0-0.tar.bz2#sha256:" in text
    args = ("create", "-p", prefix, "--offline", "--file", typed(bundle, "linux-64.explicit.txt"))
    proc = run_module("conda", *args, env=env, cwd=bundle)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _installed(prefix, bundle) == _locked(bundle)
    assert "Solving environment" not in proc.stdout  # explicit: no solve


def test_the_printed_next_steps_and_the_explicit_header_work_as_written(
    bundle: Path, tmp_path: Path
) -> None:
    """After ``conda vendor``: the verify step and each install step it printed, and the
    ``# Install:`` line of the explicit file, run as written from the bundle's folder
    (``-n <name>`` made a prefix); every install is the locked packages, with no solve."""
    printed = (bundle.parent / "vendor-report.txt").read_text()
    steps = printed[printed.index("Next steps:") :].splitlines()
    assert steps[2] == "  2. there, in that folder, check it: conda vendor verify ."
    commands = [line.strip().split("  (")[0] for line in steps[4:]]
    explicit = (current(bundle) / "linux-64.explicit.txt").read_text().splitlines()
    (install,) = [line for line in explicit if line.startswith("# Install: ")]
    assert install.startswith("# Install: cd <the bundle's root> && conda create ")
    commands.append(install.split(" && ", 1)[1])
    env = _conda_env(tmp_path / "home", "classic")
    verify = run_module("conda", "vendor", "verify", ".", env=env, cwd=bundle)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert len(commands) == 3
    for i, command in enumerate(commands):
        prefix = tmp_path / f"env{i}"
        argv = command.replace("-n <name>", f"-p {prefix}").split()
        assert argv[0] == "conda", command
        proc = run_module(*argv, env=env, cwd=bundle)
        assert proc.returncode == 0, command + proc.stdout + proc.stderr
        assert _installed(prefix, bundle) == _locked(bundle)
        assert "Solving environment" not in proc.stdout, command


@pytest.mark.parametrize("solver", SOLVERS)
def test_env_create_from_the_bundles_lockfile(bundle: Path, tmp_path: Path, solver: str) -> None:
    """Run from anywhere: the lockfile in a bundle installs from that bundle, not from the
    (unreachable) URLs it records, and no solver runs."""
    before = snapshot(bundle)
    env = _conda_env(tmp_path / "home", solver)
    prefix = tmp_path / "env"
    args = (
        "env",
        "create",
        "-p",
        prefix,
        "--offline",
        "-f",
        current(bundle) / "environment.lock.yml",
    )
    proc = run_module("conda", *args, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _installed(prefix, bundle) == _locked(bundle)
    assert "Solving environment" not in proc.stdout
    assert snapshot(bundle) == before


def test_verify_catches_a_swapped_archive_that_conda_would_install(
    bundle: Path, tmp_path: Path
) -> None:
    """conda 26.7 checks no hash of a local (file://) package: CacheUrlAction._execute_local
    copies it into the package cache unverified, whatever ``#sha256:`` the explicit file
    gives. So the offline side runs ``vendor verify`` before installing. If conda starts
    checking, the first assertion fails: update docs/install-offline.md then."""
    import shutil

    copy = tmp_path / "OUT"
    shutil.copytree(bundle, copy)
    archive = copy / "local_chan" / "noarch" / "data-2024.1-0.tar.bz2"
    archive.write_bytes(archive_bytes(Pkg("data", "2024.1", payload_size=999)))  # valid, other
    env = _conda_env(tmp_path / "home", "classic")
    explicit = typed(copy, "linux-64.explicit.txt")
    args = ("create", "-p", tmp_path / "env", "--offline", "--file", explicit)
    assert run_module("conda", *args, env=env, cwd=copy).returncode == 0  # conda: no check

    proc = run_module("conda", "vendor", "verify", copy, "--json", env=env)
    assert proc.returncode == 1
    corrupt = json.loads(proc.stdout)["corrupt"]
    assert [c.split(":")[0] for c in corrupt] == ["local_chan/noarch/data-2024.1-0.tar.bz2"]


@pytest.fixture(scope="module")
def team_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two environments in one bundle, the first updated once (two versions kept), by
    ``conda vendor``; the channel is unreachable afterwards."""
    root = tmp_path_factory.mktemp("team")
    pkgs = [*PKGS, Pkg("libfoo", "2.0", subdir="linux-64", fmt=".conda")]
    build_channel(root / "served" / "chan", pkgs)
    env = _conda_env(root / "home", "classic")
    (root / "v1").mkdir()
    (root / "v2").mkdir()
    with ChannelServer(root / "served") as server:
        chan = [f"{server.url}/chan"]
        first = write_env(root / "v1" / "env.yml", chan, ["app", "libfoo 1.2.*"], name="analysis")
        tools = write_env(root / "tools.yml", chan, ["data"], name="tools")
        second = write_env(root / "v2" / "env.yml", chan, ["app", "libfoo 2.*"], name="analysis")
        for inputs in ((first, tools), (second,)):
            args = ("vendor", *inputs, "-o", root / "OUT", "--platform", "linux-64")
            proc = run_module("conda", *args, env=env)
            assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "OUT"


def _versions(out: Path, name: str) -> list[str]:
    index = json.loads((out / "bundle.json").read_text())
    return [v["id"] for v in index["environments"][name]["versions"]]


def test_every_version_of_a_team_bundle_installs_offline(team_bundle: Path, tmp_path: Path) -> None:
    env = _conda_env(tmp_path / "home", "classic")
    old, new = _versions(team_bundle, "analysis")
    # The current version, by its lockfile through the 'current' link, from elsewhere.
    lockfile = team_bundle / typed(team_bundle, "environment.lock.yml", "analysis")
    proc = run_module("conda", "env", "create", "-p", tmp_path / "a", "--offline", "-f", lockfile,
                      env=env, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("libfoo", "2.0", "0") in _installed(tmp_path / "a", team_bundle)
    # The earlier version, by its explicit file, from the bundle's root.
    explicit = f"envs/analysis/versions/{old}/linux-64.explicit.txt"
    proc = run_module("conda", "create", "-p", tmp_path / "b", "--offline", "--file", explicit,
                      env=env, cwd=team_bundle)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("libfoo", "1.2", "0") in _installed(tmp_path / "b", team_bundle)
    # The other environment, by its environment file (a solve over the local channels).
    env_file = typed(team_bundle, "environment-linux-64.yml", "tools")
    proc = run_module("conda", "env", "create", "-p", tmp_path / "c", "--offline", "-f", env_file,
                      env=env, cwd=team_bundle)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {n for n, _, _ in _installed(tmp_path / "c", team_bundle)} == {"data"}
    # What the user typed through the link is the newest version.
    assert lockfile.resolve().parent.name == new
