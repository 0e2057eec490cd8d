"""Network faults, against a real loopback server with the fault injected: malformed and
truncated repodata, stalls, Retry-After, cuts without a length, persistent 5xx, Ctrl-C.

One retry layer (docs/security.md): every request the server sees is one the message
counts; nothing bad is cached; a clean rerun works.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conda_vendor_plugin.errors import DownloadError
from conda_vendor_plugin.transport.download import Downloader, DownloadJob
from conda_vendor_plugin.transport.session import RetryPolicy, make_session

from ..support.build import Pkg, build_channel
from ..support.condarun import conda_environ
from ..support.hostile import add_entry
from ..support.interrupt import interrupt_when
from ..support.server import ChannelServer
from ..support.vendoring import write_env

pytest.importorskip("rattler")

RD = "/ch/noarch/repodata.json"
ARCHIVE = "/ch/noarch/big-1.0-0.tar.bz2"
FAST = {"CONDA_REMOTE_BACKOFF_FACTOR": "0", "CONDA_REMOTE_READ_TIMEOUT_SECS": "1"}


@pytest.fixture
def env(http_server: ChannelServer, tmp_path: Path) -> Path:
    build_channel(tmp_path / "served" / "ch", [Pkg("big", payload_size=200_000)])
    return write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["big"])


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry without waiting, and call a second of silence a stall."""
    for k, v in FAST.items():
        monkeypatch.setenv(k, v)


def _no_zst(server: ChannelServer) -> None:
    for sd in ("linux-64", "noarch"):
        server.fail(f"/ch/{sd}/repodata.json.zst", "404")


def _gets(server: ChannelServer, path: str) -> list[int]:
    return [st for m, p, _, st in server.requests if m == "GET" and p == path]


def _cached_files(home: Path) -> list[Path]:
    return [p for p in (home / ".cache").rglob("*") if p.is_file()]


# ------------------------------------------------------------------ repodata (items 8, 9)


def test_an_html_page_instead_of_repodata_is_one_line(
    env: Path, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    _no_zst(http_server)
    http_server.fail(RD, "html")
    rc, stdout, stderr = run("lock", "-f", env, "--platform", "linux-64", "--json")
    assert rc == 1 and "Traceback" not in stderr
    doc = json.loads(stdout)
    assert doc["error_type"] == "ChannelError"
    assert f"{http_server.url}/ch/noarch/repodata.json" in doc["error"]
    assert "HTML page" in doc["error"] and "proxy" in doc["error"]
    assert not (tmp_path / "env.lock.yml").exists()


@pytest.mark.parametrize(
    ("field", "value"), [("size", "abc"), ("sha256", "zz"), ("md5", 5)], ids=str
)
def test_a_malformed_record_names_channel_subdir_and_package(
    http_server: ChannelServer, tmp_path: Path, run, field: str, value: object
) -> None:
    chan = build_channel(tmp_path / "served" / "ch", [Pkg("good")])
    add_entry(chan, "noarch", "bad-1.0-0.tar.bz2", b"x", name="bad", version="1.0", build="0",
              **{field: value})  # fmt: skip
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["bad"])
    rc, stdout, stderr = run(
        "vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--json"
    )
    assert rc == 1 and "Traceback" not in stderr
    error = json.loads(stdout)["error"]
    assert f"{http_server.url}/ch/noarch/repodata.json" in error and "'bad'" in error


@pytest.mark.parametrize("fault", ["cut:300", "cutnolen:300"])
def test_truncated_repodata_is_retried_and_never_cached(
    env: Path, http_server: ChannelServer, tmp_path: Path, run, fast, fault: str
) -> None:
    _no_zst(http_server)
    http_server.fail(RD, fault)
    rc, _, stderr = run("lock", "-f", env, "--platform", "linux-64")
    assert rc == 0, stderr
    assert _gets(http_server, RD) == [200, 200]  # the cut, then a whole document


def test_persistently_truncated_repodata_fails_and_the_next_run_refetches(
    env: Path, http_server: ChannelServer, tmp_path: Path, run, fast
) -> None:
    _no_zst(http_server)
    for _ in range(4):
        http_server.fail(RD, "cutnolen:300")
    rc, stdout, _ = run("lock", "-f", env, "--platform", "linux-64", "--json")
    assert rc == 1
    error = json.loads(stdout)["error"]
    assert "ended early" in error and "gave up after 4 tries" in error
    assert _gets(http_server, RD) == [200] * 4
    # Nothing was cached with the server's ETag: the next run asks without one and works.
    start = len(http_server.requests)
    _no_zst(http_server)
    rc, _, stderr = run("lock", "-f", env, "--platform", "linux-64")
    assert rc == 0, stderr
    assert [st for _, p, _, st in http_server.requests[start:] if p == RD] == [200]


