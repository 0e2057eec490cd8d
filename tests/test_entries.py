"""Original entries read back without decoding whole repodata files.

Every answer is compared with a full :func:`json.load` of the same bytes: on every record
of the real repodata in ``../shared/testdata`` (as written, compact and re-indented), on
crafted files with the traps a raw search falls into, and on random documents. Files laid
out as conda-index writes them are searched by bisection first: its own tests follow.
Files msgspec refuses (a BOM, ``NaN``) are parsed whole by json, which accepts them.
"""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from conda_vendor_plugin.channel import entries as entries_mod
from conda_vendor_plugin.channel.entries import Entries, load_repodata, original_entry
from conda_vendor_plugin.errors import ChannelError


@pytest.fixture(autouse=True, params=["bisect", "msgspec", "json"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test reads entries every way: as a run does (bisection where the file is laid
    out for it, else msgspec skipping the unwanted entries), with msgspec alone, and with
    the full parse by json they fall back to where msgspec refuses a file."""
    if request.param != "bisect":
        monkeypatch.setattr(entries_mod, "_bisected", lambda data, wanted: None)
    if request.param == "json":
        monkeypatch.setattr(entries_mod, "_with_msgspec", lambda data, wanted: None)
    return request.param


SECTIONS = ("packages", "packages.conda")


def _expected(path: Path, fns: Iterable[str]) -> dict[str, Any]:
    doc = json.loads(path.read_bytes())
    return {fn: original_entry(doc, fn) for fn in fns}


def _header(path: Path) -> dict[str, Any]:
    return {k: v for k, v in json.loads(path.read_bytes()).items() if k not in SECTIONS}


def _check(path: Path, fns: Iterable[str]) -> int:
    """Entries agrees with json.load on every ``fn`` (asked for together, then alone)."""
    fns = list(fns)
    expected = _expected(path, fns)
    together = Entries()
    together.expect(path, fns)
    assert {fn: together.find(path, fn) for fn in fns} == expected
    assert together.header(path) == _header(path)
    for fn in fns[:3]:  # not announced with expect(): read for each
        assert Entries().find(path, fn) == expected[fn]
    return len(fns)


def _all_fns(path: Path) -> set[str]:
    doc = json.loads(path.read_bytes())
    return {fn for s in SECTIONS if isinstance(doc.get(s), dict) for fn in doc[s]}


def _real_repodata(shared: Path, dest: Path) -> list[Path]:
    """Every real repodata file, the old filename->record indexes made into repodata."""
    files = sorted((shared / "channels").glob("*/*/repodata.json"))
    for index in sorted((shared / "repodata").glob("*.json")):
        doc = json.loads(index.read_bytes())
        if any(s in doc for s in SECTIONS):
            files.append(index)
            continue
        made = dest / f"{index.stem}.repodata.json"
        made.write_text(
            json.dumps(
                {
                    "info": {"subdir": "linux-64"},
                    "packages": {k: v for k, v in doc.items() if not k.endswith(".conda")},
                    "packages.conda": {k: v for k, v in doc.items() if k.endswith(".conda")},
                }
            )
        )
        files.append(made)
    return files


STYLES = {
    "compact": lambda d: json.dumps(d, separators=(",", ":")),
    "indented": lambda d: json.dumps(d, indent=4, ensure_ascii=False),
    "odd spacing": lambda d: json.dumps(d, indent="\t", separators=(" ,\r\n", " :  ")),
    "conda-index": lambda d: json.dumps(d, indent=2, sort_keys=True),
}


@pytest.mark.parametrize("style", ["as written", *STYLES])
def test_every_real_record_is_what_json_load_gives(
    shared_testdata: Path, tmp_path: Path, style: str
) -> None:
    checked = 0
    for i, path in enumerate(_real_repodata(shared_testdata, tmp_path)):
        if style != "as written":
            text = STYLES[style](json.loads(path.read_bytes()))
            path = tmp_path / f"{i}-{style}.json"
            path.write_text(text, encoding="utf-8")
        fns = _all_fns(path)
        checked += _check(path, [*sorted(fns), "absent-1.0-0.tar.bz2", "absent-1.0-0.conda"])
    assert checked > 9000


def _write(tmp_path: Path, text: str, name: str = "repodata.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


A, B = "a-1.0-0.tar.bz2", "b-1.0-0.tar.bz2"


@pytest.mark.parametrize(
    "text",
    [
        # the file name inside another entry's string, key-shaped
        '{"packages": {"a-1.0-0.tar.bz2": {"note": "\\"b-1.0-0.tar.bz2\\": {\\"x\\": 1}"}}}',
        # ... and inside a string holding braces, then for real
        '{"packages": {"a-1.0-0.tar.bz2": {"n": "}{\\"b-1.0-0.tar.bz2\\": {"}, '
        '"b-1.0-0.tar.bz2": {"name": "b"}}}',
        # a nested "packages" object inside an entry, and the real one after it
        '{"packages": {"a-1.0-0.tar.bz2": {"extra": {"packages": {"b-1.0-0.tar.bz2": '
        '{"name": "evil"}}}}, "b-1.0-0.tar.bz2": {"name": "b"}}}',
        # only nested: not an entry
        '{"packages": {"a-1.0-0.tar.bz2": {"x": [{"b-1.0-0.tar.bz2": {"name": "evil"}}]}}}',
        # another top-level object keyed by file name (signatures)
        '{"signatures": {"b-1.0-0.tar.bz2": {"sig": 1}}, "packages": {"a-1.0-0.tar.bz2": {}}}',
        # keys written with escapes
        '{"packages": {"b-1.0-0\\u002etar.bz2": {"name": "b"}, "a\\u002d1.0-0.tar.bz2": {}}}',
        '{"packages": {"b-1.0-0.tar.bz2": {"v": 1}, "b\\u002d1.0-0.tar.bz2": {"v": 2}}}',
        '{"packages": {"x\\"b-1.0-0.tar.bz2\\\\": {"v": 1}, "b-1.0-0.tar.bz2": {"v": 2}}}',
        # duplicates: json.load keeps the last
        '{"packages": {"b-1.0-0.tar.bz2": {"v": 1}, "b-1.0-0.tar.bz2": {"v": 2}}}',
        '{"packages": {"b-1.0-0.tar.bz2": {"v": 1}, "b-1.0-0.tar.bz2": null}}',
        '{"packages": {"b-1.0-0.tar.bz2": {"v": 1}}, "packages": {"a-1.0-0.tar.bz2": {}}}',
        '{"packages": {"b-1.0-0.tar.bz2": {"v": 1}}, "packages": []}',
        # sections: a .tar.bz2 under packages.conda, the same name in both
        '{"packages.conda": {"b-1.0-0.tar.bz2": {"v": "c"}}}',
        '{"packages.conda": {"b-1.0-0.tar.bz2": {"v": "c"}}, "packages": {"b-1.0-0.tar.bz2": {}}}',
        # values the entry holds: escapes, unicode, numbers json reads its own way
        '{"packages": {"b-1.0-0.tar.bz2": {"s": "\\\\\\"}", "u": "\\u00fc\\ud83d\\ude00 ü", '
        '"n": [1e400, -0.0, 12345678901234567890, NaN], "o": {"p": {"q": [{}]}}}}}',
        # whitespace of every kind, and none
        '\r\n\t{ "packages" :\n{\t"b-1.0-0.tar.bz2"\n:\r\n{ "a" : [ ] } ,'
        '"a-1.0-0.tar.bz2":{}}\n}\n',
        '{"packages":{"a-1.0-0.tar.bz2":{},"b-1.0-0.tar.bz2":{"x":"}"}},"repodata_version":2}',
        # empty things
        "{}",
        '{"packages": {}, "packages.conda": {}, "info": {}}',
        '{"info": {"subdir": "noarch", "base_url": "x"}, "removed": ["b-1.0-0.tar.bz2"]}',
    ],
)
def test_crafted_documents_read_as_json_load_reads_them(tmp_path: Path, text: str) -> None:
    json.loads(text)  # the case itself is valid JSON
    _check(_write(tmp_path, text), [A, B, "a-1.0-0.conda"])


def test_unicode_file_names(tmp_path: Path) -> None:
    fns = ["ü-1.0-0.tar.bz2", "日本-1.0-0.conda", "\U0001f600-1-0.conda"]
    for ensure_ascii in (True, False):
        doc = {"packages": {fns[0]: {"n": 0}}, "packages.conda": {f: {"n": 1} for f in fns[1:]}}
        path = _write(tmp_path, json.dumps(doc, ensure_ascii=ensure_ascii))
        assert _check(path, fns) == 3
        assert Entries().find(path, fns[2]) == ("packages.conda", {"n": 1})


def test_a_file_msgspec_refuses_is_read_as_json_load_reads_it(tmp_path: Path) -> None:
    """UTF-8 with a byte-order mark, UTF-16 and ``NaN`` are JSON json.load reads (msgspec
    refuses them): so do we, with json.load's values."""
    doc = {"packages": {B: {"name": "b", "x": float("nan")}}, "info": {"n": float("inf")}}
    for encoding in ("utf-8", "utf-8-sig", "utf-16"):
        path = tmp_path / f"{encoding}.json"
        path.write_text(json.dumps(doc), encoding=encoding)
        section, entry = Entries().find(path, B) or ("", {})
        assert section == "packages" and entry["name"] == "b" and entry["x"] != entry["x"]
        assert Entries().header(path) == {"info": {"n": float("inf")}}


@pytest.mark.parametrize(
    "text",
    [
        '{"packages": {"b-1.0-0.tar.bz2": {"name": "b"}',  # cut short
        '{"packages": {"b-1.0-0.tar.bz2": {"name": "b"}}} trailing',
        '["packages"]',
        '{"packages": {"b-1.0-0.tar.bz2": {"name": b}}}',
        "",
        # valid JSON nested past what json can decode: in the head, then in the entry
        '{\n  "info": ' + "[" * 100_000 + "]" * 100_000 + ',\n  "packages": {}\n}',
        '{"packages": {"b-1.0-0.tar.bz2": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}}",
    ],
)
def test_malformed_repodata_is_one_line_naming_the_file(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ChannelError) as e:
        Entries().find(path, B)
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ChannelError, match=r"not a readable repodata\.json"):
        Entries().header(tmp_path / "gone.json")


# ------------------------------------------------------------------ random documents

_NAMES = ["a-1.0-0.tar.bz2", "b-1.0-0.conda", "packages", "packages.conda", "ü-2-0.conda", "x"]


def _random_string(rng: random.Random) -> str:
    pieces = [rng.choice(_NAMES), '"', "\\", "{", "}", "[", "]", ":", ",", " ", "é", "\n"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))


