"""The Downloader on its own, against a real loopback HTTP server and real archives.

Every channel here is built by ``tests/support/build.py`` (real ``.tar.bz2`` / ``.conda``
archives of about 200 KB, repodata with their real sha256/md5/size) and served by
``tests/support/server.py``, whose scripted faults (500, 404, corrupt bytes, a
connection cut mid-file) hit real sockets. Nothing is mocked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from conda_vendor_plugin.errors import DownloadError
from conda_vendor_plugin.integrity import file_problem
from conda_vendor_plugin.transport.download import Downloader, DownloadJob, DownloadResult
from conda_vendor_plugin.transport.session import RetryPolicy, make_session

from .support.build import Pkg, build_channel
from .support.server import ChannelServer

SIZE = 200_000  # bytes of incompressible payload: archives of roughly 200 KB
NO_WAIT = RetryPolicy(backoff=0)  # retry without waiting: these tests count requests


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served")


@pytest.fixture(scope="module")
def srv(served: Path):
    """One server for the module (each server takes ~0.5 s to shut down). Every test
    builds its own channel under it and looks only at that channel's requests."""
    with ChannelServer(served) as server:
        yield server


@pytest.fixture
def chan(served: Path, request: pytest.FixtureRequest) -> Path:
    """This test's channel directory (empty; named after the test, so unique)."""
    path = served / re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)
    path.mkdir()
    return path


@pytest.fixture
def big() -> Pkg:
    return Pkg("big", payload_size=SIZE)


@pytest.fixture(params=[make_session, requests.Session], ids=["make_session", "requests"])
def any_session(request: pytest.FixtureRequest):
    """Both sessions a Downloader meets: ours (no retries of its own) and a plain one."""
    with request.param() as session:
        yield session


def _entry(root: Path, pkg: Pkg) -> dict:
    doc = json.loads((root / pkg.subdir / "repodata.json").read_text())
    section = "packages.conda" if pkg.fn.endswith(".conda") else "packages"
    return doc[section][pkg.fn]


def _path(root: Path, pkg: Pkg) -> str:
    return f"/{root.name}/{pkg.subdir}/{pkg.fn}"


def _job(base_url: str, root: Path, pkg: Pkg, dest_dir: Path, **override) -> DownloadJob:
    e = _entry(root, pkg)
    fields = {
        "url": f"{base_url}{_path(root, pkg)}",
        "dest": dest_dir / pkg.fn,
        "size": e["size"],
        "sha256": e["sha256"],
        "md5": e["md5"],
        "label": f"{pkg.name}-{pkg.version}-{pkg.build} ({pkg.subdir})",
    }
    fields.update(override)
    return DownloadJob(**fields)


def _failing(
    srv: ChannelServer, chan: Path, pkg: Pkg, dest_dir: Path, *faults: str
) -> tuple[Path, DownloadJob]:
    """A channel at ``chan`` holding ``pkg``, whose next GETs of it meet ``faults`` in
    turn (see tests/support/server.py), and a job for it: ``(channel root, job)``."""
    root = build_channel(chan, [pkg])
    for fault in faults:
        srv.fail(_path(root, pkg), fault)
    return root, _job(srv.url, root, pkg, dest_dir)


def _gets(server: ChannelServer, root: Path, pkg: Pkg) -> list[tuple[str | None, int]]:
    """``(Range header, status)`` of every GET of ``pkg``'s archive, in order."""
    return [(rng, st) for m, p, rng, st in server.requests if m == "GET" and p == _path(root, pkg)]


def _channel_requests(server: ChannelServer, root: Path) -> list[tuple]:
    return [r for r in server.requests if r[1].startswith(f"/{root.name}/")]


def _files(dest_dir: Path) -> list[str]:
    return sorted(p.name for p in dest_dir.iterdir()) if dest_dir.exists() else []


def _session() -> requests.Session:
    return make_session()


# ---------------------------------------------------------------- success


def test_parallel_download_verifies_size_and_sha256(tmp_path: Path) -> None:
    pkgs = [
        Pkg(f"pkg{i}", payload_size=SIZE, fmt=".conda" if i % 2 else ".tar.bz2") for i in range(6)
    ]
    root = build_channel(tmp_path / "served" / "chan", pkgs)
    dest = tmp_path / "dest"
    seen: list[int] = []
    # The server holds each request until all six are under way at once: six threads
    # fetch in parallel; one after the other, the first hold would run out.
    with ChannelServer(tmp_path / "served") as server:
        for p in pkgs:
            server.fail(_path(root, p), "hold")
        server.release_when_holding(6)
        session = make_session()
        jobs = [_job(server.url, root, p, dest) for p in pkgs]
        results = Downloader(lambda url: session, jobs=6, on_bytes=seen.append).run(jobs)
    assert server.holds and {how for _, how in server.holds} == {"released"}
    assert server.max_in_flight == 6
    assert [r.job for r in results] == jobs
    for pkg, job, r in zip(pkgs, jobs, results):
        data = job.dest.read_bytes()
        assert data == (root / "noarch" / pkg.fn).read_bytes()
        assert len(data) == job.size > SIZE
        assert hashlib.sha256(data).hexdigest() == job.sha256
        assert r.how == "downloaded"
        assert r.bytes_fetched == job.size
        assert _gets(server, root, pkg) == [(None, 200)]
    assert sum(seen) == sum(j.size for j in jobs)
    assert _files(dest) == sorted(p.fn for p in pkgs)  # no .partial left behind


