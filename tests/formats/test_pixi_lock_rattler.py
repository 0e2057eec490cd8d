"""pixi.lock version 7 as py-rattler's ``LockFile`` (the writer pixi uses) writes it: files
generated here, then read. Skipped where py-rattler is not installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import pixi_lock
from conda_vendor_plugin.records import ForeignPackage

CF = "https://conda.anaconda.org/conda-forge"
MD5 = "fc6948412dbbbe9a4c9ddbbcfe0a79ab"
SHA = "adfa71f158cbd872a36394c56c3568e6034aa55c623634b37a4836bd036e6b91"

rattler = pytest.importorskip("rattler")
if not hasattr(rattler, "BuildString"):  # py-rattler 0.26, which conda-rattler-solver pins
    pytest.skip("builds records with py-rattler 0.28's API", allow_module_level=True)
SUBDIR = getattr(rattler, "Subdir", None) or rattler.Platform  # Platform before py-rattler 0.28


def record(name: str, version: str, build: str, subdir: str, channel: str = CF, **kw: Any):
    ext = kw.pop("ext", ".conda")
    fn = f"{name}-{version}-{build}{ext}"
    record = rattler.PackageRecord(
        name,
        version,
        rattler.BuildString(build),
        kw.pop("build_number", 0),
        subdir,
        sha256=bytes.fromhex(kw.pop("sha256", SHA)),
        md5=bytes.fromhex(kw.pop("md5", MD5)),
        size=kw.pop("size", 1234),
        **kw,
    )
    return rattler.RepoDataRecord(record, fn, f"{channel}/{subdir}/{fn}", f"{channel}/")


def write_v7(path: Path, packages: dict[str, list], **options: Any) -> Path:
    """A pixi.lock written by py-rattler: ``{platform: [record or (name, version, url)]}``."""
    platforms = options.get("platforms") or {
        p.rpartition(":")[2]: rattler.LockPlatform(p.rpartition(":")[2]) for p in packages
    }
    lock = rattler.LockFile(list(platforms.values()))
    for env, channels in options.get("channels", {"default": [CF + "/"]}).items():
        lock.set_channels(env, [rattler.LockChannel(c) for c in channels])
    for platform, items in packages.items():
        env, _, platform = platform.rpartition(":")
        for item in items:
            if isinstance(item, tuple):
                lock.add_pypi_package(env or "default", platforms[platform], *item)
            else:
                lock.add_conda_package(env or "default", platforms[platform], item)
    lock.to_path(path)
    return path


def read_file(path: Path, **kw: Any):
    return pixi_lock.read(path.read_text(), str(path), path=path, **kw)


ZLIB = record("zlib", "1.3.1", "hb9d3cd8_2", "linux-64", depends=["libgcc >=13", "__glibc >=2.17"])
TZDATA = record("tzdata", "2024b", "hc8b5060_0", "noarch")
ZLIB_OSX = record("zlib", "1.3.1", "h8359307_2", "osx-arm64", size=46438)
MOCK = record("mock", "2.0.0", "py36_0", "noarch", ext=".tar.bz2", md5="1" * 32, sha256="2" * 64)
REQUESTS = ("requests", "2.32.3", "https://files.pythonhosted.org/packages/f9/requests-2.32.3.whl")


def test_reads_what_py_rattler_writes_as_version_7(tmp_path: Path) -> None:
    path = write_v7(
        tmp_path / "pixi.lock", {"linux-64": [ZLIB, TZDATA, MOCK], "osx-arm64": [ZLIB_OSX]}
    )
    text = path.read_text()
    assert text.startswith("version: 7\n") and "\n  name: zlib" not in text  # no name/version/build
    lock = read_file(path)
    assert lock.format == "pixi-lock-v7" and lock.input_hash is None and lock.path == path
    assert lock.channels == (CF,)
    assert lock.platforms == ("linux-64", "osx-arm64")
    pkgs = lock.packages["linux-64"]
    in_file = [
        line.split("/")[-1] for line in text.splitlines() if line.startswith("      - conda:")
    ]
    assert [p.fn for p in pkgs] == in_file[:3]  # the environment's order (rattler sorts it)
    zlib, tzdata, mock = (next(p for p in pkgs if p.name == n) for n in ("zlib", "tzdata", "mock"))
    assert (zlib.name, zlib.version, zlib.build, zlib.subdir) == (
        "zlib",
        "1.3.1",
        "hb9d3cd8_2",
        "linux-64",
    )
    assert (zlib.url, zlib.channel, zlib.fn) == (
        f"{CF}/linux-64/zlib-1.3.1-hb9d3cd8_2.conda",
        CF,
        "zlib-1.3.1-hb9d3cd8_2.conda",
    )
    assert (zlib.sha256, zlib.md5, zlib.size) == (SHA, MD5, 1234)
    assert zlib.depends == ("libgcc >=13", "__glibc >=2.17")
    assert (tzdata.subdir, tzdata.depends) == ("noarch", ())
    assert (mock.fn, mock.sha256, mock.md5) == ("mock-2.0.0-py36_0.tar.bz2", "2" * 64, "1" * 32)
    assert lock.packages["osx-arm64"][0].size == 46438


def test_version_7_pypi_entries_become_foreign_packages(tmp_path: Path) -> None:
    path = write_v7(tmp_path / "pixi.lock", {"linux-64": [ZLIB, REQUESTS]})
    lock = read_file(path)
    assert [p.name for p in lock.packages["linux-64"]] == ["zlib"]
    assert lock.foreign == (ForeignPackage("pypi", "requests", "2.32.3", "linux-64", REQUESTS[2]),)


def test_a_local_channel_written_as_paths_reads_back_as_file_urls(tmp_path: Path) -> None:
    channel = (tmp_path / "chan").as_uri()
    local = record("zlib", "1.3.1", "hb9d3cd8_2", "linux-64", channel=channel)
    path = write_v7(tmp_path / "pixi.lock", {"linux-64": [local]}, channels={"default": [channel]})
    assert f"conda: {tmp_path}/chan/linux-64/zlib" in path.read_text()  # rattler writes a path
    p = read_file(path).packages["linux-64"][0]
    assert p.url == f"{channel}/linux-64/zlib-1.3.1-hb9d3cd8_2.conda"
    assert (p.channel, p.subdir) == (channel, "linux-64")


def test_another_environment_is_read_when_asked_for(tmp_path: Path) -> None:
    path = write_v7(
        tmp_path / "pixi.lock",
        {"linux-64": [ZLIB], "test:linux-64": [MOCK]},
        channels={"default": [CF], "test": ["https://repo.example.com/test/"]},
    )
    assert [p.name for p in read_file(path).packages["linux-64"]] == ["zlib"]
    test = read_file(path, environment="test")
    assert [p.name for p in test.packages["linux-64"]] == ["mock"]
    assert test.channels == ("https://repo.example.com/test",)


def test_an_unknown_environment_is_refused_naming_the_ones_there_are(tmp_path: Path) -> None:
    path = write_v7(tmp_path / "pixi.lock", {"linux-64": [ZLIB], "test:linux-64": [MOCK]})
    with pytest.raises(LockfileError) as info:
        read_file(path, environment="docs")
    assert str(info.value) == f"{path}: no environment 'docs'; the environments are: default, test"


def test_a_named_platform_is_locked_under_its_subdir(tmp_path: Path) -> None:
    cuda = rattler.LockPlatform(
        "linux-cuda", subdir=SUBDIR("linux-64"), virtual_packages=["__cuda"]
    )
    path = write_v7(tmp_path / "pixi.lock", {"linux-cuda": [ZLIB]}, platforms={"linux-cuda": cuda})
    assert "name: linux-cuda" in path.read_text()
    lock = read_file(path)
    assert lock.platforms == ("linux-64",)
    assert lock.packages["linux-64"][0].fn == "zlib-1.3.1-hb9d3cd8_2.conda"


def test_two_platforms_of_one_subdir_are_refused(tmp_path: Path) -> None:
    cuda = rattler.LockPlatform("linux-cuda", subdir=SUBDIR("linux-64"))
    platforms = {"linux-64": rattler.LockPlatform("linux-64"), "linux-cuda": cuda}
    path = write_v7(
        tmp_path / "pixi.lock", {"linux-64": [ZLIB], "linux-cuda": [ZLIB]}, platforms=platforms
    )
    with pytest.raises(LockfileError) as info:
        read_file(path)
    assert str(info.value).startswith(f"{path}: environments.default.packages.linux-cuda: ")
    assert "platforms 'linux-64' and 'linux-cuda' both lock linux-64" in str(info.value)
