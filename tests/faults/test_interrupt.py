"""Ctrl-C and what a run leaves beside OUT, standalone and inside a real conda: exit 130,
one line naming what was kept for resuming and where, a ``--json`` document with
``return_code``; after any run nothing of ours but OUT (and, after an interrupted run, the
staging directory the message names). Real SIGINT to a real subprocess; the archives are
served a byte at a time so the run is inside a download when it is interrupted."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.condarun import conda_environ
from ..support.interrupt import interrupt_when
from ..support.server import ChannelServer
from ..support.vendoring import write_env

pytest.importorskip("rattler")

MODES = ["standalone", "conda"] if importlib.util.find_spec("conda") else ["standalone"]
MODULE = {"standalone": "conda_vendor_plugin", "conda": "conda"}


def _beside(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".OUT", "OUT")))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_ctrl_c_exits_130_naming_what_was_kept_and_where(
    tmp_path: Path, mode: str, as_json: bool
) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("p0", payload_size=100_000)])
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as srv:
        srv.fail("/ch/noarch/p0-1.0-0.tar.bz2", "drip:0.05")  # every read blocks
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/ch"], ["p0"])
        run = interrupt_when(
            ["vendor", env, "-o", out, "--platform", "linux-64", *(["--json"] if as_json else [])],
            ready=lambda: any(p == "/ch/noarch/p0-1.0-0.tar.bz2" for _, p, *_ in srv.requests),
            module=MODULE[mode],
            env=conda_environ(tmp_path),
        )
    assert run.returncode == 130, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and "KeyboardInterrupt" not in run.stdout + run.stderr
    staging = tmp_path / ".OUT.staging"
    assert staging.is_dir()  # kept for resuming...
    said = (
        f"interrupted; {out} is as it was; what was downloaded is kept in {staging} and the "
        f"same command resumes from it"
    )
    if as_json:
        doc = json.loads(run.stdout)
        assert doc["return_code"] == 130
        assert (doc.get("error_type") or doc.get("exception_name")) == "Interrupted"
        assert said in (doc.get("error") or doc.get("message"))
    else:
        lines = [line for line in run.stderr.splitlines() if "interrupted" in line]
        assert len(lines) == 1 and lines[0].endswith(said), run.stderr  # ...and named
    assert _beside(tmp_path) == [".OUT.staging"]  # no lock file, no OUT


@pytest.mark.parametrize("mode", MODES)
def test_ctrl_c_while_locking_says_nothing_was_written(tmp_path: Path, mode: str) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    with ChannelServer(tmp_path / "served") as srv:
        for subdir in ("linux-64", "noarch"):
            srv.fail(f"/ch/{subdir}/repodata.json", "drip:0.05")
            srv.fail(f"/ch/{subdir}/repodata.json.zst", "404")
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/ch"], ["a"])
        command = ["env", "lock"] if mode == "conda" else ["lock"]
        run = interrupt_when(
            [*command, "-f", env, "--platform", "linux-64", "--json"],
            ready=lambda: any(p.endswith("/repodata.json") for _, p, *_ in srv.requests),
            module=MODULE[mode],
            env=conda_environ(tmp_path),
        )
    assert run.returncode == 130, run.stdout + run.stderr
    doc = json.loads(run.stdout)
    assert doc["return_code"] == 130
    assert "interrupted; nothing was written" in (doc.get("error") or doc.get("message"))
    assert not (tmp_path / "env.lock.yml").exists()


def test_no_lock_file_is_left_after_a_run_that_succeeds_or_fails(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])
    rc, _, err = run("vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64")
    assert rc == 0, err
    assert _beside(tmp_path) == ["OUT"]
    http_server.fail("/ch/noarch/a-1.0-0.tar.bz2", "404")
    rc, _, err = run("vendor", env, "-o", tmp_path / "NEW", "--platform", "linux-64")
    assert rc == 1
    assert not (tmp_path / ".NEW.lock").exists()
