"""Bodies are bounded: an archive download stops at the size its entry gives and is
never decoded; repodata is capped however it is encoded. Each case against a real
loopback server with the fault injected; a clean rerun afterwards succeeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.vendoring import snapshot, write_env
from .test_bombs import _cache_files, _fetch_in_child

pytest.importorskip("rattler")

ARCHIVE = "/chan/noarch/big-1.0-0.tar.bz2"


@pytest.fixture
def env(http_server: ChannelServer, tmp_path: Path) -> Path:
    build_channel(tmp_path / "served" / "chan", [Pkg("big", payload_size=300_000)])
    return write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["big"])


def _partials(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*.partial")]


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        pytest.param("extra:50000000", "more than the", id="longer-than-its-entry"),
        pytest.param("endless", "more than the", id="endless"),
        pytest.param("gzipbomb:1000000000", "", id="gzip-bomb"),
    ],
)
def test_an_archive_body_stops_at_its_size_and_is_never_decoded(
    env: Path, http_server: ChannelServer, tmp_path: Path, run, fault: str, says: str
) -> None:
    size = (tmp_path / "served" / ARCHIVE.lstrip("/")).stat().st_size
    http_server.fail(ARCHIVE, fault)
    out = tmp_path / "OUT"
    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "linux-64", "--json")
    assert rc == 1 and "Traceback" not in stderr
    doc = json.loads(stdout)
    assert doc["error_type"] == "DownloadError"
    assert "big-1.0-0" in doc["error"] and says in doc["error"]
    staged = tmp_path / ".OUT.staging"
    assert sum(p.stat().st_size for p in staged.rglob("*") if p.is_file()) <= size
    assert not out.exists()

    rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")  # the fault is gone
    assert rc == 0, stderr
    assert not _partials(out) and run("vendor", "verify", out)[0] == 0


def test_an_archive_sent_gzip_encoded_is_not_inflated(
    env: Path, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    """identity is asked for; an archive is compared byte for byte as sent, so a body
    encoded anyway fails verification instead of being decoded."""
    http_server.fail(ARCHIVE, "gzip")
    rc, stdout, _ = run("vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--json")
    assert rc == 1
    error = json.loads(stdout)["error"]  # gzip of random data is longer, or else differs
    assert "more than the" in error or "does not match its repodata entry" in error
    (request,) = [r for r in http_server.requests if r[1] == ARCHIVE]
    assert request[3] == 200


def test_a_gzip_encoded_repodata_bomb_is_refused(tmp_path: Path) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a", subdir="linux-64")])
    with ChannelServer(tmp_path / "served") as srv:
        srv.fail("/ch/linux-64/repodata.json.zst", "404")
        srv.fail("/ch/linux-64/repodata.json", "gzipbomb:600000000")
        got = _fetch_in_child(f"{srv.url}/ch", tmp_path / "cache")
    assert got["error"] is not None and "decompression bomb" in got["error"]
    assert got["rss"] < 150 << 20, got["rss"]
    assert _cache_files(tmp_path / "cache") == []


def test_the_previous_output_survives_a_hostile_body(
    env: Path, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    out = tmp_path / "OUT"
    assert run("vendor", env, "-o", out, "--platform", "linux-64")[0] == 0
    before = snapshot(out)
    (tmp_path / "served" / "chan" / "noarch" / "big-1.0-0.tar.bz2").unlink()  # force a fetch
    build_channel(tmp_path / "served" / "chan", [Pkg("big", payload_size=300_001)])
    http_server.fail(ARCHIVE, "endless")
    rc, _, _ = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 1
    assert snapshot(out) == before
