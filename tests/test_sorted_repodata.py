"""Bisection over a repodata.json laid out as conda-index writes it.

Its answer is either exactly :func:`json.load`'s or None (the caller then reads the file
another way): checked on the real repodata in ``../shared/testdata``, on every layout a
conda-index file can take, on the ways a file can differ from that layout, and on random
conda-index files, where it must also answer rather than give up.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from conda_vendor_plugin.channel import entries as entries_mod
from conda_vendor_plugin.channel.entries import Entries, original_entry
from conda_vendor_plugin.channel.sorted_repodata import SECTIONS, find


def conda_index(doc: dict[str, Any], ensure_ascii: bool = True) -> bytes:
    """``doc`` as conda-index writes it."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=ensure_ascii).encode()


def entry(fn: str, **extra: Any) -> dict[str, Any]:
    stem = fn.removesuffix(".conda").removesuffix(".tar.bz2")
    name, version, build = stem.rsplit("-", 2)
    return {"build": build, "name": name, "version": version, **extra}


def repodata(fns: Iterable[str], **top: Any) -> dict[str, Any]:
    fns = list(fns)
    return {
        "info": {"subdir": "linux-64"},
        "packages": {fn: entry(fn) for fn in fns if not fn.endswith(".conda")},
        "packages.conda": {fn: entry(fn) for fn in fns if fn.endswith(".conda")},
        "removed": ["gone-1-0.tar.bz2"],
        "repodata_version": 1,
        **top,
    }


