"""``vendor install``: an environment of a bundle into a new prefix, no conda, no network.

The bundles are real: channels built by ``tests/support/build.py`` (real archives, real
hashes), served on 127.0.0.1 and vendored by the real command; the install is the real
command too (py-rattler's installer links the packages). The server is stopped before
installing where it matters, so a fetch would fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from conda_vendor_plugin.formats.registry import read_path

from ..support.build import Pkg, build_channel
from ..support.bundles import current, vendor_bundle
from ..support.vendoring import load_json, snapshot

pytest.importorskip("rattler")

PKGS = [
    Pkg("app", "1.0", depends=["lib >=1,<2", "data"]),
    Pkg("app", "2.0", depends=["lib >=2", "data"]),
    Pkg("lib", "1.5", subdir="linux-64"),
    Pkg("lib", "2.1", subdir="linux-64", fmt=".conda"),
    Pkg("data", "2024.1"),
    Pkg("broken", "1.0", subdir="linux-64"),
]
RECORD_KEYS = ("name", "version", "build", "subdir", "fn", "url", "channel", "sha256", "md5")


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A bundle with environments ``analysis`` (two versions: app 1.0, then app 2.0) and
    ``tools`` (data only), vendored from a loopback server that is gone afterwards."""
    chan = build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("linux-64",))
    _unextractable(chan / "linux-64", "broken-1.0-0.tar.bz2")
    out = tmp_path / "OUT"
    runs = [
        ("analysis", ["app 1.0.*"]),
        ("analysis", ["app 2.0.*"]),
        ("tools", ["data"]),
        ("broken", ["broken"]),
    ]
    return vendor_bundle(tmp_path / "served", out, "chan", runs)


def _unextractable(subdir: Path, fn: str) -> None:
    """Make one archive bytes no installer can extract, its entry listing those bytes
    (it verifies, and fails only when linked)."""
    data = b"not a bzip2 stream at all" * 10
    (subdir / fn).write_bytes(data)
    doc = load_json(subdir / "repodata.json")
    doc["packages"][fn].update(
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
    )
    (subdir / "repodata.json").write_text(json.dumps(doc))


def _install(run, *args: object) -> tuple[int, str, str]:
    return run("vendor", "install", *args)


def _records(prefix: Path) -> list[dict]:
    """The conda-meta records of ``prefix``, sorted, each cut to what a lock records."""
    found = []
    for path in sorted((prefix / "conda-meta").glob("*.json")):
        doc = json.loads(path.read_text())
        found.append({k: doc.get(k) for k in (*RECORD_KEYS, "size")})
    assert found, f"{prefix}: no records"
    return found


def _locked(version_dir: Path) -> list[dict]:
    lock = read_path(version_dir / "environment.lock.yml")
    return sorted(
        (
            {k: getattr(p, k) for k in RECORD_KEYS} | {"size": p.size}
            for p in lock.packages["linux-64"]
        ),
        key=lambda r: (r["name"], r["version"]),
    )


def test_install_creates_exactly_the_locked_packages(bundle: Path, tmp_path: Path, run) -> None:
    prefix = tmp_path / "envs" / "analysis"
    rc, out, err = _install(run, bundle, "analysis", "--prefix", prefix)

    assert rc == 0, out + err
    assert _records(prefix) == _locked(current(bundle, "analysis"))
    assert [r["version"] for r in _records(prefix) if r["name"] == "app"] == ["2.0"]
    # The packages' files are linked, byte for byte what the archives hold.
    assert sorted(p.name for p in (prefix / "share").iterdir()) == ["app", "data", "lib"]
    assert out.splitlines() == [
        f"Installed analysis {current(bundle, 'analysis').name} (linux-64): 3 packages, "
        f"every archive's sha256 checked, into {prefix}"
    ]
    # Nothing of the install's own is left beside PREFIX.
    assert sorted(p.name for p in prefix.parent.iterdir()) == ["analysis"]


def test_a_tampered_archive_is_refused_before_anything_is_linked(
    bundle: Path, tmp_path: Path, run
) -> None:
    archive = bundle / "local_chan" / "noarch" / "data-2024.1-0.tar.bz2"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: only the hash can tell
    archive.write_bytes(bytes(data))
    before = snapshot(bundle)
    prefix = tmp_path / "envs" / "tools"

    rc, out, _ = _install(run, bundle, "tools", "--prefix", prefix, "--json")

    assert rc == 1
    doc = json.loads(out)
    assert doc["success"] is False
    assert doc["error"].startswith("local_chan/noarch/data-2024.1-0.tar.bz2: sha256 ")
    assert "nothing was installed" in doc["error"] and "\n" not in doc["error"]
    assert not os.path.lexists(prefix) and not os.path.lexists(prefix.parent)
    assert snapshot(bundle) == before


def test_an_existing_prefix_is_refused_and_replaced_with_force(
    bundle: Path, tmp_path: Path, run
) -> None:
    prefix = tmp_path / "env"
    prefix.mkdir()
    (prefix / "mine.txt").write_text("keep me")

    rc, _, err = _install(run, bundle, "tools", "--prefix", prefix)
    assert (
        rc == 2
        and err.strip()
        == f"error: {prefix} exists; pass --force to replace it, or choose another --prefix"
    )
    assert (prefix / "mine.txt").read_text() == "keep me"

    rc, out, err = _install(run, bundle, "tools", "--prefix", prefix, "--force")
    assert rc == 0, out + err
    assert not (prefix / "mine.txt").exists()
    assert _records(prefix) == _locked(current(bundle, "tools"))
    assert [r["name"] for r in _records(prefix)] == ["data"]


