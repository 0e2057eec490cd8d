"""Original repodata entries, read back from the repodata files a solve used.

Local channels copy these entries untouched (hotfixes survive); a lockfile is checked
against them. A conda-forge ``repodata.json`` holds hundreds of thousands of entries and a
run needs a few dozen, so the file is not decoded whole: it is searched by bisection
where conda-index laid it out (:mod:`.sorted_repodata`), else msgspec skips every entry
not asked for, and only the entries asked for are decoded (the values are exactly what
:func:`json.load` gives; a file msgspec refuses, such as one with a BOM or ``NaN``, is
parsed whole by :mod:`json`, which accepts it). Callers
that know which archives they will look up say so first (:meth:`Entries.expect`), so that
each file is read once per run.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ChannelError
from . import sorted_repodata

SECTIONS = sorted_repodata.SECTIONS


def load_repodata(path: Path) -> Mapping[str, Any]:
    """Parse a repodata.json file whole; a clear :class:`ChannelError` if it is not one."""
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ChannelError(f"{path}: not a readable repodata.json: {e}") from None
    if not isinstance(data, Mapping):
        raise ChannelError(f"{path}: not a repodata.json (top level is not an object)")
    return data


def original_entry(repodata: Mapping[str, Any], fn: str) -> tuple[str, Mapping[str, Any]] | None:
    """``(section, entry)`` for archive ``fn``: section is ``packages`` or ``packages.conda``,
    where upstream put it (solvers read both; a ``.conda`` under ``packages`` is found too,
    and copied where it was)."""
    usual = "packages.conda" if fn.endswith(".conda") else "packages"
    for section in (usual, "packages" if usual == "packages.conda" else "packages.conda"):
        entries = repodata.get(section)
        entry = entries.get(fn) if isinstance(entries, Mapping) else None
        if isinstance(entry, Mapping):
            return section, entry
    return None


@dataclass
class _File:
    """What is known of one repodata file: its top-level members other than the
    sections, and the entries looked up so far (None where a section is not an object)."""

    header: dict[str, Any]
    sections: dict[str, dict[str, Any] | None]
    asked: set[str] = field(default_factory=set)


class Entries:
    """Original repodata entries by file name, each file read once per run where the
    callers :meth:`expect` what they will look up (resolving a lockfile and writing local
    channels look up the same files)."""

    def __init__(self) -> None:
        self._files: dict[Path, _File] = {}
        self._expected: dict[Path, set[str]] = {}

    def expect(self, path: Path, fns: Iterable[str]) -> None:
        """``fns`` will be looked up in ``path``: one read of the file serves them all."""
        self._expected.setdefault(path, set()).update(fns)

    def header(self, path: Path) -> Mapping[str, Any]:
        """The file's top-level members other than ``packages`` / ``packages.conda``
        (``info``, ``repodata_version``, ...)."""
        return self._read(path, set()).header

    def find(self, path: Path, fn: str) -> tuple[str, Mapping[str, Any]] | None:
        """``(section, entry)`` of ``fn`` in the repodata file at ``path``, or None."""
        known = self._read(path, {fn})
        return original_entry(known.sections, fn)

    def _read(self, path: Path, fns: set[str]) -> _File:
        known = self._files.get(path)
        if known is not None and fns <= known.asked:
            return known
        wanted = fns | self._expected.pop(path, set()) | (known.asked if known else set())
        try:
            self._files[path] = _read_entries(path, wanted)
        except RecursionError:  # json's, on a value nested thousands deep
            raise ChannelError(f"{path}: not a readable repodata.json: nested too deep") from None
        return self._files[path]


def _read_entries(path: Path, wanted: set[str]) -> _File:
    """The ``wanted`` entries of the file at ``path`` and its header: by bisection or
    msgspec over the mapped file (:func:`_mapped`), else from a full parse by :mod:`json`
    (which also turns malformed JSON into one :class:`ChannelError` naming the file)."""
    fast = _mapped(path, wanted)
    if fast is not None:
        return fast
    return _from_document(load_repodata(path), wanted)


def _mapped(path: Path, wanted: set[str]) -> _File | None:
    """The file mapped into memory (no copy of it is made: the page cache is read in
    place), searched by :func:`_bisected` where it is laid out as conda-index writes it,
    else by :func:`_with_msgspec`; None where neither can be done."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return _bisected(m, wanted) or _with_msgspec(m, wanted)  # neither keeps a view
    except (OSError, ValueError, BufferError):
        return None  # an empty file cannot be mapped; load_repodata reports errors


def _bisected(data: mmap.mmap, wanted: set[str]) -> _File | None:
    """The answer from a few probes of a sorted, indented file (:mod:`.sorted_repodata`),
    its cost independent of the file's size; None where the file is laid out otherwise."""
    found = sorted_repodata.find(data, wanted)
    if found is None:
        return None
    header, sections = found
    return _File(header=header, sections=sections, asked=set(wanted))


def _with_msgspec(data: bytes | mmap.mmap, wanted: set[str]) -> _File | None:
    """The same answer with msgspec skipping the unwanted entries at C speed (each
    wanted entry, and the header, still decoded by :mod:`json`, so the values are
    exactly what :func:`json.load` gives); None where msgspec is stricter than
    :mod:`json` (a BOM, ``NaN``...): :mod:`json` parses the file whole then."""
    import msgspec  # a dependency; imported here, only by the runs that read entries

    names = sorted(wanted)
    section_type = msgspec.defstruct(
        "Section",
        [(f"f{i}", msgspec.Raw, msgspec.UNSET) for i in range(len(names))],
        rename={f"f{i}": fn for i, fn in enumerate(names)},
    )
    try:
        top = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
        sections: dict[str, dict[str, Any] | None] = {}
        for name in SECTIONS:
            raw = top.get(name)
            if raw is None:
                continue
            if memoryview(raw)[:1].tobytes() != b"{":
                continue  # not an object: no entry is found in it, as with json.load
            found = msgspec.json.decode(raw, type=section_type)
            sections[name] = {
                fn: json.loads(bytes(value))
                for i, fn in enumerate(names)
                if (value := getattr(found, f"f{i}")) is not msgspec.UNSET
            }
        header = {k: json.loads(bytes(v)) for k, v in top.items() if k not in SECTIONS}
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return None
    return _File(header=header, sections=sections, asked=set(wanted))


def _from_document(doc: Mapping[str, Any], wanted: set[str]) -> _File:
    """The same answer from a fully parsed document (only the wanted entries are kept)."""
    sections: dict[str, dict[str, Any] | None] = {}
    for name in SECTIONS:
        if name in doc:
            entries = doc[name]
            sections[name] = (
                {fn: entries[fn] for fn in wanted if fn in entries}
                if isinstance(entries, Mapping)
                else None
            )
    header = {k: v for k, v in doc.items() if k not in SECTIONS}
    return _File(header=header, sections=sections, asked=set(wanted))
