"""CEP 16 sharded repodata without conda: only the shards a solve needs, the same lock
and the same original entries as from repodata.json, and clean fallbacks.

Real loopback HTTP (tests/support/server.py, its request log says what was fetched),
the real shards of ``conda-format-repo`` from ../shared/testdata, and shards written
at test time from real channels' repodata (tests/support/shards.py: msgpack + zstd, as
conda-index and rattler write them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import pytest

from conda_vendor_plugin.channel.cache_sweep import MARKER
from conda_vendor_plugin.channel.repodata import default_cache_dir
from conda_vendor_plugin.formats import explicit_v1
from conda_vendor_plugin.records import Lockfile

from .support.bundles import current
from .support.interrupt import interrupt_when
from .support.locking import run_module
from .support.server import ChannelServer
from .support.shards import INDEX, pack, read_index, shard_subdir, write_index
from .support.vendoring import load_json, write_env
from .support.zstd import zstd

pytest.importorskip("rattler")
pytest.importorskip("msgpack")

FALLBACK = "reading repodata.json instead"


def _gets(server: ChannelServer, start: int = 0) -> list[str]:
    """``subdir/file`` of every GET (the channel name left out)."""
    return ["/".join(p.split("/")[-2:]) for m, p, _, _ in server.requests[start:] if m == "GET"]


def _entries(doc: dict) -> dict[str, dict]:
    return {fn: e for s in ("packages", "packages.conda") for fn, e in doc.get(s, {}).items()}


def _lock(run, env: Path, out: Path, *platforms: str) -> Lockfile:
    args = [a for p in platforms for a in ("--platform", p)]
    rc, _, err = run("lock", "-f", env, "-o", out, *args)
    assert rc == 0, err
    return explicit_v1.load(out)


# ------------------------------------------------------ the real shards of conda-format-repo


def test_real_shards_lock_as_repodata_json_does_and_never_fetch_it(
    shared_channel, http_server: ChannelServer, tmp_path: Path, run, monkeypatch
) -> None:
    shared_channel("conda-format-repo")
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/conda-format-repo"], ["zlib"])
    sharded = _lock(run, env, tmp_path / "sharded.lock.yml", "linux-64")
    gets = _gets(http_server)
    assert "linux-64/repodata.json" not in gets and "linux-64/repodata.json.zst" not in gets
    assert sorted(g for g in gets if g.startswith("linux-64/")) == sorted(
        [
            f"linux-64/{INDEX}",
            "linux-64/56a0c19b47ba1a2d0f1390eda489b1c49a00d35814571057e6d81e0c93dfd157.msgpack.zst",
            "linux-64/2dcdacf7009b4f1c21f452c5079384340257e0e1cbecb8ec484984d1fa85b115.msgpack.zst",
        ]
    )  # zlib's shard, then libgcc-ng's: zlib depends on it

    monkeypatch.setenv("CONDA_REPODATA_USE_SHARDS", "false")  # conda's name for the setting
    start = len(http_server.requests)
    plain = _lock(run, env, tmp_path / "plain.lock.yml", "linux-64")
    assert not any(g.endswith(".msgpack.zst") for g in _gets(http_server, start))
    assert sharded.packages == plain.packages
    assert [p.name for p in plain.packages["linux-64"]] == ["libgcc-ng", "zlib"]


def test_real_shards_vendor_copies_upstreams_entries_in_hex(
    shared_channel, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    chan = shared_channel("conda-format-repo")
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/conda-format-repo"], ["zlib"])
    lock = _lock(run, env, tmp_path / "env.lock.yml", "linux-64")
    # libgcc-ng's archive is listed but not served by this channel: vendor zlib alone
    only_zlib = Lockfile(
        input_hash=lock.input_hash,
        channels=lock.channels,
        packages={"linux-64": tuple(p for p in lock.packages["linux-64"] if p.name == "zlib")},
    )
    (tmp_path / "zlib.lock.yml").write_text(explicit_v1.write(only_zlib))
    start = len(http_server.requests)
    out = tmp_path / "OUT"
    rc, _, err = run("vendor", "--lockfile", tmp_path / "zlib.lock.yml", "-o", out)
    assert rc == 0, err
    # the lockfile names zlib alone: its shard only (cached: no request), no repodata.json
    gets = _gets(http_server, start)
    assert not [g for g in gets if "repodata.json" in g or g.endswith("_3.msgpack.zst")]
    assert [g for g in gets if g.endswith(".msgpack.zst")] == [f"linux-64/{INDEX}"]
    local = load_json(out / "local_conda-format-repo" / "linux-64" / "repodata.json")
    upstream = load_json(chan / "linux-64" / "repodata.json")
    (fn,) = _entries(local)
    assert fn == "zlib-1.2.11-h7b6447c_3.conda"
    assert local["packages.conda"][fn] == upstream["packages.conda"][fn]
    assert local["info"] == upstream["info"]


# ------------------------------------------------------ a sharded channel built from real ones


@pytest.fixture
def sharded_recipes(shared_channel, http_server: ChannelServer) -> tuple[Path, str]:
    """conda-test-recipes (real archives) with its noarch sharded, hashes as bytes."""
    chan = shared_channel("conda-test-recipes")
    shard_subdir(chan, "noarch")
    return chan, f"{http_server.url}/conda-test-recipes"


def _shard_names(chan: Path, subdir: str) -> dict[str, str]:
    """shard file name -> package name."""
    index = read_index(chan, subdir)
    return {f"{digest.hex()}.msgpack.zst": name for name, digest in index["shards"].items()}


def test_vendor_fetches_only_the_shards_it_reaches_and_bundles_the_same(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path, run, monkeypatch
) -> None:
    chan, url = sharded_recipes
    env = write_env(
        tmp_path / "environment.yml", [url], ["another_dependent", "sample_noarch_python"]
    )
    out = tmp_path / "OUT"
    rc, _, err = run("vendor", env, "-o", out, "--platform", "linux-64", "--platform", "osx-64")
    assert rc == 0, err
    names = _shard_names(chan, "noarch")
    fetched = sorted(
        names[g.split("/")[-1]] for g in _gets(http_server) if g.split("/")[-1] in names
    )
    # another_dependent -> dependent -> dependency; sample_noarch_python -> python -> pip
    # (the solver's add_pip_as_python_dependency) -> python: each shard once, for two platforms
    assert fetched == [
        "another_dependent",
        "dependency",
        "dependent",
        "pip",
        "python",
        "sample_noarch_python",
    ]
    assert "noarch/repodata.json" not in _gets(http_server)
    assert len(names) == 25  # the other 19 shards were never asked for

    monkeypatch.setenv("CONDA_REPODATA_USE_SHARDS", "0")
    plain = tmp_path / "PLAIN"
    rc, _, err = run("vendor", env, "-o", plain, "--platform", "linux-64", "--platform", "osx-64")
    assert rc == 0, err
    assert (
        explicit_v1.load(current(out) / "environment.lock.yml").packages
        == explicit_v1.load(current(plain) / "environment.lock.yml").packages
    )
    for sub in ("noarch", "linux-64", "osx-64"):
        ours = load_json(out / "local_conda-test-recipes" / sub / "repodata.json")
        theirs = load_json(plain / "local_conda-test-recipes" / sub / "repodata.json")
        assert ours == theirs, sub
    upstream = _entries(load_json(chan / "noarch" / "repodata.json"))
    local = _entries(load_json(out / "local_conda-test-recipes" / "noarch" / "repodata.json"))
    assert local and all(upstream[fn] == entry for fn, entry in local.items())
    assert all(
        len(e["sha256"]) == 64 and e["sha256"] == e["sha256"].lower() for e in local.values()
    )


@pytest.fixture
def another_dependent(sharded_recipes, tmp_path: Path) -> Path:
    """An environment file asking for another_dependent from the sharded channel."""
    return write_env(tmp_path / "env.yml", [sharded_recipes[1]], ["another_dependent"])


def test_cached_shards_are_not_asked_again_and_the_index_is_revalidated(
    another_dependent: Path, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    env = another_dependent
    first = _lock(run, env, tmp_path / "a.lock.yml", "linux-64")
    start = len(http_server.requests)
    second = _lock(run, env, tmp_path / "b.lock.yml", "linux-64")
    assert first.packages == second.packages
    again = [
        (p.split("/")[-1], st) for m, p, _, st in http_server.requests[start:] if "noarch" in p
    ]
    assert again == [(INDEX, 304)]  # shards are content-addressed: no round trip

    rc, _, err = run(
        "lock", "-f", env, "-o", tmp_path / "c.lock.yml", "--platform", "linux-64", "--offline"
    )
    assert rc == 0, err
    assert explicit_v1.load(tmp_path / "c.lock.yml").packages == first.packages


def test_a_run_keeps_what_it_uses_and_sweeps_what_no_run_used_for_two_weeks(
    another_dependent: Path, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    env = another_dependent
    first = _lock(run, env, tmp_path / "a.lock.yml", "linux-64")
    cache = default_cache_dir() / "shards"
    used = sorted(p.name for p in cache.iterdir() if p.name != MARKER)
    assert any(n.startswith("subset-") for n in used) and any(n.startswith("index-") for n in used)
    stale = [cache / f"{'ab' * 32}.msgpack.zst", cache / "subset-0123.json"]
    for path in stale:
        path.write_text("from a run long ago")
    month_ago = time.time() - 30 * 24 * 3600
    for path in cache.iterdir():  # every file, the marker too: last used a month ago
        os.utime(path, (month_ago, month_ago))

    second = _lock(run, env, tmp_path / "b.lock.yml", "linux-64")
    assert second.packages == first.packages
    assert sorted(p.name for p in cache.iterdir() if p.name != MARKER) == used
    start = len(http_server.requests)
    _lock(run, env, tmp_path / "c.lock.yml", "linux-64")
    assert [p for m, p, _, st in http_server.requests[start:] if st == 200] == []  # all cached


def test_no_index_falls_back_quietly_and_is_asked_once_a_week(
    shared_channel, http_server: ChannelServer, tmp_path: Path, run, caplog
) -> None:
    shared_channel("conda-test-recipes")
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/conda-test-recipes"], ["dependent"])
    caplog.set_level(logging.DEBUG)
    _lock(run, env, tmp_path / "a.lock.yml", "linux-64")
    assert f"noarch/{INDEX}" in _gets(http_server)
    assert "noarch/repodata.json" in _gets(http_server)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    start = len(http_server.requests)
    _lock(run, env, tmp_path / "b.lock.yml", "linux-64")
    assert not any(g.endswith(INDEX) for g in _gets(http_server, start))


# ------------------------------------------------------ shards that cannot be used


def _lock_falls_back(run, env: Path, tmp_path: Path, caplog) -> str:
    """Lock ``env``; the one warning line about the fallback."""
    caplog.set_level(logging.WARNING)
    _lock(run, env, tmp_path / "env.lock.yml", "linux-64")
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.endswith(FALLBACK) and "\n" not in warning
    return warning


def test_a_shard_whose_hash_differs_from_the_index_falls_back_to_repodata_json(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path, run, caplog
) -> None:
    chan, url = sharded_recipes
    shard = next(p for p, n in _shard_names(chan, "noarch").items() if n == "dependency")
    http_server.fail(f"conda-test-recipes/noarch/shards/{shard}", "corrupt")
    env = write_env(tmp_path / "env.yml", [url], ["dependent"])
    warning = _lock_falls_back(run, env, tmp_path, caplog)
    assert f"{url}/noarch/shards/{shard}: the shard of 'dependency' has sha256" in warning
    assert "noarch/repodata.json" in _gets(http_server)
    lock = explicit_v1.load(tmp_path / "env.lock.yml")
    assert [p.name for p in lock.packages["linux-64"]] == ["dependency", "dependent"]


def test_a_bad_shard_in_the_cache_is_fetched_again(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    _, url = sharded_recipes
    env = write_env(tmp_path / "env.yml", [url], ["dependent"])
    _lock(run, env, tmp_path / "a.lock.yml", "linux-64")
    cached = sorted((default_cache_dir() / "shards").glob("[0-9a-f]*"))
    assert len(cached) == 2
    cached[0].write_bytes(b"tampered")
    start = len(http_server.requests)
    _lock(run, env, tmp_path / "b.lock.yml", "linux-64")
    again = [g.split("/")[-1] for g in _gets(http_server, start) if g.startswith("shards/")]
    assert again == [cached[0].name]  # the other one was good
    assert cached[0].read_bytes() != b"tampered"


def _zstd_bomb(size: int) -> bytes:
    body = zstd.compress(b"\x80" + bytes(size), level=3)  # a msgpack map, then zeros
    assert len(body) < size // 1000
    return body


@pytest.mark.parametrize(
    ("hostile", "says"),
    [
        ("bomb", "decompresses past"),  # 70 MB of zeros in a few kB
        ("html", "looks like an HTML page"),
        ("garbage", "not zstd"),
        ("not-msgpack", "not valid msgpack"),
        ("no-shards", "not a shard index"),
        ("bad-hash", "is not a sha256"),
        ("file-base", "is not an http(s) URL"),
        ("version", "version 2 is not 1"),
    ],
)
def test_a_hostile_index_falls_back_in_one_line(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path, run, caplog, hostile, says
) -> None:
    chan, url = sharded_recipes
    index = chan / "noarch" / INDEX
    good = read_index(chan, "noarch")
    if hostile == "bomb":
        index.write_bytes(_zstd_bomb(70 << 20))
    elif hostile == "html":
        http_server.fail(f"conda-test-recipes/noarch/{INDEX}", "html")
    elif hostile == "garbage":
        index.write_bytes(b"\x00" * 100)
    elif hostile == "not-msgpack":
        index.write_bytes(zstd.compress(b"\xc1\xc1\xc1"))
    elif hostile == "no-shards":
        index.write_bytes(pack({"info": {}}))
    elif hostile == "bad-hash":
        write_index(chan, "noarch", {**good["shards"], "dependency": b"short"}, good["info"])
    elif hostile == "file-base":
        write_index(
            chan, "noarch", good["shards"], {**good["info"], "shards_base_url": "file:///etc/"}
        )
    elif hostile == "version":
        write_index(chan, "noarch", good["shards"], good["info"], {"version": 2})
    env = write_env(tmp_path / "env.yml", [url], ["dependent"])
    warning = _lock_falls_back(run, env, tmp_path, caplog)
    assert warning.startswith(f"{url}/noarch/{INDEX}: ") and says in warning, warning
    assert not [g for g in _gets(http_server) if g.endswith(".msgpack.zst") and INDEX not in g]
    assert not list((Path.home() / ".cache" / "conda-vendor-plugin" / "shards").glob("index-*.zst"))


def test_names_that_are_not_package_names_are_never_fetched(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path, run, caplog
) -> None:
    chan, url = sharded_recipes
    good = read_index(chan, "noarch")
    hostile = {
        "../../etc/passwd": bytes(32),
        "a/b": bytes([1] * 32),
        "dependency..x": bytes([2] * 32),
    }
    # dependent's records depend on 'dependency'; the index also maps these names
    write_index(chan, "noarch", {**good["shards"], **hostile}, good["info"])
    env = write_env(tmp_path / "env.yml", [url], ["dependent"])
    caplog.set_level(logging.WARNING)
    _lock(run, env, tmp_path / "env.lock.yml", "linux-64")
    assert not caplog.records
    gets = _gets(http_server)
    for digest in hostile.values():
        assert not any(digest.hex() in g for g in gets)


def test_a_shard_bomb_falls_back(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path, run, caplog
) -> None:
    chan, url = sharded_recipes
    good = read_index(chan, "noarch")
    bomb = _zstd_bomb(20 << 20)
    bomb_hash = hashlib.sha256(bomb).digest()
    (chan / "noarch" / "shards" / f"{bomb_hash.hex()}.msgpack.zst").write_bytes(bomb)
    write_index(chan, "noarch", {**good["shards"], "dependency": bomb_hash}, good["info"])
    env = write_env(tmp_path / "env.yml", [url], ["dependent"])
    warning = _lock_falls_back(run, env, tmp_path, caplog)
    assert "the shard of" not in warning and "decompresses past" in warning
    assert bomb_hash.hex() in warning


def test_the_fallback_line_in_a_real_process_has_no_traceback(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path
) -> None:
    chan, url = sharded_recipes
    shard = next(p for p, n in _shard_names(chan, "noarch").items() if n == "dependency")
    (chan / "noarch" / "shards" / shard).write_bytes(b"not the shard the index names")
    env = write_env(tmp_path / "env.yml", [url], ["dependent"])
    proc = run_module(
        "conda_vendor_plugin",
        "lock",
        "-f",
        env,
        "--platform",
        "linux-64",
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if FALLBACK in line]
    assert len(lines) == 1 and shard in lines[0]
    assert "Traceback" not in proc.stderr


def test_subset_info_keeps_base_url_and_drops_shards_base_url(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    chan, url = sharded_recipes
    good = read_index(chan, "noarch")
    write_index(
        chan, "noarch", good["shards"], {**good["info"], "base_url": f"{url}/noarch/", "x": 1}
    )
    env = write_env(tmp_path / "env.yml", [url], ["dependent"])
    _lock(run, env, tmp_path / "env.lock.yml", "linux-64")
    (subset,) = (Path.home() / ".cache" / "conda-vendor-plugin" / "shards").glob("subset-*.json")
    doc = json.loads(subset.read_text())
    assert doc["info"] == {"base_url": f"{url}/noarch/", "subdir": "noarch", "x": 1}
    assert doc["repodata_version"] == 2
    assert sorted(_entries(doc)) == [
        "dependency-1.0-0.conda",
        "dependency-2.0-0.conda",
        "dependent-1.0-0.conda",
        "dependent-2.0-0.conda",
    ]


# ------------------------------------------------------ the format, read directly


def test_the_index_drops_names_that_are_not_package_names_and_resolves_the_shard_url() -> None:
    from conda_vendor_plugin.channel.shards import parse_index

    digest = hashlib.sha256(b"x").digest()
    names = ["zlib", "python_abi", "r-base", "../../etc/passwd", "a/b", "x..y", "c\\d", "e f", ""]
    body = pack({"info": {"shards_base_url": "../shards"}, "shards": dict.fromkeys(names, digest)})
    index = parse_index(body, "https://h/t/tk/chan/linux-64/repodata_shards.msgpack.zst")
    assert sorted(index.shards) == ["python_abi", "r-base", "zlib"]
    assert index.shard_url("zlib") == f"https://h/t/tk/chan/shards/{digest.hex()}.msgpack.zst"


def test_a_shards_records_become_repodata_json_records() -> None:
    from conda_vendor_plugin.channel.shards import ShardError, parse_index, parse_shard

    digest = bytes(range(32))
    index = parse_index(pack({"shards": {"zlib": digest}}), "https://h/c/linux-64/x")
    assert index.shard_url("zlib") == f"https://h/c/linux-64/{digest.hex()}.msgpack.zst"
    record = {"name": "zlib", "version": "1", "build": "0", "sha256": digest, "md5": b"\xab" * 16}
    record["depends"] = ["libgcc-ng >=7", "__glibc >=2.17"]
    shard = parse_shard(pack({"packages.conda": {"zlib-1-0.conda": record}}), index, "zlib")
    assert shard["packages"] == {}
    assert shard["packages.conda"]["zlib-1-0.conda"] == {
        **record,
        "sha256": digest.hex(),
        "md5": "ab" * 16,
    }
    with pytest.raises(ShardError, match=r"the shard of 'zlib' holds 'x-1-0\.conda' named 'x'"):
        parse_shard(pack({"packages": {"x-1-0.conda": {**record, "name": "x"}}}), index, "zlib")
    with pytest.raises(ShardError, match="not plain JSON data"):
        parse_shard(pack({"packages": {"z.conda": {**record, "x": [b"\x00"]}}}), index, "zlib")


def test_dependency_names() -> None:
    from conda_vendor_plugin.channel.shard_subset import dep_name

    assert dep_name("libgcc-ng >=7.3.0") == "libgcc-ng"
    assert dep_name("python>=3.9,<3.10") == "python"
    assert dep_name("conda-forge::NumPy 1.*") == "numpy"
    assert dep_name("python_abi 3.12.* *_cp312") == "python_abi"
    assert dep_name("__glibc >=2.17") is None
    assert dep_name("") is None


@pytest.mark.parametrize("fault", ["500", "cut:10", "retry-after:0"])
def test_a_shard_cut_or_refused_once_is_retried_not_abandoned(
    sharded_recipes, http_server: ChannelServer, tmp_path: Path, run, caplog, monkeypatch, fault
) -> None:
    monkeypatch.setenv("CONDA_REMOTE_BACKOFF_FACTOR", "0.01")
    chan, url = sharded_recipes
    shard = next(p for p, n in _shard_names(chan, "noarch").items() if n == "dependency")
    http_server.fail(f"conda-test-recipes/noarch/shards/{shard}", fault)
    env = write_env(tmp_path / "env.yml", [url], ["dependent"])
    caplog.set_level(logging.WARNING)
    _lock(run, env, tmp_path / "env.lock.yml", "linux-64")
    assert not caplog.records
    assert http_server.count(f"conda-test-recipes/noarch/shards/{shard}") == 2
    assert "noarch/repodata.json" not in _gets(http_server)


def test_ctrl_c_while_a_shard_stalls_stops_before_the_stall_ends(
    sharded_recipes, tmp_path: Path
) -> None:
    chan, _ = sharded_recipes
    shard = next(p for p, n in _shard_names(chan, "noarch").items() if n == "dependent")
    with ChannelServer(chan.parent) as srv:  # its own server: the stall outlives the test
        srv.fail(f"conda-test-recipes/noarch/shards/{shard}", "stall:60")
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/conda-test-recipes"], ["dependent"])
        run = interrupt_when(
            ["lock", "-f", env, "--platform", "linux-64"], lambda: srv.holding == 1
        )
        # The command ended, and with it the connection, while the shard still stalled.
        assert srv.wait_holds(1) == ["hung up"]
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr


def test_a_token_reaches_the_shards_but_no_file_or_message(
    sharded_recipes, tmp_path: Path, run, caplog
) -> None:
    chan, _ = sharded_recipes
    token = "tk-s3cr3t"
    shard = next(p for p, n in _shard_names(chan, "noarch").items() if n == "dependency")
    with ChannelServer(chan.parent, token=token) as srv:
        srv.fail(f"conda-test-recipes/noarch/shards/{shard}", "corrupt")
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/conda-test-recipes"], ["dependent"])
        caplog.set_level(logging.WARNING)
        rc, out, err = run(
            "lock", "-f", env, "-o", tmp_path / "env.lock.yml", "--platform", "linux-64"
        )
        assert rc == 0, err
        assert all(status != 401 for *_, status in srv.requests)  # the token went everywhere
        assert srv.count(f"conda-test-recipes/noarch/shards/{shard}") == 1
    (warning,) = [r.getMessage() for r in caplog.records]
    assert shard in warning and token not in warning
    cache = Path.home() / ".cache" / "conda-vendor-plugin"
    for path in [*cache.rglob("*"), tmp_path / "env.lock.yml"]:
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    assert token not in out + err


def test_noarch_shards_of_every_platform_reach_the_bundle(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    from .support.build import Pkg, build_channel

    chan = build_channel(
        tmp_path / "served" / "ch",
        [
            Pkg("app", subdir="linux-64", depends=["x"]),
            Pkg("app", subdir="osx-64", depends=["y"]),
            Pkg("x"),
            Pkg("y"),
            Pkg("unrelated"),
        ],
    )
    for subdir in ("linux-64", "osx-64", "noarch"):
        shard_subdir(chan, subdir)
    env = write_env(tmp_path / "environment.yml", [f"{http_server.url}/ch"], ["app"])
    rc, _, err = run(
        "vendor", env, "-o", tmp_path / "OUT", "--platform", "linux-64", "--platform", "osx-64"
    )
    assert rc == 0, err
    local = load_json(tmp_path / "OUT" / "local_ch" / "noarch" / "repodata.json")
    upstream = load_json(chan / "noarch" / "repodata.json")
    assert sorted(local["packages"]) == ["x-1.0-0.tar.bz2", "y-1.0-0.tar.bz2"]
    assert all(local["packages"][fn] == upstream["packages"][fn] for fn in local["packages"])
    assert "noarch/repodata.json" not in _gets(http_server)
    digest = read_index(chan, "noarch")["shards"]["unrelated"].hex()  # listed, never fetched
    assert not any(digest in g for g in _gets(http_server))