# ------------------------------------------------------------------ archives (item 10)


def _job(
    server: ChannelServer, root: Path, dest: Path, fn: str = "big-1.0-0.tar.bz2"
) -> DownloadJob:
    rd = json.loads((root / "ch" / "noarch" / "repodata.json").read_text())
    e = rd["packages"][fn]
    return DownloadJob(
        url=f"{server.url}/ch/noarch/{fn}",
        dest=dest / fn,
        size=e["size"],
        sha256=e["sha256"],
        md5=e["md5"],
        label=f"{fn} (noarch)",
    )


def test_a_server_that_never_answers_costs_the_policy_not_minutes(
    env: Path, http_server: ChannelServer, tmp_path: Path
) -> None:
    for _ in range(3):
        http_server.fail(ARCHIVE, "stall:20")
    policy = RetryPolicy(tries=3, backoff=0, read_timeout=0.5)
    with pytest.raises(DownloadError) as exc:
        Downloader(lambda u: make_session(), policy=policy).run(
            [_job(http_server, tmp_path / "served", tmp_path / "d")]
        )
    assert "gave up after 3 tries" in str(exc.value) and "Timeout" in str(exc.value)
    assert len(_gets(http_server, ARCHIVE)) == 3
    # Each try hung up on its own read timeout while the server was still stalling.
    assert http_server.wait_holds(3) == ["hung up"] * 3


def test_a_drip_is_a_stall(env: Path, http_server: ChannelServer, tmp_path: Path) -> None:
    build_channel(
        tmp_path / "served" / "ch",
        [Pkg("big", payload_size=200_000), Pkg("small", payload_size=3000)],
    )
    job = _job(http_server, tmp_path / "served", tmp_path / "d", "small-1.0-0.tar.bz2")
    assert job.size is not None and job.size > 3000  # a whole drip takes 30 s
    http_server.fail(job.url.removeprefix(http_server.url), "drip:0.01")  # 100 bytes a second
    policy = RetryPolicy(tries=1, backoff=0, min_rate=10_000, rate_window=1.0)
    with pytest.raises(DownloadError, match="stalled"):  # not the whole file, slowly
        Downloader(lambda u: make_session(), policy=policy).run([job])
    assert list((tmp_path / "d").glob("*.partial"))  # kept: a rerun resumes


def test_retry_after_is_obeyed_within_its_cap_and_reported(
    env: Path, http_server: ChannelServer, tmp_path: Path, run, fast
) -> None:
    http_server.fail(ARCHIVE, "retry-after:1")
    rc, _, stderr = run("vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64")
    assert rc == 0, stderr
    assert "asks to retry after 1 s" in stderr
    # The server answers "too early" (503) to a retry within the second it asked for.
    assert _gets(http_server, ARCHIVE) == [503, 200]


def test_a_retry_after_past_the_cap_ends_at_once(
    env: Path, http_server: ChannelServer, tmp_path: Path, run, fast
) -> None:
    http_server.fail(ARCHIVE, "retry-after:45")  # the cap is 30 s (all waits: 60 s)
    rc, stdout, stderr = run(
        "vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--json"
    )
    assert rc == 1
    error = json.loads(stdout)["error"]
    assert "retry after 45 s" in error and "try again later" in error
    assert _gets(http_server, ARCHIVE) == [503]  # no wait, no second try
    assert "asks to retry after" not in stderr  # said when a wait begins


def test_a_cut_without_content_length_is_resumed(
    env: Path, http_server: ChannelServer, tmp_path: Path, run, fast
) -> None:
    http_server.fail(ARCHIVE, "cutnolen:50000")
    rc, stdout, stderr = run(
        "vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--json"
    )
    assert rc == 0, stderr
    ranges = [rng for m, p, rng, _ in http_server.requests if p == ARCHIVE]
    assert ranges == [None, "bytes=50000-"]
    assert json.loads(stdout)["archives"] == {"resumed": 1}


