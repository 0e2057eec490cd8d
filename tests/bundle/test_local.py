"""``bundle.local``: finding a lockfile's archives in the bundle it sits in.

Bundles here are real: written by ``vendor`` (py-rattler, over loopback HTTP) or laid
out by hand from channels built by ``tests/support/build.py`` (real archives, real
hashes). Hostile variants are made by editing one of them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conda_vendor_plugin.bundle.local import BundleError, find_bundle, local_channels, locate
from conda_vendor_plugin.records import LockedPackage

from ..support.build import Pkg, build_channel
from ..support.bundles import current, locked_from_entry

MANIFEST = {"tool": {"name": "conda-vendor-plugin", "version": "0"}, "files": []}
UPSTREAM = "https://example.invalid/chan"


def _manifest(out: Path, doc: object = MANIFEST) -> None:
    (out / "manifest.json").write_text(json.dumps(doc))


def _locked(channel_dir: Path, upstream: str = UPSTREAM) -> list[LockedPackage]:
    """A LockedPackage for every entry of a built channel, as a lockfile records it."""
    out = []
    for rd in sorted(channel_dir.glob("*/repodata.json")):
        doc = json.loads(rd.read_text())
        for section in ("packages", "packages.conda"):
            for fn, e in doc[section].items():
                subdir = rd.parent.name
                out.append(locked_from_entry(upstream, subdir, fn, e))
    return out


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[Path, list[LockedPackage]]:
    """OUT with one local channel (a .conda in noarch, a .tar.bz2 in linux-64)."""
    out = tmp_path / "OUT"
    chan = build_channel(
        out / "local_chan",
        [Pkg("app", depends=["lib"], fmt=".conda"), Pkg("lib", subdir="linux-64")],
    )
    _manifest(out)
    return out, _locked(chan)


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------ find_bundle


def test_a_vendored_output_is_a_bundle(bundle) -> None:
    out, _ = bundle
    assert find_bundle(out) == out
    assert local_channels(out) == ["local_chan"]


@pytest.mark.parametrize(
    "manifest",
    [
        None,  # no manifest.json
        {"tool": {"name": "another-tool"}},
        {"tool": "conda-vendor-plugin"},
        ["tool"],
        "not json {",
    ],
)
def test_not_a_bundle_without_our_manifest(bundle, manifest) -> None:
    out, _ = bundle
    if manifest is None:
        (out / "manifest.json").unlink()
    elif isinstance(manifest, str):
        (out / "manifest.json").write_text(manifest)
    else:
        _manifest(out, manifest)
    assert find_bundle(out) is None


def test_not_a_bundle_without_a_local_channel(tmp_path: Path) -> None:
    _manifest(tmp_path)
    (tmp_path / "local_file").write_text("a file, not a channel")
    assert find_bundle(tmp_path) is None


def test_links_are_not_followed_to_a_manifest_or_a_channel(bundle, tmp_path: Path) -> None:
    out, _ = bundle
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.replace(out / "manifest.json", elsewhere / "manifest.json")
    (out / "manifest.json").symlink_to(elsewhere / "manifest.json")
    assert find_bundle(out) is None

    other = tmp_path / "other"
    other.mkdir()
    _manifest(other)
    (other / "local_chan").symlink_to(out / "local_chan", target_is_directory=True)
    assert local_channels(other) == []
    assert find_bundle(other) is None


def test_a_missing_directory_is_not_a_bundle(tmp_path: Path) -> None:
    assert find_bundle(tmp_path / "nowhere") is None
    assert find_bundle(tmp_path / "manifest.json" / "x") is None


# ------------------------------------------------------------------ locate


def test_every_locked_package_maps_to_its_local_archive_in_order(bundle) -> None:
    out, locked = bundle
    found = locate(out, reversed(locked))
    assert [a.package for a in found] == list(reversed(locked))
    for a in found:
        p = a.package
        assert a.local_channel == "local_chan"
        assert a.channel_path == out / "local_chan"
        assert a.path == out / "local_chan" / p.subdir / p.fn
        doc = json.loads((out / "local_chan" / p.subdir / "repodata.json").read_text())
        section = "packages.conda" if p.fn.endswith(".conda") else "packages"
        assert a.entry == doc[section][p.fn]  # the local (upstream's original) entry


def test_a_missing_archive_is_one_line_naming_the_package(bundle) -> None:
    out, locked = bundle
    lib = next(p for p in locked if p.name == "lib")
    (out / "local_chan" / "linux-64" / lib.fn).unlink()
    with pytest.raises(BundleError) as e:
        locate(out, locked)
    msg = str(e.value)
    assert "\n" not in msg
    assert "lib-1.0-0 (linux-64)" in msg and "missing" in msg
    assert f"conda vendor verify {out}" in msg


def test_a_corrupt_archive_is_refused(bundle) -> None:
    out, locked = bundle
    app = next(p for p in locked if p.name == "app")
    _flip_last_byte(out / "local_chan" / "noarch" / app.fn)
    with pytest.raises(BundleError, match=r"app-1.0-0 \(noarch\).*sha256"):
        locate(out, locked)


def test_a_lock_entry_with_another_hash_is_not_found(bundle) -> None:
    out, locked = bundle
    other = [p.__class__(**{**p.__dict__, "sha256": "0" * 64}) for p in locked]
    with pytest.raises(BundleError, match=r"and 1 more.*in none of the local channels"):
        locate(out, other)


def test_an_entry_naming_another_package_is_not_taken(bundle) -> None:
    out, locked = bundle
    rd = out / "local_chan" / "noarch" / "repodata.json"
    doc = json.loads(rd.read_text())
    for entry in doc["packages.conda"].values():
        entry["version"] = "9.9"
    rd.write_text(json.dumps(doc))
    with pytest.raises(BundleError, match=r"app-1\.0-0 \(noarch\)"):
        locate(out, locked)


def test_md5_matches_an_entry_locked_without_sha256(bundle) -> None:
    out, locked = bundle
    md5_only = [p.__class__(**{**p.__dict__, "sha256": None}) for p in locked]
    assert [a.package for a in locate(out, md5_only)] == md5_only


def test_the_first_intact_copy_wins_and_a_corrupt_one_is_skipped(bundle, tmp_path: Path) -> None:
    out, locked = bundle
    build_channel(  # the same archives again, in a second local channel
        out / "local_zzz",
        [Pkg("app", depends=["lib"], fmt=".conda"), Pkg("lib", subdir="linux-64")],
    )
    assert [a.local_channel for a in locate(out, locked)] == ["local_chan", "local_chan"]
    app = next(p for p in locked if p.name == "app")
    _flip_last_byte(out / "local_chan" / "noarch" / app.fn)
    found = {a.package.name: a.local_channel for a in locate(out, locked)}
    assert found == {"app": "local_zzz", "lib": "local_chan"}


def test_an_archive_that_is_a_link_is_not_followed(bundle, tmp_path: Path) -> None:
    out, locked = bundle
    lib = next(p for p in locked if p.name == "lib")
    archive = out / "local_chan" / "linux-64" / lib.fn
    os.replace(archive, tmp_path / lib.fn)
    archive.symlink_to(tmp_path / lib.fn)  # an intact archive, but outside the bundle
    with pytest.raises(BundleError, match="symbolic link"):
        locate(out, locked)


def test_a_subdir_that_is_a_link_is_not_followed(bundle, tmp_path: Path) -> None:
    out, locked = bundle
    os.replace(out / "local_chan" / "linux-64", tmp_path / "linux-64")
    (out / "local_chan" / "linux-64").symlink_to(tmp_path / "linux-64", target_is_directory=True)
    with pytest.raises(BundleError, match=r"lib-1.0-0 .*unreadable: .*symbolic link"):
        locate(out, locked)


def test_a_repodata_that_is_a_link_or_not_json_is_reported(bundle, tmp_path: Path) -> None:
    out, locked = bundle
    rd = out / "local_chan" / "noarch" / "repodata.json"
    os.replace(rd, tmp_path / "repodata.json")
    rd.symlink_to(tmp_path / "repodata.json")
    with pytest.raises(BundleError, match=r"app-1.0-0 .*unreadable: .*symbolic link"):
        locate(out, locked)
    rd.unlink()
    rd.write_text("[1, 2")
    with pytest.raises(BundleError, match=r"unreadable: .*not valid JSON"):
        locate(out, locked)


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("fn", "../../../etc/passwd.conda", "archive name"),
        ("fn", "lib-1.0-0.zip", "archive name"),
        ("subdir", "../noarch", "subdir"),
    ],
)
def test_hostile_lock_entries_are_refused_before_any_path_is_built(
    bundle, field: str, value: str, what: str
) -> None:
    out, locked = bundle
    lib = next(p for p in locked if p.name == "lib")
    hostile = lib.__class__(**{**lib.__dict__, field: value})
    with pytest.raises(BundleError, match=what):
        locate(out, [hostile])


def test_a_real_vendored_output(tmp_path: Path) -> None:
    """``vendor`` writes the bundle; every package of its lockfile is found in it."""
    pytest.importorskip("rattler")
    from conda_vendor_plugin import cli
    from conda_vendor_plugin.formats import explicit_v1

    from ..support.server import ChannelServer
    from ..support.vendoring import write_env

    build_channel(
        tmp_path / "served" / "chan",
        [Pkg("app", depends=["lib"], fmt=".conda"), Pkg("lib", subdir="linux-64")],
    )
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as server:
        env = write_env(tmp_path / "env.yml", [f"{server.url}/chan"], ["app"])
        assert cli.main(["vendor", str(env), "-o", str(out), "--platform", "linux-64"]) == 0
    lock = explicit_v1.load(current(out) / "environment.lock.yml")
    assert find_bundle(out) == out
    found = locate(out, lock.packages["linux-64"])
    assert [(a.local_channel, a.path.relative_to(out).as_posix()) for a in found] == [
        ("local_chan", "local_chan/linux-64/lib-1.0-0.tar.bz2"),
        ("local_chan", "local_chan/noarch/app-1.0-0.conda"),
    ]
