"""``conda env lock`` and ``conda env-lock``: the lock command inside a real conda.

End-to-end tests run ``python -m conda`` as a subprocess, isolated per test (HOME, CONDARC,
package cache, envs dirs) with the classic solver and no CUDA, against copies of real test
channels reached as ``file://`` or over loopback HTTP. The locked package set is compared
with what conda itself solves for ``conda create --dry-run --json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1
from conda_vendor_plugin.spec import input_hash, load_spec

from .support.locking import Served, check_against_upstream, run_module, write_env
from .support.server import ChannelServer

pytest.importorskip("conda")

pytestmark = pytest.mark.conda

DUMMY = "pixi-dummy_channel_1"
VERSIONS = "pixi-multiple_versions_channel_1"
RECIPES = "conda-test-recipes"


@pytest.fixture(autouse=True)
def _isolated_conda(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """On top of conftest's HOME/CONDARC/CONDA_PKGS_DIRS: conda's other global state."""
    from conda.base.context import reset_context

    root = tmp_path_factory.mktemp("conda")
    (root / ".condarc").write_text("")
    monkeypatch.setenv("CONDARC", str(root / ".condarc"))
    monkeypatch.setenv("CONDA_ENVS_DIRS", str(root / "envs"))
    monkeypatch.setenv("CONDA_SOLVER", "classic")
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")
    monkeypatch.setenv("CONDA_NUMBER_CHANNEL_NOTICES", "0")
    monkeypatch.setenv("CONDA_REPORT_ERRORS", "false")
    monkeypatch.setenv("CONDA_NOTIFY_OUTDATED_CONDA", "false")
    monkeypatch.setenv("CONDA_AUTO_UPDATE_CONDA", "false")
    monkeypatch.delenv("CONDA_CHANNELS", raising=False)
    monkeypatch.delenv("CONDA_DEFAULT_ENV", raising=False)
    reset_context()
    yield
    monkeypatch.undo()
    reset_context()


def conda(*args: str | Path) -> tuple[int, str, str]:
    proc = run_module("conda", *args)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def pixi(shared_channel, http_server: ChannelServer) -> list[Served]:
    return [Served(f"{http_server.url}/{n}", shared_channel(n)) for n in (DUMMY, VERSIONS)]


@pytest.fixture
def recipes_file(shared_channel) -> Served:
    path = shared_channel(RECIPES)
    return Served(path.as_uri(), path)


PIXI_DEPS = ["dummy-a", "dummy-g", "package4 0.1.*", "package2"]
RECIPES_DEPS = ["another_dependent", "run_constrained", "sample_noarch_python", "buildstring"]


# ------------------------------------------------------------------ the commands exist


def test_conda_env_help_lists_lock() -> None:
    rc, out, err = conda("env", "--help")
    assert rc == 0, err
    assert any(line.split()[:1] == ["lock"] for line in out.splitlines()), out
    rc, out, err = conda("env", "lock", "--help")
    assert rc == 0, err
    for option in ("--file", "--platform", "--format", "--output", "--check", "--json"):
        assert option in out


def test_env_lock_fallback_is_listed_only_where_the_graft_failed() -> None:
    """The graft worked (``conda env lock`` exists): ``conda --help`` offers no second way."""
    rc, out, err = conda("--help")
    assert rc == 0, err
    assert "env-lock" not in out and "vendor" in out


# ------------------------------------------------------------------ conda env lock


def test_conda_env_lock_writes_explicit_1_0(tmp_path: Path, pixi: list[Served]) -> None:
    env = write_env(
        tmp_path / "env.yml", [c.url for c in pixi], PIXI_DEPS, ["linux-64", "osx-arm64"], "demo"
    )
    out = tmp_path / "out" / "demo.lock.yml"
    rc, _, err = conda("env", "lock", "-f", env, "--format", "explicit-1.0", "-o", out)
    assert rc == 0, err
    lock = explicit_v1.load(out)
    assert lock.platforms == ("linux-64", "osx-arm64")
    assert lock.input_hash == input_hash(load_spec(env))
    check_against_upstream(lock, pixi)
    assert {p.name for p in lock.packages["osx-arm64"]} == {
        "dummy-a",
        "dummy-b",
        "dummy-c",
        "dummy-g",
        "package2",
        "package3",
        "package4",
    }
    text = out.read_text()
    assert explicit_v1.write(explicit_v1.read(text)) == text
    assert f"Wrote {out}" in err

    # --check, in conda too, without solving
    rc, _, err = conda("env", "lock", "-f", env, "-o", out, "--check")
    assert rc == 0, err
    write_env(env, [c.url for c in pixi], [*PIXI_DEPS, "dummy-f"], ["linux-64", "osx-arm64"])
    rc, _, err = conda("env", "lock", "-f", env, "-o", out, "--check")
    assert rc == 1
    assert "out of date" in err


def test_conda_env_lock_json(tmp_path: Path, pixi: list[Served]) -> None:
    env = write_env(tmp_path / "env.yml", [pixi[0].url], ["dummy-a"], ["win-64"])
    rc, out, err = conda("env", "lock", "-f", env, "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["success"] is True
    assert doc["platforms"] == {"win-64": 2}
    assert doc["lockfiles"] == [str(tmp_path / "env.lock.yml")]


def test_explicit_format_inside_conda(tmp_path: Path, recipes_file: Served) -> None:
    env = write_env(tmp_path / "env.yml", [recipes_file.url], ["dependent"], ["linux-64"])
    rc, _, err = conda("env", "lock", "-f", env, "--format", "explicit")
    assert rc == 0, err
    text = (tmp_path / "env.linux-64.explicit.txt").read_text()
    body = text.split("@EXPLICIT\n", 1)[1].splitlines()
    assert [line.split("#sha256:")[0].rsplit("/", 1)[1] for line in body] == [
        "dependency-2.0-0.conda",
        "dependent-2.0-0.conda",
    ]
    assert all(line.startswith(recipes_file.url + "/noarch/") for line in body)


# ------------------------------------------------------------------ same solution as conda


def dry_run(channel: str, platform: str, specs: list[str]) -> set[tuple[str, str, str, str]]:
    """What ``conda create --dry-run`` would install: (name, version, build, url)."""
    rc, out, err = conda(
        "create",
        "--dry-run",
        "--json",
        "-n",
        "x",
        "--override-channels",
        "-c",
        channel,
        "--platform",
        platform,
        "--repodata-fn",
        "repodata.json",
        *specs,
    )
    assert rc == 0, out + err
    actions = json.loads(out)["actions"]
    urls = {(f["name"], f["version"], f["build"]): f["url"] for f in actions["FETCH"]}
    linked = set()
    for item in actions["LINK"]:
        key = (item["name"], item["version"], item["build_string"])
        assert item["base_url"].rstrip("/") == channel.rstrip("/")
        linked.add((*key, urls[key]))
    return linked


@pytest.mark.parametrize("platform", ["linux-64", "osx-arm64"])
@pytest.mark.parametrize("kind", ["file", "http"])
def test_locked_set_equals_conda_create_dry_run(
    tmp_path: Path, kind: str, platform: str, pixi: list[Served], recipes_file: Served
) -> None:
    channel, deps = (recipes_file, RECIPES_DEPS) if kind == "file" else (pixi[1], PIXI_DEPS[2:])
    if kind == "http":
        deps = [*deps, "package 0.1.*"]
    env = write_env(tmp_path / "env.yml", [channel.url], deps, [platform])
    rc, _, err = conda("env", "lock", "-f", env, "-o", tmp_path / "env.lock.yml")
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    check_against_upstream(lock, [channel])
    locked = {(p.name, p.version, p.build, p.url) for p in lock.packages[platform]}
    expected = dry_run(channel.url, platform, deps)
    assert locked == expected
    assert len(locked) >= 3


@pytest.mark.parametrize("kind", ["http", "file"])
def test_conda_mode_and_standalone_write_the_same_bytes(
    tmp_path: Path, kind: str, pixi: list[Served], recipes_file: Served
) -> None:
    pytest.importorskip("rattler")
    if kind == "http":
        channels, deps = [c.url for c in pixi], PIXI_DEPS
        platforms = ["linux-64", "osx-arm64", "win-64"]
    else:
        # no python here: conda adds pip to python (add_pip_as_python_dependency), py-rattler
        # does not, so the two backends solve python differently (see the test below)
        deps = [d for d in RECIPES_DEPS if d != "sample_noarch_python"]
        channels, platforms = [recipes_file.url], ["linux-64", "osx-arm64"]
    env = write_env(tmp_path / "env.yml", channels, deps, platforms, name="same")
    rc, _, err = conda("env", "lock", "-f", env, "-o", tmp_path / "conda.lock.yml")
    assert rc == 0, err
    proc = run_module("conda_vendor_plugin", "lock", "-f", env, "-o", tmp_path / "py.lock.yml")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "conda.lock.yml").read_bytes() == (tmp_path / "py.lock.yml").read_bytes()


def test_conda_mode_locks_pip_with_python_after_python(tmp_path: Path, recipes_file: Served):
    """conda's add_pip_as_python_dependency: pip comes with python, and is installed after it."""
    env = write_env(tmp_path / "env.yml", [recipes_file.url], ["sample_noarch_python"])
    rc, _, err = conda("env", "lock", "-f", env, "--platform", "linux-64")
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert [p.name for p in lock.packages["linux-64"]] == ["python", "pip", "sample_noarch_python"]
    check_against_upstream(lock, [recipes_file])