def _encode_string(rng: random.Random, s: str) -> str:
    """``s`` as a JSON string, some characters escaped as \\uXXXX for no reason."""
    out = []
    for ch in s:
        if ch in '"\\' and rng.random() < 0.5:
            out.append("\\" + ch)
        elif ch in '"\\' or ord(ch) < 0x20 or (ch.isalnum() and rng.random() < 0.1):
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else json.dumps(ch)[1:-1])
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _random_value(rng: random.Random, depth: int) -> str:
    kind = rng.randrange(6 if depth < 3 else 2)
    if kind == 0:
        return _encode_string(rng, _random_string(rng))
    if kind == 1:
        return rng.choice(["1", "-2.5e3", "true", "false", "null", "0"])
    if kind in (2, 3, 4):  # objects most often
        return _random_object(rng, depth + 1, [rng.choice(_NAMES), _random_string(rng)])
    return "[" + ", ".join(_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"


def _random_object(rng: random.Random, depth: int, keys: list[str]) -> str:
    ws = lambda: rng.choice(["", " ", "\n  ", "\t"])  # noqa: E731
    members = [
        f"{ws()}{_encode_string(rng, rng.choice(keys))}{ws()}:{ws()}{_random_value(rng, depth)}"
        for _ in range(rng.randint(0, 4))
    ]
    return "{" + ",".join(members) + ws() + "}"


def test_random_documents_read_as_json_load_reads_them(tmp_path: Path) -> None:
    rng = random.Random(11)
    for i in range(400):
        sections = [
            f'"{rng.choice(["packages", "packages.conda", "info", "p"])}": '
            + _random_object(rng, 1, _NAMES)
            for _ in range(rng.randint(0, 4))
        ]
        text = "{" + ", ".join(sections) + "}"
        path = _write(tmp_path, text, f"{i}.json")
        json.loads(text)
        _check(path, _NAMES)


# ------------------------------------------------------------------ memory


def test_finding_entries_does_not_decode_the_whole_file(tmp_path: Path, reader: str) -> None:
    if reader == "json":
        pytest.skip("the full parse decodes the whole file: only for files msgspec refuses")
    records = {
        f"pkg{i}-1.0-py_{i}.tar.bz2": {
            "name": f"pkg{i}",
            "version": "1.0",
            "depends": [f"dep{j} >=1.{j}" for j in range(6)],
            "sha256": f"{i:064x}",
        }
        for i in range(40_000)
    }
    path = _write(tmp_path, json.dumps({"packages": records}, indent=1))
    size = path.stat().st_size
    wanted = [f"pkg{i}-1.0-py_{i}.tar.bz2" for i in (0, 17_000, 39_999)]
    entries = Entries()
    entries.expect(path, wanted)
    tracemalloc.start()
    try:
        found = [entries.find(path, fn) for fn in wanted]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f[1] for f in found if f] == [records[fn] for fn in wanted]
    assert peak < 1.5 * size  # the bytes of the file, not a decoded copy (several times more)
    tracemalloc.start()
    try:
        load_repodata(path)
        _, whole = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert whole > 3 * size  # what the check above would see if the file were decoded
