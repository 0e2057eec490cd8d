"""Two runs into one OUT: the second fails at once, naming the first one's PID, and the
first one's output is whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.vendoring import snapshot, write_env

pytest.importorskip("rattler")


def _start(env: Path, out: Path) -> subprocess.Popen[str]:
    environ = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    argv = ["vendor", str(env), "-o", str(out), "--platform", "linux-64", "-j", "1"]
    return subprocess.Popen(
        [sys.executable, "-m", "conda_vendor_plugin", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


def test_a_second_run_fails_at_once_and_names_the_first(tmp_path: Path, run) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg(f"p{i}", payload_size=4096) for i in range(8)])
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as srv:
        srv.fail("/ch/noarch/p0-1.0-0.tar.bz2", "hold")  # the first run waits here, locked
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/ch"], [f"p{i}" for i in range(8)])
        first = _start(env, out)
        while srv.holding == 0:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            time.sleep(0.02)
        rc, stdout, _ = run("vendor", env, "-o", out, "--platform", "linux-64", "--json")
        # At once: the first run is still held at the server, so it cannot have finished.
        assert srv.holding == 1 and first.poll() is None
        assert rc == 1
        doc = json.loads(stdout)
        assert doc["error_type"] == "OutputBusy"
        assert f"PID {first.pid}" in doc["error"] and str(out) in doc["error"]
        srv.release()
        assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
        assert srv.wait_holds(1) == ["released"]
    assert run("vendor", "verify", out)[0] == 0
    assert not [p for p in snapshot(out) if p.endswith(".partial")]


def test_runs_started_together_never_corrupt_the_output(tmp_path: Path, run) -> None:
    pkgs = [Pkg(f"p{i}", payload_size=200_000) for i in range(6)]
    build_channel(tmp_path / "served" / "ch", pkgs)
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served", latency=0.05) as srv:
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/ch"], [p.name for p in pkgs])
        for _ in range(3):
            procs = [_start(env, out) for _ in range(3)]
            codes = [p.wait(timeout=120) for p in procs]
            assert 0 in codes, [p.stderr.read() for p in procs if p.stderr]
            for p, code in zip(procs, codes):
                err = p.stderr.read() if p.stderr else ""
                assert code == 0 or "another conda vendor run" in err, err
            rc, stdout, _ = run("vendor", "verify", out)
            assert rc == 0, stdout
    assert not [p for p in snapshot(out) if p.endswith(".partial")]
