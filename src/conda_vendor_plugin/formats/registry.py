"""The registry of lockfile formats, the one authority for reading and writing them:
:class:`Format` by name and alias, detection by content, reading, and the writers ``lock``
uses.

A :class:`Format` names the module that implements it; the module is imported when one
of its functions is first used, so ``lock`` writing explicit-1.0 imports no other format.
A writable format's module offers ``write_files``, ``output_paths`` and ``default_output``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import LockfileError, quoted
from ..records import Lockfile


@dataclass(frozen=True)
class Format:
    """A lockfile format: canonical name, short aliases, its module, whether it is written."""

    name: str
    module: str
    aliases: tuple[str, ...] = ()
    writes: bool = False

    @property
    def implementation(self) -> ModuleType:
        return importlib.import_module(f"{__package__}.{self.module}")

    @property
    def read(self) -> Callable[[str, str, Path | None], Lockfile]:
        """``read(text, source, path)``: the reader of a file's text."""
        return self.implementation.read

    @property
    def parse(self) -> Callable[[Any, str, Path | None], Lockfile] | None:
        """For YAML formats, the reader of an already loaded document (one parse per file)."""
        return getattr(self.implementation, "parse", None)

    @property
    def write(self) -> Callable[[Lockfile, Mapping[str, Path]], dict[Path, str]] | None:
        """``write(lock, paths)`` -> text per file (None for a format only read here)."""
        return self.implementation.write_files if self.writes else None

    def output_paths(self, output: str, platforms: Sequence[str]) -> dict[str, Path]:
        """The file each platform is written to (one shared file, or one each)."""
        return self.implementation.output_paths(output, platforms)

    def default_output(self, env_path: Path) -> str:
        """Where ``lock`` writes when ``-o`` is not given."""
        return self.implementation.default_output(env_path)


_ALL = (
    Format("explicit-1.0", "explicit_v1", writes=True),
    Format("explicit", "cep23", aliases=("cep23",), writes=True),
    Format("conda-lock-v1", "conda_lock_v1", aliases=("conda-lock",)),
    Format("pixi-lock-v6", "pixi_lock"),
    Format("pixi-lock-v7", "pixi_lock", aliases=("pixi",)),
)
ALIASES = {alias: f.name for f in _ALL for alias in f.aliases}
"""Short names; an alias of a versioned format names its current version."""

FORMATS: Mapping[str, Format] = {
    **{f.name: f for f in _ALL},
    **{alias: f for f in _ALL for alias in f.aliases},
}
"""Every format by canonical name and by alias."""

MODULES = frozenset(f.module for f in _ALL)
"""The modules that implement the formats."""

WRITTEN = tuple(f.name for f in _ALL if f.writes)
"""The formats ``lock`` writes, default first."""

SUPPORTED = ", ".join(
    f.name if f.name != "explicit" else f"{f.name} (CEP 23 @EXPLICIT)" for f in _ALL
)
"""The formats read, for messages."""