def test_persistent_5xx_makes_exactly_the_tries_it_reports(
    env: Path, http_server: ChannelServer, tmp_path: Path, run, fast, monkeypatch
) -> None:
    monkeypatch.setenv("CONDA_REMOTE_MAX_RETRIES", "2")
    for _ in range(5):
        http_server.fail(ARCHIVE, "500")
    rc, stdout, _ = run("vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--json")
    assert rc == 1
    assert "gave up after 3 tries" in json.loads(stdout)["error"]
    assert _gets(http_server, ARCHIVE) == [500, 500, 500]


def test_every_missing_archive_is_reported(http_server: ChannelServer, tmp_path: Path, run) -> None:
    names = [f"p{i}" for i in range(4)]
    build_channel(tmp_path / "served" / "ch", [Pkg(n) for n in names])
    for n in ("p0", "p2", "p3"):
        (tmp_path / "served" / "ch" / "noarch" / f"{n}-1.0-0.tar.bz2").unlink()
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], names)
    rc, stdout, _ = run("vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--json")
    assert rc == 1
    doc = json.loads(stdout)
    assert doc["error"].startswith("3 of 4 archives failed")
    assert [f.split(":")[0] for f in doc["failures"]] == [
        "p0-1.0-0 (noarch)",
        "p2-1.0-0 (noarch)",
        "p3-1.0-0 (noarch)",
    ]


def test_ctrl_c_in_a_stalled_read_stops_while_the_reads_are_stalled(tmp_path: Path) -> None:
    names = [f"p{i}-1.0-0.tar.bz2" for i in range(3)]
    build_channel(
        tmp_path / "served" / "ch", [Pkg(f"p{i}", payload_size=100_000) for i in range(3)]
    )
    out, staging = tmp_path / "OUT", tmp_path / ".OUT.staging"

    def all_reading() -> bool:  # every archive has bytes on disk: the rest never comes
        parts = list(staging.rglob("*.partial"))
        return len(parts) == 3 and all(p.stat().st_size > 0 for p in parts)

    with ChannelServer(tmp_path / "served") as srv:
        for fn in names:
            srv.fail(f"/ch/noarch/{fn}", "hold:50000")  # then nothing: every read blocks
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/ch"], [f"p{i}" for i in range(3)])
        run = interrupt_when(
            ["vendor", env, "-o", out, "--platform", "linux-64"], all_reading, settle=0
        )
        # The command ended, and so its connections, while the server still held every read.
        assert srv.wait_holds(3) == ["hung up"] * 3
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in staging.rglob("*.partial")) == [f"{n}.partial" for n in names]


def test_an_interrupted_run_leaves_no_download_running(
    env: Path, http_server: ChannelServer, tmp_path: Path
) -> None:
    """In-process (as inside conda): once run() is interrupted, every worker thread ends,
    even one blocked in a read, while that read would still block: nothing writes after
    the caller moved on."""
    import threading

    http_server.fail(ARCHIVE, "hold:50000")  # then nothing: the read blocks
    job = _job(http_server, tmp_path / "served", tmp_path / "d")
    partial = job.dest.with_name(job.dest.name + ".partial")

    def interrupt_once_reading() -> None:
        while not (partial.exists() and partial.stat().st_size > 0):
            time.sleep(0.01)
        signal.raise_signal(signal.SIGINT)

    threading.Thread(target=interrupt_once_reading, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        Downloader(lambda u: make_session()).run([job])
    for t in threading.enumerate():
        if t.name.startswith("download-"):
            t.join()
    # The worker closed its connection while the server was still holding the read.
    assert http_server.wait_holds(1) == ["hung up"]


def test_conda_vendor_makes_exactly_the_tries_it_reports(
    env: Path, http_server: ChannelServer, tmp_path: Path
) -> None:
    """Inside conda, conda's own adapter would retry 500s under our loop (4 x 4 requests):
    one layer, with conda's retry settings."""
    pytest.importorskip("conda")
    for _ in range(8):
        http_server.fail(ARCHIVE, "500")
    environ = {
        **conda_environ(tmp_path, "classic"),
        "CONDA_REMOTE_MAX_RETRIES": "2",
        "CONDA_REMOTE_BACKOFF_FACTOR": "0",
        "NO_PROXY": "127.0.0.1",
    }
    argv = ["vendor", str(env), "-o", str(tmp_path / "OUT"), "--platform", "linux-64", "--json"]
    proc = subprocess.run([sys.executable, "-m", "conda", *argv], capture_output=True,
                          text=True, env=environ, timeout=300)  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "gave up after 3 tries" in proc.stdout
    assert _gets(http_server, ARCHIVE) == [500, 500, 500]
