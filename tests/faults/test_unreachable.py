"""A channel that cannot be reached is the channel's answer, said once, in words (issue 16
item 5, issue 20 "ChannelUnreachable channel, wrong diagnosis"; docs/security.md).

Against real loopback sockets: a server that accepts and never answers (every request
waits longer than the read timeout), a port nobody listens on, scripted statuses and
redirects. Time is never measured: the requests each endpoint saw are counted.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from conda_vendor_plugin.errors import DownloadError
from conda_vendor_plugin.transport.download import Downloader, DownloadJob
from conda_vendor_plugin.transport.session import RetryPolicy, make_session

from ..support.build import Pkg, build_channel
from ..support.condarun import conda, conda_environ, no_traceback
from ..support.hostile import write_lockfile
from ..support.server import ChannelServer
from ..support.vendoring import write_env

pytest.importorskip("rattler")

TRIES = 3
POLICY = {
    "CONDA_REMOTE_MAX_RETRIES": str(TRIES - 1),
    "CONDA_REMOTE_BACKOFF_FACTOR": "0",
    "CONDA_REMOTE_READ_TIMEOUT_SECS": "0.5",
    "CONDA_REMOTE_CONNECT_TIMEOUT_SECS": "2",
}
INDEX = "repodata_shards.msgpack.zst"
FN = "big-1.0-0.tar.bz2"
MISDIAGNOSES = ("listed in none", "lock again", "SolveError", "cannot solve", "Traceback")


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in POLICY.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    return build_channel(tmp_path / "served" / "ch", [Pkg("big")])


@pytest.fixture
def stalled(tmp_path: Path, channel: Path) -> Iterator[ChannelServer]:
    """Accepts every connection and answers none within the read timeout."""
    with ChannelServer(tmp_path / "served", latency=30) as srv:
        yield srv


@pytest.fixture
def refused() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _lock(tmp_path: Path, channel: Path, base: str) -> Path:
    entry = json.loads((channel / "noarch" / "repodata.json").read_text())["packages"][FN]
    return write_lockfile(
        tmp_path / "lock", "explicit-1.0", f"{base}/ch", f"{base}/ch/noarch/{FN}", entry
    )


def _one_line_naming(error: str, channel: str, what: str) -> None:
    assert "\n" not in error.strip() and error.count("cannot reach") == 1, error
    assert f"{channel}: cannot reach the channel: {what}" in error, error
    assert f"gave up after {TRIES} tries" in error, error
    assert not any(m in error for m in MISDIAGNOSES), error


def _paths(server: ChannelServer) -> Counter[str]:
    return Counter(path.split("?")[0] for path, _ in server.seen)


# ------------------------------------------------------------------ standalone


@pytest.mark.parametrize(("shards", "first"), [("true", INDEX), ("false", "repodata.json.zst")])
def test_a_stalled_channel_is_tried_once_per_subdir_endpoint_not_per_file(
    stalled: ChannelServer,
    channel: Path,
    tmp_path: Path,
    run,
    policy,
    monkeypatch: pytest.MonkeyPatch,
    shards: str,
    first: str,
) -> None:
    """The first endpoint of each subdir (the shard index; without shards,
    repodata.json.zst) is asked TRIES times; then the channel's answer is given, once.
    repodata.json.zst and repodata.json are not asked for after the shard index."""
    monkeypatch.setenv("CONDA_REPODATA_USE_SHARDS", shards)
    lock = _lock(tmp_path, channel, stalled.url)
    rc, stdout, err = run("vendor", "--lockfile", lock, "-o", tmp_path / "OUT", "--json")
    assert rc == 1 and "Traceback" not in err
    _one_line_naming(json.loads(stdout)["error"], f"{stalled.url}/ch", "timed out")
    seen = _paths(stalled)
    assert set(seen) <= {f"/ch/noarch/{first}", f"/ch/linux-64/{first}"}, seen
    assert max(seen.values()) == TRIES and all(n <= TRIES for n in seen.values()), seen
    assert not (tmp_path / "OUT").exists()


@pytest.mark.parametrize(("shards", "first"), [("true", INDEX), ("false", "repodata.json.zst")])
def test_a_stalled_channel_fails_a_solve_once_too(
    stalled: ChannelServer,
    channel: Path,
    tmp_path: Path,
    run,
    policy,
    monkeypatch: pytest.MonkeyPatch,
    shards: str,
    first: str,
) -> None:
    """Both subdirs are asked at once: the channel is still named once."""
    monkeypatch.setenv("CONDA_REPODATA_USE_SHARDS", shards)
    env = write_env(tmp_path / "env.yml", [f"{stalled.url}/ch"], ["big"])
    rc, stdout, err = run("lock", "-f", env, "--platform", "linux-64", "--json")
    assert rc == 1 and "Traceback" not in err
    _one_line_naming(json.loads(stdout)["error"], f"{stalled.url}/ch", "timed out")
    assert set(_paths(stalled)) <= {f"/ch/noarch/{first}", f"/ch/linux-64/{first}"}


def test_a_refused_connection_is_named_as_one(
    refused: str, channel: Path, tmp_path: Path, run, policy
) -> None:
    lock = _lock(tmp_path, channel, refused)
    rc, stdout, err = run("vendor", "--lockfile", lock, "-o", tmp_path / "OUT", "--json")
    assert rc == 1 and "Traceback" not in err
    _one_line_naming(json.loads(stdout)["error"], f"{refused}/ch", "connection refused")


def test_a_redirect_to_a_local_file_is_not_tried_again(
    http_server: ChannelServer, channel: Path, tmp_path: Path, run, policy
) -> None:
    """No other try can change a redirect to file://: asked once, then repodata.json."""
    http_server.fail(f"/ch/noarch/{INDEX}", "redirect:file:///etc/hostname")
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["big"])
    rc, _, err = run("lock", "-f", env, "--platform", "linux-64")
    assert rc == 0, err
    assert http_server.count(f"/ch/noarch/{INDEX}") == 1