def test_sha256_mismatch_with_the_repodata_entry_is_refused(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg
) -> None:
    root = build_channel(chan, [big])
    job = _job(srv.url, root, big, tmp_path / "d", sha256="0" * 64)
    with pytest.raises(DownloadError, match="sha256"):
        Downloader(lambda url: _session()).fetch(job)
    assert _files(tmp_path / "d") == []


# ---------------------------------------------------------------- faults


def test_corrupt_archive_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg, any_session
) -> None:
    root, job = _failing(srv, chan, big, tmp_path / "d", "corrupt")
    with pytest.raises(DownloadError) as exc:
        Downloader(lambda url: any_session, policy=NO_WAIT).run([job])
    message = str(exc.value)
    assert "big-1.0-0" in message
    assert job.url in message
    assert "sha256" in message
    assert not job.dest.exists()
    assert _files(tmp_path / "d") == []  # neither the archive nor a .partial
    assert _gets(srv, root, big) == [(None, 200)]  # a hash mismatch is not retried


def test_connection_cut_mid_file_resumes_with_a_range_request(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg, any_session
) -> None:
    cut = 70_000
    root, job = _failing(srv, chan, big, tmp_path / "d", f"cut:{cut}")
    seen: list[int] = []
    (result,) = Downloader(lambda url: any_session, policy=NO_WAIT, on_bytes=seen.append).run([job])
    assert _gets(srv, root, big) == [(None, 200), (f"bytes={cut}-", 206)]
    assert result.how == "resumed"
    assert sum(seen) == job.size  # the cut bytes, then the rest: nothing fetched twice
    assert file_problem(job.dest, job.expected) is None
    assert job.dest.read_bytes() == (root / "noarch" / big.fn).read_bytes()
    assert _files(tmp_path / "d") == [big.fn]


@pytest.mark.parametrize("make", [make_session, requests.Session], ids=["ours", "plain"])
def test_500_then_200_succeeds(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg, make
) -> None:
    session = make()
    root, job = _failing(srv, chan, big, tmp_path / "d", "500")
    (result,) = Downloader(lambda url: session, policy=NO_WAIT).run([job])
    assert _gets(srv, root, big) == [(None, 500), (None, 200)]
    assert result.how == "downloaded"
    assert file_problem(job.dest, job.expected) is None


def test_persistent_5xx_gives_up_after_the_tries_it_says(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg
) -> None:
    """One retry layer: the session retries nothing, so the message counts every request."""
    root, job = _failing(srv, chan, big, tmp_path / "d", *["500"] * 5)
    with pytest.raises(DownloadError) as exc:
        Downloader(lambda url: make_session(), policy=RetryPolicy(tries=3, backoff=0)).run([job])
    assert _gets(srv, root, big) == [(None, 500)] * 3
    message = str(exc.value)
    assert "HTTP 500" in message and "big-1.0-0" in message and job.url in message
    assert "gave up after 3 tries" in message
    assert not job.dest.exists()


def test_404_is_an_immediate_error(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg, any_session
) -> None:
    root, job = _failing(srv, chan, big, tmp_path / "d", "404")
    with pytest.raises(DownloadError) as exc:
        Downloader(lambda url: any_session, policy=NO_WAIT).run([job])
    assert _gets(srv, root, big) == [(None, 404)]  # one request, no retry
    message = str(exc.value)
    assert "404" in message and "big-1.0-0" in message and job.url in message
    assert _files(tmp_path / "d") == []


def test_refused_credentials_are_an_error_that_names_no_token(tmp_path: Path, big: Pkg) -> None:
    root = build_channel(tmp_path / "served" / "chan", [big])
    with ChannelServer(tmp_path / "served", token="s3cr3t-tok") as server:
        base = f"http://127.0.0.1:{server.port}/t/wrong-tok"  # the server wants s3cr3t-tok
        job = _job(base, root, big, tmp_path / "d")
        with pytest.raises(DownloadError) as exc:
            Downloader(lambda url: make_session(), policy=NO_WAIT).run([job])
    assert [r[3] for r in server.requests] == [401]
    message = str(exc.value)
    assert "401" in message and "credentials" in message
    assert "wrong-tok" not in message
    assert f"127.0.0.1:{server.port}/chan/noarch/{big.fn}" in message


