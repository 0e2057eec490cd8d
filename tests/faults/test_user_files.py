"""Nothing of the user's is lost: a rerun refuses to replace an output holding files the
tool did not write (and names them), a ``.OUT.old`` that is not a previous output is
not deleted, a manifest naming the tool does not make a stranger's directory ours;
``--force`` replaces anyway."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.hostile import put, tree
from ..support.server import ChannelServer
from ..support.vendoring import write_env

pytest.importorskip("rattler")


@pytest.fixture
def env(http_server: ChannelServer, tmp_path: Path) -> Path:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    return write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])


def _refused(run, env: Path, out: Path, *names: str) -> str:
    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "linux-64", "--json")
    assert rc == 1 and "Traceback" not in stderr
    error = json.loads(stdout)["error"]
    assert "--force" in error and all(n in error for n in names), error
    return error


def test_files_a_user_added_to_the_output_stop_a_rerun(env: Path, tmp_path: Path, run) -> None:
    out = tmp_path / "OUT"
    assert run("vendor", env, "-o", out, "--platform", "linux-64")[0] == 0
    put(out / "notes.txt", b"my review notes\n")
    put(out / "local_ch" / "noarch" / "extra.bin", b"mine\n")
    before = tree(tmp_path, skip={"served"})
    _refused(run, env, out, "notes.txt", "local_ch/noarch/extra.bin")
    assert tree(tmp_path, skip={"served"}) == before
    rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64", "--force")
    assert rc == 0, stderr
    assert not (out / "notes.txt").exists()


def test_a_directory_where_the_old_copy_goes_is_not_deleted(env: Path, tmp_path: Path, run) -> None:
    out = tmp_path / "OUT"
    assert run("vendor", env, "-o", out, "--platform", "linux-64")[0] == 0
    put(tmp_path / ".OUT.old" / "backup.tar", b"someone's backup\n")
    _refused(run, env, out, ".OUT.old", "backup.tar")
    assert (tmp_path / ".OUT.old" / "backup.tar").read_bytes() == b"someone's backup\n"


def test_a_manifest_naming_the_tool_does_not_make_a_directory_ours(
    env: Path, tmp_path: Path, run
) -> None:
    out = tmp_path / "precious"
    put(out / "thesis.tex", b"years of work\n")
    put(out / "manifest.json", json.dumps({"tool": {"name": "conda-vendor-plugin"}}).encode())
    _refused(run, env, out, "thesis.tex")
    assert (out / "thesis.tex").read_bytes() == b"years of work\n"