def test_an_archive_redirected_to_a_local_file_is_asked_for_once(
    http_server: ChannelServer, channel: Path, tmp_path: Path
) -> None:
    """The downloader follows the same mapping: a redirect to file:// is final."""
    path = f"/ch/noarch/{FN}"
    http_server.fail(path, "redirect:file:///etc/hostname")
    e = json.loads((channel / "noarch" / "repodata.json").read_text())["packages"][FN]
    job = DownloadJob(url=f"{http_server.url}{path}", dest=tmp_path / "d" / FN, size=e["size"],
                      sha256=e["sha256"], md5=e["md5"], label="big-1.0-0 (noarch)")  # fmt: skip
    with pytest.raises(DownloadError) as exc:
        Downloader(lambda u: make_session(), policy=RetryPolicy(tries=TRIES, backoff=0)).run([job])
    assert "redirected" in str(exc.value) and "tries" not in str(exc.value)
    assert http_server.count(path) == 1
    assert not (tmp_path / "d" / FN).exists()


def test_archives_of_a_server_that_stopped_answering_are_not_each_tried_again(
    http_server: ChannelServer, tmp_path: Path
) -> None:
    """The first archive's tries all got no answer: that is the server's answer, and the
    other archives there fail at once (run again to resume) instead of TRIES each."""
    chan = build_channel(tmp_path / "served" / "ch", [Pkg(n) for n in ("a", "b", "c")])
    entries = json.loads((chan / "noarch" / "repodata.json").read_text())["packages"]
    jobs = []
    for fn, e in sorted(entries.items()):
        for _ in range(TRIES):
            http_server.fail(f"/ch/noarch/{fn}", "stall:30")
        url = f"{http_server.url}/ch/noarch/{fn}"
        job = DownloadJob(url, tmp_path / "d" / fn, e["size"], e["sha256"], e["md5"], label=fn)
        jobs.append(job)
    policy = RetryPolicy(tries=TRIES, backoff=0, read_timeout=0.5)
    with pytest.raises(DownloadError) as exc:
        Downloader(lambda u: make_session(), jobs=1, policy=policy).run(jobs)
    server = f"http://127.0.0.1:{http_server.port}"
    assert str(exc.value).startswith(f"{server}: cannot reach the server: timed out")
    assert str(exc.value).count("cannot reach") == 1 and "3 of 3 archives failed" in str(exc.value)
    assert [p for _, p, _, _ in http_server.requests] == [f"/ch/noarch/{jobs[0].dest.name}"] * TRIES


