"""conda-lock v1 (``conda-lock.yml``): real files written by conda-lock and by conda-lockfiles'
exporter read as they are; every malformed entry is refused with one line naming file and place."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import conda_lock_v1
from conda_vendor_plugin.pypi.records import Wheel

CF = "https://conda.anaconda.org/conda-forge"
SOURCE = "conda-lock.yml"
MD5 = "d7c89558ba9fa0495403155b64376d81"
SHA = "fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726"


def read_shared(shared_testdata: Path, name: str):
    source = shared_testdata / "lockfiles" / name
    return conda_lock_v1.read(source.read_text(), str(source), path=source)


def test_reads_the_conda_lockfiles_export(shared_testdata: Path) -> None:
    lock = read_shared(shared_testdata, "conda-lockfiles_conda-lock-metadata.yml")
    assert lock.format == "conda-lock-v1" and lock.input_hash is None and lock.name is None
    assert lock.channels == ("conda-forge",)
    assert lock.platforms == ("linux-64", "osx-64", "osx-arm64", "win-64")  # metadata order
    assert {p: len(v) for p, v in lock.packages.items()} == {
        "linux-64": 6,
        "osx-64": 2,
        "osx-arm64": 2,
        "win-64": 4,
    }
    mutex = lock.packages["linux-64"][1]
    assert mutex.dist == "_openmp_mutex-4.5-2_gnu"  # the build comes from the file name
    assert (mutex.subdir, mutex.channel, mutex.fn) == (
        "linux-64",
        CF,
        "_openmp_mutex-4.5-2_gnu.tar.bz2",
    )
    assert mutex.url == f"{CF}/linux-64/_openmp_mutex-4.5-2_gnu.tar.bz2"
    assert mutex.md5 == "73aaf86a425cc6e73fcf236a5a46396d"
    assert mutex.sha256 == "fbe2c5e56a653bebb982eda4876a9178aedfc2b545f25d0ce9c4c0b508253d22"
    assert mutex.depends == ("_libgcc_mutex 0.1", "libgomp >=7.5.0")
    assert lock.packages["linux-64"][0].depends == ()  # dependencies: {}
    assert lock.foreign == ()


def test_packages_keep_the_file_order(shared_testdata: Path) -> None:
    lock = read_shared(shared_testdata, "conda-lockfiles_conda-lock-metadata.yml")
    assert [p.name for p in lock.packages["win-64"]] == ["libsqlite", "ucrt", "vc", "vc14_runtime"]


def test_noarch_packages_take_their_subdir_from_the_url(shared_testdata: Path) -> None:
    # conda-lock writes the target platform in 'platform:' even for noarch packages
    lock = read_shared(shared_testdata, "conda-lock-v1_test-lockfile.yml")
    noarch = [p for p in lock.packages["linux-64"] if p.name == "async_generator"]
    assert [(p.subdir, p.channel, p.url) for p in noarch] == [
        ("noarch", CF, f"{CF}/noarch/async_generator-1.10-py_0.tar.bz2")
    ]
    assert all(p.subdir in ("linux-64", "noarch") for p in lock.packages["linux-64"])


def test_every_category_and_optional_entries_are_read(shared_testdata: Path) -> None:
    # async_generator is 'category: dev, optional: true'; the v3.0.3 file has a 'test' category
    lock = read_shared(shared_testdata, "conda-lock-v1_test-lockfile.yml")
    assert {p: len(v) for p, v in lock.packages.items()} == {
        "linux-64": 144,
        "osx-64": 139,
        "osx-arm64": 138,
    }
    upgraded = read_shared(shared_testdata, "conda-lock-v1_v3.0.3-upgrade.yml")
    assert sum(map(len, upgraded.packages.values())) == 224
    assert len(upgraded.platforms) == 6


def test_md5_only_entries_of_older_files_are_read(shared_testdata: Path) -> None:
    lock = read_shared(shared_testdata, "conda-lock-v1_test-lockfile.yml")
    first = lock.packages["linux-64"][0]
    assert (first.dist, first.md5, first.sha256) == ("_libgcc_mutex-0.1-conda_forge", MD5, None)


def test_pip_wheels_become_wheels_and_other_pip_entries_foreign_packages(
    shared_testdata: Path,
) -> None:
    lock = read_shared(shared_testdata, "conda-lock-v1_v3.0.3-upgrade.yml")
    assert {p: len(w) for p, w in lock.pypi.items()} == dict.fromkeys(
        ("linux-64", "linux-aarch64", "linux-ppc64le", "osx-64", "osx-arm64", "win-64"), 13
    )
    assert lock.pypi["linux-64"][0] == Wheel(
        name="anyio",
        version="4.9.0",
        url="https://files.pythonhosted.org/packages/a1/ee/48ca1a7c89ffec8b6a0c5d02b89c305671d5ffd8"
        "d3c94acf8b8c408575bb/anyio-4.9.0-py3-none-any.whl",
        sha256="9f76d541cad6e36af7beb62e978876f3b41e3e04f2c1fbf0884604c0a9c4d93c",
    )
    # an sdist and a VCS URL cannot be vendored: listed, with the URL kept as it is
    assert len(lock.foreign) == 12 and {f.manager for f in lock.foreign} == {"pip"}
    assert {f.url.rsplit("/", 1)[-1] for f in lock.foreign} == {
        "requests.git@3f07f990ac74f1e1691ba17ef8c14007f05846ab",
        "v6.1.tar.gz",
    }
    assert any(f.url.startswith("git+https://github.com/") for f in lock.foreign)
    assert all(not p.name == "anyio" for pkgs in lock.packages.values() for p in pkgs)


# ------------------------------------------------------------------ small documents


def entry(**changes: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "name": "zlib",
        "version": "1.3.1",
        "manager": "conda",
        "platform": "linux-64",
        "dependencies": {"libgcc": ">=13", "__glibc": ">=2.17,<3.0.a0"},
        "url": f"{CF}/linux-64/zlib-1.3.1-hb9d3cd8_2.conda",
        "hash": {"md5": MD5, "sha256": SHA},
        "category": "main",
        "optional": False,
    }
    e.update(changes)
    return e


def document(*entries: dict[str, Any], **meta: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "content_hash": {"linux-64": SHA},
        "channels": [{"url": "conda-forge", "used_env_vars": []}],
        "platforms": ["linux-64"],
        "sources": ["environment.yml"],
    }
    metadata.update(meta)
    return {"version": 1, "metadata": metadata, "package": list(entries or [entry()])}


def read_doc(doc: dict[str, Any]):
    return conda_lock_v1.read(json.dumps(doc), SOURCE)  # JSON is YAML


def test_a_small_document() -> None:
    lock = read_doc(document())
    (p,) = lock.packages["linux-64"]
    assert (p.name, p.version, p.build, p.subdir) == ("zlib", "1.3.1", "hb9d3cd8_2", "linux-64")
    assert p.depends == ("libgcc >=13", "__glibc >=2.17,<3.0.a0")


def test_channels_as_names_or_urls_keep_their_order_without_credentials() -> None:
    channels = [
        {"url": "https://user:hunter2@repo.example.com/t/tk-1/chan/", "used_env_vars": []},
        "conda-forge",
        {"url": "bioconda"},
    ]
    lock = read_doc(document(channels=channels))
    assert lock.channels == ("https://repo.example.com/chan", "conda-forge", "bioconda")


def test_credentials_are_stripped_from_package_urls() -> None:
    url = "https://user:hunter2@repo.example.com/t/tk-1/chan/linux-64/zlib-1.3.1-hb9d3cd8_2.conda"
    pip = entry(
        manager="pip", name="six", version="1.16.0", url="https://u:pw@pypi.example/six.whl"
    )
    lock = read_doc(document(entry(url=url), pip))
    p = lock.packages["linux-64"][0]
    assert p.url == "https://repo.example.com/chan/linux-64/zlib-1.3.1-hb9d3cd8_2.conda"
    assert p.channel == "https://repo.example.com/chan"
    assert lock.foreign[0].url == "https://pypi.example/six.whl"


def test_a_platform_listed_in_metadata_without_packages_is_kept_empty() -> None:
    lock = read_doc(document(platforms=["linux-64", "win-64"]))
    assert lock.packages["win-64"] == ()


def test_a_package_platform_missing_from_metadata_is_added_in_file_order() -> None:
    osx = entry(platform="osx-arm64", url=f"{CF}/osx-arm64/zlib-1.3.1-h8359307_2.conda")
    assert read_doc(document(entry(), osx)).platforms == ("linux-64", "osx-arm64")


def _without(key: str) -> dict[str, Any]:
    e = entry()
    del e[key]
    return e


REFUSED = [
    pytest.param(
        {"version": 2},
        "version: conda-lock version 2 is not supported; this reader reads version 1",
        id="version-2",
    ),
    pytest.param({"metadata": None}, "metadata: must be a mapping", id="no-metadata"),
    pytest.param({"package": {"zlib": 1}}, "package: must be the list", id="package-not-list"),
    pytest.param(
        {"package": ["zlib"]}, "package[0]: must be a mapping with name", id="entry-not-mapping"
    ),
    pytest.param(
        {"package": [entry(manager="npm")]},
        "package[0].manager: 'npm' is not one of conda, pip",
        id="unknown-manager",
    ),
    pytest.param(
        {"package": [entry(platform="noarch")]},
        "package[0].platform: 'noarch' is not a platform such as linux-64",
        id="noarch-platform",
    ),
    pytest.param(
        {"package": [entry(), _without("url")]},
        "package[1]: needs the package's URL, got None",
        id="no-url",
    ),
    pytest.param(
        {"package": [entry(version=1.1)]},
        "package[0].version: must be a non-empty string, got 1.1",
        id="version-not-string",
    ),
    pytest.param(
        {"package": [entry(hash={"md5": MD5.upper()})]},
        "package[0]: package 'zlib-1.3.1-hb9d3cd8_2.conda': md5 must be 32 lowercase hex digits",
        id="upper-case-md5",
    ),
    pytest.param(
        {"package": [entry(hash={"sha256": "abc"})]},
        "package[0]: package 'zlib-1.3.1-hb9d3cd8_2.conda': sha256 must be 64 lowercase hex",
        id="short-sha256",
    ),
    pytest.param(
        {"package": [entry(hash={})]},
        "package[0]: package 'zlib-1.3.1-hb9d3cd8_2.conda': has no sha256 or md5",
        id="no-hash",
    ),
    pytest.param(
        {"package": [entry(hash="md5")]}, "package[0].hash: must be a mapping", id="hash-not-map"
    ),
    pytest.param(
        {"package": [entry(name="zlib-ng")]},
        "package[0]: archive 'zlib-1.3.1-hb9d3cd8_2.conda' does not match its entry "
        "(name 'zlib-ng', version '1.3.1', build 'hb9d3cd8_2')",
        id="name-does-not-match-file",
    ),
    pytest.param(
        {"package": [entry(url="s3://bucket/linux-64/zlib-1.3.1-hb9d3cd8_2.conda")]},
        "package[0]: package 'zlib-1.3.1-hb9d3cd8_2.conda': URL 's3://bucket/linux-64/zlib-1.3.1"
        "-hb9d3cd8_2.conda' is not an http, https or file URL",
        id="s3-url",
    ),
    pytest.param(
        {"package": [entry(url=f"{CF}/Linux 64/zlib-1.3.1-hb9d3cd8_2.conda")]},
        "package[0]: package 'zlib-1.3.1-hb9d3cd8_2.conda': its URL does not name a subdir",
        id="bad-subdir",
    ),
    pytest.param(
        {"package": [entry(url=f"{CF}/osx-64/zlib-1.3.1-hd23fc13_2.conda")]},
        "package[0]: package 'zlib-1.3.1-hd23fc13_2.conda' is for osx-64, but is listed for "
        "linux-64",
        id="wrong-platform",
    ),
    pytest.param(
        {"package": [entry(dependencies=["libgcc"])]},
        "package[0].dependencies: must map each dependency's name to its version spec",
        id="dependencies-not-map",
    ),
    pytest.param(
        {"metadata": {"platforms": ["linux-64", "Linux 64"]}},
        "metadata.platforms[1]: 'Linux 64' is not a platform",
        id="bad-metadata-platform",
    ),
    pytest.param(
        {"metadata": {"channels": [{"url": None}]}},
        "metadata.channels[0]: must be a channel name or {url: ...}",
        id="bad-channel",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), REFUSED)
def test_refused_with_one_line_naming_file_and_place(
    changes: dict[str, Any], expected: str
) -> None:
    doc = copy.deepcopy(document())
    for key, value in changes.items():
        if key == "metadata" and isinstance(value, dict):
            doc["metadata"].update(value)
        else:
            doc[key] = value
    with pytest.raises(LockfileError) as info:
        read_doc(doc)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: {expected}")
    assert "\n" not in message


def test_not_a_mapping() -> None:
    with pytest.raises(LockfileError, match=r"^conda-lock\.yml: not a conda-lock lockfile"):
        conda_lock_v1.read("- a\n", SOURCE)
