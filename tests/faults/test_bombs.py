"""Repodata is decoded as a stream, with bounded memory and a size cap: a 100 KiB
``repodata.json.zst`` cannot become gigabytes on disk or in memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conda_vendor_plugin.channel.repodata import MAX_BYTES_ENV, RATIO_FLOOR

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.zstd import zstd

pytest.importorskip("rattler")

# A child process fetches the repodata and reports its peak RSS (VmHWM, which, unlike
# ru_maxrss, does not carry the parent's peak across exec): memory is measured in a
# process that did nothing else.
_FETCH = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from conda_vendor_plugin.errors import VendorError
    from conda_vendor_plugin.channel.repodata import fetch_repodata
    from conda_vendor_plugin.transport.session import make_session
    url, cache = sys.argv[1], Path(sys.argv[2])
    try:
        fetch_repodata(make_session(), url, "linux-64", cache)
        error = None
    except VendorError as e:
        error = str(e)
    status = Path("/proc/self/status").read_text().split("VmHWM:")[1]
    print(json.dumps({"error": error, "rss": int(status.split()[0]) * 1024}))
    """
)


def _fetch_in_child(url: str, cache: Path, **env: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _FETCH, url, str(cache)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_PROXY": "127.0.0.1", **env},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _bomb(chan: Path, size: int) -> int:
    """A real zstd frame of ``size`` bytes of JSON-ish padding; returns its length."""
    body = b'{"packages": {}, "pad": "' + b" " * size + b'"}'
    data = zstd.compress(body, level=19)
    (chan / "linux-64" / "repodata.json.zst").write_bytes(data)
    return len(data)


def _cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_zstd_bomb_is_refused_by_ratio_with_bounded_memory(tmp_path: Path) -> None:
    chan = build_channel(tmp_path / "served" / "ch", [Pkg("a", subdir="linux-64")])
    compressed = _bomb(chan, 4 * RATIO_FLOOR)  # 256 MiB from a few KiB
    assert compressed < 64 << 10
    cache = tmp_path / "cache"
    with ChannelServer(tmp_path / "served") as srv:
        got = _fetch_in_child(f"{srv.url}/ch", cache)
    assert got["error"] is not None and "decompression bomb" in got["error"]
    assert "linux-64/repodata.json.zst" in got["error"]
    assert got["rss"] < 150 << 20, got["rss"]  # the bomb never sits in memory
    assert _cache_files(cache) == []  # nothing cached, no partial file left


def test_the_size_cap_applies_to_plain_repodata_too(tmp_path: Path) -> None:
    chan = build_channel(tmp_path / "served" / "ch", [Pkg("a", subdir="linux-64")])
    rd = chan / "linux-64" / "repodata.json"
    doc = json.loads(rd.read_text())
    doc["pad"] = "x" * (3 << 20)
    rd.write_text(json.dumps(doc))
    cache = tmp_path / "cache"
    with ChannelServer(tmp_path / "served") as srv:
        got = _fetch_in_child(f"{srv.url}/ch", cache, **{MAX_BYTES_ENV: str(1 << 20)})
        assert got["error"] is not None and f"cap {1 << 20} bytes" in got["error"]
        assert "linux-64/repodata.json" in got["error"]
        assert _cache_files(cache) == []
        # Under the cap the same document is fetched and cached.
        ok = _fetch_in_child(f"{srv.url}/ch", cache, **{MAX_BYTES_ENV: str(8 << 20)})
    assert ok["error"] is None
    assert len(_cache_files(cache)) == 2  # the document and its state


def test_vendor_reports_the_bomb_in_one_line(tmp_path: Path, run) -> None:
    chan = build_channel(tmp_path / "served" / "ch", [Pkg("a", subdir="linux-64")])
    _bomb(chan, 2 * RATIO_FLOOR)
    with ChannelServer(tmp_path / "served") as srv:
        env = tmp_path / "env.yml"
        env.write_text(f"channels: ['{srv.url}/ch']\ndependencies: [a]\n")
        rc, stdout, stderr = run(
            "vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--json"
        )
    assert rc == 1 and "Traceback" not in stderr
    doc = json.loads(stdout)
    assert doc["error_type"] == "ChannelError" and "decompression bomb" in doc["error"]
    assert not (tmp_path / "OUT").exists()
