"""Symbolic links: never followed for staging, the old copy, the lock or partial files;
an OUT that is a link to a directory is written through and the link stays."""

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
    build_channel(tmp_path / "served" / "ch", [Pkg("a", depends=["b"]), Pkg("b")])
    return write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A directory of someone else's files that a followed link would destroy."""
    d = tmp_path / "victim"
    put(d / "thesis.tex", b"years of work\n")
    put(d / "local_ch" / "noarch" / "b-1.0-0.tar.bz2", b"not an archive\n")
    return d


@pytest.mark.parametrize("planted", [".OUT.staging", ".OUT.old"])
def test_a_staging_or_old_link_is_refused_and_not_followed(
    env: Path, victim: Path, tmp_path: Path, run, planted: str
) -> None:
    out = tmp_path / "OUT"
    assert run("vendor", env, "-o", out, "--platform", "linux-64")[0] == 0
    (tmp_path / planted).symlink_to(victim)
    before = tree(tmp_path, skip={"served"})
    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "linux-64", "--json")
    assert rc == 1 and "Traceback" not in stderr
    doc = json.loads(stdout)
    assert planted in doc["error"] and "symbolic link" in doc["error"]
    assert tree(tmp_path, skip={"served"}) == before  # victim, OUT and the link untouched


def test_an_out_that_links_to_a_directory_is_written_through(
    env: Path, tmp_path: Path, run
) -> None:
    real = tmp_path / "disk" / "bundle"
    real.mkdir(parents=True)
    out = tmp_path / "OUT"
    out.symlink_to(real)
    for _ in range(2):  # the second run replaces the first: no crash, the link stays
        rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")
        assert rc == 0, stderr
        assert out.is_symlink() and out.resolve() == real.resolve()
        assert (real / "local_ch" / "noarch" / "a-1.0-0.tar.bz2").is_file()
        assert run("vendor", "verify", out)[0] == 0
    assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == ["bundle"]


def test_a_dangling_out_link_is_one_line(env: Path, tmp_path: Path, run) -> None:
    out = tmp_path / "OUT"
    out.symlink_to(tmp_path / "nowhere")
    rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 1
    (line,) = [x for x in stderr.splitlines() if x.startswith("error:")]
    assert "symbolic link" in line and "not a directory" in line
    assert out.is_symlink() and not (tmp_path / "nowhere").exists()


def test_a_lock_file_link_is_not_followed(env: Path, victim: Path, tmp_path: Path, run) -> None:
    (tmp_path / ".OUT.lock").symlink_to(victim / "thesis.tex")
    rc, _, stderr = run("vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64")
    assert rc == 1 and "Traceback" not in stderr
    assert ".OUT.lock" in stderr
    assert (victim / "thesis.tex").read_bytes() == b"years of work\n"
    assert not (tmp_path / "OUT").exists()


def test_links_planted_inside_staging_are_removed_not_followed(
    env: Path, victim: Path, tmp_path: Path, run
) -> None:
    staging = tmp_path / ".OUT.staging" / "local_ch" / "noarch"
    staging.mkdir(parents=True)
    (staging / "b-1.0-0.tar.bz2.partial").symlink_to(victim / "thesis.tex")
    (staging / "a-1.0-0.tar.bz2").symlink_to(victim / "local_ch" / "noarch" / "b-1.0-0.tar.bz2")
    (tmp_path / ".OUT.staging" / "local_x").symlink_to(victim)
    before = tree(victim)
    rc, _, stderr = run("vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64")
    assert rc == 0, stderr
    assert tree(victim) == before
    assert run("vendor", "verify", tmp_path / "OUT")[0] == 0
