"""``vendor --lockfile``: vendor exactly what a lockfile pins, with no solve.

Channels are built at test time (real archives, real hashes) and served by a real
loopback server; lockfiles are written by ``lock`` itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1

from .support.build import Pkg, build_channel
from .support.bundles import current, env_report
from .support.server import ChannelServer
from .support.vendoring import check_local_channel, check_manifest, load_json, snapshot, write_env

pytest.importorskip("rattler")

PKGS = [
    Pkg("app", "1.0", depends=["lib >=1"]),
    Pkg("app", "2.0", depends=["lib >=2"]),
    Pkg("lib", "1.5", subdir="linux-64"),
    Pkg("lib", "2.1", subdir="linux-64"),
    Pkg("lib", "2.1", subdir="osx-arm64"),
    Pkg("tool", "0.1", fmt=".conda"),
]


@pytest.fixture
def chan(http_server: ChannelServer, tmp_path: Path) -> Path:
    return build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("osx-arm64",))


@pytest.fixture
def locked(chan: Path, http_server: ChannelServer, tmp_path: Path, run) -> Path:
    """A lockfile of app=1.0 (an older app than the solver would pick alone) and tool."""
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["app 1.0.*", "tool"])
    lockfile = tmp_path / "env.lock.yml"
    rc, _, err = run(
        "lock", "-f", env, "--platform", "linux-64", "--platform", "osx-arm64", "-o", lockfile
    )
    assert rc == 0, err
    return lockfile


def _channel_files(out: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(out).items() if k.startswith("local_")}


def test_vendoring_a_lockfile_equals_vendoring_its_environment_file(
    chan: Path, locked: Path, tmp_path: Path, run
) -> None:
    from_env = tmp_path / "FROM_ENV"
    rc, _, err = run("vendor", tmp_path / "env.yml", "--platform", "linux-64",
                     "--platform", "osx-arm64", "-o", from_env)  # fmt: skip
    assert rc == 0, err
    out = tmp_path / "OUT"
    rc, stdout, err = run("vendor", "--lockfile", locked, "-o", out, "--json")
    assert rc == 0, err
    doc = json.loads(stdout)
    assert env_report(doc)["platforms"] == {"linux-64": 3, "osx-arm64": 3}
    assert _channel_files(out) == _channel_files(from_env)  # same archives, same entries
    check_local_channel(out / "local_chan", chan, ["linux-64", "osx-arm64"])
    check_manifest(out)
    assert run("vendor", "verify", out)[0] == 0
    vendored = explicit_v1.load(current(out) / "environment.lock.yml")
    assert vendored.input_hash == explicit_v1.load(locked).input_hash
    assert (
        vendored.packages == explicit_v1.load(current(from_env) / "environment.lock.yml").packages
    )


def test_no_solver_runs(chan: Path, locked: Path, tmp_path: Path, run) -> None:
    # A repodata hotfix makes app 1.0 need a package nobody provides: no solver could
    # install it now, but the archive and its hash are unchanged, so the lockfile holds.
    rd_path = chan / "noarch" / "repodata.json"
    rd = load_json(rd_path)
    rd["packages"]["app-1.0-0.tar.bz2"]["depends"] = ["lib >=1", "nowhere-to-be-found"]
    rd_path.write_text(json.dumps(rd, indent=1))
    rc, _, _ = run(
        "vendor", tmp_path / "env.yml", "--platform", "linux-64", "-o", tmp_path / "SOLVED"
    )
    assert rc == 1  # solving fails...
    out = tmp_path / "OUT"
    rc, _, err = run("vendor", "--lockfile", locked, "-o", out, "--platform", "linux-64")
    assert rc == 0, err  # ...vendoring the lockfile does not solve
    local = load_json(out / "local_chan" / "noarch" / "repodata.json")
    assert local["packages"]["app-1.0-0.tar.bz2"]["depends"][-1] == "nowhere-to-be-found"
    text = (current(out) / "environment-linux-64.yml").read_text()
    pins = [line[4:] for line in text.splitlines() if line.startswith("  - ") and "==" in line]
    lock = explicit_v1.load(locked).packages["linux-64"]
    assert pins == [f"{p.name}=={p.version}={p.build}" for p in lock]  # the lockfile's pins
    assert "app==1.0=0" in pins


def test_a_package_the_channel_no_longer_lists_is_one_line(
    chan: Path, locked: Path, tmp_path: Path, run
) -> None:
    rd_path = chan / "linux-64" / "repodata.json"
    rd = load_json(rd_path)
    del rd["packages"]["lib-2.1-0.tar.bz2"]
    rd_path.write_text(json.dumps(rd))
    rc, stdout, stderr = run("vendor", "--lockfile", locked, "-o", tmp_path / "OUT", "--json")
    assert rc == 1 and "Traceback" not in stderr
    doc = json.loads(stdout)
    assert doc["error_type"] == "ChannelError"
    message = doc["error"]
    assert "lib-2.1-0" in message and "/chan/linux-64" in message and "lock again" in message
    assert not (tmp_path / "OUT").exists()


def test_a_hash_that_disagrees_is_refused_before_any_download(
    chan: Path, locked: Path, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    text = locked.read_text()
    entry = load_json(chan / "noarch" / "repodata.json")["packages"]["app-1.0-0.tar.bz2"]
    locked.write_text(text.replace(entry["sha256"], "f" * 64))
    rc, stdout, _ = run("vendor", "--lockfile", locked, "-o", tmp_path / "OUT", "--json")
    assert rc == 1
    doc = json.loads(stdout)
    assert doc["error_type"] == "ChannelError"  # the plan refuses: nothing was downloaded
    assert "app-1.0-0" in doc["error"] and "f" * 64 in doc["error"]
    assert "/chan/noarch/repodata.json" in doc["error"]
    assert not [p for _, p, _, _ in http_server.requests if p.endswith(".tar.bz2")]
    assert not (tmp_path / "OUT").exists()


def test_platforms_are_picked_from_the_lockfile(locked: Path, tmp_path: Path, run) -> None:
    out = tmp_path / "OUT"
    rc, stdout, _ = run(
        "vendor", "--lockfile", locked, "-o", out, "--platform", "osx-arm64", "--json"
    )
    assert rc == 0
    assert env_report(json.loads(stdout))["platforms"] == {"osx-arm64": 3}
    assert not (current(out) / "environment-linux-64.yml").exists()
    rc, stdout, _ = run("vendor", "--lockfile", locked, "-o", out, "--platform", "win-64", "--json")
    assert rc == 1
    assert "locks linux-64, osx-arm64" in json.loads(stdout)["error"]


def test_an_environment_file_and_its_own_lockfile_are_two_environments_of_one_name(
    locked: Path, tmp_path: Path, run
) -> None:
    """Each input is an environment of the bundle; two of one name would overwrite each
    other, so the run stops before anything is written and says how to tell them apart."""
    out = tmp_path / "O"
    rc, _, stderr = run("vendor", tmp_path / "env.yml", "--lockfile", locked, "-o", out)
    assert rc == 2
    assert "two inputs are both environment 'vendored'" in stderr
    assert not out.exists()
