"""Wheel records: what a lock keeps of each resolved ``pip:`` package.

A :class:`Wheel` is a value (no paths, no sessions): enough to fetch the file, verify it
(``sha256``, and ``size`` when the index said it) and install it with pip's
``--require-hashes``. Lockfiles are untrusted input, so :func:`wheel_problem` checks a
record's fields before they become a file name or a download.

Installers use three things: :attr:`Wheel.filename` (the file to look for), :attr:`Wheel.url`
(where to fetch it, credentials stripped) and :attr:`Wheel.requirement_line` (the line of a
hash-checked requirements file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$", re.ASCII)
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$", re.ASCII)
_WHEEL_FILE = re.compile(r"^[A-Za-z0-9_.+!-]+\.whl$", re.ASCII)
# {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl (PEP 427)
_WHEEL_PARTS = re.compile(r"^[^-/\\]+-[^-/\\]+(-[^-/\\]+)?-[^-/\\]+-[^-/\\]+-[^-/\\]+\.whl$")
NAME_MAX = 255


def normalize(name: str) -> str:
    """A project name as PEP 503 compares names: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_wheel_filename(fn: str) -> bool:
    """True when ``fn`` is shaped like a wheel's file name (PEP 427's five or six parts)."""
    return bool(_WHEEL_PARTS.match(fn))


def wheel_filename(url: str) -> str:
    """The last path segment of ``url``, percent-decoded (the wheel's file name)."""
    return unquote(urlsplit(url).path.rpartition("/")[2])


@dataclass(frozen=True)
class Wheel:
    """One locked wheel for one target platform.

    ``url`` never carries credentials; ``requires_python`` is the project's
    ``Requires-Python`` as the index gave it (None when it gave none)."""

    name: str
    version: str
    url: str
    sha256: str
    size: int | None = None
    requires_python: str | None = None

    @property
    def filename(self) -> str:
        return wheel_filename(self.url)

    @property
    def requirement_line(self) -> str:
        """``name==version --hash=sha256:...``: one line of a ``--require-hashes`` file."""
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


def wheel_problem(w: Wheel) -> str | None:
    """Why ``w`` cannot be fetched, saved under its file name and installed, or None."""
    if not _NAME.match(w.name):
        return f"name {w.name!r} is not a valid project name"
    if not _VERSION.match(w.version):
        return f"version {w.version!r} is not a valid version"
    if not _SHA256.fullmatch(w.sha256):
        return "sha256 must be 64 lowercase hex digits"
    if w.size is not None and (not isinstance(w.size, int) or w.size < 0):
        return "size must be a non-negative integer"
    scheme = urlsplit(w.url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        return f"URL {w.url!r} is not an http, https or file URL"
    fn = w.filename
    plain = _WHEEL_FILE.match(fn) and is_wheel_filename(fn)
    if not plain or ".." in fn or len(fn.encode()) > NAME_MAX:
        return f"URL {w.url!r} does not end in one plain wheel file name (.whl)"
    if normalize(fn.split("-", 1)[0]) != normalize(w.name):
        return f"wheel {fn!r} is not a wheel of {w.name!r}"
    return None