# ------------------------------------------------------------------ failures


def test_unsatisfiable_inside_conda(tmp_path: Path, recipes_file: Served) -> None:
    env = write_env(tmp_path / "env.yml", [recipes_file.url], ["dependent"], ["linux-64"])
    out = tmp_path / "env.lock.yml"
    assert conda("env", "lock", "-f", env)[0] == 0
    previous = out.read_bytes()
    write_env(env, [recipes_file.url], ["unsatisfiable"], ["linux-64"])
    for command in (("env", "lock"),):
        rc, _, err = conda(*command, "-f", env)
        assert rc != 0
        assert "cannot solve" in err and "linux-64" in err
        assert "versioned" in err and "<1.0" in err, "the solver's explanation is shown"
        assert "nothing in the channels provides" in err
        assert out.read_bytes() == previous
    rc, _, err = conda("env", "lock", "-f", env, "-o", tmp_path / "new.lock.yml")
    assert rc != 0
    assert not (tmp_path / "new.lock.yml").exists()


def test_cuda_virtual_package_follows_the_override(tmp_path: Path, shared_channel) -> None:
    path = shared_channel("pixi-virtual_packages")
    env = write_env(tmp_path / "env.yml", [path.as_uri()], ["cuda"], ["linux-64"])
    rc, _, err = conda("env", "lock", "-f", env)
    assert rc != 0
    assert "__cuda" in err
    proc = run_module("conda", "env", "lock", "-f", env, env={"CONDA_OVERRIDE_CUDA": "12.0"})
    assert proc.returncode == 0, proc.stderr
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert [p.name for p in lock.packages["linux-64"]] == ["cuda"]


