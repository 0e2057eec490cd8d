"""Reading YAML documents (environment files, lockfiles) with one-line errors."""

from __future__ import annotations

from typing import Any

from .errors import VendorError


def load_yaml(text: str, source: str, error: type[VendorError], typ: str = "safe") -> Any:
    """Parse ``text``; a syntax error becomes ``error`` naming ``source``, line and column.

    ``typ="safe"`` gives plain Python values (faster); ``"rt"`` gives ruamel's round-trip
    nodes, which know the line and column of every item.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ=typ, pure=True).load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise error(f"{source}{where}: invalid YAML: {e.problem or e.context}") from None
    except YAMLError as e:
        raise error(f"{source}: invalid YAML: {e}") from None
