"""A few members of a large JSON document, found without decoding the rest.

A conda-forge ``repodata.json`` holds hundreds of thousands of entries; ``vendor`` needs
a few dozen of them, byte for byte what a full :func:`json.load` would give. Decoding the
whole document costs seconds and a gigabyte; :func:`scan` instead walks the raw bytes with
``bytes.find`` (C speed), decoding only the keys it compares and the values asked for.

The walk tokenises exactly as much JSON as it must to know where each direct member of
the top-level object, and of the objects under the ``sections`` keys, starts and ends:
strings (with their escapes) and nesting. A member whose value is an object without
nested objects or backslashes, the common entry, is skipped with three ``find`` calls;
anything else (nested objects, escapes, arrays, scalars) with an exact token-by-token
skip. Keys are compared as JSON decodes them (``\\u002e`` is ``.``), and a key given twice
keeps its last value, as :func:`json.load` does. Whatever the walk does not expect
(another encoding, a top level that is not an object, a member it cannot delimit) raises
:class:`Unscannable`, and the caller parses the document in full instead.

The walk checks structure, not every token of the members it skips: the solver has
already read the whole file, and every value returned is decoded by :mod:`json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

_WS = b" \t\r\n"
_COLON = re.compile(rb"[ \t\r\n]*:[ \t\r\n]*")
_SEP = re.compile(rb"[ \t\r\n]*([,}])")
_LEADING = re.compile(rb"[ \t\r\n]*")
# Tokens that matter for nesting: whole strings (escapes included) and brackets.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_SCALAR = re.compile(rb"-?[0-9][0-9.eE+-]*|true|false|null|NaN|-?Infinity")


class Unscannable(Exception):
    """The raw walk cannot delimit the document: parse it in full instead."""


Span = tuple[int, int]


@dataclass
class Scan:
    """Where things are in one document: the top-level members other than the sections
    (``header``), and under each section the wanted keys (last occurrence wins).

    ``sections[name]`` is None when the section's value is not an object."""

    header: dict[str, Span] = field(default_factory=dict)
    sections: dict[str, dict[str, Span] | None] = field(default_factory=dict)


def scan(data: bytes, sections: Collection[str], wanted: Collection[str]) -> Scan:
    """Spans of the ``wanted`` keys of each object under a top-level key in ``sections``,
    and of every other top-level member. Raises :class:`Unscannable`."""
    try:
        return _scan(data, sections, wanted)
    except (IndexError, ValueError) as e:  # ran off the end; a key json cannot decode
        raise Unscannable(str(e)) from None


def _scan(data: bytes, sections: Collection[str], wanted: Collection[str]) -> Scan:
    literal = {b'"' + k.encode() + b'"' for k in wanted}
    i = _LEADING.match(data).end()
    if data[i : i + 1] != b"{":
        raise Unscannable("the document does not start with an object")
    result = Scan()
    i = _LEADING.match(data, i + 1).end()
    if data[i : i + 1] == b"}":
        return _at_end(data, i + 1, result)
    while True:
        key, v = _key(data, i)
        if key in sections:
            if data[v : v + 1] == b"{":
                found: dict[str, Span] = {}
                end = _section(data, v, literal, set(wanted), found)
                result.sections[key] = found
            else:
                end = _value_end(data, v)
                result.sections[key] = None
        else:
            end = _value_end(data, v)
            result.header[key] = (v, end)
        sep = _SEP.match(data, end)
        if sep is None:
            raise Unscannable(f"no ',' or '}}' after the value at byte {end}")
        if sep.group(1) == b"}":
            return _at_end(data, sep.end(), result)
        i = _LEADING.match(data, sep.end()).end()


def decode(data: bytes, span: Span) -> object:
    """The value at ``span``, as :mod:`json` decodes it."""
    return json.loads(data[span[0] : span[1]])


def _at_end(data: bytes, i: int, result: Scan) -> Scan:
    if data[i:].strip(_WS):
        raise Unscannable("data after the top-level object")
    return result


