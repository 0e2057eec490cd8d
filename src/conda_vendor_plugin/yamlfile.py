"""YAML: reading documents (environment files, lockfiles) with one-line errors, and
writing scalars that every YAML 1.1 and 1.2 loader reads back as the same string."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from .errors import VendorError
from .fsutil import TooLarge, read_limited

MAX_DEPTH = 64  # environment files and lockfiles nest a few levels; a bomb nests thousands
MAX_DOCUMENT_BYTES = 64 << 20  # a lockfile of thousands of packages is a few MB


def read_document(
    path: Path, error: type[VendorError], what: str, missing: str, limit: int = MAX_DOCUMENT_BYTES
) -> str:
    """The UTF-8 text of ``path`` (an environment file, a lockfile), at most ``limit``
    bytes; every failure is one ``error`` line naming the file (``missing``: what to do
    when there is no such file)."""
    try:
        data = read_limited(path, limit)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}; {missing}") from None
    except TooLarge as e:
        raise error(f"{path}: refused: {e}, too large for the {what}") from None
    except OSError as e:
        raise error(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: cannot read the {what}: it is not UTF-8 text") from None


def load_yaml(text: str, source: str, error: type[VendorError], typ: str = "safe") -> Any:
    """Parse ``text``; a syntax error becomes ``error`` naming ``source``, line and column.

    ``typ="safe"`` gives plain Python values (faster); ``"rt"`` gives ruamel's round-trip
    nodes, which know the line and column of every item. Aliases (``*name``) are refused
    (a kilobyte of them can expand to gigabytes) and so is nesting past ``MAX_DEPTH``.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ=typ, pure=True)
    yaml.Composer = _guarded_composer()
    try:
        return yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise error(f"{source}{where}: invalid YAML: {_one_line(e.problem or e.context)}") from None
    except YAMLError as e:
        raise error(f"{source}: invalid YAML: {_one_line(e)}") from None
    except RecursionError:
        raise error(f"{source}: invalid YAML: nested too deeply") from None


def _one_line(text: object) -> str:
    return " ".join(str(text).split())[:200]


@functools.cache
def _guarded_composer() -> type:
    """ruamel's Composer, refusing aliases and nesting past ``MAX_DEPTH``."""
    from ruamel.yaml.composer import Composer, ComposerError
    from ruamel.yaml.events import AliasEvent

    class GuardedComposer(Composer):  # type: ignore[misc]
        depth_now = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.parser.check_event(AliasEvent):
                mark = self.parser.get_event().start_mark
                raise ComposerError(None, None, "aliases (*name) are not allowed here", mark)
            self.depth_now += 1
            try:
                if self.depth_now > MAX_DEPTH:
                    mark = self.parser.peek_event().start_mark
                    raise ComposerError(None, None, f"nested over {MAX_DEPTH} levels deep", mark)
                return super().compose_node(parent, index)
            finally:
                self.depth_now -= 1

    return GuardedComposer


# A string that may stay a plain scalar: plain-safe characters, and not a string that a
# YAML 1.1 or 1.2 loader would read as a number, date, boolean or null ("1.10", "1e5",
# "0x1F", "2024-01-05", "yes", "NULL"), nor one ending in ':' (read as a key). One match
# decides it: this runs for every field of every locked package.
_PLAIN_SAFE = re.compile(
    r"(?!(?:[-+]?[0-9_.:]*(?:[eE][-+]?[0-9_]*)?|(?i:true|false|yes|no|on|off|y|n|null))\Z"
    r"|0[xob]|\d{4}-\d\d?-\d\d?)"
    r"[A-Za-z0-9_][A-Za-z0-9_.+\-/:=~!*@%,]*(?<!:)\Z"
)
# What a double-quoted scalar cannot hold as it is: control characters (a raw line break
# would be read back as a space) and the characters YAML 1.1 treats as line breaks.
_NEEDS_ESCAPE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_NAMED_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    if c in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[c]
    return f"\\x{ord(c):02x}" if ord(c) <= 0xFF else f"\\u{ord(c):04x}"


def yaml_scalar(value: str | int | None) -> str:
    """A YAML scalar that both YAML 1.1 and 1.2 loaders read back as the same value."""
    if not isinstance(value, str):
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        value = str(value)
    if _PLAIN_SAFE.match(value):
        return value
    escaped = _NEEDS_ESCAPE.sub(_escape, value.replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + escaped + '"'
