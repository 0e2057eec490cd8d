"""The environment file (``environment.yml``, CEP 24 style) and its input hash.

Input hash, as conda-store computes a specification hash: the sha256 of a
canonical JSON document built from the parts of the file that decide what gets
solved (see ``docs/input-hash.md``):

* ``channels``: in file order (channel order is priority, so it is never sorted),
  credentials stripped;
* ``dependencies`` and ``pip``: sorted, each entry with runs of whitespace folded
  to one space, so that reordering them does not change the hash;
* ``platforms``: sorted and de-duplicated (the platforms actually locked, which
  ``-p`` may override).

``name`` and ``variables`` are not hashed: they do not change the solution.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import SpecError, UsageError, VendorError, quoted
from .transport.urls import redact_url
from .yamlfile import load_yaml, read_document

HASH_SCHEME = "conda-vendor-plugin/input-hash-1"

KNOWN_PLATFORMS = (  # conda 26.7's conda.base.constants.PLATFORMS
    "emscripten-wasm32",
    "freebsd-64",
    "linux-32",
    "linux-64",
    "linux-aarch64",
    "linux-armv6l",
    "linux-armv7l",
    "linux-ppc64",
    "linux-ppc64le",
    "linux-riscv64",
    "linux-s390x",
    "osx-64",
    "osx-arm64",
    "wasi-wasm32",
    "win-32",
    "win-64",
    "win-arm64",
    "zos-z",
)
_PLATFORM_RE = re.compile(r"^[a-z0-9]+-[a-z0-9_]+$")


@dataclass(frozen=True)
class EnvironmentSpec:
    """What an environment file asks for. Immutable; build one with :func:`load_spec`."""

    name: str | None = None
    channels: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    platforms: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    def with_platforms(self, platforms: Iterable[str]) -> EnvironmentSpec:
        """The same spec for other target platforms (``-p`` on the command line)."""
        return EnvironmentSpec(
            name=self.name,
            channels=self.channels,
            dependencies=self.dependencies,
            pip=self.pip,
            variables=self.variables,
            platforms=validate_platforms(platforms, "--platform", UsageError),
            path=self.path,
        )

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "<environment>"


@dataclass(frozen=True)
class ChannelOverride:
    """``-c CHANNEL`` (repeatable) and ``--override-channels``, as in conda: the channels
    go before the file's, or replace them. The result is the spec's channels, so the
    lockfile records them and the input hash covers them."""

    channels: tuple[str, ...] = ()
    override: bool = False

    def apply(self, spec: EnvironmentSpec) -> EnvironmentSpec:
        if self.override and not self.channels:
            raise UsageError("--override-channels: name the channels to use with -c CHANNEL")
        for c in self.channels:
            problem = channel_problem(c)
            if problem:
                raise UsageError(f"-c {quoted(c)}: channel {problem}")
        if not self.channels:
            return spec
        kept = () if self.override else spec.channels
        return replace(spec, channels=tuple(dict.fromkeys([*self.channels, *kept])))


NO_CHANNEL_OVERRIDE = ChannelOverride()


def _fold(text: str) -> str:
    return " ".join(text.split())


def canonical_form(spec: EnvironmentSpec) -> dict[str, Any]:
    """The JSON-able document whose sha256 is the input hash."""
    return {
        "scheme": HASH_SCHEME,
        "channels": [redact_url(c) for c in spec.channels],
        "dependencies": sorted(_fold(d) for d in spec.dependencies),
        "pip": sorted(_fold(d) for d in spec.pip),
        "platforms": sorted(set(spec.platforms)),
    }


def input_hash(spec: EnvironmentSpec) -> str:
    """sha256 (hex) of :func:`canonical_form`, serialised with sorted keys, no spaces."""
    doc = json.dumps(canonical_form(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def is_subdir(name: object) -> bool:
    """True for ``noarch`` and for names shaped like a platform (``linux-64``)."""
    return isinstance(name, str) and (name == "noarch" or bool(_PLATFORM_RE.match(name)))


def validate_platforms(
    platforms: Iterable[str], source: str, error: type[VendorError] = SpecError
) -> tuple[str, ...]:
    """The platforms, without repeats; one that conda does not know is one ``error`` line
    naming the platforms it knows."""
    out: list[str] = []
    for p in platforms:
        if p not in KNOWN_PLATFORMS:
            raise error(
                f"{source}: {quoted(p)} is not a platform conda knows; use one of "
                f"{', '.join(KNOWN_PLATFORMS)}"
            )
        if p not in out:
            out.append(p)
    return tuple(out)


_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\-]*(/[A-Za-z0-9_.+\-]+)*$")


def channel_problem(channel: str) -> str | None:
    """Why ``channel`` is neither a channel name, a URL nor a path, or None."""
    if channel.startswith(("/", "./", "../", "~")) or channel in (".", ".."):
        return None
    if "://" not in channel:
        return None if _CHANNEL_NAME.match(channel) else "is not a valid channel name"
    try:
        parts = urlsplit(channel)
        parts.port  # noqa: B018  (parses the port: a bad one raises)
    except ValueError as e:
        return f"is not a valid URL ({e})"
    if any(c.isspace() for c in channel):
        return "is not a valid URL (it has a space)"
    if parts.scheme in ("http", "https") and not parts.hostname:
        return "is not a valid URL (no host)"
    if parts.scheme not in ("http", "https", "file", "s3"):
        return f"is not a valid URL (scheme {parts.scheme!r})"
    return None


def _where(node: Any, key: Any = None) -> str:
    """' line L, column C' for a ruamel node (or one of its keys), or ''."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return ""
    try:
        line, col = lc.key(key) if key is not None else (lc.line, lc.col)
    except (KeyError, TypeError, AttributeError):
        line, col = lc.line, lc.col
    return f" (line {line + 1}, column {col + 1})"


