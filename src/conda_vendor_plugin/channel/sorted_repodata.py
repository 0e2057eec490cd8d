"""Entries of a ``repodata.json`` laid out as conda-index writes it, found by bisection.

conda-index (behind anaconda.org, conda-forge and ``defaults``) writes ``repodata.json``
with ``json.dumps(indent=2, sort_keys=True)``: each entry of ``packages`` and
``packages.conda`` starts on a line of its own, four spaces in, in sorted order. In such a
file an entry is found in a few dozen probes of the memory-mapped bytes, however large the
file, where any reader that walks it costs one pass over all of it (about 0.3 s for
conda-forge's linux-64 and noarch from the page cache).

What bisection relies on is checked where it looks, and anything unexpected makes
:func:`find` return None (the caller then reads the file the slow way, which is always
right):

- the members before the first section and after the last are decoded by :mod:`json`,
  which succeeds only where each cut falls between two top-level members;
- where ``packages`` is followed by ``packages.conda``, the boundary is found by bisection
  too (``.tar.bz2`` names sort before it, ``.conda`` names after) and must read exactly
  ``},\\n  "packages.conda": {``; where no ``.conda`` name is found, a search proves there
  is no such section;
- an entry found is decoded by :mod:`json` from its ``{`` to the first four-space ``}``
  after it, which succeeds only for the whole object, and its name, version and build
  must spell its file name;
- a name not found in the section a solver looks in first may still be in a file whose
  keys are not sorted: absence is never concluded, the whole answer is None instead.

What no check short of reading every byte can prove is that no other top-level member
spelled over many lines hides between or after the sections (libmamba's exports end with
``signatures``: their values spell no file name, so they are never taken for entries),
and that a four-space line is not a key of an object nested at the wrong indentation.
Files written as conda-index writes them have neither; a channel that forges such a
layout controls its entries anyway, and what ``vendor`` copies must still give the
sha256, md5 and size of the record the solver picked (``bundle/channels.py``), and is
checked against the archive again by ``vendor verify``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..records import PACKAGE_SUFFIXES

SECTIONS = ("packages", "packages.conda")

_OPEN = b'{\n  "'
_FIRST_SECTION = re.compile(rb'\n  "(packages|packages\.conda)": \{\n')
_HEAD_LIMIT = 1 << 20  # conda-index's head is "info" and a few cache fields, not megabytes
_ENTRY = b'\n    "'
# A file name longer than any file system allows is not an entry: a probe never walks
# megabytes of one line (30 probes of one such line would be a full read many times over).
_ENTRY_KEY = re.compile(rb'\n    ("(?:[^"\\\n]|\\.){0,1024}"): \{\n')
_ENTRY_CLOSE = b"\n    }"
_SECTION_CLOSE = b"\n  }"
_BOUNDARY = b'\n  },\n  "packages.conda": {'

# (header, sections): the members other than the sections, and each section's entries
Found = tuple[dict[str, Any], dict[str, Any]]


class _Unfit(Exception):
    """The file is not laid out as bisection needs: read it another way."""


def find(data: Any, wanted: Collection[str]) -> Found | None:
    """``(header, sections)`` of the repodata in ``data`` (bytes or a memory map): the
    top-level members other than the sections, and under each section present the
    ``wanted`` entries it holds (None where the section is not an object), all exactly as
    :func:`json.loads` gives them; None where bisection cannot give that answer."""
    try:
        return _find(data, wanted)
    except (_Unfit, ValueError):  # ValueError: json's, and UTF-8 that is not
        return None


def _find(data: Any, wanted: Collection[str]) -> Found:
    if data[: len(_OPEN)] != _OPEN:
        raise _Unfit
    first = _FIRST_SECTION.search(data, 0, _HEAD_LIMIT)
    if first is None:
        raise _Unfit
    head = _head(data[: first.start()])
    last = data.rfind(_SECTION_CLOSE, first.end())
    if last < 0:
        raise _Unfit
    tail = _tail(data[last + len(_SECTION_CLOSE) :])
    ranges = _ranges(data, first.group(1).decode(), first.end() - 1, last, head, tail)
    _last_entry_spells(data, first.end() - 1, last)
    sections: dict[str, dict[str, Any] | None] = {}
    for name, value in (*head.items(), *tail.items()):
        if name in SECTIONS:
            sections[name] = (
                {fn: value[fn] for fn in wanted if fn in value}
                if isinstance(value, Mapping)
                else None
            )
    cursors = dict(ranges)
    for name in ranges:
        sections[name] = {}
    for fn in sorted(wanted):
        usual = "packages.conda" if fn.endswith(".conda") else "packages"
        if usual in ranges:
            lo, hi = cursors[usual]
            at, entry = _entry(data, lo, hi, fn)
            sections[usual][fn] = entry  # type: ignore[index]
            cursors[usual] = (at, hi)  # names asked in order are found in order
        elif fn not in (sections.get(usual) or {}):
            raise _Unfit  # absent from where a solver looks first: a full read decides
    header = {k: v for k, v in (*head.items(), *tail.items()) if k not in SECTIONS}
    return header, sections


def _head(text: bytes) -> dict[str, Any]:
    """The members before the first section: ``{`` and members each ending in ``,``."""
    text = text.rstrip()
    if text != b"{" and not text.endswith(b","):
        raise _Unfit
    return json.loads(text.removesuffix(b",") + b"}")


def _tail(text: bytes) -> dict[str, Any]:
    """The members after the last section: ``,`` then members, or the closing ``}``."""
    text = text.lstrip()
    if text.rstrip() == b"}":
        return {}
    if not text.startswith(b","):
        raise _Unfit
    return json.loads(b"{" + text[1:])


def _ranges(
    data: Any, first: str, start: int, end: int, head: Mapping[str, Any], tail: Mapping[str, Any]
) -> dict[str, tuple[int, int]]:
    """Where the entry lines of each section spelled over many lines lie: ``first``'s
    from ``start`` to the last section's close at ``end``, split where ``packages.conda``
    begins if it does."""
    other = "packages.conda" if first == "packages" else "packages"
    if first in head or first in tail:
        raise _Unfit  # a section given twice: json keeps the last, bisection cannot tell
    if first == "packages":
        hit = _first(data, start, end, lambda key: key.endswith(".conda"))
        if hit is not None:
            cut = hit[0] - len(_BOUNDARY)
            if data[cut : hit[0]] != _BOUNDARY or other in head or other in tail:
                raise _Unfit
            return {first: (start, cut), other: (hit[0], end)}
    if other not in head and other not in tail:
        if data.find(b'\n  "' + other.encode() + b'": ', start, end) >= 0:
            raise _Unfit  # e.g. .tar.bz2 names under packages.conda: not as conda-index writes
    return {first: (start, end)}


def _first(data: Any, lo: int, hi: int, past: Callable[[str], bool]) -> tuple[int, str, int] | None:
    """``(line, key, value)`` offsets and key of the first entry line in ``[lo, hi)``
    whose key is ``past`` (which must be false, then true, along the lines)."""
    found = None
    end = hi
    while lo < hi:
        mid = (lo + hi) // 2
        at = data.find(_ENTRY, mid, end)
        if at < 0 or at >= hi:
            hi = mid
            continue
        line = _ENTRY_KEY.match(data, at)
        if line is None:
            raise _Unfit  # a four-space line that is not a key and an object
        key = json.loads(line.group(1))
        if past(key):
            found, hi = (at, key, line.end() - 2), mid
        else:
            lo = at + 1
    return found


def _entry(data: Any, lo: int, hi: int, fn: str) -> tuple[int, dict[str, Any]]:
    """The line offset and decoded entry of ``fn`` among the entry lines in ``[lo, hi)``."""
    hit = _first(data, lo, hi, lambda key: key >= fn)
    if hit is None or hit[1] != fn:
        raise _Unfit
    return hit[0], _value(data, fn, hit[2], hi)


def _last_entry_spells(data: Any, lo: int, end: int) -> None:
    """Check that the last entry line before ``end`` holds an entry: where an object
    keyed by file name follows the sections (libmamba's ``signatures``), ``end`` is its
    close, not the last section's, and its values spell no file name."""
    at = data.rfind(_ENTRY, lo, end)
    line = _ENTRY_KEY.match(data, at) if at >= 0 else None
    if line is None:
        raise _Unfit
    _value(data, json.loads(line.group(1)), line.end() - 2, end)


def _value(data: Any, fn: str, opened: int, hi: int) -> dict[str, Any]:
    """The entry of ``fn`` whose ``{`` is at ``opened``: up to the first four-space ``}``
    (json decodes only the whole object), and its name, version and build spell ``fn``."""
    close = data.find(_ENTRY_CLOSE, opened, hi)
    if close < 0:
        raise _Unfit
    entry = json.loads(data[opened : close + len(_ENTRY_CLOSE)])
    if not _spells(entry, fn):
        raise _Unfit
    return entry


def _spells(entry: object, fn: str) -> bool:
    """Whether ``entry``'s name, version and build spell ``fn``, as in every entry
    conda-index writes (and every real one in ``../shared/testdata``)."""
    if not isinstance(entry, dict):
        return False
    parts = [entry.get("name"), entry.get("version"), entry.get("build")]
    if not all(isinstance(p, str) for p in parts):
        return False
    stem = "-".join(parts)  # type: ignore[arg-type]
    return any(fn == stem + suffix for suffix in PACKAGE_SUFFIXES)