@pytest.mark.parametrize(("status", "gets", "rc"), [("408", 2, 0), ("410", 1, 1)])
def test_408_is_tried_again_and_other_4xx_are_final(
    http_server: ChannelServer,
    channel: Path,
    tmp_path: Path,
    run,
    policy,
    status: str,
    gets: int,
    rc: int,
) -> None:
    rd = "/ch/noarch/repodata.json"
    http_server.fail(rd + ".zst", "404")
    http_server.fail(rd, status)
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["big"])
    got, stdout, _ = run("lock", "-f", env, "--platform", "linux-64", "--json")
    assert got == rc, stdout
    assert http_server.count(rd) == gets
    if rc:
        assert f"HTTP {status}" in json.loads(stdout)["error"]


# ------------------------------------------------------------------ inside conda


@pytest.fixture
def conda_env(tmp_path: Path) -> dict[str, str]:
    pytest.importorskip("conda")
    return {**conda_environ(tmp_path), **POLICY, "NO_PROXY": "127.0.0.1"}


def _one_conda_line(proc: subprocess.CompletedProcess[str], channel: str, what: str) -> None:
    """Exit 1, no retry line, no misdiagnosis: one line naming the channel and the cause."""
    no_traceback(proc)
    assert proc.returncode == 1
    assert "Retrying" not in proc.stderr, proc.stderr
    error = [line for line in proc.stderr.splitlines() if "cannot reach" in line]
    assert len(error) == 1, proc.stderr
    assert f"{channel}: cannot reach the channel: {what}" in error[0]
    assert not any(m in proc.stdout + proc.stderr for m in MISDIAGNOSES), proc.stderr


@pytest.mark.parametrize("shards", ["true", "false"])
def test_inside_conda_vendor_of_a_lockfile_with_the_channel_down_is_one_line(
    refused: str, channel: Path, tmp_path: Path, conda_env: dict[str, str], shards: str
) -> None:
    """With conda's sharded repodata (its shard index is asked first) and without."""
    lock = _lock(tmp_path, channel, refused)
    conda_env = {**conda_env, "CONDA_REPODATA_USE_SHARDS": shards}
    proc = conda(conda_env, "vendor", "--lockfile", lock, "-o", tmp_path / "OUT")
    _one_conda_line(proc, f"{refused}/ch", "connection refused")


def test_inside_conda_env_lock_with_the_channel_down_is_one_line(
    refused: str, tmp_path: Path, conda_env: dict[str, str]
) -> None:
    env = write_env(tmp_path / "env.yml", [f"{refused}/ch"], ["big"])
    proc = conda(conda_env, "env", "lock", "-f", env)
    _one_conda_line(proc, f"{refused}/ch", "connection refused")
    assert not (tmp_path / "env.lock.yml").exists()


def test_inside_conda_a_stalled_channel_is_not_asked_again_for_each_file(
    stalled: ChannelServer, channel: Path, tmp_path: Path, conda_env: dict[str, str]
) -> None:
    lock = _lock(tmp_path, channel, stalled.url)
    proc = conda(conda_env, "vendor", "--lockfile", lock, "-o", tmp_path / "OUT")
    _one_conda_line(proc, f"{stalled.url}/ch", "timed out")
    seen = _paths(stalled)
    assert all(n <= TRIES for n in seen.values()), seen
    assert sum(seen.values()) <= 2 * TRIES, seen  # one endpoint of each subdir at most
