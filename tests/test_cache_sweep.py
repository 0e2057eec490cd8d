"""The shard cache sheds what no run has used for two weeks, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

from conda_vendor_plugin.channel.cache_sweep import MARKER, MAX_AGE, SHARD_FILES, SWEEP_EVERY, sweep

NOW = 1_900_000_000.0
OLD = NOW - MAX_AGE - 60


def _file(path: Path, mtime: float) -> Path:
    path.write_text("x")
    os.utime(path, (mtime, mtime))
    return path


def test_files_unused_for_two_weeks_go_and_nothing_else(tmp_path: Path) -> None:
    cache = tmp_path / "shards"
    cache.mkdir()
    gone = [
        _file(cache / f"{'ab' * 32}.msgpack.zst", OLD),  # a shard
        _file(cache / "index-0123.msgpack.zst", OLD),  # an index
        _file(cache / "index-0123.state.json", OLD),
        _file(cache / "subset-4567.json", OLD),
    ]
    kept = [
        _file(cache / f"{'cd' * 32}.msgpack.zst", NOW - MAX_AGE + 60),  # used 13 days ago
        _file(cache / "subset-89ab.json", NOW),
        _file(cache / "notes.json", OLD),  # not a name the plugin writes
        _file(tmp_path / "elsewhere.msgpack.zst", OLD),
    ]
    (cache / "link.msgpack.zst").symlink_to(kept[-1])  # a link is never removed, nor followed
    (cache / "dir.msgpack.zst").mkdir()
    os.utime(cache / "dir.msgpack.zst", (OLD, OLD))

    assert sweep(cache, SHARD_FILES, now=NOW) == len(gone)
    assert not any(p.exists() for p in gone)
    assert all(p.exists() for p in kept)
    assert (cache / "link.msgpack.zst").is_symlink() and (cache / "dir.msgpack.zst").is_dir()


def test_at_most_one_sweep_a_day(tmp_path: Path) -> None:
    assert sweep(tmp_path, SHARD_FILES, now=NOW) == 0
    assert (tmp_path / MARKER).stat().st_mtime == NOW
    stale = _file(tmp_path / "subset-1.json", OLD)
    assert sweep(tmp_path, SHARD_FILES, now=NOW + SWEEP_EVERY - 60) == 0
    assert stale.exists()
    assert sweep(tmp_path, SHARD_FILES, now=NOW + SWEEP_EVERY + 60) == 1
    assert not stale.exists()


def test_no_cache_yet_is_no_error(tmp_path: Path) -> None:
    assert sweep(tmp_path / "never-made", SHARD_FILES, now=NOW) == 0
    assert not (tmp_path / "never-made").exists()
