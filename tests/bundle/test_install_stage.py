"""How ``vendor install`` stages the archives it checks (``bundle/install.py``:
:func:`stage`): a hard link to the bundle's file when only this user can change that
file, else a copy; either way each archive's size and sha256 are checked in the private
work folder before anything is linked, and the first that differs, in the lock's order,
is named.

The bundle is real (vendored from a loopback channel by the real command); ``stage`` is
called on the archives ``locate`` finds for a real lock, as ``vendor install`` calls it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conda_vendor_plugin.bundle.install import InstallError, choose, stage
from conda_vendor_plugin.bundle.local import LocalArchive, locate

from ..support.build import Pkg, build_channel
from ..support.bundles import vendor_bundle

pytest.importorskip("rattler")

PKGS = [
    Pkg("app", "1.0", depends=["lib", "data"]),
    Pkg("lib", "2.1", subdir="linux-64", fmt=".conda"),
    Pkg("data", "2024.1", payload_size=50_000),
]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("linux-64",))
    return vendor_bundle(tmp_path / "served", tmp_path / "OUT", "chan", [("env", ["app"])])


def _archives(bundle: Path) -> list[LocalArchive]:
    chosen = choose(bundle, "env", None, "linux-64")
    return locate(bundle, chosen.packages, read=False)


def _shares_inode(a: Path, b: Path) -> bool:
    return os.stat(a).st_ino == os.stat(b).st_ino and os.stat(a).st_dev == os.stat(b).st_dev


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: only the hash can tell
    path.write_bytes(bytes(data))


def test_files_only_their_owner_may_write_are_linked_not_copied(
    bundle: Path, tmp_path: Path
) -> None:
    archives = _archives(bundle)
    assert [a.path.stat().st_mode & 0o022 for a in archives] == [0, 0, 0]  # as vendor wrote

    staged = stage(archives, tmp_path / "work")

    assert [p.relative_to(tmp_path / "work").as_posix() for p in staged] == [
        f"{a.local_channel}/{a.package.subdir}/{a.package.fn}" for a in archives
    ]
    assert all(_shares_inode(a.path, p) for a, p in zip(archives, staged))


@pytest.mark.parametrize("mode", [0o664, 0o646], ids=["group-writable", "world-writable"])
def test_files_others_may_write_are_copied(bundle: Path, tmp_path: Path, mode: int) -> None:
    """A hard link would let whoever may write the bundle's file change the checked
    bytes before py-rattler reads them: those files are copied while hashed."""
    archives = _archives(bundle)
    archives[0].path.chmod(mode)

    staged = stage(archives, tmp_path / "work")

    assert not _shares_inode(archives[0].path, staged[0])
    assert staged[0].read_bytes() == archives[0].path.read_bytes()
    assert os.stat(archives[0].path).st_nlink == 1  # the link made to judge it is gone
    assert all(_shares_inode(a.path, p) for a, p in zip(archives[1:], staged[1:]))


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_files_of_another_user_are_copied(bundle: Path, tmp_path: Path) -> None:
    archives = _archives(bundle)
    os.chown(archives[1].path, 12345, 12345)  # root may link it: the owner may change it

    staged = stage(archives, tmp_path / "work")

    assert not _shares_inode(archives[1].path, staged[1])
    assert staged[1].read_bytes() == archives[1].path.read_bytes()


def test_without_file_owners_everything_is_copied(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no ``os.geteuid`` (no owner to compare): simulated here by removing
    it, since Windows cannot run here; every archive is copied."""
    archives = _archives(bundle)
    monkeypatch.delattr(os, "geteuid")

    staged = stage(archives, tmp_path / "work")

    assert not any(_shares_inode(a.path, p) for a, p in zip(archives, staged))
    assert [p.read_bytes() for p in staged] == [a.path.read_bytes() for a in archives]


def test_a_bundle_on_another_file_system_is_copied(bundle: Path, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system (/dev/shm) to hold the bundle")
    elsewhere = Path(shutil.copytree(bundle, shm / f"cvp-test-{os.getpid()}-{tmp_path.name}"))
    try:
        archives = _archives(elsewhere)
        staged = stage(archives, tmp_path / "work")
        assert [p.read_bytes() for p in staged] == [a.path.read_bytes() for a in archives]
        assert not any(_shares_inode(a.path, p) for a, p in zip(archives, staged))
    finally:
        shutil.rmtree(elsewhere)


@pytest.mark.parametrize("mode", [0o644, 0o664], ids=["linked", "copied"])
def test_the_first_altered_archive_in_lock_order_is_named(
    bundle: Path, tmp_path: Path, mode: int
) -> None:
    archives = _archives(bundle)
    for a in archives:
        a.path.chmod(mode)
    for a in archives[1:]:
        _flip(a.path)
    first = archives[1]

    with pytest.raises(InstallError) as e:
        stage(archives, tmp_path / "work")

    rel = f"{first.local_channel}/{first.package.subdir}/{first.package.fn}"
    assert str(e.value).startswith(f"{rel}: sha256 ")
    assert "nothing was installed" in str(e.value)


def test_an_install_from_linked_archives_leaves_the_bundle_as_it_was(
    bundle: Path, tmp_path: Path, run
) -> None:
    """py-rattler reads the staged links; the bundle's files keep their bytes, modes and
    link counts, and the prefix holds the packages."""
    before = {p: (p.read_bytes(), p.stat().st_mode, p.stat().st_nlink) for p in _paths(bundle)}

    rc, out, err = run("vendor", "install", bundle, "--prefix", tmp_path / "env")

    assert rc == 0, out + err
    assert {p: (p.read_bytes(), p.stat().st_mode, p.stat().st_nlink) for p in _paths(bundle)} == (
        before
    )
    assert sorted(p.name for p in (tmp_path / "env" / "share").iterdir()) == ["app", "data", "lib"]


def _paths(bundle: Path) -> list[Path]:
    return [a.path for a in _archives(bundle)]
