"""``vendor pack``, ``vendor verify FILE.tar``, ``vendor unpack`` and ``vendor install``
from a tar: a real bundle (vendored over loopback from a channel built at test time),
packed, read back member by member, unpacked and installed by the real commands.
Hostile tars are in ``tests/faults/test_hostile_tars.py``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from datetime import datetime
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.bundles import current, vendor_bundle
from ..support.vendoring import snapshot

pytest.importorskip("rattler")

PKGS = [
    Pkg("app", "1.0", depends=["lib"]),
    Pkg("lib", "1.5", subdir="linux-64", fmt=".conda"),
    Pkg("data", "2024.1", payload_size=70_000),
]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("linux-64",))
    runs = [("analysis", ["app"]), ("tools", ["data"])]
    return vendor_bundle(tmp_path / "served", tmp_path / "OUT", "chan", runs)


def _pack(run, bundle: Path, tar: Path) -> dict:
    rc, out, err = run("vendor", "pack", bundle, "-o", tar, "--json")
    assert rc == 0, out + err
    return json.loads(out)


def _sbom_time(bundle: Path) -> int:
    doc = json.loads((bundle / "sbom.cdx.json").read_text())
    return int(datetime.fromisoformat(doc["metadata"]["timestamp"]).timestamp())


def test_two_packs_of_one_bundle_are_byte_identical(bundle: Path, tmp_path: Path, run) -> None:
    one, two = tmp_path / "one.tar", tmp_path / "two.tar"
    _pack(run, bundle, one)
    for path in bundle.rglob("*"):  # the files' own times and modes do not matter
        if path.is_file() and not path.is_symlink():
            os.utime(path, (1, 1))
            path.chmod(0o600)
    doc = _pack(run, bundle, two)

    assert one.read_bytes() == two.read_bytes()
    digest = hashlib.sha256(one.read_bytes()).hexdigest()
    assert doc["sha256"] == digest
    assert (tmp_path / "two.tar.sha256").read_text() == f"{digest}  two.tar\n"
    # sha256sum itself accepts the file beside the tar.
    check = subprocess.run(["sha256sum", "-c", "two.tar.sha256"], cwd=tmp_path, capture_output=True)
    assert check.returncode == 0, check


def test_the_tar_is_the_bundle_manifest_first_sorted_with_fixed_owners_and_times(
    bundle: Path, tmp_path: Path, run
) -> None:
    tar = tmp_path / "b.tar"
    _pack(run, bundle, tar)
    with tarfile.open(tar) as tf:
        members = tf.getmembers()
        names = [m.name for m in members]
        assert names[0] == "manifest.json"
        assert names[1:] == sorted(names[1:])
        on_disk = snapshot(bundle)
        assert set(names) == set(on_disk)
        for m in members:
            assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
            assert m.mtime == _sbom_time(bundle)
            if m.issym():
                assert m.mode == 0o777 and on_disk[m.name] == b"-> " + m.linkname.encode()
            else:
                assert m.isreg() and m.mode == 0o644
                f = tf.extractfile(m)
                assert f is not None and f.read() == on_disk[m.name]


def test_source_date_epoch_sets_the_times(
    bundle: Path, tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    _pack(run, bundle, tmp_path / "b.tar")
    with tarfile.open(tmp_path / "b.tar") as tf:
        assert {m.mtime for m in tf.getmembers()} == {1234567890}


def test_a_bundle_that_differs_from_its_manifest_is_not_packed(
    bundle: Path, tmp_path: Path, run
) -> None:
    archive = bundle / "local_chan" / "noarch" / "data-2024.1-0.tar.bz2"
    data = bytearray(archive.read_bytes())
    data[100] ^= 1
    archive.write_bytes(bytes(data))

    rc, _, err = run("vendor", "pack", bundle, "-o", tmp_path / "b.tar")

    assert rc == 1
    assert err.startswith(f"error: {archive}: sha256 ") and "the manifest says" in err
    assert sorted(p.name for p in tmp_path.iterdir() if "b.tar" in p.name) == []


def test_verify_reads_a_tar_without_unpacking_it(bundle: Path, tmp_path: Path, run) -> None:
    tar = tmp_path / "b.tar"
    _pack(run, bundle, tar)
    before = sorted(p.name for p in tmp_path.iterdir())

    rc, out, _ = run("vendor", "verify", tar, "--json")

    assert rc == 0
    doc = json.loads(out)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert doc["problems"] == 0
    assert doc["archives"] == sum(1 for f in manifest["files"] if "purl" in f) == 3
    assert doc["environment_versions"] == 2
    assert doc["current_pointers"] == "links"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_verify_names_a_member_altered_in_the_tar(bundle: Path, tmp_path: Path, run) -> None:
    tar = tmp_path / "b.tar"
    _pack(run, bundle, tar)
    with tarfile.open(tar) as tf:
        m = tf.getmember("local_chan/noarch/data-2024.1-0.tar.bz2")
    data = bytearray(tar.read_bytes())
    data[m.offset_data + 10] ^= 1
    tar.write_bytes(bytes(data))

    rc, out, _ = run("vendor", "verify", tar)

    assert rc == 1
    lines = out.splitlines()
    assert lines[0].startswith("corrupt: local_chan/noarch/data-2024.1-0.tar.bz2: sha256 ")
    assert lines[1].startswith("corrupt: b.tar: sha256 ") and "b.tar.sha256 says" in lines[1]
    assert lines[2] == (
        f"{tar}: 3 archives checked, 2 environment versions, 2 problem(s); current pointers: links"
    )


def test_unpack_gives_the_bundle_back_and_install_takes_the_tar(
    bundle: Path, tmp_path: Path, run
) -> None:
    tar = tmp_path / "b.tar"
    _pack(run, bundle, tar)
    dest = tmp_path / "far" / "bundle"

    rc, out, err = run("vendor", "unpack", tar, "-o", dest)

    assert rc == 0, out + err
    assert snapshot(dest) == snapshot(bundle)
    rc, out, _ = run("vendor", "verify", dest, "--json")
    assert rc == 0 and json.loads(out)["problems"] == 0
    rc, out, err = run("vendor", "unpack", tar, "-o", dest)
    assert rc == 1 and err.strip() == f"error: {dest} exists; unpack into a new folder"

    prefix = tmp_path / "env"
    rc, out, err = run("vendor", "install", tar, "analysis", "--prefix", prefix, "--json")
    assert rc == 0, out + err
    names = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    assert names == ["app-1.0-0.json", "lib-1.5-0.json"]
    assert [
        p.name for p in tmp_path.iterdir() if ".unpack-" in p.name or ".install-" in p.name
    ] == []


def _without_links(bundle: Path, dest: Path) -> Path:
    """As a FAT stick keeps it: every file, no ``current`` link (``current.txt`` left)."""
    shutil.copytree(bundle, dest, symlinks=True)
    for link in dest.glob("envs/*/current"):
        link.unlink()
    return dest


@pytest.mark.parametrize("medium", ["copytree", "no links"])
def test_a_bundle_that_crossed_a_medium_packs_verifies_and_installs(
    medium: str, bundle: Path, tmp_path: Path, run
) -> None:
    """Packed as found (the copies' files, or no pointer at all), reproducibly; the tar
    then verifies, unpacks to the same bundle and installs."""
    carried = tmp_path / "CARRIED"
    if medium == "copytree":
        shutil.copytree(bundle, carried, symlinks=False)  # current/ became directories
    else:
        _without_links(bundle, carried)
    tar = tmp_path / "b.tar"
    doc = _pack(run, carried, tar)
    for path in carried.rglob("*"):
        os.utime(path, (1, 1))
    assert _pack(run, carried, tmp_path / "again.tar")["sha256"] == doc["sha256"]
    assert (tmp_path / "again.tar").read_bytes() == tar.read_bytes()

    with tarfile.open(tar) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert set(members) == set(snapshot(carried))
    assert not any(m.issym() for m in members.values())
    copies = sorted(n for n in members if n.startswith("envs/analysis/current/"))
    assert copies == (
        sorted(f"envs/analysis/current/{p.name}" for p in current(bundle, "analysis").iterdir())
        if medium == "copytree"
        else []
    )

    form = "directories" if medium == "copytree" else "pointer files"
    rc, out, _ = run("vendor", "verify", tar, "--json")
    assert rc == 0 and json.loads(out)["problems"] == 0, out
    assert json.loads(out)["current_pointers"] == form
    rc, out, _ = run("vendor", "verify", tar)
    assert rc == 0 and out.splitlines()[-1] == (
        f"{tar}: 3 archives checked, 2 environment versions, 0 problem(s); current pointers: {form}"
    )
    dest = tmp_path / "far" / "bundle"
    rc, out, err = run("vendor", "unpack", tar, "-o", dest)
    assert rc == 0, out + err
    assert snapshot(dest) == snapshot(carried)
    prefix = tmp_path / "env"
    rc, out, err = run("vendor", "install", tar, "analysis", "--prefix", prefix)
    assert rc == 0, out + err
    names = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    assert names == ["app-1.0-0.json", "lib-1.5-0.json"]


def test_a_copy_that_is_not_its_version_is_not_packed(bundle: Path, tmp_path: Path, run) -> None:
    carried = tmp_path / "CARRIED"
    shutil.copytree(bundle, carried, symlinks=False)
    (lock,) = (carried / "envs" / "analysis" / "current").glob("environment.lock.yml")
    lock.write_text(lock.read_text() + "# edited\n")

    rc, _, err = run("vendor", "pack", carried, "-o", tmp_path / "b.tar")

    assert rc == 1
    assert err.startswith(f"error: {lock}: ") and "the manifest says" in err
    assert sorted(p.name for p in tmp_path.iterdir() if "b.tar" in p.name) == []


def test_verify_of_a_tar_names_mixed_pointers(bundle: Path, tmp_path: Path, run) -> None:
    """One environment's link dropped, the other's kept: ``mixed``, as for a folder."""
    carried = tmp_path / "CARRIED"
    shutil.copytree(bundle, carried, symlinks=True)
    (carried / "envs" / "tools" / "current").unlink()
    tar = tmp_path / "b.tar"
    _pack(run, carried, tar)

    rc, out, _ = run("vendor", "verify", tar, "--json")

    assert rc == 0 and json.loads(out)["current_pointers"] == "mixed", out
    rc, out, _ = run("vendor", "verify", carried, "--json")
    assert rc == 0 and json.loads(out)["current_pointers"] == "mixed", out
