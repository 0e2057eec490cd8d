"""Fetching repodata without conda: ``repodata.json.zst`` first, the cache, the fallbacks.

Real loopback HTTP (tests/support/server.py), real zstd streams, real repodata built by
tests/support/build.py. The cache directory is the one ``lock`` and ``vendor`` use.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conda_vendor_plugin import cli
from conda_vendor_plugin.channel import repodata as repodata_mod
from conda_vendor_plugin.channel.repodata import fetch_repodata
from conda_vendor_plugin.errors import ChannelError
from conda_vendor_plugin.transport.session import make_session

from .support.build import Pkg, build_channel
from .support.server import ChannelServer
from .support.zstd import zstd

PKGS = [Pkg("app", depends=["lib"]), Pkg("lib", subdir="linux-64")]


def _add_zst(channel: Path, subdir: str, data: bytes | None = None) -> bytes:
    """Write ``<subdir>/repodata.json.zst`` beside the JSON (``data``: other bytes)."""
    raw = (channel / subdir / "repodata.json").read_bytes()
    body = zstd.compress(raw, level=19) if data is None else data
    (channel / subdir / "repodata.json.zst").write_bytes(body)
    return raw


def _fetch(server: ChannelServer, channel: str, subdir: str, cache: Path) -> tuple[Path, bool]:
    with make_session() as session:
        return fetch_repodata(session, f"{server.url}/{channel}", subdir, cache)


def _gets(server: ChannelServer, start: int = 0) -> list[tuple[str, int]]:
    return [(p.rsplit("/", 1)[1], st) for m, p, _, st in server.requests[start:] if m == "GET"]


def test_the_zst_is_fetched_instead_of_the_json_and_revalidated(
    http_server: ChannelServer, tmp_path: Path
) -> None:
    chan = build_channel(tmp_path / "served" / "chan", PKGS)
    raw = _add_zst(chan, "linux-64")
    path, found = _fetch(http_server, "chan", "linux-64", tmp_path / "cache")
    assert found and path.read_bytes() == raw  # decompressed, byte for byte
    assert _gets(http_server) == [("repodata.json.zst", 200)]

    start = len(http_server.requests)
    path, found = _fetch(http_server, "chan", "linux-64", tmp_path / "cache")
    assert found and path.read_bytes() == raw
    assert _gets(http_server, start) == [("repodata.json.zst", 304)]


def test_a_channel_without_zst_is_asked_once_then_only_for_the_json(
    http_server: ChannelServer, tmp_path: Path
) -> None:
    chan = build_channel(tmp_path / "served" / "chan", PKGS)
    raw = (chan / "linux-64" / "repodata.json").read_bytes()
    path, found = _fetch(http_server, "chan", "linux-64", tmp_path / "cache")
    assert found and path.read_bytes() == raw
    assert _gets(http_server) == [("repodata.json.zst", 404), ("repodata.json", 200)]

    start = len(http_server.requests)
    _fetch(http_server, "chan", "linux-64", tmp_path / "cache")
    assert _gets(http_server, start) == [("repodata.json", 304)]

    # A week later the channel may have started to publish one: ask again.
    state_file = path.with_suffix(".state.json")
    state = json.loads(state_file.read_text())
    state["no_zst_since"] = time.time() - repodata_mod.ZST_RECHECK - 60
    state_file.write_text(json.dumps(state))
    _add_zst(chan, "linux-64")
    start = len(http_server.requests)
    path, _ = _fetch(http_server, "chan", "linux-64", tmp_path / "cache")
    assert _gets(http_server, start) == [("repodata.json.zst", 200)]
    assert path.read_bytes() == raw


def test_a_failing_zst_falls_back_to_the_json(http_server: ChannelServer, tmp_path: Path) -> None:
    # e.g. an object store answering 403 for a key it does not have
    chan = build_channel(tmp_path / "served" / "chan", PKGS)
    raw = _add_zst(chan, "noarch")
    http_server.fail("/chan/noarch/repodata.json.zst", "403")
    path, found = _fetch(http_server, "chan", "noarch", tmp_path / "cache")
    assert found and path.read_bytes() == raw
    assert _gets(http_server) == [("repodata.json.zst", 403), ("repodata.json", 200)]


def test_a_missing_subdir_is_found_false_after_both_404(
    http_server: ChannelServer, tmp_path: Path
) -> None:
    build_channel(tmp_path / "served" / "chan", PKGS)
    path, found = _fetch(http_server, "chan", "osx-arm64", tmp_path / "cache")
    assert not found
    assert json.loads(path.read_text())["packages"] == {}
    assert _gets(http_server) == [("repodata.json.zst", 404), ("repodata.json", 404)]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda good: b"not zstd at all" * 10, id="garbage"),
        pytest.param(lambda good: good[: len(good) // 2], id="truncated-file"),
    ],
)
def test_a_broken_zst_is_a_clear_error_and_leaves_no_cache_file(tmp_path: Path, bad) -> None:
    token = "tk-zst-0c4d"
    chan = build_channel(tmp_path / "served" / "chan", PKGS)
    raw = (chan / "linux-64" / "repodata.json").read_bytes()
    _add_zst(chan, "linux-64", bad(zstd.compress(raw)))
    with ChannelServer(tmp_path / "served", token=token) as server:
        with pytest.raises(ChannelError) as info:
            _fetch(server, "chan", "linux-64", tmp_path / "cache")
    message = str(info.value)
    assert "linux-64/repodata.json.zst: not valid zstd-compressed repodata" in message
    assert token not in message
    assert [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_without_a_zstd_module_only_the_json_is_asked_for(
    http_server: ChannelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulated: an interpreter with neither compression.zstd nor backports.zstd
    # (they cannot be uninstalled for one test).
    monkeypatch.setattr(repodata_mod, "_zstd_module", lambda: None)
    chan = build_channel(tmp_path / "served" / "chan", PKGS)
    _add_zst(chan, "noarch")
    _fetch(http_server, "chan", "noarch", tmp_path / "cache")
    assert _gets(http_server) == [("repodata.json", 200)]


def test_lock_from_zst_repodata_equals_lock_from_json(
    http_server: ChannelServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("rattler")
    chan = build_channel(tmp_path / "served" / "chan", PKGS)
    env = tmp_path / "env.yml"
    env.write_text(f"channels: [{http_server.url}/chan]\ndependencies: [app]\n")
    texts = []
    for run in ("json-only", "with-zst"):
        if run == "with-zst":
            for subdir in ("noarch", "linux-64"):
                _add_zst(chan, subdir)
        start = len(http_server.requests)
        argv = [
            "lock",
            "-f",
            str(env),
            "--platform",
            "linux-64",
            "--cache-dir",
            str(tmp_path / run),
        ]
        assert cli.main(argv) == 0, capsys.readouterr().err
        texts.append((tmp_path / "env.lock.yml").read_text())
    assert texts[0] == texts[1]
    gets = [g for g in _gets(http_server, start) if g[0] != "repodata_shards.msgpack.zst"]
    assert sorted(gets) == [
        ("repodata.json.zst", 200),
        ("repodata.json.zst", 200),
    ]


# ------------------------------------------------------------------ several at once


def _three_channels(root: Path) -> list[str]:
    for name in ("one", "two", "three"):
        build_channel(root / name, [Pkg(f"{name}-app", depends=["lib"]), *PKGS[1:]])
    return ["one", "two", "three"]


def test_the_repodata_of_every_channel_and_subdir_is_fetched_at_once(tmp_path: Path, run) -> None:
    """Three channels, two subdirs each: the server holds each repodata.json until all six
    are asked for at once (fetched together, not one after another)."""
    pytest.importorskip("rattler")
    names = _three_channels(tmp_path / "served")
    with ChannelServer(tmp_path / "served") as srv:
        for name in names:
            for subdir in ("linux-64", "noarch"):
                srv.fail(f"/{name}/{subdir}/repodata.json", "hold")
        srv.release_when_holding(6)
        env = tmp_path / "env.yml"
        channels = ", ".join(f"{srv.url}/{n}" for n in names)
        env.write_text(f"channels: [{channels}]\ndependencies: [one-app]\n")
        rc, _, err = run("lock", "-f", env, "--platform", "linux-64", "--cache-dir", tmp_path / "c")
        assert rc == 0, err
        fetched = {p for m, p, _, _ in srv.requests if p.endswith("repodata.json")}
        assert len(fetched) == 6
        assert srv.wait_holds(6) == ["released"] * 6


def test_several_failed_fetches_are_one_error_naming_each(tmp_path: Path, run) -> None:
    pytest.importorskip("rattler")
    names = _three_channels(tmp_path / "served")
    with ChannelServer(tmp_path / "served") as srv:
        for name in names[1:]:
            for subdir in ("linux-64", "noarch"):
                for suffix in (".zst", ""):
                    srv.fail(f"/{name}/{subdir}/repodata.json{suffix}", "403")
        env = tmp_path / "env.yml"
        channels = ", ".join(f"{srv.url}/{n}" for n in names)
        env.write_text(f"channels: [{channels}]\ndependencies: [one-app]\n")
        argv = ("lock", "-f", env, "--platform", "linux-64", "--cache-dir", tmp_path / "c")
        rc, out, err = run(*argv)
        assert rc == 1 and out == ""
        error = err.strip().splitlines()[-1]  # after the "Solving ... failed" progress line
        assert error.startswith("error: 4 repodata files could not be fetched: ")
        assert len(err.strip().splitlines()) == 2
        for name in names[1:]:
            for subdir in ("linux-64", "noarch"):
                assert f"{srv.url}/{name}/{subdir}/repodata.json: HTTP 403" in error
        for subdir in ("linux-64", "noarch"):  # the same faults, asked again for --json
            for name in names[1:]:
                for suffix in (".zst", ""):
                    srv.fail(f"/{name}/{subdir}/repodata.json{suffix}", "403")
        rc, out, _ = run(*argv, "--json")
        doc = json.loads(out)
        assert rc == 1 and doc["error_type"] == "ChannelError"
        assert len(doc["failures"]) == 4
