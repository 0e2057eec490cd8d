"""The explicit-1.0 YAML lockfile (and, for credentials, both of our writers).

Written text must read back (with ruamel.yaml and PyYAML, YAML 1.2 and 1.1 alike) as the
very same strings, read-then-write must reproduce the bytes, and every schema violation is
one line naming the file and the place in it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conda_vendor_plugin import __version__
from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import cep23, explicit_v1
from conda_vendor_plugin.yamlfile import yaml_scalar

from ..support.locks import CHANNEL, make_lock, pkg

try:  # PyYAML (a test extra): the YAML 1.1 reader most tools use
    import yaml
except ImportError:  # pragma: no cover - only its own tests skip
    yaml = None

# ------------------------------------------------------------------ loaders


def _ruamel_safe(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


def _ruamel_rt(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML().load(text)


def _ruamel_yaml11(text: str) -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.version = (1, 1)
    return y.load(text)


def _pyyaml_safe(text: str) -> Any:
    if yaml is None:
        pytest.skip("PyYAML is not installed")
    return yaml.safe_load(text)


def _pyyaml_full(text: str) -> Any:
    if yaml is None:
        pytest.skip("PyYAML is not installed")
    return yaml.load(text, Loader=yaml.FullLoader)


def _pyyaml_libyaml(text: str) -> Any:
    if yaml is None or not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML without libyaml")
    return yaml.load(text, Loader=yaml.CSafeLoader)


def _ruamel_c(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(text)  # the C loader where ruamel has one


LOADERS = {
    "ruamel-safe": _ruamel_safe,
    "ruamel-safe-c": _ruamel_c,
    "pyyaml-libyaml": _pyyaml_libyaml,
    "ruamel-roundtrip": _ruamel_rt,
    "ruamel-yaml-1.1": _ruamel_yaml11,
    "pyyaml-safe": _pyyaml_safe,
    "pyyaml-full": _pyyaml_full,
}


# Strings that a careless writer would let a YAML loader turn into numbers, booleans,
# nulls or dates (YAML 1.1 or 1.2).
TRICKY = [
    "1.10",
    "1.0",
    "0.1.0",
    "1",
    "0",
    "010",
    "123e4",
    "1e5",
    "1E-5",
    "1_000",
    "1:20",
    "190:20:30.15",
    "0x1F",
    "0o17",
    "0b101",
    "2024-01-05",
    "2024-1-5",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "true",
    "False",
    "null",
    "Null",
    "NULL",
    "~",
    ".inf",
    ".NaN",
    "-1",
    "+1",
    "2024a",
    "1.2.3rc1",
    "py_0",
    "with space",
    "colon: inside",
    "ends:",
    "#hash",
    "a #b",
    'quote"d',
    "back\\slash",
    "-",
    "=",
    "<<",
    "*",
    "&a",
    "!tag",
    "%percent",
    "@at",
    "`tick",
    "[x]",
    "{x}",
    "'single'",
    "line\nbreak",
    "trailing\n",  # '$' in a regex matches before a final newline: not plain-safe
    "tab\tinside",
    "bell\x07",
    "nel\x85next",
    "ls\u2028next",
    "caf\u00e9",
]

HEX_LOOKALIKES = [
    "0b" + "1" * 62,
    "0x" + "1" * 62,
    "0o" + "1" * 62,
    "1" * 63 + "e",
    "1" * 62 + "e1",
    "12345678" * 8,
    "0" * 64,
    "0" * 63 + "1",
]


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_tricky_scalars_read_back_as_the_same_strings(loader: str) -> None:
    load = LOADERS[loader]
    text = "\n".join(f"k{i}: {yaml_scalar(v)}" for i, v in enumerate(TRICKY)) + "\n"
    data = load(text)
    got = [data[f"k{i}"] for i in range(len(TRICKY))]
    assert all(isinstance(v, str) for v in got)
    assert got == TRICKY


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_lockfile_values_survive_every_loader(loader: str) -> None:
    """Versions, builds, names and hashes that look like numbers stay the same strings."""
    packages = tuple(
        pkg(
            name=("null", "yes", "on", "true", "y", "n", "x")[i % 7],
            version=("1.10", "1.0", "123e4", "0.1.0", "2024-01-05", "1_0", "1:2")[i % 7],
            build=("0", "1", "yes", "null", "0x1", "1e5", "py_0")[i % 7],
            sha256=HEX_LOOKALIKES[i % len(HEX_LOOKALIKES)],
            md5=("0b" + "1" * 30, "1" * 31 + "e", "0" * 32, "0x" + "f" * 30)[i % 4],
            fn=f"p{i}.conda",
        )
        for i in range(14)
    )
    lock = make_lock(
        input_hash="1" * 63 + "e",
        packages={"linux-64": packages},
        name="1.10",
        tool_version="1.0",
    )
    data = LOADERS[loader](explicit_v1.write(lock))
    meta = data["metadata"]
    assert str(meta["input-hash"]) == "1" * 63 + "e"
    assert str(meta["producer"]["version"]) == "1.0"
    assert str(data["name"]) == "1.10"
    entries = data["explicit-packages"]["linux-64"]
    for p, e in zip(packages, entries):
        got = {k: e[k] for k in ("name", "version", "build", "sha256", "md5", "size")}
        assert all(isinstance(got[k], str) for k in got if k != "size")
        assert {k: (v if k == "size" else str(v)) for k, v in got.items()} == {
            "name": p.name,
            "version": p.version,
            "build": p.build,
            "sha256": p.sha256,
            "md5": p.md5,
            "size": p.size,
        }
        assert isinstance(e["size"], int) and not isinstance(e["size"], bool)


@pytest.mark.parametrize("value", TRICKY + HEX_LOOKALIKES)
def test_a_value_is_either_plain_or_double_quoted(value: str) -> None:
    out = yaml_scalar(value)
    assert out == value or (out.startswith('"') and out.endswith('"'))
    assert "\n" not in out


def test_plain_where_it_is_safe() -> None:
    for value in ("hdf63c60_1", "noarch", "linux-64", "zlib", f"{CHANNEL}/noarch/x-1-0.conda"):
        assert yaml_scalar(value) == value
    assert yaml_scalar(None) == "null"
    assert yaml_scalar(7996349) == "7996349"
    assert yaml_scalar(True) == "true"
    assert yaml_scalar(1) == "1", "an int is not confused with True (cached per type)"


# ------------------------------------------------------------------ round trip


def test_dumps_then_loads_gives_the_same_lock() -> None:
    lock = make_lock()
    back = explicit_v1.read(explicit_v1.write(lock))
    assert back.input_hash == lock.input_hash
    assert back.channels == lock.channels
    assert back.name == "demo"
    assert back.tool_version == __version__
    assert back.platforms == ("linux-64", "osx-arm64", "win-64")
    assert back.packages == {p: tuple(v) for p, v in lock.packages.items()}


def test_loads_then_dumps_is_byte_identical() -> None:
    text = explicit_v1.write(make_lock())
    assert explicit_v1.write(explicit_v1.read(text)) == text
    # and once more, from the re-written text
    assert explicit_v1.write(explicit_v1.read(explicit_v1.write(explicit_v1.read(text)))) == text


@pytest.mark.parametrize(
    "changes",
    [
        dict(name=None),
        dict(channels=()),
        dict(packages={"linux-64": ()}),
        dict(tool_version="1.10"),
        dict(name='line\nbreak and "quotes" and caf\u00e9'),
        dict(packages={"linux-64": (pkg("a", sha256=None), pkg("b", md5=None, size=0))}),
        dict(input_hash="0b" + "1" * 62),
    ],
    ids=["no-name", "no-channels", "empty-platform", "version", "odd-name", "md5-only", "hash"],
)
def test_round_trip_edge_cases(changes: dict) -> None:
    lock = make_lock(**changes)
    text = explicit_v1.write(lock)
    back = explicit_v1.read(text)
    assert explicit_v1.write(back) == text
    assert back == lock


def test_writing_is_deterministic_and_keeps_order() -> None:
    lock = make_lock()
    assert explicit_v1.write(lock) == explicit_v1.write(make_lock())
    text = explicit_v1.write(lock)
    assert text.index("  linux-64:") < text.index("  osx-arm64:") < text.index("  win-64: []")
    assert text.index("name: zlib") < text.index("name: python") < text.index("name: tzdata")
    assert text.startswith(f"# Generated by conda-vendor-plugin {__version__}.")
    keys = [line for line in text.splitlines() if not line.startswith((" ", "#"))]
    assert keys == ["metadata:", "name: demo", "explicit-packages:"]
    first = text.split("  - name: zlib\n", 1)[1].splitlines()[:7]
    assert [line.split(":")[0].strip() for line in first] == [
        "version",
        "build",
        "subdir",
        "resolved",
        "sha256",
        "md5",
        "size",
    ]


def test_absent_md5_and_size_are_omitted_not_null() -> None:
    text = explicit_v1.write(make_lock())
    osx = text.split("  osx-arm64:\n", 1)[1].split("  win-64:", 1)[0]
    assert "md5" not in osx and "size" not in osx
    assert ": null" not in text.replace("name: null", "")


def test_unknown_keys_are_ignored_at_every_level() -> None:
    data = _ruamel_safe(explicit_v1.write(make_lock()))
    data["future"] = {"x": 1}
    data["metadata"]["extra"] = [1, 2]
    data["metadata"]["producer"]["build"] = "abc"
    data["explicit-packages"]["linux-64"][0]["depends"] = ["libgcc"]
    lock = explicit_v1.parse(data)
    assert lock == make_lock()


# ------------------------------------------------------------------ validation


def _valid() -> dict[str, Any]:
    return _ruamel_safe(explicit_v1.write(make_lock()))


def _mutate(path: str, value: Any):
    """A change to the document: set (or with ``...`` delete) the item at ``path``."""

    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        *parents, last = [int(p) if p.isdigit() else p for p in path.split("/")]
        node: Any = doc
        for p in parents:
            node = node[p]
        if value is ...:
            del node[last]
        else:
            node[last] = value
        return doc

    return apply


Z = "package 'zlib-1.2.11-h7b6447c_3.conda'"
INVALID = [
    (
        "explicit-packages/linux-64/0/sha256",
        "ZZZ",
        f"explicit-packages.linux-64[0]: {Z}: sha256 must be 64 lowercase hex digits",
    ),
    (
        "explicit-packages/linux-64/1/sha256",
        "A" * 64,
        "explicit-packages.linux-64[1]: package 'python-3.11.5-h955ad1f_0.conda': sha256 must be "
        "64 lowercase hex digits",
    ),
    (
        "explicit-packages/linux-64/0/sha256",
        "a" * 63,
        f"explicit-packages.linux-64[0]: {Z}: sha256 must be 64 lowercase hex digits",
    ),
    (
        "explicit-packages/linux-64/0/sha256",
        1234,
        f"explicit-packages.linux-64[0]: {Z}: sha256 must be 64 lowercase hex digits",
    ),
    (
        "explicit-packages/osx-arm64/0/sha256",
        ...,
        "explicit-packages.osx-arm64[0]: package 'zlib-1.2.11-h1a28f6b_3.conda': has no sha256 "
        "or md5",
    ),
    (
        "explicit-packages/linux-64/2/md5",
        "xyz",
        "explicit-packages.linux-64[2]: package 'tzdata-2024a-h0c530f3_0.conda': md5 must be 32 "
        "lowercase hex digits",
    ),
    (
        "explicit-packages/linux-64/0/size",
        -1,
        f"explicit-packages.linux-64[0]: {Z}: size must be a non-negative integer",
    ),
    (
        "explicit-packages/linux-64/0/size",
        True,
        f"explicit-packages.linux-64[0]: {Z}: size must be a non-negative integer",
    ),
    (
        "explicit-packages/linux-64/0/size",
        "12",
        f"explicit-packages.linux-64[0]: {Z}: size must be a non-negative integer",
    ),
    (
        "explicit-packages/linux-64/0/name",
        ...,
        "explicit-packages.linux-64[0].name: must be a non-empty string",
    ),
    (
        "explicit-packages/linux-64/1/version",
        1.1,
        "explicit-packages.linux-64[1].version: must be a non-empty string, got 1.1",
    ),
    (
        "explicit-packages/linux-64/0/build",
        "",
        "explicit-packages.linux-64[0].build: must be a non-empty string",
    ),
    (
        "explicit-packages/linux-64/0/resolved",
        ...,
        "explicit-packages.linux-64[0].resolved: must be a non-empty string",
    ),
    (
        "explicit-packages/linux-64/0/resolved",
        f"{CHANNEL}/linux-64/zlib-1.2.11-h7b6447c_3.zip",
        "explicit-packages.linux-64[0]: package 'zlib-1.2.11-h7b6447c_3.zip': not an archive named "
        "<name>-<version>-<build>.conda or .tar.bz2",
    ),
    (
        "explicit-packages/linux-64/0/resolved",
        "zlib.conda",
        "explicit-packages.linux-64[0]: package 'zlib.conda': URL 'zlib.conda' is not an http, "
        "https or file URL",
    ),
    (
        "explicit-packages/linux-64/2/subdir",
        "Linux 64",
        "explicit-packages.linux-64[2]: package 'tzdata-2024a-h0c530f3_0.conda': subdir 'Linux 64' "
        "is not noarch or a platform such as linux-64",
    ),
    (
        "explicit-packages/linux-64/0",
        "zlib",
        "explicit-packages.linux-64[0]: must be a mapping",
    ),
    ("explicit-packages/win-64", None, "explicit-packages.win-64: must be a list of packages"),
    ("explicit-packages", {}, "explicit-packages: must map each platform to its package list"),
    ("explicit-packages", ..., "explicit-packages: must map each platform to its package list"),
    ("metadata/spec", "explicit-2.0", "metadata.spec: expected 'explicit-1.0', got 'explicit-2.0'"),
    ("metadata/spec", ..., "metadata.spec: expected 'explicit-1.0', got None"),
    ("metadata/input-hash", "abc", "metadata.input-hash: must be 64 lowercase hex digits"),
    ("metadata/input-hash", ..., "metadata.input-hash: must be a non-empty string"),
    ("metadata/channels", "conda-forge", "metadata.channels: must be a list of strings"),
    ("metadata/channels", ["a", 1], "metadata.channels: must be a list of strings"),
    ("metadata/producer", "me", "metadata.producer: must be a mapping"),
    ("metadata", ..., "metadata: missing; this is not an explicit-1.0 lockfile"),
    ("name", 12, "name: must be a string or null"),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    INVALID,
    ids=[f"{p}={'<deleted>' if v is ... else v!r}"[:60] for p, v, _ in INVALID],
)
def test_validation_errors_name_the_file_and_the_place(
    tmp_path: Path, path: str, value: Any, expected: str
) -> None:
    doc = _mutate(path, value)(_valid())
    target = tmp_path / "env.lock.yml"
    target.write_text(json.dumps(doc, indent=1))  # JSON is YAML: any document can be written
    with pytest.raises(LockfileError) as info:
        explicit_v1.load(target)
    message = str(info.value)
    assert message.startswith(f"{target}: {expected}")
    assert "\n" not in message


def test_without_subdir_the_url_must_name_it(tmp_path: Path) -> None:
    doc = _mutate("explicit-packages/linux-64/0/subdir", ...)(_valid())
    flat = "https://cdn.example/zlib-1.2.11-h7b6447c_3.conda"
    doc = _mutate("explicit-packages/linux-64/0/resolved", flat)(doc)
    target = tmp_path / "env.lock.yml"
    target.write_text(json.dumps(doc))
    with pytest.raises(LockfileError, match=r"\[0\]: package .*: its URL does not name a subdir"):
        explicit_v1.load(target)


def test_an_archive_under_a_cep15_base_url_keeps_its_subdir(tmp_path: Path) -> None:
    # A channel whose repodata sets info.base_url serves archives from there, flat: the
    # URL does not show the subdir, the entry's 'subdir' does.
    url = "https://cdn.example/flat/zlib-1.2.11-h7b6447c_3.conda"
    doc = _mutate("explicit-packages/linux-64/0/resolved", url)(_valid())
    target = tmp_path / "env.lock.yml"
    target.write_text(json.dumps(doc))
    p = explicit_v1.load(target).packages["linux-64"][0]
    assert (p.url, p.subdir, p.fn) == (url, "linux-64", "zlib-1.2.11-h7b6447c_3.conda")
    assert p.channel == "https://cdn.example/flat"


def test_credentials_in_a_hand_edited_file_are_dropped_on_reading(tmp_path: Path) -> None:
    secret = "https://user:hunter2@repo.example.com/t/tk-secret-1/chan"
    doc = _mutate("metadata/channels", [secret, "conda-forge"])(_valid())
    doc = _mutate(
        "explicit-packages/linux-64/0/resolved", f"{secret}/linux-64/zlib-1.2.11-h7b6447c_3.conda"
    )(doc)
    target = tmp_path / "env.lock.yml"
    target.write_text(json.dumps(doc))
    lock = explicit_v1.load(target)
    assert lock.channels == (CHANNEL, "conda-forge")
    p = lock.packages["linux-64"][0]
    assert (p.url, p.channel) == (f"{CHANNEL}/linux-64/zlib-1.2.11-h7b6447c_3.conda", CHANNEL)


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        (
            f"{CHANNEL}/linux-64/zlib-1.2.12-h7b6447c_3.conda",
            "[0]: archive 'zlib-1.2.12-h7b6447c_3.conda' does not match its entry "
            "(name 'zlib', version '1.2.11', build 'h7b6447c_3')",
        ),
        (
            "ftp://repo.example.com/chan/linux-64/zlib-1.2.11-h7b6447c_3.conda",
            f"[0]: {Z}: URL "
            "'ftp://repo.example.com/chan/linux-64/zlib-1.2.11-h7b6447c_3.conda' "
            "is not an http, https or file URL",
        ),
    ],
    ids=["archive-name", "scheme"],
)
def test_what_becomes_a_path_or_a_download_is_checked(
    tmp_path: Path, resolved: str, expected: str
) -> None:
    doc = _mutate("explicit-packages/linux-64/0/resolved", resolved)(_valid())
    target = tmp_path / "env.lock.yml"
    target.write_text(json.dumps(doc))
    with pytest.raises(LockfileError) as info:
        explicit_v1.load(target)
    assert str(info.value) == f"{target}: explicit-packages.linux-64{expected}"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            _mutate("explicit-packages/linux-64/0/subdir", "osx-64"),
            "explicit-packages.linux-64[0]: package 'zlib-1.2.11-h7b6447c_3.conda' is for osx-64, "
            "but is listed for linux-64",
        ),
        (
            lambda doc: {**doc, "explicit-packages": {"noarch": []}},
            "explicit-packages.noarch: 'noarch' is not a platform such as linux-64",
        ),
    ],
    ids=["package-of-another-platform", "noarch-platform"],
)
def test_packages_are_locked_under_their_platform(tmp_path: Path, change, expected: str) -> None:
    target = tmp_path / "env.lock.yml"
    target.write_text(json.dumps(change(_valid())))
    with pytest.raises(LockfileError) as info:
        explicit_v1.load(target)
    assert str(info.value).startswith(f"{target}: {expected}")


def test_the_unmutated_document_is_valid(tmp_path: Path) -> None:
    target = tmp_path / "env.lock.yml"
    target.write_text(json.dumps(_valid()))
    assert explicit_v1.load(target) == make_lock()
    assert explicit_v1.load(target).path == target


def test_not_a_mapping(tmp_path: Path) -> None:
    target = tmp_path / "x.lock.yml"
    target.write_text("- a\n- b\n")
    with pytest.raises(LockfileError, match=r"x\.lock\.yml: not an explicit-1\.0 lockfile"):
        explicit_v1.load(target)


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    target = tmp_path / "broken.lock.yml"
    text = explicit_v1.write(make_lock()).replace("  osx-arm64:\n", "  osx-arm64: [\n", 1)
    target.write_text(text)
    with pytest.raises(LockfileError) as info:
        explicit_v1.load(target)
    message = str(info.value)
    assert message.startswith(f"{target} (line ")
    assert "invalid YAML" in message and "\n" not in message


def test_missing_lockfile(tmp_path: Path) -> None:
    target = tmp_path / "none.lock.yml"
    with pytest.raises(LockfileError) as info:
        explicit_v1.load(target)
    assert str(info.value) == f"{target}: no such lockfile; create it with 'conda env lock'"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("conda-lock-v1_test-lockfile.yml", "metadata.spec: expected 'explicit-1.0', got None"),
        ("conda-lock-v1_v3.0.3-upgrade.yml", "metadata.spec: expected 'explicit-1.0'"),
        ("conda-lockfiles_conda-lock-metadata.yml", "metadata.spec: expected 'explicit-1.0'"),
        ("pixi-v6_python-from-conda-only-lock.yml", "metadata: missing"),
        ("explicit_zlib_linux-64.lock", "invalid YAML"),
    ],
)
def test_other_tools_lockfiles_are_refused_with_one_line(
    shared_testdata: Path, tmp_path: Path, filename: str, expected: str
) -> None:
    source = shared_testdata / "lockfiles" / filename
    target = tmp_path / filename
    target.write_bytes(source.read_bytes())
    with pytest.raises(LockfileError) as info:
        explicit_v1.load(target)
    assert str(info.value).startswith(str(target))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------ credentials (both writers)


CREDENTIALED = [
    "https://user:hunter2@repo.example.com/t/tk-secret-1/chan",
    "https://tk-secret-1@repo.example.com/chan",
    "https://repo.example.com/t/tk-secret-1/chan",
]


@pytest.mark.parametrize("channel", CREDENTIALED)
def test_credentials_never_appear(channel: str) -> None:
    packages = (pkg("zlib", channel=channel), pkg("xz", subdir="noarch", channel=channel))
    lock = make_lock(channels=(channel, "conda-forge"), packages={"linux-64": packages})
    texts = [explicit_v1.write(lock), cep23.write(lock, "linux-64")]
    for text in texts:
        assert "tk-secret-1" not in text and "hunter2" not in text and "user" not in text
        assert "https://repo.example.com/chan/linux-64/zlib-1.0-0.conda" in text
    back = explicit_v1.read(texts[0])
    assert back.channels == ("https://repo.example.com/chan", "conda-forge")
    assert back.packages["linux-64"][0].url == (
        "https://repo.example.com/chan/linux-64/zlib-1.0-0.conda"
    )


# ---------------------------------------------------------------- the documented schema

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "explicit-1.0.schema.json"


@pytest.fixture(scope="module")
def schema_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_schema_accepts_what_the_writer_writes(schema_validator) -> None:
    schema_validator.validate(_valid())
    url = "https://cdn.example/flat/zlib-1.2.11-h7b6447c_3.conda"  # CEP 15 base_url
    schema_validator.validate(_mutate("explicit-packages/linux-64/0/resolved", url)(_valid()))


@pytest.mark.parametrize(("path", "value", "expected"), INVALID)
def test_the_schema_rejects_what_the_loader_rejects(
    schema_validator, path: str, value: Any, expected: str
) -> None:
    doc = _mutate(path, value)(_valid())
    assert list(schema_validator.iter_errors(doc)), f"the schema accepts: {expected}"
