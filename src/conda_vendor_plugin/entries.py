"""Original repodata entries, read back from the repodata files a solve used.

Local channels copy these entries untouched (hotfixes survive); a lockfile is checked
against them. Each file is parsed once per run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ChannelError


def load_repodata(path: Path) -> Mapping[str, Any]:
    """Parse a repodata.json file; a clear :class:`ChannelError` if it is not one."""
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


class Entries:
    """Original repodata entries by file name, each repodata file read once per run
    (resolving a lockfile and writing local channels look up the same files)."""

    def __init__(self) -> None:
        self._loaded: dict[Path, Mapping[str, Any]] = {}

    def document(self, path: Path) -> Mapping[str, Any]:
        if path not in self._loaded:
            self._loaded[path] = load_repodata(path)
        return self._loaded[path]

    def find(self, path: Path, fn: str) -> tuple[str, Mapping[str, Any]] | None:
        """``(section, entry)`` of ``fn`` in the repodata file at ``path``, or None."""
        return original_entry(self.document(path), fn)
