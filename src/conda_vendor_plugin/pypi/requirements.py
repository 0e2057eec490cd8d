"""The ``pip:`` section of an environment file: requirements and index options.

Only what can be vendored is accepted: requirements resolved to wheels from an index
(``--index-url``, ``--extra-index-url``, ``--find-links``, ``--pre``). Editable (``-e``),
VCS (``git+...``), local path and direct URL requirements, and other pip options, are
refused with one line naming the entry: nothing could be carried across the gap for them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import PypiError, quoted
from ..transport.urls import has_credentials, redact_text

_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
}
_VCS = ("git+", "hg+", "svn+", "bzr+")
_LOCAL = re.compile(r"^(\.|/|~|\\|[A-Za-z]:[\\/]|file:)")


@dataclass(frozen=True)
class PipSection:
    """The requirements of a ``pip:`` section and the index options given with them
    (as ``(option, value)`` pairs in file order; values may carry credentials)."""

    requirements: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    pre: bool = False
    skipped: tuple[tuple[str, str], ...] = ()  # (entry, why) left out by --ignore-pip-non-wheel

    def pip_arguments(self) -> list[str]:
        """The index options as pip command-line arguments."""
        args = [part for option, value in self.options for part in (option, value)]
        return [*args, "--pre"] if self.pre else args


_UNKNOWN_OPTION = "is a pip option this tool does not pass on"


def _refusal(entry: str, source: str, why: str) -> PypiError:
    return PypiError(
        f"{source}: pip: {quoted(redact_text(entry))} {why}; only requirements resolved "
        "to wheels from an index can be vendored"
    )


def _option(entry: str) -> tuple[str, str] | None:
    """``(option, value)`` of an index option line (``-i URL``, ``--index-url=URL``), or None."""
    head, _, value = entry.partition(" ")
    if head.startswith("--") and "=" in head:
        head, _, value = entry.partition("=")
    return (head, value.strip()) if head in _OPTIONS else None


def _requirement_problem(entry: str) -> str | None:
    """Why requirement ``entry`` cannot be vendored, or None."""
    low = entry.lower()
    if low.startswith(("-e ", "-e\t", "--editable")) or low == "-e":
        return "is an editable requirement"
    if any(v in low for v in _VCS):
        return "is a VCS requirement"
    if _LOCAL.match(entry) or " @ file:" in low or "@file:" in low:
        return "is a local path"
    if "://" in entry or re.search(r"\s@\s*\S", entry):
        return "is a direct URL requirement"
    if entry.startswith("-"):
        return _UNKNOWN_OPTION
    return None


def parse_pip_section(entries: Sequence[str], source: str, skip: bool = False) -> PipSection:
    """The :class:`PipSection` of ``entries``; a requirement that cannot be vendored is
    refused, or with ``skip`` (``--ignore-pip-non-wheel``) left out and listed in
    :attr:`PipSection.skipped`. A malformed option is refused either way."""
    requirements: list[str] = []
    options: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    pre = False
    for entry in entries:
        option = _option(entry)
        if entry == "--pre":
            pre = True
        elif option is not None:
            head, value = option
            if not value or any(c.isspace() for c in value):
                raise _refusal(entry, source, f"needs one value after {head}")
            options.append((_OPTIONS[head], value))
        else:
            problem = _requirement_problem(entry)
            if problem is None:
                requirements.append(entry)
            elif skip and problem != _UNKNOWN_OPTION:
                skipped.append((redact_text(entry), f"{problem}, not a wheel from an index"))
            else:
                raise _refusal(entry, source, problem)
    return PipSection(tuple(requirements), tuple(options), pre, tuple(skipped))


def credentialed_indexes(sections: Iterable[Sequence[str]]) -> list[str]:
    """The package index URLs with credentials a run was given, for the wheels on their
    hosts (:func:`~..transport.urls.with_userinfo_of`): the ``--index-url``,
    ``--extra-index-url`` and ``--find-links`` lines of the ``pip:`` sections ``sections``
    (only those lines are read: what else a section holds was judged when it was
    locked), then ``PIP_INDEX_URL`` and ``PIP_EXTRA_INDEX_URL`` (pip's own variables;
    ``~/.netrc`` serves every other case)."""
    found = [
        option[1]
        for entries in sections
        for option in map(_option, entries)
        if option is not None and has_credentials(option[1])
    ]
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        found += [u for u in os.environ.get(name, "").split() if has_credentials(u)]
    return found