def lookup(name: str, source: str = "--format") -> Format:
    """The format called ``name`` (canonical or alias); unknown: one line listing them."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise LockfileError(
            f"{source}: unknown lockfile format {quoted(name)}; the formats are: "
            + ", ".join(FORMATS)
        ) from None


def _sniff(data: Any) -> tuple[Format | None, bool]:
    """Which reader a loaded YAML document is for, and whether it reads that document's version
    (a reader given a version it does not read refuses it with a message naming it)."""
    from . import conda_lock_v1, explicit_v1, pixi_lock

    if not isinstance(data, Mapping):
        return None, False
    meta = data.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    version = data.get("version")
    plain_int = isinstance(version, int) and not isinstance(version, bool)
    if "spec" in meta:
        return FORMATS[explicit_v1.NAME], meta["spec"] == explicit_v1.SPEC
    if isinstance(data.get("environments"), Mapping) and "version" in data:
        known = plain_int and version in pixi_lock.NAMES
        return FORMATS[pixi_lock.NAMES[version] if known else pixi_lock.NAME_V7], known
    if isinstance(data.get("package"), list) and "content_hash" in meta:
        return FORMATS[conda_lock_v1.NAME], plain_int and version == conda_lock_v1.VERSION
    return None, False


def detect(text: str) -> str | None:
    """The canonical name of the format of ``text``, judged by content, or None.

    explicit-1.0: ``metadata.spec: explicit-1.0``; CEP 23: an ``@EXPLICIT`` line;
    conda-lock v1: ``version: 1``, a ``package`` list and ``metadata.content_hash``;
    pixi.lock: ``version: 6`` or ``7`` and ``environments``.
    """
    from ..yamlfile import load_yaml
    from . import cep23

    if cep23.is_explicit(text):
        return cep23.NAME
    try:
        data = load_yaml(text, "<text>", LockfileError)
    except LockfileError:
        return None
    fmt, readable = _sniff(data)
    return fmt.name if fmt is not None and readable else None


def read_text(
    text: str, source: str = "<lockfile>", path: Path | None = None, fmt: str | None = None
) -> Lockfile:
    """Read ``text`` in format ``fmt`` (a name or alias), or in the format it is detected to be.

    Every failure is one :class:`LockfileError` line naming ``source``; text in no format
    read here is refused with the list of formats.
    """
    from . import cep23
    from ._package import load_document

    if fmt is not None:
        return lookup(fmt).read(text, source, path)
    if cep23.is_explicit(text):
        return cep23.read(text, source, path)
    try:
        data = load_document(text, source)
    except LockfileError as e:
        raise LockfileError(f"{e}; the lockfile formats read are: {SUPPORTED}") from None
    found, _ = _sniff(data)
    if found is None or found.parse is None:
        raise LockfileError(f"{source}: not a lockfile in a format read here: {SUPPORTED}")
    return found.parse(data, source, path)


def read_path(path: str | Path, fmt: str | None = None) -> Lockfile:
    """Read one lockfile; an unreadable file is one :class:`LockfileError` line."""
    from ..yamlfile import read_document

    p = Path(path)
    text = read_document(p, LockfileError, "lockfile", f"the formats read are: {SUPPORTED}")
    return read_text(text, source=str(p), path=p, fmt=fmt)


def read_files(paths: Sequence[str | Path], fmt: str | None = None) -> Lockfile:
    """Read the lockfiles of one environment (e.g. one CEP 23 file per platform) as one lock.

    They must share one format and lock different platforms; the input hash is kept when
    every file records the same one (files recording different ones are refused); the
    name is the first file's that has one; channels are merged in order.
    """
    if not paths:
        raise LockfileError("no lockfile given")
    return merge([read_path(p, fmt) for p in paths])


def merge(locks: Sequence[Lockfile]) -> Lockfile:
    """One lock from locks of the same environment's platforms (see :func:`read_files`)."""
    first = locks[0]
    if len(locks) == 1:
        return first
    where: dict[str, Lockfile] = {}
    hashed = next((lock for lock in locks if lock.input_hash is not None), None)
    for lock in locks:
        if lock.format != first.format:
            raise LockfileError(
                f"{lock.path}: is {lock.format}, but {first.path} is {first.format}; "
                "files read together must have one format"
            )
        if hashed and lock.input_hash not in (None, hashed.input_hash):
            raise LockfileError(
                f"{lock.path}: its input hash differs from that of {hashed.path}; "
                "files read together must lock one environment file"
            )
        for platform in lock.platforms:
            if platform in where:
                raise LockfileError(
                    f"{lock.path}: locks {platform}, as {where[platform].path} does; "
                    "give each platform once"
                )
            where[platform] = lock
    hashes = {lock.input_hash for lock in locks}
    return Lockfile(
        input_hash=first.input_hash if len(hashes) == 1 else None,
        channels=tuple(dict.fromkeys(c for lock in locks for c in lock.channels)),
        packages={p: lock.packages[p] for p, lock in where.items()},
        name=next((lock.name for lock in locks if lock.name is not None), None),
        tool_version=first.tool_version,
        path=first.path,
        foreign=tuple(f for lock in locks for f in lock.foreign),
        format=first.format,
        pypi={p: lock.pypi[p] for p, lock in where.items() if p in lock.pypi},
    )
