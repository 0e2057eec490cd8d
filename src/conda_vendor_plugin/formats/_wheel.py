"""What every lockfile reader checks before an entry becomes a :class:`~..pypi.records.Wheel`
(explicit-1.0 ``pypi-packages``, conda-lock ``manager: pip``, pixi ``pypi`` entries).

The fields later become a file name, a download and a line of a ``--require-hashes``
file: the URL's credentials are dropped and :func:`~..pypi.records.wheel_problem`
decides; any problem is one :class:`LockfileError` line naming the file, the place and
the wheel.
"""

from __future__ import annotations

from typing import Any

from ..errors import quoted
from ..pypi.records import Wheel, wheel_problem
from ._package import fail, stripped


def wheel(
    source: str,
    where: str,
    *,
    name: Any,
    version: Any,
    url: Any,
    sha256: Any,
    size: Any = None,
    requires_python: Any = None,
) -> Wheel:
    """A checked :class:`Wheel` from the fields a reader found."""
    for key, value in (("name", name), ("version", version), ("url", url)):
        if not isinstance(value, str) or not value:
            raise fail(source, where, f"{key} must be a non-empty string, got {quoted(value)}")
    if not isinstance(sha256, str):
        raise fail(source, where, f"wheel {quoted(name)} needs a sha256, got {quoted(sha256)}")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
        raise fail(source, where, f"size must be a non-negative integer, got {quoted(size)}")
    if requires_python is not None and not isinstance(requires_python, str):
        got = quoted(requires_python)
        raise fail(source, where, f"requires-python must be a string, got {got}")
    found = Wheel(
        name=name,
        version=version,
        url=stripped(url, source, f"{where}.url"),
        sha256=sha256,
        size=size,
        requires_python=requires_python,
    )
    problem = wheel_problem(found)
    if problem:
        raise fail(source, where, f"wheel {quoted(name)}: {problem}")
    return found
