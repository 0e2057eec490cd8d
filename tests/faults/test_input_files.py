"""Hostile input files: an alias bomb, deep nesting, a file that never ends and huge
values each give one short line, in bounded memory; whatever the file holds, an error
message quotes at most a few dozen characters of it. (How fast: benchmarks/, not here.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.vendoring import write_env

pytest.importorskip("rattler")


def _alias_bomb(path: Path, key: str) -> Path:
    """A few hundred bytes that a YAML loader following aliases expands to 9**9 items."""
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        name, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append(f"{key}: [*i]")
    path.write_text("\n".join(lines) + "\n")
    return path


def _huge_value(path: Path) -> Path:
    path.write_text("dependencies: [{x: " + "A" * 5_000_000 + "}]\n")
    return path


def _deep(path: Path, key: str) -> Path:
    path.write_text(f"{key}: " + "[" * 100_000 + "]" * 100_000 + "\n")
    return path


@pytest.fixture
def lockfile(http_server: ChannelServer, tmp_path: Path, run) -> Path:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])
    assert (
        run("lock", "-f", env, "--platform", "linux-64", "-o", tmp_path / "good.lock.yml")[0] == 0
    )
    return tmp_path / "good.lock.yml"


def _one_line(rc: int, stdout: str, stderr: str, says: str) -> str:
    assert rc == 1, stderr
    assert "Traceback" not in stderr
    doc = json.loads(stdout)
    assert says in doc["error"], doc["error"]
    assert len(doc["error"]) < 400 and "\n" not in doc["error"]
    return doc["error"]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: _alias_bomb(p, "dependencies"), "aliases"),
        (lambda p: _deep(p, "dependencies"), "nested over"),
        (lambda p: Path("/dev/zero"), "too large"),
        (_huge_value, "got"),
    ],
    ids=["alias-bomb", "deep", "dev-zero", "huge-value"],
)
def test_a_hostile_environment_file_is_one_short_line(tmp_path: Path, run, make, says: str) -> None:
    env = make(tmp_path / "env.yml")
    for argv in (["lock", "-f", env], ["vendor", env, "-o", tmp_path / "OUT"]):
        _one_line(*run(*argv, "--platform", "linux-64", "--json"), says)
    assert not (tmp_path / "OUT").exists()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: _alias_bomb(p, "explicit-packages"), "aliases"),
        (lambda p: _deep(p, "explicit-packages"), "nested over"),
        (lambda p: Path("/dev/zero"), "too large"),
    ],
    ids=["alias-bomb", "deep", "dev-zero"],
)
def test_a_hostile_lockfile_is_one_short_line(
    lockfile: Path, tmp_path: Path, run, make, says: str
) -> None:
    bad = make(tmp_path / "bad.lock.yml")
    _one_line(*run("vendor", "--lockfile", bad, "-o", tmp_path / "OUT", "--json"), says)
    env = tmp_path / "env.yml"
    _one_line(*run("lock", "-f", env, "--check", "-o", bad, "--json"), says)