def test_a_missing_environment_file_is_a_conda_error(tmp_path: Path) -> None:
    rc, _, err = conda("env", "lock", "-f", tmp_path / "nope.yml")
    assert rc != 0
    assert "no such environment file" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------ the graft


@pytest.fixture
def builtin_parsers(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A private copy of conda's parser table, and conda's own factory for ``env update``,
    both restored after the test."""
    from conda.cli import conda_argparse, main_env_update

    table = dict(conda_argparse.BUILTIN_COMMAND_PARSERS)
    monkeypatch.setattr(conda_argparse, "BUILTIN_COMMAND_PARSERS", table)
    monkeypatch.setattr(main_env_update, "configure_parser", main_env_update.configure_parser)
    return table


def _parse(*argv: str):
    """``argv`` parsed by a conda parser built from the (private) table, as conda does."""
    from conda.cli import conda_argparse

    parser = conda_argparse.ArgumentParser(prog="conda")
    sub = parser.add_subparsers(dest="cmd")
    for configure in conda_argparse.BUILTIN_COMMAND_PARSERS.values():
        configure(sub)
    return parser.parse_args(list(argv))


def test_graft_adds_lock_to_conda_env(builtin_parsers: dict) -> None:
    from conda.cli import main_env_update

    from conda_vendor_plugin.conda_cli import execute_env_lock, graft_env_lock

    assert graft_env_lock() is True
    grafted = main_env_update.configure_parser
    assert graft_env_lock() is True, "grafting twice is harmless"
    assert main_env_update.configure_parser is grafted, "and does not wrap twice"
    args = _parse("env", "lock", "-f", "e.yml", "--platform", "win-64", "--format", "explicit")
    assert (args.file, args.platforms, args.format) == ("e.yml", ["win-64"], "explicit")
    assert args.func == f"{execute_env_lock.__module__}.execute_env_lock"
    assert _parse("env", "update", "-f", "e.yml").func.endswith("main_env_update.execute")


def test_graft_without_an_env_parser_says_so(builtin_parsers: dict) -> None:
    from conda_vendor_plugin.conda_cli import graft_env_lock

    del builtin_parsers["env"]
    before = dict(builtin_parsers)
    assert graft_env_lock() is False
    assert builtin_parsers == before


def test_graft_when_conda_env_is_built_another_way(builtin_parsers: dict) -> None:
    """If conda's env parser ever changes shape, conda env still builds (without lock) and
    the graft says it failed (so that ``conda env-lock`` is offered)."""
    from conda_vendor_plugin.conda_cli import graft_env_lock

    def configure_env(sub_parsers, **kwargs):
        p = sub_parsers.add_parser("env")
        p.add_subparsers(dest="cmd").add_parser("list")
        return p

    builtin_parsers["env"] = configure_env
    assert graft_env_lock() is False
    assert _parse("env", "list").cmd == "list"


def test_graft_without_the_parser_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from conda.cli import conda_argparse

    from conda_vendor_plugin.conda_cli import graft_env_lock

    monkeypatch.delattr(conda_argparse, "BUILTIN_COMMAND_PARSERS")
    assert graft_env_lock() is False


def test_conda_keeps_working_when_the_graft_cannot_apply(tmp_path: Path, pixi: list[Served]):
    """A conda without 'env' in its parser table: the plugin loads, env-lock still works."""
    env = write_env(tmp_path / "env.yml", [pixi[0].url], ["dummy-a"], ["linux-64"])
    script = (
        "import sys\n"
        "import conda.cli.conda_argparse as ca\n"
        "del ca.BUILTIN_COMMAND_PARSERS['env']\n"
        "from conda.cli.main import main\n"
        "sys.exit(main(*sys.argv[1:]))\n"
    )
    (tmp_path / "noenv.py").write_text(script)

    def patched(*args: str | Path):
        import os
        import subprocess
        import sys

        return subprocess.run(
            [sys.executable, str(tmp_path / "noenv.py"), *map(str, args)],
            capture_output=True,
            text=True,
            env={**os.environ, "NO_PROXY": "127.0.0.1"},
            timeout=300,
        )

    proc = patched("env-lock", "-f", env, "-o", tmp_path / "x.lock.yml")
    assert proc.returncode == 0, proc.stderr
    assert explicit_v1.load(tmp_path / "x.lock.yml").packages["linux-64"]
    proc = patched("list", "--help")
    assert proc.returncode == 0, proc.stderr
    proc = patched("--help")
    assert proc.returncode == 0 and "env-lock" in proc.stdout
