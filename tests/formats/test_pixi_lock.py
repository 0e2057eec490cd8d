"""pixi.lock versions 6 and 7: the real version 6 file from pixi's tests and small documents for
each rule and refusal (version 7 files written by py-rattler: test_pixi_lock_rattler.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import pixi_lock

CF = "https://conda.anaconda.org/conda-forge"
PD = "https://prefix.dev/conda-forge"
SOURCE = "pixi.lock"
MD5 = "fc6948412dbbbe9a4c9ddbbcfe0a79ab"
SHA = "adfa71f158cbd872a36394c56c3568e6034aa55c623634b37a4836bd036e6b91"


# ------------------------------------------------------------------ version 6 (pixi's tests)


@pytest.fixture
def v6(shared_testdata: Path):
    source = shared_testdata / "lockfiles" / "pixi-v6_python-from-conda-only-lock.yml"
    return pixi_lock.read(source.read_text(), str(source), path=source)


def test_reads_pixis_version_6_file(v6) -> None:
    assert v6.format == "pixi-lock-v6" and v6.input_hash is None and v6.name is None
    assert v6.channels == (PD,)  # the trailing '/' of 'https://prefix.dev/conda-forge/' dropped
    assert v6.platforms == ("osx-arm64",)
    pkgs = v6.packages["osx-arm64"]
    assert len(pkgs) == 19 and v6.foreign == ()
    bzip2 = pkgs[0]
    assert (bzip2.name, bzip2.version, bzip2.build) == ("bzip2", "1.0.8", "h99b78c6_7")
    assert (bzip2.subdir, bzip2.channel) == ("osx-arm64", PD)
    assert bzip2.url == f"{PD}/osx-arm64/bzip2-1.0.8-h99b78c6_7.conda"
    assert (bzip2.sha256, bzip2.md5, bzip2.size) == (SHA, MD5, 122909)
    assert bzip2.depends == ("__osx >=11.0",)


def test_version_6_keeps_the_environments_order_and_noarch_subdirs(v6) -> None:
    pkgs = v6.packages["osx-arm64"]
    assert [p.name for p in pkgs][:3] == ["bzip2", "ca-certificates", "libexpat"]
    tzdata = next(p for p in pkgs if p.name == "tzdata")
    assert (tzdata.subdir, tzdata.fn) == ("noarch", "tzdata-2024b-hc8b5060_0.conda")
    python = next(p for p in pkgs if p.name == "python")
    assert python.build == "hbbac1ca_101_cp313"
    assert "python_abi 3.13.* *_cp313" in python.depends


# ------------------------------------------------------------------ small documents

ZLIB_URL = f"{PD}/osx-arm64/bzip2-1.0.8-h99b78c6_7.conda"


def document(lock_version: int = 6, **entry: Any) -> dict[str, Any]:
    e: dict[str, Any] = {"conda": ZLIB_URL, "sha256": SHA, "md5": MD5, "size": 122909}
    e.update(entry)
    return {
        "version": lock_version,
        "environments": {
            "default": {
                "channels": [{"url": f"{PD}/"}],
                "packages": {"osx-arm64": [{"conda": e["conda"]}]},
            }
        },
        "packages": [e],
    }


def read_doc(doc: dict[str, Any]):
    return pixi_lock.read(json.dumps(doc), SOURCE)


def refused(doc: dict[str, Any]) -> str:
    with pytest.raises(LockfileError) as info:
        read_doc(doc)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: ") and "\n" not in message
    return message


def test_name_version_build_and_subdir_may_be_given_if_they_agree_with_the_url() -> None:
    # version 6 writes them when they differ from what the URL says; see the refusals below
    doc = document(name="bzip2", version="1.0.8", build="h99b78c6_7", subdir="osx-arm64")
    p = read_doc(doc).packages["osx-arm64"][0]
    assert (p.name, p.build, p.subdir) == ("bzip2", "h99b78c6_7", "osx-arm64")


def test_an_explicit_channel_replaces_the_one_derived_from_the_url() -> None:
    # a CEP 15 base_url: the archive is served elsewhere than its channel
    url = "https://cdn.example/flat/bzip2-1.0.8-h99b78c6_7.conda"
    doc = document(conda=url, subdir="osx-arm64", channel=f"{PD}/")
    p = read_doc(doc).packages["osx-arm64"][0]
    assert (p.url, p.subdir, p.channel) == (url, "osx-arm64", PD)


def test_a_flat_url_with_a_subdir_keeps_the_subdir_and_its_directory_as_channel() -> None:
    url = "https://cdn.example/flat/bzip2-1.0.8-h99b78c6_7.conda"
    p = read_doc(document(conda=url, subdir="osx-arm64")).packages["osx-arm64"][0]
    assert (p.subdir, p.channel) == ("osx-arm64", "https://cdn.example/flat")


def test_credentials_are_stripped() -> None:
    secret = "https://user:hunter2@prefix.dev/t/tk-1/conda-forge"
    doc = document(conda=f"{secret}/osx-arm64/bzip2-1.0.8-h99b78c6_7.conda")
    doc["environments"]["default"]["channels"] = [{"url": f"{secret}/"}]
    doc["environments"]["default"]["packages"]["osx-arm64"].append({"pypi": f"{secret}/x.whl"})
    doc["packages"].append({"pypi": f"{secret}/x.whl", "name": "x", "version": "1"})
    lock = read_doc(doc)
    assert lock.channels == (PD,)
    assert lock.packages["osx-arm64"][0].url == ZLIB_URL
    assert lock.foreign[0].url == f"{PD}/x.whl"


def test_a_location_in_a_message_is_shown_without_credentials() -> None:
    secret = "https://user:hunter2@prefix.dev/t/tk-1/conda-forge/osx-arm64/xz-5.6.3-h9_1.conda"
    doc = document()
    doc["environments"]["default"]["packages"]["osx-arm64"] = [{"conda": secret}]
    assert refused(doc) == (
        f"{SOURCE}: environments.default.packages.osx-arm64[0]: "
        "'https://prefix.dev/conda-forge/osx-arm64/xz-5.6.3-h9_1.conda' "
        "is not listed under packages"
    )


def _edit(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    env = doc["environments"]["default"]
    for key, value in changes.items():
        if key == "selectors":
            env["packages"]["osx-arm64"] = value
        elif key == "env_packages":
            env["packages"] = value
        else:
            doc[key] = value
    return doc


REFUSED = [
    pytest.param(
        _edit(document(), version=5),
        f"{SOURCE}: version: pixi.lock version 5 is not supported; "
        "this reader reads versions 6 and 7",
        id="version-5",
    ),
    pytest.param(
        _edit(document(), version="6"),
        "version: pixi.lock version '6' is not supported",
        id="version-string",
    ),
    pytest.param(
        _edit(document(), environments=[]),
        "environments: must map each environment name",
        id="environments-not-map",
    ),
    pytest.param(
        _edit(document(), packages={}), "packages: must be the list", id="packages-not-list"
    ),
    pytest.param(
        _edit(document(), selectors=[{"conda": f"{PD}/osx-arm64/xz-5.6.3-h9a6d368_1.conda"}]),
        "environments.default.packages.osx-arm64[0]: 'https://prefix.dev/conda-forge/osx-arm64/"
        "xz-5.6.3-h9a6d368_1.conda' is not listed under packages",
        id="selector-not-listed",
    ),
    pytest.param(
        _edit(document(), selectors=[{"npm": "x"}]),
        "environments.default.packages.osx-arm64[0]: must be {conda: <location>}",
        id="selector-kind",
    ),
    pytest.param(
        _edit(document(), env_packages={"linux-64-cuda": []}),
        "environments.default.packages.linux-64-cuda: 'linux-64-cuda' is not a platform such",
        id="unknown-platform",
    ),
    pytest.param(
        _edit(document(), env_packages={"linux-64": [{"conda": ZLIB_URL}]}),
        "environments.default.packages.linux-64[0]: package 'bzip2-1.0.8-h99b78c6_7.conda' is "
        "for osx-arm64, but is listed for linux-64",
        id="wrong-platform",
    ),
    pytest.param(
        document(conda="../recipes/bzip2"),
        "packages[0]: '../recipes/bzip2' is a source package (built by pixi), not a .conda or "
        ".tar.bz2 archive; only built archives can be vendored",
        id="source-package",
    ),
    pytest.param(
        document(conda="./osx-arm64/bzip2-1.0.8-h99b78c6_7.conda"),
        "packages[0]: package 'bzip2-1.0.8-h99b78c6_7.conda': URL './osx-arm64/bzip2-1.0.8-"
        "h99b78c6_7.conda' is not an http, https or file URL",
        id="relative-path",
    ),
    pytest.param(
        document(name="bzip3"),
        "packages[0]: archive 'bzip2-1.0.8-h99b78c6_7.conda' does not match its entry "
        "(name 'bzip3', version '1.0.8', build 'h99b78c6_7')",
        id="name-does-not-match-file",
    ),
    pytest.param(
        document(conda=f"{PD}/noarch/six-2-0.conda", version=2),
        "packages[0]: package 'six-2-0.conda': version must be a non-empty string, got 2",
        id="version-a-number",
    ),
    pytest.param(
        document(build="../../x"),
        "packages[0]: archive 'bzip2-1.0.8-h99b78c6_7.conda' does not match its entry",
        id="build-with-slashes",
    ),
    pytest.param(
        document(subdir="../osx"),
        "packages[0]: package 'bzip2-1.0.8-h99b78c6_7.conda': subdir '../osx' is not noarch or "
        "a platform",
        id="bad-subdir",
    ),
    pytest.param(
        document(sha256=SHA.upper()),
        "packages[0]: package 'bzip2-1.0.8-h99b78c6_7.conda': sha256 must be 64 lowercase hex",
        id="upper-case-sha256",
    ),
    pytest.param(
        document(sha256=None, md5=None),
        "packages[0]: package 'bzip2-1.0.8-h99b78c6_7.conda': has no sha256 or md5",
        id="no-hash",
    ),
    pytest.param(
        document(size=-1),
        "packages[0]: package 'bzip2-1.0.8-h99b78c6_7.conda': size must be a non-negative",
        id="negative-size",
    ),
    pytest.param(
        document(depends="libzlib"),
        "packages[0].depends: must be a list of strings",
        id="depends-not-list",
    ),
    pytest.param(
        document(channel="ftp://mirror/conda-forge"),
        "packages[0]: channel 'ftp://mirror/conda-forge' is not an http, https or file URL",
        id="ftp-channel",
    ),
]


@pytest.mark.parametrize(("doc", "expected"), REFUSED)
def test_refused_with_one_line_naming_file_and_place(doc: dict[str, Any], expected: str) -> None:
    message = refused(doc)
    assert message.startswith(expected if expected.startswith(SOURCE) else f"{SOURCE}: {expected}")


def test_a_pypi_entry_needs_a_name_and_version() -> None:
    doc = document()
    doc["environments"]["default"]["packages"]["osx-arm64"].append({"pypi": "https://x/y.whl"})
    doc["packages"].append({"pypi": "https://x/y.whl", "version": "1"})
    assert refused(doc) == f"{SOURCE}: packages[1]: a pypi package needs a name and a version"


@pytest.mark.parametrize("platforms", [[{"name": "osx-arm64"}], ["osx-arm64"]])
def test_version_7_reads_the_same_documents(platforms: list) -> None:
    doc = document(lock_version=7)
    doc["platforms"] = platforms
    lock = read_doc(doc)
    assert lock.format == "pixi-lock-v7" and len(lock.packages["osx-arm64"]) == 1


def test_a_source_package_of_another_environment_does_not_stop_reading() -> None:
    # newer version 7 files list packages pixi builds from source as 'conda_source:'
    built = "child-package[87dc0b8a] @ child-package"
    doc = document(lock_version=7)
    doc["environments"]["dev"] = {"packages": {"osx-arm64": [{"conda_source": built}]}}
    doc["packages"].append({"conda_source": built, "version": "0.1.0", "subdir": "noarch"})
    assert len(read_doc(doc).packages["osx-arm64"]) == 1
    with pytest.raises(LockfileError) as info:
        pixi_lock.read(json.dumps(doc), SOURCE, environment="dev")
    assert str(info.value) == (
        f"{SOURCE}: environments.dev.packages.osx-arm64[0]: '{built}' is a source package "
        "(built by pixi), not a .conda or .tar.bz2 archive; only built archives can be vendored"
    )
