"""What used to end in a traceback is one line naming what is wrong, a non-zero exit and
a ``--json`` error document: bad channel URLs, over-long names, a read-only output, an
output that is the current directory (empty, or a bundle)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.vendoring import snapshot, write_env
from .test_disk import _can_unshare

pytest.importorskip("rattler")


def _error(rc: int, stdout: str, stderr: str) -> str:
    assert rc == 1, stderr
    assert "Traceback" not in stderr
    doc = json.loads(stdout)
    assert doc["success"] is False and "\n" not in doc["error"]
    return doc["error"]


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        ("http://[::1", "not a valid URL"),
        ("ht tp://x", "not a valid URL"),
        ("https://", "no host"),
        ("https://repo.example.com:99999/x", "Port out of range"),
        ("conda forge", "not a valid channel name"),
    ],
)
def test_an_invalid_channel_is_one_line_naming_it(
    tmp_path: Path, run, channel: str, says: str
) -> None:
    env = write_env(tmp_path / "env.yml", [channel], ["a"])
    for argv in (["lock", "-f", env], ["vendor", env, "-o", tmp_path / "OUT"]):
        error = _error(*run(*argv, "--platform", "linux-64", "--json"))
        assert error.startswith(f"{env} (line ") and repr(channel) in error and says in error


def test_an_over_long_output_name_is_one_line(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])
    out = tmp_path / ("x" * 300)
    error = _error(*run("vendor", env, "-o", out, "--platform", "linux-64", "--json"))
    assert "too long" in error


@pytest.mark.skipif(not _can_unshare(), reason="needs unshare -rm (namespaces)")
def test_a_read_only_output_is_one_line(tmp_path: Path) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    ro = tmp_path / "ro"
    ro.mkdir()
    with ChannelServer(tmp_path / "served") as srv:
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/ch"], ["a"])
        vendor = [sys.executable, "-m", "conda_vendor_plugin", "vendor", str(env), "-o"]
        vendor += [str(ro / "OUT"), "--platform", "linux-64", "--json"]
        script = f"mount -t tmpfs -o ro tmpfs {ro} || exit 99; exec " + " ".join(vendor)
        proc = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, "NO_PROXY": "127.0.0.1"},
            timeout=120,
        )
    error = _error(proc.returncode, proc.stdout, proc.stderr)
    assert "Read-only file system" in error and str(ro) in error


@pytest.mark.parametrize("where", ["empty", "bundle"])
def test_vendoring_into_the_current_directory_is_refused(
    http_server: ChannelServer, tmp_path: Path, where: str
) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])
    here = tmp_path / "here"
    here.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "conda_vendor_plugin",
        "vendor",
        str(env),
        "--platform",
        "linux-64",
    ]
    environ = {**os.environ, "NO_PROXY": "127.0.0.1"}
    if where == "bundle":
        done = subprocess.run([*cmd, "-o", str(here)], capture_output=True, env=environ)
        assert done.returncode == 0
    before = snapshot(here)
    proc = subprocess.run(
        [*cmd, "-o", ".", "--json"], capture_output=True, text=True, env=environ, cwd=here
    )
    error = _error(proc.returncode, proc.stdout, proc.stderr)
    assert "current directory" in error
    assert snapshot(here) == before
    made = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert made == ["env.yml", "here", "served"]  # no staging beside it


def test_a_message_quoting_a_url_with_credentials_shows_none(tmp_path: Path, run) -> None:
    """The last layer: whatever a message quotes, credentials are cut from it, standalone
    and inside conda alike."""
    channel = "https://user:s3cr3t-pw@repo.example.com:99999/t/tk-8c1d/chan"
    env = write_env(tmp_path / "env.yml", [channel], ["a"])
    rc, stdout, stderr = run("lock", "-f", env, "--platform", "linux-64", "--json")
    error = _error(rc, stdout, stderr)
    assert "Port out of range" in error
    assert "s3cr3t-pw" not in stdout + stderr and "tk-8c1d" not in stdout + stderr
    if importlib.util.find_spec("conda") is None:
        return
    argv = [sys.executable, "-m", "conda", "env", "lock", "-f", str(env), "--platform", "linux-64"]
    for as_json in ((), ("--json",)):
        proc = subprocess.run(
            [*argv, *as_json],
            capture_output=True,
            text=True,
            env={**os.environ, "CONDA_SOLVER": "classic"},
            timeout=120,
        )
        assert proc.returncode == 1 and "Port out of range" in proc.stdout + proc.stderr
        assert "s3cr3t-pw" not in proc.stdout + proc.stderr
        assert "tk-8c1d" not in proc.stdout + proc.stderr
