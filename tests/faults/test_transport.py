"""Archives of an http(s) channel come over http(s) only: a hostile ``info.base_url``
cannot make the downloader read this machine's files. Local copies stop at the size
the entry gives."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.hostile import add_entry, put, tree
from ..support.server import ChannelServer
from ..support.vendoring import set_repodata_info, write_env

pytest.importorskip("rattler")

SECRET = b"root:x:0:0:root:/root:/bin/bash\n"


def test_a_remote_channel_cannot_point_at_local_files(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    chan = build_channel(tmp_path / "served" / "ch", [Pkg("good")])
    secret_dir = tmp_path / "etc"
    # The worst case: the local file even has the hash the entry gives.
    put(secret_dir / "passwd-1.0-0.tar.bz2", SECRET)
    add_entry(chan, "noarch", "passwd-1.0-0.tar.bz2", SECRET, name="passwd", version="1.0",
              build="0")  # fmt: skip
    set_repodata_info(chan, "noarch", base_url=secret_dir.as_uri() + "/")
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["passwd"])
    before = tree(tmp_path, skip={"served"})

    rc, stdout, stderr = run(
        "vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--json"
    )
    assert rc == 1 and "Traceback" not in stderr
    doc = json.loads(stdout)
    assert doc["error_type"] == "ChannelError"
    assert "may not point at local files" in doc["error"] and "passwd-1.0-0" in doc["error"]
    assert tree(tmp_path, skip={"served"}) == before  # nothing copied anywhere


def test_a_local_copy_stops_at_the_entry_size(tmp_path: Path) -> None:
    """A file:// channel whose archive never ends (a link to /dev/zero) costs its entry's
    size, not the disk. Run in a child whose file-size limit would turn an unbounded copy
    into an error instead of a full disk."""
    chan = build_channel(tmp_path / "chan", [Pkg("zero")])
    archive = chan / "noarch" / "zero-1.0-0.tar.bz2"
    archive.unlink()
    archive.symlink_to("/dev/zero")
    env = write_env(tmp_path / "env.yml", [chan.as_uri()], ["zero"])
    limit = 64 << 20

    def cap_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    argv = ["vendor", str(env), "-o", str(tmp_path / "OUT"), "--platform", "linux-64", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "conda_vendor_plugin", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
        preexec_fn=cap_file_size,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["error_type"] == "DownloadError" and "expected" in doc["error"], doc
    left = [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size > 1 << 20]
    assert left == []
