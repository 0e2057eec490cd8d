"""explicit-1.0's ``pypi-packages``: the wheels of the ``pip:`` section, per platform.

Written only when a platform has wheels (a lock without any is byte-identical to one
written before the section existed); read back exactly; every entry checked like the
conda entries (a hostile one is one line naming the file and the place)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import explicit_v1
from conda_vendor_plugin.pypi.records import Wheel
from conda_vendor_plugin.records import ForeignPackage
from conda_vendor_plugin.yamlfile import load_yaml

from ..support.locks import make_lock

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "explicit-1.0.schema.json"
MSGPACK = Wheel(
    name="msgpack",
    version="1.1.0",
    url="https://files.example.org/packages/msgpack-1.1.0-cp312-cp312-win_amd64.whl",
    sha256="c" * 64,
    size=75_000,
    requires_python=">=3.8",
)
IDNA = Wheel("idna", "3.20", "https://files.example.org/p/idna-3.20-py3-none-any.whl", "d" * 64)


def test_wheels_are_written_per_platform_and_read_back_exactly():
    lock = make_lock(pypi={"linux-64": (IDNA,), "win-64": (IDNA, MSGPACK)})
    text = explicit_v1.write(lock)
    assert "\npypi-packages:\n  linux-64:\n    - name: idna\n" in text
    again = explicit_v1.read(text)
    assert again.pypi == lock.pypi
    assert again.packages == lock.packages
    assert explicit_v1.write(again) == text


def test_a_lock_without_wheels_has_no_pypi_section():
    assert "pypi-packages" not in explicit_v1.write(make_lock())
    assert "pypi-packages" not in explicit_v1.write(make_lock(pypi={"linux-64": ()}))


def test_a_reader_that_ignores_pypi_packages_still_reads_the_conda_part():
    """Unknown keys are ignored by the schema: the document without the section is the
    same conda lock."""
    text = explicit_v1.write(make_lock(pypi={"win-64": (MSGPACK,)}))
    data = load_yaml(text, "<t>", LockfileError)
    del data["pypi-packages"]
    assert explicit_v1.parse(data).packages == make_lock().packages
    schema = json.loads(SCHEMA.read_text())
    assert "pypi-packages" in schema["properties"]
    assert "pypi-packages" not in schema["required"]


def test_credentials_of_a_wheel_url_are_not_written():
    secret = Wheel(
        "idna", "3.20", "https://bob:hunter2@idx.example.org/idna-3.20-py3-none-any.whl", "d" * 64
    )
    text = explicit_v1.write(make_lock(pypi={"linux-64": (secret,)}))
    assert "hunter2" not in text and "bob" not in text


def _with_wheel(**entry) -> str:
    text = explicit_v1.write(make_lock(pypi={"linux-64": (IDNA,)}))
    data = load_yaml(text, "<t>", LockfileError)
    data["pypi-packages"]["linux-64"][0].update(entry)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"url": "https://x.example/..%2Fidna-3.20-py3-none-any.whl"}, "one plain wheel file"),
        ({"url": "https://x.example/idna-3.20.tar.gz"}, "one plain wheel file name"),
        ({"url": "ftp://x.example/idna-3.20-py3-none-any.whl"}, "not an http, https or file URL"),
        ({"url": "https://x.example/requests-2.32.3-py3-none-any.whl"}, "is not a wheel of 'idna'"),
        ({"sha256": "D" * 64}, "sha256 must be 64 lowercase hex digits"),
        ({"sha256": None}, "needs a sha256"),
        ({"name": "../idna"}, "is not a valid project name"),
        ({"size": -1}, "size must be a non-negative integer"),
    ],
)
def test_a_hostile_wheel_entry_is_one_line_naming_the_place(entry, message):
    with pytest.raises(LockfileError) as err:
        explicit_v1.read(_with_wheel(**entry), source="env.lock.yml")
    text = str(err.value)
    assert text.startswith("env.lock.yml: pypi-packages.linux-64[0]: ")
    assert message in text and "\n" not in text


def test_wheels_for_a_platform_the_lock_does_not_lock_are_refused():
    data = load_yaml(explicit_v1.write(make_lock(pypi={"linux-64": (IDNA,)})), "<t>", LockfileError)
    data["pypi-packages"]["linux-aarch64"] = data["pypi-packages"].pop("linux-64")
    with pytest.raises(LockfileError, match="'linux-aarch64' is not a platform of explicit-pack"):
        explicit_v1.read(json.dumps(data), source="env.lock.yml")


# ------------------------------------------------------------------------- pypi-skipped

LEFT_OUT = ForeignPackage(
    "pip", "pathtools", "", "linux-64", "", "needs pathtools, which has no wheel for linux-64"
)
SDIST = ForeignPackage(
    "pip", "pathtools", "0.1.2", "win-64", "https://files.example.org/pathtools-0.1.2.tar.gz"
)


def test_skipped_entries_are_written_per_platform_and_read_back_exactly():
    lock = make_lock(foreign=(LEFT_OUT, SDIST))
    text = explicit_v1.write(lock)
    assert text.endswith(
        "pypi-skipped:\n"
        "  linux-64:\n"
        "    - manager: pip\n"
        "      name: pathtools\n"
        '      reason: "needs pathtools, which has no wheel for linux-64"\n'
        "  win-64:\n"
        "    - manager: pip\n"
        "      name: pathtools\n"
        '      version: "0.1.2"\n'
        "      url: https://files.example.org/pathtools-0.1.2.tar.gz\n"
    )
    again = explicit_v1.read(text)
    assert again.foreign == lock.foreign
    assert explicit_v1.write(again) == text
    assert "pypi-skipped" not in explicit_v1.write(make_lock())


def test_the_schema_describes_pypi_skipped():
    jsonschema = pytest.importorskip("jsonschema")
    data = load_yaml(explicit_v1.write(make_lock(foreign=(LEFT_OUT,))), "<t>", LockfileError)
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    assert "pypi-skipped" not in json.loads(SCHEMA.read_text())["required"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update({"pypi-skipped": ["x"]}), "pypi-skipped: must map platforms"),
        (
            lambda d: d["pypi-skipped"].update({"linux-aarch64": []}),
            "pypi-skipped.linux-aarch64: 'linux-aarch64' is not a platform",
        ),
        (
            lambda d: d["pypi-skipped"].update({"linux-64": {"name": "x"}}),
            "pypi-skipped.linux-64: must be a list of entries",
        ),
        (
            lambda d: d["pypi-skipped"]["linux-64"][0].pop("name"),
            "pypi-skipped.linux-64[0]: must be a mapping with at least a name",
        ),
        (
            lambda d: d["pypi-skipped"]["linux-64"][0].update({"reason": 3}),
            "pypi-skipped.linux-64[0]: reason must be a string, got 3",
        ),
    ],
)
def test_a_hostile_skipped_entry_is_one_line_naming_the_place(change, message):
    data = load_yaml(explicit_v1.write(make_lock(foreign=(LEFT_OUT,))), "<t>", LockfileError)
    change(data)
    with pytest.raises(LockfileError) as err:
        explicit_v1.read(json.dumps(data), source="env.lock.yml")
    assert str(err.value).startswith(f"env.lock.yml: {message}"), str(err.value)


def test_credentials_of_a_skipped_url_are_not_written():
    secret = ForeignPackage("pip", "x", "1", "linux-64", "https://bob:hunter2@h.example/x.tgz")
    text = explicit_v1.write(make_lock(foreign=(secret,)))
    assert "hunter2" not in text and "bob" not in text