def test_every_failed_archive_is_reported_and_the_others_land(
    tmp_path: Path, srv: ChannelServer, chan: Path
) -> None:
    pkgs = [Pkg(f"p{i}", payload_size=20_000) for i in range(5)]
    root = build_channel(chan, pkgs)
    srv.fail(_path(root, pkgs[1]), "404")
    srv.fail(_path(root, pkgs[3]), "404")
    jobs = [_job(srv.url, root, p, tmp_path / "d") for p in pkgs]
    with pytest.raises(DownloadError) as exc:
        Downloader(lambda url: _session(), jobs=2, policy=NO_WAIT).run(jobs)
    message = str(exc.value)
    assert message.startswith("2 of 5 archives failed: ")
    assert "p1-1.0-0" in message and "p3-1.0-0" in message and message.count("HTTP 404") == 2
    assert exc.value.details == {"failures": [m for m in message[24:].split("; ")]}
    for i, job in enumerate(jobs):  # the others landed, verified; the failed left nothing
        assert job.dest.exists() == (i not in (1, 3))
        assert not job.dest.exists() or file_problem(job.dest, job.expected) is None


# ---------------------------------------------------------------- files already there


@dataclass(frozen=True)
class Rerun:
    result: DownloadResult
    gets: list[tuple[str | None, int]]  # (Range header, status) of each GET of the archive
    requests: list[tuple]  # every request for the test's channel
    good: bytes  # the archive's true bytes


@pytest.fixture
def rerun(tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg):
    """Download ``big`` into a directory an earlier run left files in.

    ``rerun(left)``: ``left(good)`` gives ``{file name: bytes}`` to put there first. After
    the run the directory must hold exactly the verified archive.
    """
    root = build_channel(chan, [big])
    dest = tmp_path / "d"
    dest.mkdir()
    good = (root / "noarch" / big.fn).read_bytes()

    def run(left: Callable[[bytes], dict[str, bytes]]) -> Rerun:
        for name, data in left(good).items():
            (dest / name).write_bytes(data)
        (result,) = Downloader(lambda url: _session()).run([_job(srv.url, root, big, dest)])
        assert (dest / big.fn).read_bytes() == good
        assert _files(dest) == [big.fn]
        return Rerun(result, _gets(srv, root, big), _channel_requests(srv, root), good)

    return run


def test_an_existing_verified_file_is_kept_without_a_request(rerun, big: Pkg) -> None:
    run = rerun(lambda good: {big.fn: good})
    assert run.requests == []
    assert run.result.how == "kept" and run.result.bytes_fetched == 0


def test_an_existing_wrong_file_is_replaced(rerun, big: Pkg) -> None:
    run = rerun(lambda good: {big.fn: good[:-1] + bytes([good[-1] ^ 1])})  # same size
    assert run.gets == [(None, 200)]
    assert run.result.how == "downloaded"


def test_a_good_partial_from_an_earlier_run_is_resumed(rerun, big: Pkg) -> None:
    run = rerun(lambda good: {big.fn + ".partial": good[:123_456]})
    assert run.gets == [("bytes=123456-", 206)]
    assert run.result.how == "resumed"
    assert run.result.bytes_fetched == len(run.good) - 123_456


def test_a_stale_partial_is_recovered_by_starting_over_once(rerun, big: Pkg) -> None:
    # An earlier run left 100000 bytes that are not the start of this archive.
    run = rerun(lambda good: {big.fn + ".partial": bytes(b ^ 0x5A for b in good[:100_000])})
    assert run.gets == [("bytes=100000-", 206), (None, 200)]
    assert run.result.how == "downloaded"  # in the end, fetched from scratch
    assert run.result.bytes_fetched == len(run.good) + len(run.good) - 100_000


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(lambda good: bytes(len(good)), id="complete-size-but-zeros"),
        pytest.param(lambda good: good + b"trailing garbage", id="longer-than-the-archive"),
    ],
)
def test_a_partial_that_cannot_be_resumed_is_refetched(rerun, big: Pkg, partial) -> None:
    run = rerun(lambda good: {big.fn + ".partial": partial(good)})
    assert run.gets == [(None, 200)]
    assert run.result.how == "downloaded"


# ---------------------------------------------------------------- md5, file://, caches