def test_a_failed_link_leaves_no_prefix_and_restores_a_replaced_one(
    bundle: Path, tmp_path: Path, run
) -> None:
    """``broken`` verifies (its entry lists its bytes) but cannot be extracted."""
    prefix = tmp_path / "env"
    rc, _, err = _install(run, bundle, "broken", "--prefix", prefix)
    assert rc == 1 and "broken-1.0-0" in err
    assert sorted(p.name for p in tmp_path.iterdir() if "env" in p.name) == []

    prefix.mkdir()
    (prefix / "mine.txt").write_text("keep me")
    rc, _, err = _install(run, bundle, "broken", "--prefix", prefix, "--force")
    assert rc == 1
    assert snapshot(prefix) == {"mine.txt": b"keep me"}
    assert sorted(p.name for p in tmp_path.iterdir() if "env" in p.name) == ["env"]


def test_an_earlier_version_installs_by_its_id(bundle: Path, tmp_path: Path, run) -> None:
    index = load_json(bundle / "bundle.json")
    first = index["environments"]["analysis"]["versions"][0]["id"]
    prefix = tmp_path / "old"

    rc, out, err = _install(run, bundle, "analysis", "--version", first, "--prefix", prefix)

    assert rc == 0, out + err
    versions = bundle / "envs" / "analysis" / "versions"
    assert _records(prefix) == _locked(versions / first)
    assert [r["version"] for r in _records(prefix) if r["name"] in ("app", "lib")] == [
        "1.0",
        "1.5",
    ]
    rc, _, err = _install(
        run, bundle, "analysis", "--version", "9-000000000000", "--prefix", tmp_path / "new"
    )
    assert rc == 2 and f"analysis has no version '9-000000000000'; it has {first}, " in err


def test_a_bundle_copied_without_links_installs(bundle: Path, tmp_path: Path, run) -> None:
    """``shutil.copytree`` turns each ``current`` link into a directory (as FAT, zip or
    ``cp -rL`` do); the pointer file still says which version is current."""
    copy = tmp_path / "copied"
    shutil.copytree(bundle, copy, symlinks=False)
    assert (copy / "envs" / "analysis" / "current").is_dir()
    assert not (copy / "envs" / "analysis" / "current").is_symlink()
    prefix = tmp_path / "p"

    rc, out, err = _install(run, copy, "analysis", "--prefix", prefix)

    assert rc == 0, out + err
    assert _records(prefix) == _locked(current(bundle, "analysis"))


def test_which_environment_must_be_said_when_there_are_several(
    bundle: Path, tmp_path: Path, run
) -> None:
    prefix = tmp_path / "p"
    rc, _, err = _install(run, bundle, "--prefix", prefix)
    assert rc == 2
    assert err.strip() == (
        f"error: {bundle}: name the environment to install, one of: analysis, broken, tools"
    )
    rc, _, err = _install(run, bundle, "nope", "--prefix", prefix)
    assert rc == 2 and "no environment 'nope'; it has analysis, broken, tools" in err
    rc, _, err = _install(run, bundle, "tools")
    assert rc == 2 and "--prefix PREFIX" in err
    assert not prefix.exists()


def test_wheels_with_no_python_to_install_them_are_refused_before_linking(
    tmp_path: Path, run, shared_testdata: Path
) -> None:
    """A lock with pip: wheels but no python or pip among its conda packages (a lockfile
    edited by hand): one line saying so, nothing installed, rather than an environment
    that silently lacks its wheels. (Installing wheels: tests/pypi/test_install_wheels.py.)"""
    from dataclasses import replace

    from conda_vendor_plugin.formats import explicit_v1
    from conda_vendor_plugin.pypi.records import Wheel

    from ..support.server import ChannelServer
    from ..support.vendoring import write_env

    build_channel(tmp_path / "served" / "chan", PKGS[:5], subdirs=("linux-64",))
    fn = "msgpack-1.1.0-cp312-cp312-win_amd64.whl"
    (tmp_path / "served" / "files").mkdir()
    shutil.copyfile(shared_testdata / "pypi" / "wheels" / fn, tmp_path / "served" / "files" / fn)
    sha256 = hashlib.sha256((tmp_path / "served" / "files" / fn).read_bytes()).hexdigest()
    with ChannelServer(tmp_path / "served") as srv:
        wheel = Wheel("msgpack", "1.1.0", f"{srv.url}/files/{fn}", sha256)
        env = write_env(tmp_path / "e.yml", [f"{srv.url}/chan"], ["data"], name="e")
        assert run("lock", "-f", env, "--platform", "linux-64")[0] == 0
        lock = read_path(tmp_path / "e.lock.yml")
        with_wheel = replace(lock, pypi={"linux-64": (wheel,)})
        (tmp_path / "w.lock.yml").write_text(explicit_v1.write(with_wheel))
        rc, out, err = run("vendor", "--lockfile", tmp_path / "w.lock.yml", "-o", tmp_path / "OUT")
        assert rc == 0, out + err

    rc, out, err = _install(run, tmp_path / "OUT", "--prefix", tmp_path / "p")

    assert rc == 1
    assert err.strip().splitlines() == [
        "error: e 1-"
        + err.split("error: e 1-", 1)[1].split(" ", 1)[0]
        + " locks 1 wheel for linux-64 but no python or pip conda package to install it "
        "with; add python and pip to the environment file and vendor it again"
    ]
    assert not (tmp_path / "p").exists()