def expected(data: bytes, wanted: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = json.loads(data)
    header = {k: v for k, v in doc.items() if k not in SECTIONS}
    return header, {fn: original_entry(doc, fn) for fn in wanted}


def answer(data: bytes, wanted: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """What :func:`find` says, in the shape of :func:`expected`; None where it gave up."""
    wanted = list(wanted)
    found = find(data, wanted)
    if found is None:
        return None
    header, sections = found
    return header, {fn: original_entry(sections, fn) for fn in wanted}


def test_real_repodata_as_written(shared_testdata: Path) -> None:
    """Every real file: json.load's answer or none; the large sorted ones are answered."""
    answered = []
    for path in sorted(shared_testdata.glob("**/*.json")):
        data = path.read_bytes()
        doc = json.loads(data)
        if not isinstance(doc, dict) or not any(s in doc for s in SECTIONS):
            continue
        fns = sorted(fn for s in SECTIONS if isinstance(doc.get(s), dict) for fn in doc[s])
        got = answer(data, fns)
        if got is not None:
            assert got == expected(data, fns), path
            answered.append(path.name)
    assert {
        "anaconda-r_linux-64_2018-08.json",
        "pytorch_linux-64.json",
        "anaconda-main_noarch_2018-08.json",
    } <= set(answered)


def test_real_records_rewritten_by_conda_index_are_all_answered(shared_testdata: Path) -> None:
    """Every real record, in files as conda-index writes them, found by bisection alone."""
    records: dict[str, Any] = {}
    for path in sorted((shared_testdata / "repodata").glob("*.json")):
        doc = json.loads(path.read_bytes())
        for section in SECTIONS if any(s in doc for s in SECTIONS) else [None]:
            records.update(doc.get(section) or {} if section else doc)
    fns = sorted(records)
    doc = {
        "info": {"subdir": "linux-64"},
        "packages": {fn: records[fn] for fn in fns if not fn.endswith(".conda")},
        "packages.conda": {fn: records[fn] for fn in fns if fn.endswith(".conda")},
    }
    data = conda_index(doc)
    assert answer(data, fns) == expected(data, fns)
    assert len(fns) > 9000


A, B, C = "a-1.0-0.tar.bz2", "b-2.0-py_1.tar.bz2", "c-3.0-h1_0.conda"


@pytest.mark.parametrize(
    "doc",
    [
        repodata([A, B, C]),
        repodata([A, B]),  # packages.conda empty: "{}" on the line of its key
        repodata([C]),  # packages empty
        {"packages": {A: entry(A), B: entry(B)}},  # nothing else at all
        {"packages.conda": {C: entry(C)}},
        repodata([A, B, C], _etag='W/"x"', _mod="Thu, 09 Aug 2018", removed=[]),
        repodata([A, B, C], info={"subdir": "noarch", "base_url": "https://x/"}),
        # what an entry can hold: nesting, quotes and braces, the names of others
        repodata([A, C]) | {"packages": {A: entry(A, depends=[B, '"}{'], x={"p": {C: {}}})}},
    ],
)
def test_every_layout_conda_index_writes_is_answered_exactly(doc: dict[str, Any]) -> None:
    for ensure_ascii in (True, False):
        data = conda_index(doc, ensure_ascii)
        names = [fn for s in SECTIONS for fn in doc.get(s, {})]
        assert answer(data, names) == expected(data, names)
        assert answer(data, []) == expected(data, [])  # the header alone


@pytest.mark.parametrize(
    "name",
    [
        "ü-1.0-0.tar.bz2",
        "日本-1.0-0.conda",
        "\U0001f600-1-0.conda",
        'q"uote-1-0.conda',
        "z\\-1-0.conda",
    ],
)
def test_names_json_escapes_are_found(name: str) -> None:
    """Bisection compares names as json decodes them, the order sort_keys wrote them in."""
    doc = repodata([A, C, name, "zz-1-0.conda", "zz-1-0.tar.bz2"])
    for ensure_ascii in (True, False):
        data = conda_index(doc, ensure_ascii)
        assert answer(data, [name]) == expected(data, [name])


def _text(doc: dict[str, Any]) -> str:
    return conda_index(doc).decode()


@pytest.mark.parametrize(
    "case, data",
    [
        (  # keys not sorted (conda's own test channel has zlib-1.2.8 before zlib-1.2.11)
            "unsorted",
            json.dumps({"packages": {B: entry(B), A: entry(A)}, "packages.conda": {}}, indent=2),
        ),
        ("a .conda under packages", _text({"packages": {A: entry(A), C: entry(C)}})),
        (  # the same under packages.conda, after packages
            "a .tar.bz2 under packages.conda, after packages",
            _text({"packages": {A: entry(A)}, "packages.conda": {B: entry(B)}}),
        ),
        (
            "packages.conda before packages",
            json.dumps({"packages.conda": {C: entry(C)}, "packages": {A: entry(A)}}, indent=2),
        ),
        (
            "a .tar.bz2 under packages.conda",
            _text({"packages.conda": {A: entry(A), C: entry(C)}}),
        ),
        (
            "a name its entry does not spell",
            _text(repodata([A, C]) | {"packages": {A: entry(B)}}),
        ),
        ("an entry that is not an object", _text(repodata([C]) | {"packages": {A: [1]}})),
        (  # json.load keeps the last of two; bisection cannot tell which it saw
            "a section twice",
            _text(repodata([A, C])).replace('  "removed"', '  "packages": {},\n  "removed"'),
        ),
        (
            "packages.conda twice",
            _text(repodata([A, C])).replace('  "removed"', '  "packages.conda": {},\n  "removed"'),
        ),
        ("compact", json.dumps(repodata([A, C]), sort_keys=True)),
        ("indent 4", json.dumps(repodata([A, C]), sort_keys=True, indent=4)),
        ("CRLF", _text(repodata([A, C])).replace("\n", "\r\n")),
        (
            "a head member without its comma",
            _text(repodata([A, C])).replace('},\n  "p', '}\n  "p', 1),
        ),
        (
            "a tail member without its comma",
            _text(repodata([A, C])).replace('  },\n  "r', '  }\n  "r'),
        ),
        ("cut short", _text(repodata([A, C]))[:-2]),
    ],
)
def test_a_file_not_laid_out_for_bisection_is_left_to_the_full_read(
    tmp_path: Path, case: str, data: str
) -> None:
    try:
        doc = json.loads(data)
    except ValueError:  # not JSON at all: the slower readers report it (tests/test_entries.py)
        assert find(data.encode(), [A, C]) is None
        return
    wanted = sorted({fn for s in SECTIONS for fn in doc.get(s, {})})  # all there: no other reason
    assert find(data.encode(), wanted) is None
    want = expected(data.encode(), wanted)
    path = tmp_path / "repodata.json"
    path.write_text(data, encoding="utf-8", newline="")
    entries = Entries()
    assert {fn: entries.find(path, fn) for fn in wanted} == want[1]


@pytest.mark.parametrize("removed", [["gone-1-0.tar.bz2"], []])
def test_objects_keyed_by_file_name_after_the_sections_lend_no_entries(removed: list) -> None:
    """libmamba's exports end with ``signatures``, keyed by file name: not conda-index's
    layout, so json.load's answer or none, never a signature for an entry."""
    d = "d-1.0-0.conda"
    doc = repodata([A, C], removed=removed, signatures={C: {"sig": "c"}, d: {"sig": "d"}})
    data = conda_index(doc)
    for wanted in ([A, C], [d], [C, d]):
        got = answer(data, wanted)
        assert got is None or got == expected(data, wanted)


def test_a_name_not_found_is_never_called_absent() -> None:
    """Only a full read can say a name is not in a file."""
    data = conda_index(repodata([A, C]))
    assert find(data, ["absent-1-0.conda"]) is None
    assert find(data, ["absent-1-0.tar.bz2", A]) is None
    assert answer(data, [A, C]) == expected(data, [A, C])
    zz = "zz-1.0-0.tar.bz2"
    spells_another = conda_index({"packages": {"z-1.0-0.tar.bz2": entry(B), zz: entry(zz)}})
    assert find(spells_another, [B]) is None


def test_a_conda_name_under_packages_does_not_start_packages_conda() -> None:
    data = conda_index({"packages": {A: entry(A), C: entry(C)}})
    assert find(data, [C]) is None  # json.load finds it under packages, where it is


def test_a_run_reads_a_conda_index_file_by_bisection_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What vendor does with conda-forge's repodata: no reader that walks the file runs."""
    path = tmp_path / "repodata.json"
    path.write_bytes(conda_index(repodata([A, B, C])))

    def walks(*args: object) -> None:
        raise AssertionError("the whole file was read")

    for reader in ("_with_msgspec", "load_repodata"):
        monkeypatch.setattr(entries_mod, reader, walks)
    entries = Entries()
    entries.expect(path, [A, C])
    assert entries.find(path, A) == ("packages", entry(A))
    assert entries.find(path, C) == ("packages.conda", entry(C))
    assert entries.header(path)["info"] == {"subdir": "linux-64"}


# ------------------------------------------------------------------ random conda-index files

_PIECES = ['"', "\\", "{", "}", "[", "]", ":", ",", " ", "é", "\n", "\n    ", "\u2028", "-"]


def _random_name(rng: random.Random) -> str:
    stem = "".join(rng.choice("abcxyz_.ü") for _ in range(rng.randint(1, 4)))
    piece = rng.choice(["", *_PIECES]) if rng.random() < 0.3 else ""
    return f"{stem}{piece}-{rng.randint(0, 20)}.{rng.randint(0, 9)}-h{rng.randint(0, 99)}_0"


def _random_value(rng: random.Random, names: list[str], depth: int = 0) -> Any:
    kind = rng.randrange(5 if depth < 3 else 2)
    if kind == 0:
        return "".join(rng.choice([*_PIECES, *names]) for _ in range(rng.randint(0, 3)))
    if kind == 1:
        return rng.choice([1, -2.5e3, True, None, 12345678901234567890])
    if kind == 2:
        return [_random_value(rng, names, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = [*names, "name", "depends", "x"]
    return {
        rng.choice(keys): _random_value(rng, names, depth + 1) for _ in range(rng.randint(0, 3))
    }


def test_random_conda_index_files_are_answered_exactly() -> None:
    rng = random.Random(7)
    for _ in range(300):
        fns = {
            _random_name(rng) + rng.choice([".tar.bz2", ".conda"])
            for _ in range(rng.randint(0, 40))
        }
        doc = repodata([])
        for fn in fns:
            extra = {
                k: _random_value(rng, sorted(fns)) for k in rng.sample(["a", "depends", "z"], 2)
            }
            section = "packages.conda" if fn.endswith(".conda") else "packages"
            doc[section][fn] = entry(fn, **extra)
        for member in rng.sample(
            ["info", "removed", "repodata_version", "packages"], rng.randint(0, 2)
        ):
            del doc[member]
        data = conda_index(doc, ensure_ascii=rng.random() < 0.5)
        present = sorted(fn for s in SECTIONS for fn in doc.get(s, {}))
        wanted = rng.sample(present, min(len(present), rng.randint(0, 10)))
        got = answer(data, wanted)
        if present:  # a file without entries has no sections to bisect: it may give up
            assert got == expected(data, wanted)
        else:
            assert got is None or got == expected(data, wanted)


def test_a_key_longer_than_any_file_name_is_left_to_the_full_read() -> None:
    """A probe reads a bounded piece of a line, however long the channel makes it."""
    long = "x" * 2000 + "-1-0.conda"
    data = conda_index(repodata([A, C, long]))
    assert find(data, [C]) is None
    assert answer(conda_index(repodata([A, C])), [C]) is not None