def test_md5_only_verification_when_there_is_no_sha256(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg
) -> None:
    root = build_channel(chan, [big])
    good = (root / "noarch" / big.fn).read_bytes()
    ok = _job(srv.url, root, big, tmp_path / "ok", sha256=None)
    Downloader(lambda url: _session()).run([ok])
    assert ok.dest.read_bytes() == good

    unsized = _job(srv.url, root, big, tmp_path / "unsized", sha256=None, size=None)
    Downloader(lambda url: _session()).run([unsized])  # md5 alone is enough
    assert unsized.dest.read_bytes() == good

    wrong = _job(srv.url, root, big, tmp_path / "wrong", sha256=None, md5="0" * 32)
    with pytest.raises(DownloadError, match="md5"):
        Downloader(lambda url: _session()).run([wrong])
    assert _files(tmp_path / "wrong") == []


def test_nothing_to_verify_against_is_refused(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg
) -> None:
    root = build_channel(chan, [big])
    job = _job(srv.url, root, big, tmp_path / "d", sha256=None, md5=None, size=None)
    with pytest.raises(DownloadError, match="no size or hash"):
        Downloader(lambda url: _session()).run([job])
    assert not job.dest.exists()


def test_file_urls_are_copied_and_verified(tmp_path: Path, big: Pkg) -> None:
    root = build_channel(tmp_path / "chan", [big])
    src = root / "noarch" / big.fn

    def no_session(url: str) -> None:
        raise AssertionError(f"a session was asked for {url}")

    job = _job("unused", root, big, tmp_path / "d", url=src.as_uri(), local_ok=True)
    (result,) = Downloader(no_session).run([job])
    assert result.how == "downloaded"
    assert job.dest.read_bytes() == src.read_bytes()
    assert _files(tmp_path / "d") == [big.fn]

    bad = _job(
        "unused", root, big, tmp_path / "bad", url=src.as_uri(), sha256="1" * 64, local_ok=True
    )
    with pytest.raises(DownloadError, match="sha256"):
        Downloader(no_session).run([bad])
    assert _files(tmp_path / "bad") == []

    nope = (root / "nope.tar.bz2").as_uri()
    gone = _job("unused", root, big, tmp_path / "gone", url=nope, local_ok=True)
    with pytest.raises(DownloadError, match="does not exist"):
        Downloader(no_session).run([gone])
    assert _files(tmp_path / "gone") == []


def _pkgs_dir(tmp_path: Path, fn: str, data: bytes) -> Path:
    """A package cache directory holding ``data`` under the archive's file name."""
    cache = tmp_path / "pkgs"
    cache.mkdir()
    (cache / fn).write_bytes(data)
    return cache


def test_an_identical_archive_in_a_cache_dir_is_copied_without_a_request(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg
) -> None:
    root = build_channel(chan, [big])
    cache = _pkgs_dir(tmp_path, big.fn, (root / "noarch" / big.fn).read_bytes())
    job = _job(srv.url, root, big, tmp_path / "d")
    (result,) = Downloader(lambda url: _session(), cache_dirs=[tmp_path / "nowhere", cache]).run(
        [job]
    )
    assert _channel_requests(srv, root) == []
    assert result.how == "cached"
    assert file_problem(job.dest, job.expected) is None
    assert (cache / big.fn).is_file()  # copied, not moved


def test_a_different_file_of_the_same_name_in_a_cache_dir_is_ignored(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg
) -> None:
    root = build_channel(chan, [big])
    impostor = bytes(b ^ 0xFF for b in (root / "noarch" / big.fn).read_bytes())
    cache = _pkgs_dir(tmp_path, big.fn, impostor)  # same name and size, other content
    job = _job(srv.url, root, big, tmp_path / "d")
    (result,) = Downloader(lambda url: _session(), cache_dirs=[cache]).run([job])
    assert _gets(srv, root, big) == [(None, 200)]
    assert result.how == "downloaded"
    assert job.dest.read_bytes() == (root / "noarch" / big.fn).read_bytes()
    assert (cache / big.fn).read_bytes() == impostor  # the cache is only ever read


def test_a_rejected_cache_copy_leaves_a_resumable_partial_alone(
    tmp_path: Path, srv: ChannelServer, chan: Path, big: Pkg
) -> None:
    root = build_channel(chan, [big])
    good = (root / "noarch" / big.fn).read_bytes()
    cache = _pkgs_dir(tmp_path, big.fn, bytes(b ^ 0xFF for b in good))  # same size, other content
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / (big.fn + ".partial")).write_bytes(good[:123_456])  # from an interrupted run
    job = _job(srv.url, root, big, dest)
    (result,) = Downloader(lambda url: _session(), cache_dirs=[cache]).run([job])
    assert _gets(srv, root, big) == [("bytes=123456-", 206)]
    assert result.how == "resumed"
    assert job.dest.read_bytes() == good
    assert _files(dest) == [big.fn]
