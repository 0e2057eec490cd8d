"""``conda vendor`` inside a real conda, then an offline ``conda env create`` from its output.

conda runs as a subprocess (``python -m conda``) with its configuration, package cache
and home inside tmp_path and the classic solver. The channels are copies of real test
channels served over loopback HTTP; the server is stopped before the offline install,
so the install can only have used the vendored files.
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

from .support.build import Pkg, build_channel
from .support.bundles import current, typed
from .support.condarun import conda_environ
from .support.locking import run_module
from .support.server import ChannelServer
from .support.vendoring import (
    check_local_channel,
    check_manifest,
    move_archives_elsewhere,
    snapshot,
    write_env,
)

pytest.importorskip("conda")

CHANNELS = ("pixi-dummy_channel_1", "conda-test-recipes")
DEPS = ("dummy-a", "dummy-g", "another_dependent")


@pytest.fixture
def conda_env(tmp_path: Path) -> dict[str, str]:
    """Environment variables for a conda that sees nothing outside tmp_path."""
    return conda_environ(tmp_path, "classic")


def _conda(env: dict[str, str], *args: str | Path, cwd: Path | None = None):
    return run_module("conda", *args, env=env, cwd=cwd)


def _standalone(env: dict[str, str], *args: str | Path, cwd: Path | None = None):
    return run_module("conda_vendor_plugin", *args, env=env, cwd=cwd)


@pytest.fixture
def channels(shared_channel) -> dict[str, Path]:
    return {c: shared_channel(c) for c in CHANNELS}


def test_conda_vendor_then_offline_env_create_installs_the_locked_packages(
    channels: dict[str, Path], conda_env: dict[str, str], tmp_path: Path
) -> None:
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("installs the vendored linux-64 environment on this machine")
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as server:
        env_yml = write_env(tmp_path / "env.yml", [f"{server.url}/{c}" for c in CHANNELS], DEPS)
        proc = _conda(conda_env, "vendor", env_yml, "-o", out, "--platform", "linux-64")
        assert proc.returncode == 0, proc.stderr
        assert "Vendored 7 packages" in proc.stdout
    with pytest.raises(requests.ConnectionError):  # the channels are gone
        requests.get(f"{server.url}/conda-test-recipes/noarch/repodata.json", timeout=2)

    for name, upstream in channels.items():
        check_local_channel(out / f"local_{name}", upstream, ["linux-64"])
    check_manifest(out)
    verify = _conda(conda_env, "vendor", "verify", out)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "0 problem(s)" in verify.stdout

    lock = explicit_v1.load(current(out) / "environment.lock.yml")
    locked = {(p.name, p.version, p.build) for p in lock.packages["linux-64"]}
    assert {n for n, _, _ in locked} == {
        "dummy-a",
        "dummy-c",
        "dummy-g",
        "dummy-b",
        "another_dependent",
        "dependent",
        "dependency",
    }

    prefix = tmp_path / "env"
    before = snapshot(out)
    proc = _conda(
        conda_env,
        "env",
        "create",
        "-p",
        prefix,
        "--offline",
        "-f",
        typed(out, "environment-linux-64.yml"),
        cwd=out,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = [json.loads(p.read_text()) for p in (prefix / "conda-meta").glob("*.json")]
    installed = {(r["name"], r["version"], r["build"]) for r in records}
    assert installed == locked
    for r in records:  # every package came from a vendored local channel
        assert r["url"].startswith(out.as_uri() + "/local_"), r["url"]
    assert snapshot(out) == before  # installing does not write into OUT


def test_conda_and_standalone_vendor_the_same_output(
    channels: dict[str, Path], conda_env: dict[str, str], tmp_path: Path
) -> None:
    pytest.importorskip("rattler")
    # One SBOM timestamp for both runs, so that their outputs compare byte for byte.
    conda_env = {**conda_env, "SOURCE_DATE_EPOCH": "1700000000"}
    with ChannelServer(tmp_path / "served") as server:
        env_yml = write_env(tmp_path / "env.yml", [f"{server.url}/{c}" for c in CHANNELS], DEPS)
        args = ("vendor", env_yml, "--platform", "linux-64", "--platform", "osx-64", "-o")
        by_conda = _conda(conda_env, *args, tmp_path / "by-conda")
        assert by_conda.returncode == 0, by_conda.stderr
        by_rattler = _standalone(conda_env, *args, tmp_path / "by-rattler")
        assert by_rattler.returncode == 0, by_rattler.stderr
    conda_out = snapshot(tmp_path / "by-conda")
    rattler_out = snapshot(tmp_path / "by-rattler")
    lock = (current(tmp_path / "by-conda") / "environment.lock.yml").read_text()
    assert "  linux-64:\n" in lock and "  osx-64:\n" in lock
    assert conda_out == rattler_out  # repodata, archives, environment files, manifest, SBOM


def test_conda_vendor_verify_reports_problems_and_errors_exit_1(
    shared_channel, channels: dict[str, Path], conda_env: dict[str, str], tmp_path: Path
) -> None:
    shared_channel("conda-format-repo")
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as server:
        env_yml = write_env(tmp_path / "env.yml", [f"{server.url}/{c}" for c in CHANNELS], DEPS)
        assert (
            _conda(conda_env, "vendor", env_yml, "-o", out, "--platform", "linux-64").returncode
            == 0
        )
        before = snapshot(out)
        # linux-64 zlib needs libgcc-ng, which the channel lists but does not serve.
        broken = write_env(tmp_path / "zlib.yml", [f"{server.url}/conda-format-repo"], ["zlib"])
        proc = _conda(conda_env, "vendor", broken, "-o", out, "--platform", "linux-64")
    assert proc.returncode == 1
    assert "libgcc-ng-8.2.0-hdf63c60_1" in proc.stderr and "404" in proc.stderr
    assert snapshot(out) == before

    noarch = out / "local_conda-test-recipes" / "noarch"
    (noarch / "dependency-2.0-0.conda").unlink()
    (noarch / "extra-1.0-0.conda").write_bytes(b"stray")
    archive = out / "local_pixi-dummy_channel_1" / "linux-64" / "dummy-a-0.1.0-hb0f4dca_0.conda"
    data = bytearray(archive.read_bytes())
    data[-1] ^= 0xFF
    archive.write_bytes(bytes(data))
    proc = _conda(conda_env, "vendor", "verify", out)
    assert proc.returncode == 1
    assert "missing: local_conda-test-recipes/noarch/dependency-2.0-0.conda" in proc.stdout
    assert "extra: local_conda-test-recipes/noarch/extra-1.0-0.conda" in proc.stdout
    assert f"corrupt: {archive.relative_to(out).as_posix()}" in proc.stdout

    proc = _conda(conda_env, "vendor", "verify", out, "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["problems"] == 3


def test_conda_vendor_fetches_archives_from_a_cep15_base_url_on_another_host(
    conda_env: dict[str, str], tmp_path: Path
) -> None:
    # The repodata on one server names another (info.base_url) for its archives, flat.
    # (No token here: conda 26.7 appends a subdir to a base_url it adds credentials to,
    # so such a flat layout fails in conda itself; tests/test_vendor.py covers the token.)
    root = build_channel(
        tmp_path / "served" / "chan",
        [Pkg("app", depends=["lib"], fmt=".conda"), Pkg("lib", subdir="linux-64")],
    )
    cdn_dir = tmp_path / "cdn" / "flat"
    # One SBOM timestamp for both runs, so that their outputs compare byte for byte.
    conda_env = {**conda_env, "SOURCE_DATE_EPOCH": "1700000000"}
    with ChannelServer(tmp_path / "served") as repo, ChannelServer(tmp_path / "cdn") as cdn:
        move_archives_elsewhere(root, cdn_dir, f"{cdn.url}/flat/")
        env_yml = write_env(tmp_path / "env.yml", [f"{repo.url}/chan"], ["app"])
        proc = _conda(
            conda_env, "vendor", env_yml, "-o", tmp_path / "OUT", "--platform", "linux-64"
        )
        assert proc.returncode == 0, proc.stderr
        gets = sorted(p for m, p, _, st in cdn.requests if m == "GET" and st == 200)
        assert gets == ["/flat/app-1.0-0.conda", "/flat/lib-1.0-0.tar.bz2"]
        standalone = None
        if importlib.util.find_spec("rattler") is not None:
            standalone = _standalone(
                conda_env, "vendor", env_yml, "-o", tmp_path / "OUT2", "--platform", "linux-64"
            )
    out = tmp_path / "OUT"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["envs", "local_chan"]
    check_local_channel(out / "local_chan", root, ["linux-64"], archives_at=cdn_dir)
    check_manifest(out)
    lock = explicit_v1.load(current(out) / "environment.lock.yml")
    assert {p.url for p in lock.packages["linux-64"]} == {
        f"{cdn.url}/flat/app-1.0-0.conda",
        f"{cdn.url}/flat/lib-1.0-0.tar.bz2",
    }
    if standalone is not None:  # py-rattler solves and fetches the same
        assert standalone.returncode == 0, standalone.stderr
        assert snapshot(tmp_path / "OUT2") == snapshot(out)


def test_conda_vendor_from_a_token_channel_keeps_the_token_out_of_everything(
    conda_env: dict[str, str], tmp_path: Path
) -> None:
    """conda's own repodata cache is keyed by the URL with its token: the entries must be
    looked up there (with credentials) and written without them."""
    token = "tk-conda-9f3e"
    root = build_channel(tmp_path / "served" / "chan", [Pkg("app", depends=["lib"]), Pkg("lib")])
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served", token=token) as server:
        env_yml = write_env(tmp_path / "env.yml", [f"{server.url}/chan"], ["app"])
        proc = _conda(conda_env, "vendor", env_yml, "-o", out, "--platform", "linux-64")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # An unsatisfiable request: the solver's message names the channel, not the token.
        bad = write_env(tmp_path / "bad.yml", [f"{server.url}/chan"], ["app >=9"])
        failed = _conda(conda_env, "vendor", bad, "-o", tmp_path / "OUT2", "--platform", "linux-64")
        failed_json = _conda(
            conda_env, "env", "lock", "-f", bad, "--platform", "linux-64", "--json"
        )
    assert token not in proc.stdout + proc.stderr
    check_local_channel(out / "local_chan", root, ["linux-64"])
    for rel, data in snapshot(out).items():
        assert token.encode() not in data, rel
    assert failed.returncode == 1 and "app" in failed.stdout + failed.stderr
    assert token not in failed.stdout + failed.stderr
    assert failed_json.returncode == 1 and token not in failed_json.stdout + failed_json.stderr


def test_conda_vendor_splits_defaults_into_one_local_channel_per_url(
    conda_env: dict[str, str], tmp_path: Path
) -> None:
    build_channel(tmp_path / "served" / "main", [Pkg("app", depends=["rpkg"])])
    build_channel(tmp_path / "served" / "r", [Pkg("rpkg")])
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as server:
        condarc = Path(conda_env["CONDARC"])
        condarc.write_text(
            f"channels: []\ndefault_channels:\n  - {server.url}/main\n  - {server.url}/r\n"
        )
        env_yml = write_env(tmp_path / "env.yml", ["defaults"], ["app"])
        proc = _conda(conda_env, "vendor", env_yml, "-o", out, "--platform", "linux-64")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "envs",
        "local_defaults_main",
        "local_defaults_r",
    ]
    assert (out / "local_defaults_main" / "noarch" / "app-1.0-0.tar.bz2").is_file()
    assert (out / "local_defaults_r" / "noarch" / "rpkg-1.0-0.tar.bz2").is_file()
    env_file = (current(out) / "environment-linux-64.yml").read_text()
    assert "  - ./local_defaults_main\n  - ./local_defaults_r\n" in env_file


@pytest.mark.parametrize("command", ["vendor", "env lock", "vendor verify"])
def test_json_inside_conda_is_exactly_one_document(
    conda_env: dict[str, str], tmp_path: Path, command: str
) -> None:
    build_channel(
        tmp_path / "served" / "chan", [Pkg(f"p{i}", payload_size=300_000) for i in range(3)]
    )
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as server:
        env_yml = write_env(tmp_path / "env.yml", [f"{server.url}/chan"], ["p0", "p1", "p2"])
        if command == "vendor verify":
            assert (
                _conda(conda_env, "vendor", env_yml, "-o", out, "--platform", "linux-64").returncode
                == 0
            )
            args = ["vendor", "verify", out]
        elif command == "vendor":
            args = ["vendor", env_yml, "-o", out, "--platform", "linux-64"]
        else:
            args = ["env", "lock", "-f", env_yml, "--platform", "linux-64"]
        proc = _conda(conda_env, *args, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)  # one document, nothing before or after it
    assert doc["success"] is True
    assert "\x00" not in proc.stdout
