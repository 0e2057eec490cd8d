"""Other tools' pip entries: a wheel with a sha256 becomes a :class:`Wheel` of
``Lockfile.pypi`` (it can be vendored); anything else (an sdist, a VCS URL, a wheel
without a hash) stays a :class:`ForeignPackage`, listed as not vendored; a wheel entry
that is hostile is one line naming the file and the place."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import conda_lock_v1, explicit_v1, pixi_lock
from conda_vendor_plugin.pypi.records import Wheel
from conda_vendor_plugin.records import ForeignPackage

from .test_conda_lock_v1 import document as conda_lock_document
from .test_conda_lock_v1 import entry as conda_lock_entry
from .test_pixi_lock import document as pixi_document

FILES = "https://files.pythonhosted.org/packages/ab/cd"
MSGPACK = f"{FILES}/msgpack-1.1.0-cp312-cp312-macosx_11_0_arm64.whl"
SHA = "6d489fba546295983abd142812bda76b57e33d0b9f5d5b71c09a583285506f69"


def pip(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(
        manager="pip",
        name="msgpack",
        version="1.1.0",
        url=MSGPACK,
        hash={"sha256": SHA},
        dependencies={},
    )
    return conda_lock_entry(**{**fields, **changes})


def test_a_conda_lock_pip_wheel_with_a_hash_is_a_wheel_of_its_platform() -> None:
    lock = conda_lock_v1.read(json.dumps(conda_lock_document(conda_lock_entry(), pip())))
    assert lock.pypi == {"linux-64": (Wheel("msgpack", "1.1.0", MSGPACK, SHA),)}
    assert lock.foreign == ()
    # and it is written into the explicit-1.0 lockfile a bundle holds, and read back
    text = explicit_v1.write(replace(lock, input_hash="0" * 64))
    assert explicit_v1.read(text).pypi == lock.pypi


@pytest.mark.parametrize(
    "changes",
    [
        {"url": f"{FILES}/msgpack-1.1.0.tar.gz"},  # an sdist
        {"url": "git+https://github.com/msgpack/msgpack-python@v1.1.0"},
        {"hash": {"md5": "0" * 32}},  # a wheel with no sha256 cannot be verified
        {"url": f"{FILES}/..%2Fmsgpack-1.1.0-cp312-cp312-macosx_11_0_arm64.whl"},  # no file name
    ],
)
def test_a_conda_lock_pip_entry_that_is_not_a_hashed_wheel_stays_foreign(changes) -> None:
    lock = conda_lock_v1.read(json.dumps(conda_lock_document(conda_lock_entry(), pip(**changes))))
    assert lock.pypi == {}
    assert [(f.manager, f.name) for f in lock.foreign] == [("pip", "msgpack")]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hash": {"sha256": SHA.upper()}}, "sha256 must be 64 lowercase hex digits"),
        ({"name": "requests"}, "is not a wheel of 'requests'"),
    ],
)
def test_a_hostile_conda_lock_wheel_is_one_line(changes, message) -> None:
    with pytest.raises(LockfileError) as err:
        conda_lock_v1.read(
            json.dumps(conda_lock_document(conda_lock_entry(), pip(**changes))), "c.yml"
        )
    assert str(err.value).startswith("c.yml: package[1]: ") and message in str(err.value)


def pixi_with(**pypi: Any) -> dict[str, Any]:
    doc = pixi_document()
    entry = {"pypi": MSGPACK, "name": "msgpack", "version": "1.1.0", **pypi}
    doc["packages"].append(entry)
    doc["environments"]["default"]["packages"]["osx-arm64"].append({"pypi": entry["pypi"]})
    return doc


def test_a_pixi_pypi_wheel_with_a_hash_is_a_wheel_of_its_subdir() -> None:
    lock = pixi_lock.read(json.dumps(pixi_with(sha256=SHA, requires_python=">=3.8")))
    assert lock.pypi == {"osx-arm64": (Wheel("msgpack", "1.1.0", MSGPACK, SHA, None, ">=3.8"),)}
    assert lock.foreign == ()


def test_a_pixi_pypi_entry_without_a_hash_stays_foreign() -> None:
    lock = pixi_lock.read(json.dumps(pixi_with()))
    assert lock.pypi == {}
    assert lock.foreign == (ForeignPackage("pypi", "msgpack", "1.1.0", "osx-arm64", MSGPACK),)


def test_the_wheels_of_files_read_together_are_kept(tmp_path) -> None:
    from conda_vendor_plugin import formats

    osx = conda_lock_entry(
        platform="osx-arm64",
        url=conda_lock_entry()["url"].replace("linux-64", "osx-arm64"),
    )
    first = conda_lock_document(conda_lock_entry(), pip())
    second = conda_lock_document(osx, pip(platform="osx-arm64"), platforms=["osx-arm64"])
    paths = [tmp_path / "a.yml", tmp_path / "b.yml"]
    for path, doc in zip(paths, (first, second)):
        path.write_text(json.dumps(doc))
    lock = formats.read_files(paths)
    assert {p: [w.name for w in found] for p, found in lock.pypi.items()} == {
        "linux-64": ["msgpack"],
        "osx-arm64": ["msgpack"],
    }
