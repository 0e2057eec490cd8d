"""The format registry: names and aliases, detection by content, and several files of one
environment read as one lock."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conda_vendor_plugin import formats
from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import cep23, conda_lock_v1, explicit_v1, pixi_lock

from ..support.locks import HASH, make_lock, pkg

LOCKFILES = {
    "conda-lock-v1_test-lockfile.yml": "conda-lock-v1",
    "conda-lock-v1_v3.0.3-upgrade.yml": "conda-lock-v1",
    "conda-lockfiles_conda-lock-metadata.yml": "conda-lock-v1",
    "explicit_zlib_linux-64.lock": "explicit",
    "pixi-v6_python-from-conda-only-lock.yml": "pixi-lock-v6",
}
MD5 = "d7c89558ba9fa0495403155b64376d81"
V7 = {
    "version": 7,
    "platforms": [{"name": "linux-64"}],
    "environments": {"default": {"channels": [], "packages": {"linux-64": []}}},
    "packages": [],
}


def refused(call, *args, **kw) -> str:
    with pytest.raises(LockfileError) as info:
        call(*args, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------ names


def test_every_format_by_canonical_name_and_alias() -> None:
    assert [name for name in formats.FORMATS] == [
        "explicit-1.0",
        "explicit",
        "conda-lock-v1",
        "pixi-lock-v6",
        "pixi-lock-v7",
        "cep23",
        "conda-lock",
        "pixi",
    ]
    assert formats.FORMATS["cep23"] is formats.FORMATS["explicit"]
    assert formats.FORMATS["conda-lock"].name == "conda-lock-v1"
    assert formats.FORMATS["pixi"].name == "pixi-lock-v7"  # an alias tracks the current version
    assert {f.name for f in formats.FORMATS.values() if f.write} == {"explicit-1.0", "explicit"}
    assert formats.WRITTEN == ("explicit-1.0", "explicit")


def test_an_unknown_format_name_lists_the_names() -> None:
    message = refused(formats.lookup, "poetry")
    assert message.startswith("--format: unknown lockfile format 'poetry'; the formats are: ")
    assert message.endswith("cep23, conda-lock, pixi")


# ------------------------------------------------------------------ detection


@pytest.mark.parametrize(("filename", "expected"), sorted(LOCKFILES.items()))
def test_other_tools_lockfiles_are_detected(
    shared_testdata: Path, filename: str, expected: str
) -> None:
    assert formats.detect((shared_testdata / "lockfiles" / filename).read_text()) == expected


def test_our_own_files_and_pixi_7_are_detected() -> None:
    assert formats.detect(explicit_v1.write(make_lock())) == "explicit-1.0"
    assert formats.detect(cep23.write(make_lock(), "linux-64")) == "explicit"
    assert formats.detect(json.dumps(V7)) == "pixi-lock-v7"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name: demo\ndependencies: [python]\n",  # an environment file
        "a: [\n",  # not YAML
        "- a\n",
        json.dumps({"metadata": {"spec": "explicit-2.0"}}),
        json.dumps({"version": 2, "metadata": {"content_hash": {}}, "package": []}),
        json.dumps({**V7, "version": 5}),
        "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda\n",
        json.dumps({"version": 1, "metadata": {}, "package": []}),
        json.dumps({"version": 6, "packages": []}),
    ],
    ids=[
        "empty",
        "environment",
        "not-yaml",
        "list",
        "explicit-2",
        "conda-lock-2",
        "pixi-5",
        "txt",
        "no-content-hash",
        "no-environments",
    ],
)
def test_what_is_no_format_read_here_is_detected_as_none(text: str) -> None:
    assert formats.detect(text) is None


def test_detection_goes_by_content_not_by_file_name(shared_testdata: Path, tmp_path: Path) -> None:
    source = shared_testdata / "lockfiles" / "conda-lockfiles_conda-lock-metadata.yml"
    misnamed = tmp_path / "pixi.lock"
    misnamed.write_text(source.read_text())
    assert formats.read_files([misnamed]).format == "conda-lock-v1"


def test_a_version_a_reader_does_not_read_gets_that_readers_message() -> None:
    message = refused(formats.read_text, json.dumps({**V7, "version": 5}), "pixi.lock")
    assert message == (
        "pixi.lock: version: pixi.lock version 5 is not supported; "
        "this reader reads versions 6 and 7"
    )


def test_text_in_no_format_is_refused_listing_the_formats() -> None:
    message = refused(formats.read_text, "name: demo\n", "environment.yml")
    assert message == (
        "environment.yml: not a lockfile in a format read here: explicit-1.0, "
        "explicit (CEP 23 @EXPLICIT), conda-lock-v1, pixi-lock-v6, pixi-lock-v7"
    )


def test_invalid_yaml_is_refused_with_its_place_and_the_formats() -> None:
    message = refused(formats.read_text, "a: [\n", "x.lock")
    assert message.startswith("x.lock (line 2, column 1): invalid YAML: ")
    assert message.endswith("; the lockfile formats read are: " + formats.SUPPORTED)


def test_a_named_format_is_read_as_that_format(shared_testdata: Path) -> None:
    text = (shared_testdata / "lockfiles" / "conda-lockfiles_conda-lock-metadata.yml").read_text()
    assert formats.read_text(text, "c.yml", fmt="conda-lock").format == "conda-lock-v1"
    message = refused(formats.read_text, text, "c.yml", fmt="explicit-1.0")
    assert message == "c.yml: metadata.spec: expected 'explicit-1.0', got None"


def test_each_reader_is_reached_through_read_text(shared_testdata: Path) -> None:
    for filename, name in LOCKFILES.items():
        path = shared_testdata / "lockfiles" / filename
        lock = formats.read_text(path.read_text(), str(path), path)
        assert (lock.format, lock.path) == (name, path)
    lock = make_lock()
    assert formats.read_text(explicit_v1.write(lock)) == lock


# ------------------------------------------------------------------ files


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_one_cep23_file_per_platform_reads_as_one_lock(tmp_path: Path) -> None:
    lock = make_lock()
    paths = [write(tmp_path / f"{p}.txt", cep23.write(lock, p)) for p in lock.platforms]
    merged = formats.read_files(paths)
    assert merged.platforms == lock.platforms and merged.format == "explicit"
    assert merged.input_hash == HASH
    assert merged.path == paths[0]
    for platform, pkgs in lock.packages.items():
        expected = tuple(replace(p, md5=None if p.sha256 else p.md5, size=None) for p in pkgs)
        assert merged.packages[platform] == expected
    assert merged.channels == ("https://repo.example.com/chan",)


def test_files_of_other_tools_merge_without_an_input_hash(
    shared_testdata: Path, tmp_path: Path
) -> None:
    osx = "https://conda.anaconda.org/conda-forge/osx-64/zlib-1.2.11-h0b31af3_1013.tar.bz2"
    other = write(tmp_path / "osx-64.txt", f"# platform: osx-64\n@EXPLICIT\n{osx}#{MD5}\n")
    linux = shared_testdata / "lockfiles" / "explicit_zlib_linux-64.lock"
    merged = formats.read_files([linux, other])
    assert merged.platforms == ("linux-64", "osx-64") and merged.input_hash is None
    assert merged.channels == ("https://conda.anaconda.org/conda-forge",)
    assert len(merged.packages["linux-64"]) == 6


def test_our_file_with_one_without_a_hash_keeps_none(tmp_path: Path) -> None:
    lock = make_lock()
    ours = write(tmp_path / "linux-64.txt", cep23.write(lock, "linux-64"))
    foreign = write(tmp_path / "win-64.txt", "# platform: win-64\n@EXPLICIT\n")
    assert formats.read_files([ours, foreign]).input_hash is None


def test_name_from_the_first_file_that_has_one_and_channels_in_order(tmp_path: Path) -> None:
    first = make_lock(name=None, channels=("a", "b"), packages={"linux-64": (pkg("x"),)})
    second = make_lock(
        name="demo", channels=("b", "c"), packages={"win-64": (pkg("y", subdir="win-64"),)}
    )
    paths = [write(tmp_path / "1.yml", explicit_v1.write(first))]
    paths.append(write(tmp_path / "2.yml", explicit_v1.write(second)))
    merged = formats.read_files(paths)
    assert (merged.name, merged.channels, merged.platforms) == (
        "demo",
        ("a", "b", "c"),
        (
            "linux-64",
            "win-64",
        ),
    )


def test_foreign_packages_of_every_file_are_kept(tmp_path: Path) -> None:
    doc = {
        "version": 6,
        "environments": {"default": {"channels": [], "packages": {}}},
        "packages": [{"pypi": "https://x/six.whl", "name": "six", "version": "1.16.0"}],
    }
    paths = []
    for platform in ("linux-64", "osx-64"):
        doc["environments"]["default"]["packages"] = {platform: [{"pypi": "https://x/six.whl"}]}
        paths.append(write(tmp_path / f"{platform}.lock", json.dumps(doc)))
    merged = formats.read_files(paths)
    assert [(f.manager, f.platform) for f in merged.foreign] == [
        ("pypi", "linux-64"),
        ("pypi", "osx-64"),
    ]


def test_two_files_locking_one_platform_are_refused(tmp_path: Path) -> None:
    lock = make_lock()
    a = write(tmp_path / "a.txt", cep23.write(lock, "linux-64"))
    b = write(tmp_path / "b.txt", cep23.write(lock, "linux-64"))
    message = refused(formats.read_files, [a, b])
    assert message == f"{b}: locks linux-64, as {a} does; give each platform once"


def test_files_of_two_formats_are_refused(shared_testdata: Path, tmp_path: Path) -> None:
    lock = make_lock(packages={"win-64": (pkg("y", subdir="win-64"),)})
    a = shared_testdata / "lockfiles" / "explicit_zlib_linux-64.lock"
    b = write(tmp_path / "b.yml", explicit_v1.write(lock))
    message = refused(formats.read_files, [a, b])
    assert message == (
        f"{b}: is explicit-1.0, but {a} is explicit; files read together must have one format"
    )


def test_files_of_two_pixi_versions_are_two_formats(tmp_path: Path) -> None:
    v6 = {**V7, "version": 6, "environments": {"default": {"packages": {"osx-64": []}}}}
    a = write(tmp_path / "a.lock", json.dumps(V7))
    b = write(tmp_path / "b.lock", json.dumps(v6))
    assert "b.lock: is pixi-lock-v6, but " in refused(formats.read_files, [a, b])


def test_files_of_two_environment_files_are_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", cep23.write(make_lock(), "linux-64"))
    b = write(tmp_path / "b.txt", cep23.write(make_lock(input_hash="c" * 64), "win-64"))
    message = refused(formats.read_files, [a, b])
    assert message == (
        f"{b}: its input hash differs from that of {a}; "
        "files read together must lock one environment file"
    )


def test_an_unknown_file_is_refused_naming_it_and_the_formats(tmp_path: Path) -> None:
    env = write(tmp_path / "environment.yml", "name: demo\ndependencies: [python]\n")
    message = refused(formats.read_files, [env])
    assert message == f"{env}: not a lockfile in a format read here: {formats.SUPPORTED}"


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_an_unreadable_file_is_refused_naming_it_and_the_formats(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "env.lock"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe\x00\x01")
    message = refused(formats.read_files, [path])
    expected = {
        "missing": f"{path}: no such lockfile; the formats read are: {formats.SUPPORTED}",
        "directory": f"{path}: cannot read the lockfile: Is a directory",
        "binary": f"{path}: cannot read the lockfile: it is not UTF-8 text",
    }
    assert message == expected[kind]


def test_no_files() -> None:
    assert refused(formats.read_files, []) == "no lockfile given"


def test_one_file_is_read_as_it_is(tmp_path: Path) -> None:
    lock = make_lock()
    path = write(tmp_path / "env.lock.yml", explicit_v1.write(lock))
    assert formats.read_files([path]) == explicit_v1.load(path) == lock
    assert formats.read_files([str(path)]).path == path


def test_the_readers_are_the_modules_readers() -> None:
    assert formats.FORMATS["conda-lock-v1"].read is conda_lock_v1.read
    assert formats.FORMATS["pixi-lock-v6"].read is pixi_lock.read
