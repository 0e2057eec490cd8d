"""CEP 16 sharded repodata inside a real conda 26.7: what conda's machinery fetched for
the solve is what ``conda vendor`` copies entries from.

conda-rattler-solver takes conda's ``build_repodata_subset`` and reads a sharded
channel through shards (conda's index cache and shard database); the classic solver
reads ``repodata.json``. Real conda subprocesses, a real channel (conda-test-recipes)
with its noarch sharded at test time, loopback HTTP.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1

from ..support.condarun import conda_environ
from ..support.locking import run_module
from ..support.server import ChannelServer
from ..support.shards import INDEX, shard_subdir
from ..support.vendoring import load_json, snapshot, write_env

pytest.importorskip("msgpack")


def _vendor(
    module: str, env: dict[str, str], env_file: Path, out: Path, server: ChannelServer
) -> list[str]:
    start = len(server.requests)
    env = {**env, "SOURCE_DATE_EPOCH": "1700000000"}  # the SBOM's time: the same bytes
    proc = run_module(module, "vendor", env_file, "--platform", "linux-64", "-o", out, env=env)
    assert proc.returncode == 0, proc.stderr
    return ["/".join(p.split("/")[-2:]) for m, p, _, _ in server.requests[start:] if m == "GET"]


@pytest.mark.parametrize("solver", ["rattler", "classic"])
def test_conda_vendor_copies_entries_from_what_the_solver_read(
    shared_channel, tmp_path: Path, solver: str
) -> None:
    if solver == "rattler" and importlib.util.find_spec("conda_rattler_solver") is None:
        pytest.skip("conda-rattler-solver is not installed")
    chan = shared_channel("conda-test-recipes")
    shard_subdir(chan, "noarch")
    with ChannelServer(tmp_path / "served") as server:
        env_file = write_env(
            tmp_path / "environment.yml", [f"{server.url}/conda-test-recipes"], ["dependent"]
        )
        conda_env = conda_environ(tmp_path / "c", solver)
        gets = _vendor("conda", conda_env, env_file, tmp_path / "OUT", server)
        if solver == "rattler":  # conda's shards, and never the full noarch repodata.json
            assert f"noarch/{INDEX}" in gets
            assert "noarch/repodata.json" not in gets and "noarch/repodata.json.zst" not in gets
            assert len([g for g in gets if g.startswith("shards/")]) == 2  # dependent, dependency
        else:  # the classic solver reads repodata.json; so do the entries
            assert "noarch/repodata.json" in gets
            assert not any(g.startswith("shards/") for g in gets)
        alone = conda_environ(tmp_path / "s", solver)
        _vendor("conda_vendor_plugin", alone, env_file, tmp_path / "ALONE", server)

    local = load_json(tmp_path / "OUT" / "local_conda-test-recipes" / "noarch" / "repodata.json")
    upstream = load_json(chan / "noarch" / "repodata.json")
    assert sorted(local["packages.conda"]) == ["dependency-2.0-0.conda", "dependent-2.0-0.conda"]
    for fn, entry in local["packages.conda"].items():
        assert entry == upstream["packages.conda"][fn]
    assert local["info"] == upstream["info"]
    # both modes, each from shards: the same bundle, byte for byte (the manifest too)
    ours, theirs = snapshot(tmp_path / "OUT"), snapshot(tmp_path / "ALONE")
    assert ours.keys() == theirs.keys()
    different = [k for k in ours if ours[k] != theirs[k]]
    assert different == [], different


def test_conda_vendor_of_a_lockfile_reads_only_the_locked_names_shards(
    shared_channel, tmp_path: Path
) -> None:
    """No solve, so no solver to take shards: conda's shards are used whenever conda's
    ``repodata_use_shards`` is on, and the bundle is the standalone one, byte for byte."""
    chan = shared_channel("conda-test-recipes")
    shard_subdir(chan, "noarch")
    lockfile = tmp_path / "environment.lock.yml"
    with ChannelServer(tmp_path / "served") as server:
        env_file = write_env(
            tmp_path / "environment.yml", [f"{server.url}/conda-test-recipes"], ["dependent"]
        )
        alone = {**conda_environ(tmp_path / "s", "classic"), "SOURCE_DATE_EPOCH": "1700000000"}
        proc = run_module(
            "conda_vendor_plugin",
            "lock",
            "-f",
            env_file,
            "--platform",
            "linux-64",
            "-o",
            lockfile,
            env=alone,
        )
        assert proc.returncode == 0, proc.stderr
        gets = []
        for module, out, env in [
            ("conda", tmp_path / "OUT", conda_environ(tmp_path / "c", "classic")),
            ("conda_vendor_plugin", tmp_path / "ALONE", alone),
        ]:
            start = len(server.requests)
            env = {**env, "SOURCE_DATE_EPOCH": "1700000000"}
            proc = run_module(module, "vendor", "--lockfile", lockfile, "-o", out, env=env)
            assert proc.returncode == 0, proc.stderr
            gets.append(
                [
                    "/".join(p.split("/")[-2:])
                    for m, p, _, _ in server.requests[start:]
                    if m == "GET"
                ]
            )
    for module_gets in gets:  # conda's cache cold, standalone's warm from the lock
        assert f"noarch/{INDEX}" in module_gets, module_gets
        assert not {"noarch/repodata.json", "noarch/repodata.json.zst"} & set(module_gets)
    assert len([g for g in gets[0] if g.startswith("shards/")]) == 2  # the locked names'
    ours, theirs = snapshot(tmp_path / "OUT"), snapshot(tmp_path / "ALONE")
    assert [k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)] == []


def test_noarch_shards_of_every_locked_platform_reach_the_bundle(
    shared_channel, tmp_path: Path
) -> None:
    """Each platform of one lockfile locks other noarch names: noarch's subset holds the
    names of all of them (the lockfile is two locks put together, as other tools may)."""
    chan = shared_channel("conda-test-recipes")
    shard_subdir(chan, "noarch")
    with ChannelServer(tmp_path / "served") as server:
        alone = conda_environ(tmp_path / "s", "classic")
        packages = {}
        for platform, name in [("linux-64", "another_dependent"), ("osx-64", "dependent")]:
            env_file = write_env(
                tmp_path / f"{name}.yml", [f"{server.url}/conda-test-recipes"], [name]
            )
            lock = tmp_path / f"{platform}.lock.yml"
            args = ["lock", "-f", env_file, "--platform", platform, "-o", lock]
            proc = run_module("conda_vendor_plugin", *args, env=alone)
            assert proc.returncode == 0, proc.stderr
            one = explicit_v1.load(lock)
            packages[platform] = one.packages[platform]
        both = tmp_path / "both.lock.yml"
        both.write_text(explicit_v1.write(replace(one, packages=packages)))
        conda_env = conda_environ(tmp_path / "c", "classic")
        proc = run_module(
            "conda", "vendor", "--lockfile", both, "-o", tmp_path / "OUT", env=conda_env
        )
        assert proc.returncode == 0, proc.stderr
    local = load_json(tmp_path / "OUT" / "local_conda-test-recipes" / "noarch" / "repodata.json")
    assert sorted(local["packages.conda"]) == [
        "another_dependent-2.0-0.conda",
        "dependency-2.0-0.conda",
        "dependent-2.0-0.conda",
    ]