def _key(data: bytes, i: int) -> tuple[str, int]:
    """The key at ``i`` (decoded) and where its value starts."""
    if data[i : i + 1] != b'"':
        raise Unscannable(f"no key at byte {i}")
    end = _string_end(data, i)
    colon = _COLON.match(data, end)
    if colon is None or colon.end() == end:
        raise Unscannable(f"no ':' after the key at byte {i}")
    key = json.loads(data[i:end])
    return key, colon.end()


def _section(
    data: bytes, v: int, literal: set[bytes], wanted: set[str], found: dict[str, Span]
) -> int:
    """Walk the object at ``v``, recording the spans of wanted keys; return its end."""
    find, count, startswith = data.find, data.count, data.startswith
    i = _LEADING.match(data, v + 1).end()
    if data[i : i + 1] == b"}":
        return i + 1
    glue, sep = b"\x00", b"\x00"  # the text between key and value, value and key, as last seen
    backslash = find(b"\\", i)  # the next backslash (there are few)
    while True:
        if data[i : i + 1] != b'"':
            i = _LEADING.match(data, i).end()
            if data[i : i + 1] != b'"':
                raise Unscannable(f"no key at byte {i}")
        q = find(b'"', i + 1)
        if q < 0:
            raise Unscannable("a string runs to the end of the document")
        if q > backslash >= 0:  # escapes in the key: resolve them
            q = _string_end(data, i) - 1
        if startswith(glue, q):
            w = q + len(glue)
        else:
            colon = _COLON.match(data, q + 1)
            if colon is None or colon.end() == q + 1:
                raise Unscannable(f"no ':' after the key at byte {i}")
            w = colon.end()
            glue = data[q:w]
        end = -1
        if data[w] == 0x7B:  # '{'
            close = find(b"}", w)
            # the first '}' ends an object with no nested object, no escape and whole strings
            if close > 0 and not (close > backslash >= 0):
                if find(b"{", w + 1, close) < 0 and not count(b'"', w, close) & 1:
                    end = close + 1
        if end < 0:
            end = _value_end(data, w)
        raw = data[i : q + 1]
        if raw in literal:
            found[raw[1:-1].decode()] = (w, end)
        elif i < backslash < q:
            key = json.loads(raw)
            if key in wanted:
                found[key] = (w, end)
        if backslash >= 0 and backslash < end:
            backslash = find(b"\\", end)
        if startswith(sep, end):
            i = end + len(sep)
            continue
        m = _SEP.match(data, end)
        if m is None:
            raise Unscannable(f"no ',' or '}}' after the value at byte {end}")
        if m.group(1) == b"}":
            return m.end()
        i = _LEADING.match(data, m.end()).end()
        sep = data[end:i]


def _string_end(data: bytes, i: int) -> int:
    """The index after the string that opens at ``i`` (a quote escaped by an odd run of
    backslashes does not end it)."""
    j = data.find(b'"', i + 1)
    while j > 0:
        k = j
        while data[k - 1] == 0x5C:
            k -= 1
        if not (j - k) & 1:
            return j + 1
        j = data.find(b'"', j + 1)
    raise Unscannable("a string runs to the end of the document")


def _value_end(data: bytes, v: int) -> int:
    """The index after the value at ``v``, token by token."""
    first = data[v : v + 1]
    if first in (b" ", b"\t", b"\r", b"\n"):
        return _value_end(data, _LEADING.match(data, v).end())
    if first == b'"':
        return _string_end(data, v)
    if first in (b"{", b"["):
        depth = 0
        for m in _TOKEN.finditer(data, v):
            token = m.group()
            if token[0] == 0x22:
                continue
            depth += 1 if token in (b"{", b"[") else -1
            if depth == 0:
                return m.end()
        raise Unscannable(f"the value at byte {v} is not closed")
    m = _SCALAR.match(data, v)
    if m is None:
        raise Unscannable(f"no value at byte {v}")
    return m.end()


def decoded_header(data: bytes, result: Scan) -> Mapping[str, object]:
    """The top-level members other than the sections, decoded."""
    return {k: decode(data, span) for k, span in result.header.items()}