def _str_list(value: Any, what: str, source: str, parent: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"{source}{_where(parent, key)}: '{what}' must be a list")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise SpecError(
                f"{source}{_where(value, i)}: '{what}' entry {i + 1} must be a non-empty "
                f"string, got {quoted(item)}"
            )
        out.append(item.strip())
    return out


def parse_spec(
    data: Any, source: str = "<environment>", path: Path | None = None
) -> EnvironmentSpec:
    """Validate a loaded YAML document and build the spec; errors name ``source``."""
    if data is None:
        raise SpecError(f"{source}: the environment file is empty")
    if not isinstance(data, Mapping):
        raise SpecError(
            f"{source}: the top level must be a mapping with 'channels' and 'dependencies'"
        )
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise SpecError(f"{source}{_where(data, 'name')}: 'name' must be a string")
    channels_node = data.get("channels")
    channels = _str_list(channels_node, "channels", source, data, "channels")
    for i, c in enumerate(channels):
        problem = channel_problem(c)
        if problem is not None:
            raise SpecError(
                f"{source}{_where(channels_node, i)}: channel {quoted(c)} {problem}; use a "
                f"channel name (conda-forge), a URL (https://...) or a path"
            )
    deps_node = data.get("dependencies")
    if deps_node is None:
        raise SpecError(f"{source}: no 'dependencies' list; add the packages to lock under it")
    if not isinstance(deps_node, list):
        raise SpecError(f"{source}{_where(data, 'dependencies')}: 'dependencies' must be a list")
    deps: list[str] = []
    pip: list[str] = []
    for i, item in enumerate(deps_node):
        if isinstance(item, str) and item.strip():
            deps.append(item.strip())
        elif isinstance(item, Mapping) and set(item) == {"pip"}:
            pip += _str_list(item["pip"], "pip", source, item, "pip")
        else:
            raise SpecError(
                f"{source}{_where(deps_node, i)}: dependency {i + 1} must be a match spec "
                f"string or a 'pip:' list, got {quoted(item)}"
            )
    variables_node = data.get("variables") or {}
    if not isinstance(variables_node, Mapping):
        raise SpecError(f"{source}{_where(data, 'variables')}: 'variables' must be a mapping")
    variables = tuple((str(k), "" if v is None else str(v)) for k, v in variables_node.items())
    platforms_node = data.get("platforms")
    platforms_list = _str_list(platforms_node, "platforms", source, data, "platforms")
    for i, p in enumerate(platforms_list):  # name the line of a bad entry
        validate_platforms([p], f"{source}{_where(platforms_node, i)}")
    platforms = tuple(dict.fromkeys(platforms_list))  # valid already; drop repeats
    return EnvironmentSpec(
        name=name,
        channels=tuple(channels),
        dependencies=tuple(deps),
        pip=tuple(pip),
        variables=variables,
        platforms=platforms,
        path=path,
    )


def load_spec(path: str | Path) -> EnvironmentSpec:
    """Read and validate an environment file; every failure is one :class:`SpecError` line."""
    p = Path(path)
    text = read_document(p, SpecError, "environment file", "pass one with -f/--file")
    # The safe loader is faster; only a file that fails validation is read again with the
    # round-trip loader, whose nodes know their line and column for the error message.
    data = load_yaml(text, str(p), SpecError)
    try:
        return parse_spec(data, source=str(p), path=p)
    except SpecError:
        parse_spec(load_yaml(text, str(p), SpecError, typ="rt"), source=str(p), path=p)
        raise
