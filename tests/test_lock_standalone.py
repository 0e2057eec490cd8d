"""``python -m conda_vendor_plugin lock`` (py-rattler), end to end over loopback HTTP.

Channels are copies of real test channels from ../shared/testdata, served by a real HTTP
server on 127.0.0.1. Runs go through ``cli.main`` in-process (the same code as
``python -m conda_vendor_plugin``) or through a real subprocess where the exit status or
the whole process output matters.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

import pytest

from conda_vendor_plugin import cli
from conda_vendor_plugin.formats import explicit_v1
from conda_vendor_plugin.spec import input_hash, load_spec

from .support.locking import (
    Served,
    check_against_upstream,
    names_versions,
    run_module,
    upstream_entries,
    write_env,
)
from .support.server import ChannelServer

pytest.importorskip("rattler")

DUMMY = "pixi-dummy_channel_1"
VERSIONS = "pixi-multiple_versions_channel_1"
VIRTUAL = "pixi-virtual_packages"
RECIPES = "conda-test-recipes"
PLATFORMS = ("linux-64", "osx-arm64", "win-64")


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """``python -m conda_vendor_plugin ARGS`` in-process: (exit status, stdout, stderr)."""

    def call(*argv: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return call


def lock_cli(*args: str | Path, env: dict[str, str] | None = None):
    return run_module("conda_vendor_plugin", "lock", *args, env=env)


@pytest.fixture
def pixi(shared_channel, http_server: ChannelServer) -> list[Served]:
    """The two pixi multi-platform channels, served over HTTP."""
    return [Served(f"{http_server.url}/{n}", shared_channel(n)) for n in (DUMMY, VERSIONS)]


PIXI_DEPS = ("dummy-a", "dummy-g", "package4 0.1.*", "package2")


def pixi_env(tmp_path: Path, pixi: list[Served], deps=PIXI_DEPS, platforms=PLATFORMS) -> Path:
    return write_env(tmp_path / "env.yml", [c.url for c in pixi], deps, platforms, name="demo")


def repodata_gets(server: ChannelServer, start: int = 0) -> dict[str, list[int]]:
    """``path -> [status, ...]`` of the repodata requests since ``start``."""
    seen: dict[str, list[int]] = {}
    for method, path, _, status in server.requests[start:]:
        if path.endswith("repodata.json"):
            assert method == "GET"
            seen.setdefault(path, []).append(status)
    return seen


# ------------------------------------------------------------------ the lockfile


def test_three_platforms_match_upstream_repodata(tmp_path: Path, pixi: list[Served]) -> None:
    env = pixi_env(tmp_path, pixi)
    proc = lock_cli("-f", env)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "env.lock.yml"
    lock = explicit_v1.load(out)
    assert lock.platforms == PLATFORMS
    assert lock.name == "demo"
    assert lock.channels == tuple(c.url for c in pixi)
    assert lock.input_hash == input_hash(load_spec(env))
    ordered = check_against_upstream(lock, pixi)
    expected = {
        "dummy-a": "0.1.0",
        "dummy-c": "0.1.0",
        "dummy-g": "0.1.0",
        "dummy-b": "0.1.0",
        "package4": "0.1.0",
        "package3": "0.1.0",  # pinned by package4 0.1.0, though 0.3.0 exists
        "package2": "0.2.0",  # the highest
    }
    for platform in PLATFORMS:
        packages = lock.packages[platform]
        assert names_versions(packages) == expected
        assert {p.subdir for p in packages} == {platform}
        pos = {p.name: i for i, p in enumerate(ordered[platform])}
        assert pos["dummy-c"] < pos["dummy-a"]
        assert pos["dummy-b"] < pos["dummy-g"]
        assert pos["package3"] < pos["package4"]
    assert "Wrote" in proc.stderr and "linux-64: 7 packages" in proc.stderr
    text = out.read_text()
    assert explicit_v1.write(explicit_v1.read(text)) == text


def test_relocking_gives_the_same_bytes(tmp_path: Path, pixi: list[Served], run) -> None:
    env = pixi_env(tmp_path, pixi)
    out = tmp_path / "env.lock.yml"
    assert run("lock", "-f", env)[0] == 0
    first = out.read_bytes()
    assert run("lock", "-f", env)[0] == 0
    assert out.read_bytes() == first
    # the same request written in another order locks to the same bytes
    write_env(env, [c.url for c in pixi], reversed(PIXI_DEPS), PLATFORMS[::-1], name="demo")
    assert (
        run(
            "lock",
            "-f",
            env,
            "--platform",
            "linux-64",
            "--platform",
            "osx-arm64",
            "--platform",
            "win-64",
        )[0]
        == 0
    )
    assert out.read_bytes() == first


def test_platform_option_overrides_the_file(tmp_path: Path, pixi: list[Served], run) -> None:
    env = pixi_env(tmp_path, pixi)
    rc, _, err = run("lock", "-f", env, "--platform", "win-64", "-o", tmp_path / "w.yml")
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "w.yml")
    assert lock.platforms == ("win-64",)
    assert lock.input_hash == input_hash(load_spec(env).with_platforms(["win-64"]))


def test_channel_names_resolve_under_the_channel_alias(
    tmp_path: Path, pixi: list[Served], http_server: ChannelServer, run
) -> None:
    env = write_env(tmp_path / "env.yml", [DUMMY], ["dummy-a"], ["osx-arm64"])
    rc, _, err = run("lock", "-f", env, "--channel-alias", http_server.url)
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert lock.channels == (DUMMY,), "the channels as written, not expanded"
    check_against_upstream(lock, pixi)
    assert [p.name for p in lock.packages["osx-arm64"]] == ["dummy-c", "dummy-a"]


# ------------------------------------------------------------------ --check


def test_check_compares_hashes_without_solving(
    tmp_path: Path, pixi: list[Served], http_server: ChannelServer, run
) -> None:
    env = pixi_env(tmp_path, pixi)
    assert run("lock", "-f", env)[0] == 0
    before = len(http_server.requests)

    rc, _, err = run("lock", "-f", env, "--check")
    assert rc == 0, err
    assert "env.lock.yml: up to date" in err

    rc, out, _ = run("lock", "-f", env, "--check", "--json")
    assert rc == 0
    assert json.loads(out) == {
        "success": True,
        "up_to_date": True,
        "input_hash": explicit_v1.load(tmp_path / "env.lock.yml").input_hash,
        "lockfiles": [str(tmp_path / "env.lock.yml")],
        "missing_platforms": [],
    }

    # a reordered file asks for the same thing
    write_env(env, [c.url for c in pixi], PIXI_DEPS[::-1], PLATFORMS, name="other name")
    assert run("lock", "-f", env, "--check")[0] == 0

    # one more dependency: out of date
    write_env(env, [c.url for c in pixi], [*PIXI_DEPS, "dummy-f"], PLATFORMS, name="demo")
    rc, _, err = run("lock", "-f", env, "--check")
    assert rc == 1
    assert "out of date with" in err and "input hash differs" in err
    assert len(http_server.requests) == before, "--check never touches the network"


def test_check_without_platforms_uses_the_lockfiles(tmp_path: Path, pixi: list[Served], run):
    env = write_env(tmp_path / "env.yml", [pixi[0].url], ["dummy-a"])  # no platforms:
    assert run("lock", "-f", env, "--platform", "win-64", "--platform", "osx-arm64")[0] == 0
    assert explicit_v1.load(tmp_path / "env.lock.yml").platforms == ("win-64", "osx-arm64")
    assert run("lock", "-f", env, "--check")[0] == 0
    assert (
        run("lock", "-f", env, "--check", "--platform", "osx-arm64", "--platform", "win-64")[0] == 0
    )
    rc, _, err = run("lock", "-f", env, "--check", "--platform", "win-64")
    assert rc == 1 and "out of date" in err


def test_check_after_locking_some_of_the_files_platforms(
    tmp_path: Path, pixi: list[Served], run
) -> None:
    """The lockfile answers for the platforms it locks: locking one of the file's two is
    up to date, with a note naming the other."""
    env = write_env(tmp_path / "env.yml", [pixi[0].url], ["dummy-a"], ["linux-64", "win-64"])
    assert run("lock", "-f", env, "--platform", "linux-64")[0] == 0
    rc, out, err = run("lock", "-f", env, "--check")
    assert rc == 0 and "env.lock.yml: up to date" in err
    assert "also lists win-64, which the lockfile does not lock" in err
    rc, out, _ = run("lock", "-f", env, "--check", "--json")
    assert json.loads(out)["missing_platforms"] == ["win-64"]


def test_check_fails_without_a_lockfile(tmp_path: Path, pixi: list[Served], run) -> None:
    env = pixi_env(tmp_path, pixi)
    rc, _, err = run("lock", "-f", env, "--check")
    assert rc == 1
    assert "no such lockfile" in err


# ------------------------------------------------------------------ --format explicit


def test_explicit_format_writes_one_file_per_platform(
    tmp_path: Path, pixi: list[Served], http_server: ChannelServer, run
) -> None:
    env = pixi_env(tmp_path, pixi)
    assert run("lock", "-f", env)[0] == 0
    lock = explicit_v1.load(tmp_path / "env.lock.yml")

    rc, _, err = run("lock", "-f", env, "--format", "explicit")
    assert rc == 0, err
    for platform in PLATFORMS:
        path = tmp_path / f"env.{platform}.explicit.txt"
        lines = path.read_text().splitlines()
        assert f"# platform: {platform}" in lines
        assert f"# input_hash: {lock.input_hash}" in lines
        body = lines[lines.index("@EXPLICIT") + 1 :]
        assert body == [f"{p.url}#sha256:{p.sha256}" for p in lock.packages[platform]]
        assert all(
            re.fullmatch(r"http://127\.0\.0\.1:\d+/\S+#sha256:[0-9a-f]{64}", b) for b in body
        )

    before = len(http_server.requests)
    assert run("lock", "-f", env, "--format", "explicit", "--check")[0] == 0
    assert len(http_server.requests) == before


def test_explicit_format_with_one_output_for_several_platforms_writes_nothing(
    tmp_path: Path, pixi: list[Served], run
) -> None:
    env = pixi_env(tmp_path, pixi)
    rc, _, err = run("lock", "-f", env, "--format", "explicit", "-o", tmp_path / "one.txt")
    assert rc == 1
    assert "{platform}" in err
    assert not (tmp_path / "one.txt").exists()


# ------------------------------------------------------------------ virtual packages


def _cuda_requirement(channel: Path) -> tuple[str, str]:
    """(package name, minimum __cuda version) of the linux-64 package that needs __cuda."""
    for key, entry in upstream_entries(channel).items():
        if key.startswith("linux-64/"):
            for dep in entry.get("depends", []):
                m = re.fullmatch(r"__cuda\s*>=\s*([0-9.]+)", dep)
                if m:
                    return entry["name"], m.group(1)
    raise AssertionError("no package depending on __cuda")


@pytest.fixture
def cuda_env(tmp_path: Path, shared_channel, http_server: ChannelServer):
    channel = shared_channel(VIRTUAL)
    name, minimum = _cuda_requirement(channel)
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/{VIRTUAL}"], [name], ["linux-64"])
    return env, name, minimum


@pytest.mark.parametrize("unset", [True, False], ids=["unset", "empty"])
def test_cuda_package_needs_an_override(
    cuda_env, monkeypatch: pytest.MonkeyPatch, unset: bool
) -> None:
    env, name, minimum = cuda_env
    if unset:
        monkeypatch.delenv("CONDA_OVERRIDE_CUDA", raising=False)
    else:
        monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")
    proc = lock_cli("-f", env)
    assert proc.returncode == 1, proc.stderr  # 1 exactly: not a crash on the way out
    assert "error: cannot solve" in proc.stderr
    assert f"__cuda >={minimum}" in proc.stderr, "the solver's explanation is shown"
    assert name in proc.stderr
    assert not (env.parent / "env.lock.yml").exists()


def test_cuda_override_below_the_requirement_fails(cuda_env, run, monkeypatch) -> None:
    env, _, minimum = cuda_env
    major = int(minimum.split(".")[0])
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", f"{major - 1}.8")
    rc, _, err = run("lock", "-f", env)
    assert rc == 1
    assert "__cuda" in err


def test_cuda_override_lets_it_solve(cuda_env, tmp_path: Path, shared_channel, run, monkeypatch):
    env, name, minimum = cuda_env
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", minimum if "." in minimum else f"{minimum}.0")
    rc, _, err = run("lock", "-f", env)
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert [p.name for p in lock.packages["linux-64"]] == [name]
    assert "__cuda" not in (tmp_path / "env.lock.yml").read_text(), "virtual packages not locked"


def test_a_platform_that_fails_leaves_every_file_untouched(
    cuda_env, tmp_path: Path, run, monkeypatch
) -> None:
    """linux-64 solves with the override, osx-arm64 has no such package: nothing is written."""
    env, _, minimum = cuda_env
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", f"{minimum}.0")
    out = tmp_path / "env.lock.yml"
    out.write_text("previous\n")
    rc, _, err = run("lock", "-f", env, "--platform", "linux-64", "--platform", "osx-arm64")
    assert rc == 1
    assert "osx-arm64" in err
    assert out.read_text() == "previous\n"
    rc, _, err = run(
        "lock",
        "-f",
        env,
        "--platform",
        "linux-64",
        "--platform",
        "osx-arm64",
        "--format",
        "explicit",
    )
    assert rc == 1
    assert not (tmp_path / "env.linux-64.explicit.txt").exists()


# ------------------------------------------------------------------ unsatisfiable


@pytest.fixture
def recipes(shared_channel, http_server: ChannelServer) -> Served:
    return Served(f"{http_server.url}/{RECIPES}", shared_channel(RECIPES))


def test_unsatisfiable_explains_and_writes_nothing(tmp_path: Path, recipes: Served) -> None:
    good = write_env(tmp_path / "env.yml", [recipes.url], ["dependent"], ["linux-64"])
    assert lock_cli("-f", good).returncode == 0
    out = tmp_path / "env.lock.yml"
    previous = out.read_bytes()

    write_env(good, [recipes.url], ["unsatisfiable"], ["linux-64"])
    proc = lock_cli("-f", good)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "error: cannot solve" in proc.stderr
    assert "unsatisfiable" in proc.stderr and "versioned <1.0" in proc.stderr
    assert out.read_bytes() == previous, "the previous lockfile is left untouched"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["env.lock.yml", "env.yml"]

    proc = lock_cli("-f", good, "-o", tmp_path / "new" / "x.lock.yml")
    assert proc.returncode == 1
    assert not (tmp_path / "new").exists()


def test_constrains_are_honoured(tmp_path: Path, recipes: Served, run) -> None:
    """run_constrained constrains dependency >=2.0, which dependent 1.* cannot have."""
    env = write_env(tmp_path / "env.yml", [recipes.url], ["dependent 1.*", "run_constrained"])
    rc, _, err = run("lock", "-f", env, "--platform", "linux-64")
    assert rc == 1
    assert "run_constrained" in err and "dependency" in err


def test_noarch_only_channel_locks_for_linux_64(
    tmp_path: Path, recipes: Served, http_server: ChannelServer, run
) -> None:
    """conda-test-recipes has noarch and *-fake subdirs only: its linux-64 answers 404."""
    deps = ["another_dependent", "run_constrained", "sample_noarch_python"]
    env = write_env(tmp_path / "env.yml", [recipes.url], deps, ["linux-64"])
    rc, _, err = run("lock", "-f", env)
    assert rc == 0, err
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    ordered = check_against_upstream(lock, [recipes])
    packages = lock.packages["linux-64"]
    assert {p.subdir for p in packages} == {"noarch"}
    assert names_versions(packages) == {
        "dependency": "2.0",
        "dependent": "2.0",
        "another_dependent": "2.0",
        "run_constrained": "1.0",
        "python": "3.99.99",
        "pip": "99.99.99",  # conda adds pip to python's dependencies; so do we
        "sample_noarch_python": "1.0",
    }
    assert [p.name for p in ordered["linux-64"]].index("python") < [
        p.name for p in ordered["linux-64"]
    ].index("sample_noarch_python")
    assert repodata_gets(http_server)[f"/{RECIPES}/linux-64/repodata.json"] == [404]


def test_a_channel_with_no_repodata_at_all_is_an_error(
    tmp_path: Path, http_server: ChannelServer, run
) -> None:
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/nothing-here"], ["x"])
    rc, _, err = run("lock", "-f", env, "--platform", "linux-64")
    assert rc == 1
    assert "no repodata for linux-64 or noarch" in err


# ------------------------------------------------------------------ credentials


TOKEN = "secret123"


def test_token_channel_never_leaks(tmp_path: Path, shared_channel) -> None:
    shared_channel(DUMMY)
    shared_channel(RECIPES)
    cache = tmp_path / "cache"
    with ChannelServer(tmp_path / "served", token=TOKEN) as server:
        assert TOKEN in server.url
        env = write_env(
            tmp_path / "env.yml", [f"{server.url}/{DUMMY}"], ["dummy-a"], ["linux-64", "win-64"]
        )
        runs = [
            lock_cli("-f", env, "--cache-dir", cache),
            lock_cli("-f", env, "--cache-dir", cache, "--json"),
            lock_cli("-f", env, "--cache-dir", cache, "--format", "explicit"),
            lock_cli("-f", env, "--cache-dir", cache, "--check"),
        ]
        assert [p.returncode for p in runs] == [0, 0, 0, 0], [p.stderr for p in runs]
        # (the channel has no repodata.json.zst: asking for it is the only 404)
        assert {st for _, path, _, st in server.requests if not path.endswith(".zst")} <= {
            200,
            304,
        }

        # failures, too: an unsatisfiable request and a wrong token
        bad = write_env(
            tmp_path / "bad.yml", [f"{server.url}/{RECIPES}"], ["unsatisfiable"], ["linux-64"]
        )
        runs.append(lock_cli("-f", bad, "--cache-dir", cache))
        wrong = server.url.replace(TOKEN, "wrongtoken456")
        bad2 = write_env(tmp_path / "bad2.yml", [f"{wrong}/{DUMMY}"], ["dummy-a"], ["linux-64"])
        runs.append(lock_cli("-f", bad2, "--cache-dir", cache))
        runs.append(lock_cli("-f", bad2, "--cache-dir", cache, "--json"))
        assert [p.returncode for p in runs[4:]] == [1, 1, 1]
        assert "HTTP 401" in runs[5].stderr

    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert lock.channels == (f"http://127.0.0.1:{server.port}/{DUMMY}",)
    assert all(
        p.url.startswith(f"http://127.0.0.1:{server.port}/{DUMMY}/")
        for p in lock.packages["linux-64"]
    )
    written = [p for p in tmp_path.iterdir() if p.is_file() and p.name != "env.yml"]
    written += [p for p in cache.rglob("*") if p.is_file()]
    assert len(written) >= 5
    for path in written:
        if path.name not in ("env.yml", "bad.yml", "bad2.yml"):
            assert TOKEN.encode() not in path.read_bytes(), path
    for proc in runs:
        for secret in (TOKEN, "wrongtoken456"):
            assert secret not in proc.stdout and secret not in proc.stderr


# ------------------------------------------------------------------ --json


def test_json_output(tmp_path: Path, pixi: list[Served], recipes: Served) -> None:
    env = pixi_env(tmp_path, pixi)
    proc = lock_cli("-f", env, "--json")
    assert proc.returncode == 0
    assert proc.stderr == ""
    doc = json.loads(proc.stdout)
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert doc == {
        "success": True,
        "format": "explicit-1.0",
        "input_hash": lock.input_hash,
        "lockfiles": [str(tmp_path / "env.lock.yml")],
        "platforms": {p: 7 for p in PLATFORMS},
    }

    bad = write_env(tmp_path / "bad.yml", [recipes.url], ["unsatisfiable"], ["linux-64"])
    proc = lock_cli("-f", bad, "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["success"] is False
    assert doc["error_type"] == "SolveError"
    assert "versioned <1.0" in doc["error"]

    proc = lock_cli("-f", tmp_path / "missing.yml", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error_type"] == "SpecError"


# ------------------------------------------------------------------ repodata cache


def test_repodata_is_fetched_once_per_run_then_revalidated(
    tmp_path: Path, pixi: list[Served], recipes: Served, http_server: ChannelServer, run
) -> None:
    env = write_env(
        tmp_path / "env.yml",
        [c.url for c in pixi] + [recipes.url],
        ["dummy-a", "package", "dependency"],
        PLATFORMS,
    )
    assert run("lock", "-f", env)[0] == 0
    first = repodata_gets(http_server)
    expected = {}
    for channel in (DUMMY, VERSIONS, RECIPES):
        for subdir in (*PLATFORMS, "noarch"):
            missing = channel == RECIPES and subdir != "noarch"
            expected[f"/{channel}/{subdir}/repodata.json"] = [404 if missing else 200]
    assert first == expected, "each repodata.json once per run, noarch too"
    lockfile = (tmp_path / "env.lock.yml").read_bytes()

    start = len(http_server.requests)
    assert run("lock", "-f", env)[0] == 0
    second = repodata_gets(http_server, start)
    # the server answers 304 only to a matching If-None-Match: the cached copy is used
    assert second == {p: [404 if s == [404] else 304] for p, s in expected.items()}
    assert (tmp_path / "env.lock.yml").read_bytes() == lockfile


def test_offline_uses_the_cache_only(tmp_path: Path, shared_channel, run) -> None:
    shared_channel(RECIPES)
    with ChannelServer(tmp_path / "served") as server:
        env = write_env(tmp_path / "env.yml", [f"{server.url}/{RECIPES}"], ["dependent"])
        rc, _, err = run("lock", "-f", env, "--platform", "linux-64")
        assert rc == 0, err
        seen = len(server.requests)
    online = (tmp_path / "env.lock.yml").read_bytes()
    (tmp_path / "env.lock.yml").unlink()
    # the server is gone: --offline still locks, from the cache (linux-64's 404 included)
    rc, _, err = run("lock", "-f", env, "--platform", "linux-64", "--offline")
    assert rc == 0, err
    assert (tmp_path / "env.lock.yml").read_bytes() == online
    assert len(server.requests) == seen
    # a platform never fetched is not in the cache
    rc, _, err = run("lock", "-f", env, "--platform", "osx-arm64", "--offline")
    assert rc == 1
    assert "not in the cache and --offline was given" in err


# ------------------------------------------------------------------ process exit


def test_no_solver_thread_is_left_inside_python_after_a_solve(
    tmp_path: Path, shared_channel
) -> None:
    """py-rattler hands its result over from a tokio thread; once the solve returns, that
    thread must be done with Python, or an exiting interpreter kills it mid-call and the
    process dies with SIGSEGV/SIGABRT (seen as exit status 139/134 instead of 0 or 1)."""
    from conda_vendor_plugin.solve.rattler import RattlerBackend

    channel = shared_channel(DUMMY)
    spec = load_spec(write_env(tmp_path / "env.yml", [channel.as_uri()], ["dummy-a"]))
    backend = RattlerBackend(cache_dir=tmp_path / "cache")
    me = threading.get_ident()
    for _ in range(1000):
        backend.solve(spec, "linux-64")
        inside = [
            tid
            for tid, frame in sys._current_frames().items()
            if tid != me and _in_call_soon_threadsafe(frame)
        ]
        assert inside == []


def _in_call_soon_threadsafe(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_name in ("call_soon_threadsafe", "_write_to_self"):
            return True
        frame = frame.f_back
    return False


def test_exit_status_is_exact_after_a_failed_solve(cuda_env) -> None:
    env, _, _ = cuda_env
    statuses = {lock_cli("-f", env).returncode for _ in range(4)}
    assert statuses == {1}
