"""What every lockfile reader checks before an entry becomes a :class:`~..pypi.records.Wheel`
(explicit-1.0 ``pypi-packages``, conda-lock ``manager: pip``, pixi ``pypi`` entries), and
which of another tool's pip entries are wheels at all (:func:`wheel_or_foreign`); and
explicit-1.0's ``pypi-packages`` section, written (:func:`pypi_section`) and read
(:func:`read_pypi_section`).

The fields later become a file name, a download and a line of a ``--require-hashes``
file: the URL's credentials are dropped and :func:`~..pypi.records.wheel_problem`
decides; any problem is one :class:`LockfileError` line naming the file, the place and
the wheel.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import quoted
from ..pypi.records import Wheel, is_wheel_filename, wheel_filename, wheel_problem
from ..records import ForeignPackage
from ..transport.urls import redact_url
from ..yamlfile import yaml_scalar
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


def wheel_or_foreign(
    manager: str,
    source: str,
    where: str,
    *,
    name: str,
    version: str,
    platform: str,
    url: str,
    sha256: Any,
    requires_python: Any = None,
) -> Wheel | ForeignPackage:
    """A pip/pypi entry of another tool's lockfile: a checked :class:`Wheel` when its URL
    names a wheel file (PEP 427) and it has a sha256 (it can be vendored), else a
    :class:`ForeignPackage` (an sdist, a VCS or local requirement, a wheel without a hash:
    listed as not vendored)."""
    url = stripped(url, source, where)  # a URL too malformed to take apart is refused here
    plain = url.split("#", 1)[0]
    if is_wheel_filename(wheel_filename(plain)) and sha256 is not None:
        return wheel(
            source,
            where,
            name=name,
            version=version,
            url=plain,
            sha256=sha256,
            requires_python=requires_python,
        )
    return ForeignPackage(manager, name, version, platform, url)


# ---------------------------------------------------------------- explicit-1.0's pypi-packages


def _wheel_entry(w: Wheel) -> str:
    q = yaml_scalar
    text = (
        f"    - name: {q(w.name)}\n"
        f"      version: {q(w.version)}\n"
        f"      url: {q(redact_url(w.url))}\n"
        f"      sha256: {q(w.sha256)}\n"
    )
    if w.size is not None:
        text += f"      size: {q(w.size)}\n"
    if w.requires_python is not None:
        text += f"      requires-python: {q(w.requires_python)}\n"
    return text


def pypi_section(pypi: Mapping[str, tuple[Wheel, ...]]) -> list[str]:
    """explicit-1.0's ``pypi-packages`` section as text (none when no platform has a wheel)."""
    if not any(pypi.values()):
        return []
    parts = ["pypi-packages:\n"]
    for platform, wheels in pypi.items():
        parts.append(f"  {yaml_scalar(platform)}:" + ("\n" if wheels else " []\n"))
        parts += map(_wheel_entry, wheels)
    return parts


def read_pypi_section(
    section: Any, platforms: Mapping[str, Any], source: str
) -> dict[str, tuple[Wheel, ...]]:
    """``pypi-packages``: platform -> wheels; each platform must be one of the lock's."""
    return {
        platform: tuple(_parse_wheel(e, source, f"{where}[{i}]") for i, e in enumerate(entries))
        for platform, where, entries in _per_platform(
            section, "pypi-packages", platforms, source, "wheels"
        )
    }


def _per_platform(
    section: Any, key: str, platforms: Mapping[str, Any], source: str, what: str
) -> Iterator[tuple[str, str, list[Any]]]:
    """``(platform, where, entries)`` of a section mapping platforms of the lock's
    ``explicit-packages`` to lists (absent: none); anything else is one line."""
    if section is None:
        return
    if not isinstance(section, Mapping):
        raise fail(source, key, f"must map platforms to their lists of {what}")
    for platform, entries in section.items():
        where = f"{key}.{platform}"
        if platform not in platforms:
            raise fail(source, where, f"{quoted(platform)} is not a platform of explicit-packages")
        if not isinstance(entries, list):
            raise fail(source, where, f"must be a list of {what}")
        yield platform, where, entries


def _parse_wheel(e: Any, source: str, where: str) -> Wheel:
    if not isinstance(e, Mapping):
        raise fail(source, where, "must be a mapping with name, version, url and sha256")
    return wheel(
        source,
        where,
        name=e.get("name"),
        version=e.get("version"),
        url=e.get("url"),
        sha256=e.get("sha256"),
        size=e.get("size"),
        requires_python=e.get("requires-python"),
    )


# ---------------------------------------------------------------- explicit-1.0's pypi-skipped

SKIPPED = "pypi-skipped"
_SKIPPED_FIELDS = ("manager", "name", "version", "url", "reason")


def skipped_section(foreign: tuple[ForeignPackage, ...], platforms: tuple[str, ...]) -> list[str]:
    """explicit-1.0's ``pypi-skipped`` section: per platform, the pip entries the lock
    names but holds no wheel for (a requirement left out by ``--ignore-pip-non-wheel``,
    another tool's sdist, VCS or local entry), so no reader forgets them."""
    if not foreign:
        return []
    parts = [f"{SKIPPED}:\n"]
    for platform in platforms:
        mine = [f for f in foreign if f.platform == platform]
        if not mine:
            continue
        parts.append(f"  {yaml_scalar(platform)}:\n")
        for f in mine:
            values = {k: getattr(f, k) for k in _SKIPPED_FIELDS}
            values["url"] = redact_url(f.url) if f.url else ""
            lines = [f"{k}: {yaml_scalar(v)}" for k, v in values.items() if v]
            parts.append("    - " + "\n      ".join(lines) + "\n")
    return parts


def read_skipped_section(
    section: Any, platforms: Mapping[str, Any], source: str
) -> tuple[ForeignPackage, ...]:
    """``pypi-skipped``: the entries of every platform, each checked to be strings."""
    found = []
    for platform, where, entries in _per_platform(section, SKIPPED, platforms, source, "entries"):
        for i, e in enumerate(entries):
            here = f"{where}[{i}]"
            if not isinstance(e, Mapping) or not isinstance(e.get("name"), str) or not e["name"]:
                raise fail(source, here, "must be a mapping with at least a name")
            values = {k: e.get(k, "") for k in _SKIPPED_FIELDS}
            bad = [k for k, v in values.items() if not isinstance(v, str)]
            if bad:
                raise fail(source, here, f"{bad[0]} must be a string, got {quoted(values[bad[0]])}")
            url = stripped(values["url"], source, f"{here}.url") if values["url"] else ""
            found.append(
                ForeignPackage(
                    values["manager"] or "pip",
                    values["name"],
                    values["version"],
                    platform,
                    url,
                    values["reason"],
                )
            )
    return tuple(found)
