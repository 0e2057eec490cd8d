"""Every file a run writes has the mode the umask gives (a bundle made by one account is
readable by another, and servable by a web server, where the umask allows it)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.vendoring import write_env

pytest.importorskip("rattler")


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_vendor_and_lock_honour_the_umask(tmp_path: Path, umask: int) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a", depends=["b"]), Pkg("b", fmt=".conda")])
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as srv:
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/ch"], ["a"])
        environ = {**os.environ, "NO_PROXY": "127.0.0.1"}
        for argv in (
            ["vendor", str(env), "-o", str(out), "--platform", "linux-64"],
            [
                "lock",
                "-f",
                str(env),
                "--platform",
                "linux-64",
                "-o",
                str(tmp_path / "env.lock.yml"),
            ],
        ):
            proc = subprocess.run(
                [sys.executable, "-m", "conda_vendor_plugin", *argv],
                capture_output=True,
                text=True,
                env=environ,
                preexec_fn=lambda: os.umask(umask),
            )
            assert proc.returncode == 0, proc.stderr
    written = [p for p in out.rglob("*")] + [tmp_path / "env.lock.yml"]
    files = [p for p in written if p.is_file()]
    assert {p.name for p in files} >= {"manifest.json", "repodata.json", "environment.lock.yml"}
    for path in written:
        want = (0o777 if path.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == want, path
